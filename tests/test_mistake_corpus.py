"""Every exercise checker against its mistake corpus (tests/mistakes/corpus_<topic>.py).

Right answers must PASS; every wrong answer must FAIL and print what names its mistake (the targeted
hint of a math mistake, the reason of a structural one). Also: every public ``check_*`` has a corpus.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import course_utils as cu

MISTAKES = Path(__file__).resolve().parent / "mistakes"
#: checkers that are generic drivers, not exercises
NOT_EXERCISES = {"check_forward"}
MIN_WRONG, MIN_MATH, MIN_RIGHT = 8, 3, 2


def _load():
    corpora = {}
    for path in sorted(MISTAKES.glob("corpus_*.py")):
        module = importlib.import_module(f"mistakes.{path.stem}")
        for check_name, corpus in module.CORPUS.items():
            assert check_name not in corpora, f"{check_name} has two corpora"
            corpora[check_name] = corpus
    return corpora


CORPORA = _load()
RIGHT = [(name, i, fn) for name, c in CORPORA.items() for i, fn in enumerate(c.right)]
WRONG = [(name, w) for name, c in CORPORA.items() for w in c.wrong]


def _grade(check_name, fn):
    check = getattr(cu.exercises, check_name)
    corpus = CORPORA[check_name]
    return corpus.grade(check, fn) if corpus.grade is not None else check(fn)


@pytest.mark.parametrize("check_name, index, fn", RIGHT, ids=[f"{n}-right{i}" for n, i, _ in RIGHT])
def test_right_answers_pass(check_name, index, fn, capsys):
    passed = _grade(check_name, fn)
    out = capsys.readouterr().out
    assert passed is True, out
    assert "PASS ✓" in out and "FAIL" not in out


@pytest.mark.parametrize("check_name, wrong", WRONG, ids=[f"{n}-{w.name}" for n, w in WRONG])
def test_wrong_answers_fail_with_their_hint(check_name, wrong, capsys):
    passed = _grade(check_name, wrong.fn)
    out = capsys.readouterr().out
    assert passed is False, out
    assert "PASS" not in out, out
    if wrong.hint is not None:
        assert "hint:" in out and wrong.hint in out, f"expected the hint {wrong.hint!r}, got:\n{out}"
    if wrong.says is not None:
        assert wrong.says in out, f"expected {wrong.says!r} in:\n{out}"


def test_every_checker_has_a_full_corpus():
    checkers = sorted(n for n in dir(cu.exercises) if n.startswith("check_") and n not in NOT_EXERCISES)
    problems = []
    for name in checkers:
        corpus = CORPORA.get(name)
        if corpus is None:
            problems.append(f"{name}: no corpus in tests/mistakes/")
            continue
        math = sum(w.hint is not None for w in corpus.wrong)
        if len(corpus.wrong) < MIN_WRONG or math < MIN_MATH or len(corpus.right) < MIN_RIGHT:
            problems.append(
                f"{name}: {len(corpus.wrong)} wrong ({math} with a targeted hint), {len(corpus.right)} right; "
                f"need >= {MIN_WRONG} wrong ({MIN_MATH} targeted), >= {MIN_RIGHT} right"
            )
    assert not problems, "\n".join(problems)
