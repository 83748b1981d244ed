"""The replication suite: every comparative claim of the course, re-run on seeds no notebook has seen.

Why
---
A notebook shows a comparison on a handful of seeds and words it ("BN is ahead of the plain net by
16 ± 9 points (10 seeds)"). This folder re-runs the *same experiment function* on
:data:`HELD_OUT_SEEDS` — ten seeds that no notebook uses — and asserts the *verdict* the notebook states:
who is ahead, or "no clear difference". A claim that fails here is **reworded in the notebook, not
tuned** (no new seeds, steps or learning rates until it passes).

How to add a claim (copy ``test_replicate_optimization.py``)
------------------------------------------------------------
1. One file per topic, named ``test_replicate_<topic>.py`` (unique basenames: ``tests/`` has no
   ``__init__.py``); one test per claim, its docstring quoting the notebook's sentence and cell.
2. Re-run the notebook's experiment with the notebook's settings (sizes, steps, learning rate, data
   split) on ``HELD_OUT_SEEDS``; train all seeds at once with :func:`course_utils.batched.train_seeds`
   (or the topic's seed-batched runner), which gives the numbers of separate ``train()`` runs.
3. Compare with :func:`course_utils.stats.compare` (paired by seed; ``higher_is_better=False`` for
   losses) and check the notebook's wording with :func:`assert_verdict`:
   ``assert_verdict(c, "ahead:BN")``, ``assert_verdict(c, "ahead:B")`` or
   ``assert_verdict(c, "no clear difference")``.
4. Keep each test to a few seconds: the whole suite must stay under 5 minutes in ``make test``.

Every test in this folder is marked ``replication`` (``pytest -m replication`` runs the suite;
``make test-fast`` skips it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Ten seeds no notebook uses, for weights and batch order alike (tests/replication/
# test_replicate_seeds_are_held_out.py checks the notebooks never mention them). Not 1000-1009:
# notebook 07 seeds its bias generator with default_rng(1000 + seed) for seeds 0-4.
HELD_OUT_SEEDS = tuple(range(5000, 5010))

VERDICTS = ("ahead:A", "ahead:B", "ahead:<name>", "no clear difference")

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Mark every test collected from this folder ``replication``."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.replication)


def assert_verdict(comparison, expected: str) -> None:
    """Assert that a :class:`course_utils.stats.Comparison` gives the verdict the notebook states.

    Parameters
    ----------
    comparison : Comparison
        From :func:`course_utils.stats.compare`.
    expected : str
        ``"ahead:A"`` / ``"ahead:B"`` (the first / second condition passed to ``compare`` leads:
        higher, or lower with ``higher_is_better=False``), ``"ahead:<name>"`` with one of the names
        given to ``compare``, or ``"no clear difference"`` (the interval contains 0).
    """
    names = tuple(comparison.names)
    if expected == "no clear difference":
        want = None
    elif expected.startswith("ahead:"):
        who = expected.split(":", 1)[1]
        if who in names:
            want = who
        elif who in ("A", "B"):
            want = names[0] if who == "A" else names[1]
        else:
            raise ValueError(f"assert_verdict: {expected!r} names neither {names[0]!r} nor {names[1]!r}")
    else:
        raise ValueError(f"assert_verdict: expected must be one of {VERDICTS}, got {expected!r}")
    if comparison.leader != want:
        stated = "no clear difference" if want is None else f"{want} ahead"
        raise AssertionError(
            f"the notebook states '{stated}', the held-out seeds say: {comparison.verdict} "
            f"(interval [{comparison.low:.3g}, {comparison.high:.3g}] {comparison.unit}). "
            "Reword the notebook's claim; do not tune the experiment."
        )
