"""Tests of course_utils.exercises.core: the grading rules every checker relies on."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from course_utils.exercises import core


def test_report_passes_only_finite_errors_below_tolerance(capsys):
    assert core.report("f", 1e-9) is True
    assert core.report("f", 1e-3) is False
    assert core.report("f", float("nan")) is False
    assert core.report("f", float("inf")) is False
    out = capsys.readouterr().out
    assert out.count("PASS ✓") == 1 and out.count("FAIL ✗") == 3


def test_fail_prints_reason_and_hint(capsys):
    assert core.fail("f", "why", "do this") is False
    assert capsys.readouterr().out == "FAIL ✗ f: why\n   hint: do this\n"


def _stub(x):
    raise NotImplementedError


def _deeper(x):
    return _stub(x)


def _no_return(x):
    _ = x


def _raises(x):
    return x["missing"]


@pytest.mark.parametrize(
    "fn, kind",
    [(_stub, "not_implemented"), (_deeper, "raised"), (_no_return, "returned_none"), (_raises, "raised")],
)
def test_call_student_separates_the_four_outcomes(fn, kind):
    assert core.call_student(fn, {}).kind == kind
    assert core.call_student(lambda x: 3, 1).kind == "value"


def test_raised_outcome_shows_the_students_traceback(capsys):
    outcome = core.call_student(_raises, {})
    assert outcome.verdict("f") is False
    out = capsys.readouterr().out
    assert "in _raises" in out and "KeyError" in out and "call_student" not in out


@pytest.mark.parametrize(
    "value, says",
    [
        (None, "forget `return`"),
        ([np.zeros(2), np.zeros(2)], "list"),
        ("0.5", "string"),
        ({"a": 1}, "dict"),
        (np.zeros(3, complex), "complex"),
        (np.array([True, False, True]), "boolean"),
        (np.array([1.0, np.nan, 2.0]), "NaN"),
        (np.array([1.0, np.inf, 2.0]), "inf"),
        (np.zeros((3, 1)), "shape"),
        (np.array(["a", "b", "c"]), "dtype"),
    ],
)
def test_as_answer_refuses_anything_but_a_finite_real_array(value, says):
    arr, why = core.as_answer(value, "out", (3,))
    assert arr is None and says in why


def test_as_answer_names_the_first_non_finite_index():
    value = np.zeros((2, 3))
    value[1, 2] = np.nan
    assert "(1, 2)" in core.as_answer(value, "out", (2, 3))[1]


def test_as_answer_accepts_scalars_and_integers():
    assert core.as_answer(0.25, "out", ())[0] == 0.25
    assert core.as_answer(np.arange(3), "out", (3,))[0].dtype == np.float64


@dataclasses.dataclass
class _Cache:
    x_hat: np.ndarray
    eps: float


def test_changed_arguments_sees_arrays_inside_objects_and_containers():
    before = {"x": np.ones(3), "cache": _Cache(np.ones(2), 1e-5), "lst": [np.zeros(2)]}
    after = {"x": np.ones(3), "cache": _Cache(np.array([1.0, 0.0]), 1e-5), "lst": [np.ones(2)]}
    assert core.changed_arguments(before, after) == ["cache.x_hat", "lst[0]"]


def test_match_mistake_is_lazy_and_safe():
    def boom():
        raise ValueError

    hints = {"boom": boom, "shape": np.zeros(4), "this one": lambda: np.ones(3)}
    assert core.match_mistake(np.ones(3), hints) == "this one"
    assert core.match_mistake(np.full(3, 2.0), hints) is None
    assert core.match_mistake(np.array([np.nan, 1.0]), {"nan": np.array([np.nan, 1.0])}) == "nan"


def _double(x):
    return 2 * x


def test_grade_computes_the_reference_before_the_student_and_from_a_copy(capsys):
    calls = []

    def reference(x):
        calls.append("reference")
        return 2 * x

    def student(x):
        calls.append("student")
        return 2 * x

    case = core.Case({"x": np.arange(3.0)})
    assert core.grade("double", student, [case], reference) is True
    assert calls == ["reference", "student"]


def test_grade_fails_an_input_edit_even_when_the_answer_is_right(capsys):
    def sneaky(x):
        y = 2 * x
        x[0] = 99.0
        return y

    assert core.grade("double", sneaky, [core.Case({"x": np.arange(3.0)})], _double) is False
    assert "changed its argument `x` in place" in capsys.readouterr().out


def test_grade_uses_every_case_and_the_diagnosis(capsys):
    cases = [core.Case({"x": np.arange(3.0)}), core.Case({"x": np.zeros(2)})]

    def wrong(x):
        return 2 * x + 1

    def diagnose(answers, args, kwargs):
        return core.match_mistake(answers[0], {"you added one": 2 * args["x"] + 1})

    assert core.grade("double", wrong, cases, _double, diagnose=diagnose) is False
    assert "hint: you added one" in capsys.readouterr().out


def test_grade_accepts_out_and_cache_only_when_asked(capsys):
    case = core.Case({"x": np.arange(3.0)})
    assert core.grade("f", lambda x: (2 * x, "cache"), [case], _double, accept_extra=True) is True
    assert core.grade("f", lambda x: (2 * x, "cache"), [case], _double) is False


def test_an_earlier_wrong_answer_is_reported_before_a_later_crash(capsys):
    cases = [core.Case({"x": np.arange(3.0)}, note="a 1-D x"), core.Case({"x": np.zeros((2, 2))})]

    def wrong_then_crash(x):
        if x.ndim == 2:
            raise ValueError("operands could not be broadcast")
        return 3 * x

    assert core.grade("double", wrong_then_crash, cases, _double) is False
    out = capsys.readouterr().out
    assert "max relative error" in out and "on input a 1-D x" in out and "raised" not in out
    assert out.count("FAIL") == 1


def test_grade_names_its_error_measure_and_mutation_hint(capsys):
    case = core.Case({"x": np.arange(3.0)})
    assert (
        core.grade(
            "f", lambda x: 2 * x + 1, [case], _double, error=lambda a, b: 1.0, error_name="absolute error"
        )
        is False
    )
    assert "max absolute error" in capsys.readouterr().out

    def edits(x):
        x += 1
        return 2 * x

    assert core.grade("f", edits, [case], _double, mutation_hint="leave the layer alone") is False
    assert "hint: leave the layer alone" in capsys.readouterr().out


def test_a_failed_copy_names_a_few_public_changes_first(capsys):
    """An edited model differs in dozens of places: the FAIL names four, public ones first, and a count."""

    class Net:
        def __init__(self):
            self._cache = [np.zeros(2) for _ in range(4)]
            self.params = {"W": np.ones(3), "b": np.zeros(3)}
            self.layer_inputs = [np.zeros(2) for _ in range(3)]

    def edits(net):
        for a in [*net._cache, *net.params.values(), *net.layer_inputs]:
            a += 1.0
        return np.zeros(1)

    case = core.Case({"net": Net()})
    assert core.grade("f", edits, [case], lambda net: np.zeros(1)) is False
    out = capsys.readouterr().out
    assert "changed its arguments `net.params['W']`, `net.params['b']`, `net.layer_inputs[0]`," in out
    assert "and 5 more in place" in out and "_cache" not in out
    assert core.name_changes(["x"]) == "`x`"
    assert core.name_changes(["a._c", "b"], limit=1) == "`b` and 1 more"


@pytest.mark.parametrize(
    "value, says",
    [
        (float("nan"), "your answer is NaN (a finite number is expected)"),
        (np.float64("-inf"), "your answer is -inf (a finite number is expected)"),
        (np.array([1.0, np.nan, np.inf]), "contains NaN (2 non-finite entries, the first at index (1,))"),
        (np.array([[1.0, np.inf]]), "contains inf (1 non-finite entry, at index (0, 1))"),
    ],
)
def test_as_answer_says_where_a_non_finite_value_is(value, says):
    arr, why = core.as_answer(value, "your answer")
    assert arr is None and says in why
