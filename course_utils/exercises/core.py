"""The grading core shared by every ``check_*`` of the course.

A check must be impossible to fool and kind to a beginner. Every checker is built from the pieces here,
in this order, so the rules hold everywhere:

1. **Reference first, from private copies.** :func:`grade` computes the expected answer of each
   :class:`Case` *before* the student's function runs, on deep copies of the inputs. Nothing the
   student's code does (edit ``cache.x_hat``, reset a running mean, …) can change what it is compared to.
2. **The student gets copies too**, and any change to what was passed is a FAIL that names the argument
   (``x``, ``cache.x_hat``, ``model.layers[2].running_mean`` …): a forward that edits its input in place
   corrupts the caller's data in a real network.
3. **One way to call the student's function**, :func:`call_student`, which separates four outcomes:
   not implemented (the stub still raises ``NotImplementedError``), returned ``None`` (forgotten
   ``return``), raised another exception (the traceback is shown, trimmed to the student's own frames),
   and returned a value.
4. **Only finite real arrays of the expected shape are accepted** (:func:`as_answer`): ``None``, a list
   of arrays, a string, a dict, complex numbers, booleans, NaN or inf anywhere (the first bad index is
   printed) and a wrong shape are FAILs that say what was received.
5. **One verdict printer**: :func:`report` for a measured error, :func:`fail` for everything else. Both
   return a bool, so a teacher's autograder can use any check.
6. **Targeted hints**: :func:`match_mistake` compares a wrong answer with the results of the usual
   mistakes (computed on the same input) and returns the hint that names the one that matches.

The mistake corpus in ``tests/mistakes/`` is the contract of every checker: typical wrong answers that
must FAIL with their targeted hint, and right answers in two styles that must PASS.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..gradcheck import rel_error

__all__ = [
    "TOLERANCE",
    "Case",
    "Outcome",
    "call_student",
    "as_answer",
    "report",
    "fail",
    "not_implemented",
    "match_mistake",
    "changed_arguments",
    "name_changes",
    "grade",
    "check_forward",
    "prefer_student",
]

#: Default largest relative error that still counts as right (float64 answers).
TOLERANCE = 1e-7


# --- verdicts ----------------------------------------------------------------------------------------


def report(
    name: str,
    error: float,
    tol: float = TOLERANCE,
    hint: str = "",
    what: str = "relative error",
    where: str = "",
) -> bool:
    """Print the verdict for a measured error and return whether it passed.

    A non-finite ``error`` never passes (``nan < tol`` is False, and the verdict says so). ``what`` names
    the error measure ("relative error", "absolute error", …); ``where`` describes the input of the
    worst case on a FAIL.
    """
    error = float(error)
    if math.isfinite(error) and error < tol:
        print(f"PASS ✓ {name}: max {what} {error:.1e} (< {tol:.0e})")
        return True
    at = f" on {where}" if where else ""
    return fail(name, f"max {what} {error:.1e} (needs < {tol:.0e}){at}", hint)


def fail(name: str, why: str, hint: str = "") -> bool:
    """Print ``FAIL ✗ name: why`` (and the hint) and return False."""
    print(f"FAIL ✗ {name}: {why}")
    if hint:
        print(f"   hint: {hint}")
    return False


def not_implemented(name: str) -> bool:
    """The verdict for a stub whose body still raises ``NotImplementedError`` (returns False)."""
    print(f"… {name}: not implemented yet (replace the `raise NotImplementedError` with your code)")
    return False


# --- calling the student's function ------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What happened when the student's function was called.

    ``kind`` is one of ``"not_implemented"``, ``"returned_none"``, ``"raised"``, ``"value"``;
    ``value`` is the returned object, ``error`` the exception and ``trace`` its formatted traceback
    (the checker's own frames removed, so it points into the student's code).
    """

    kind: str
    value: Any = None
    error: BaseException | None = None
    trace: str = ""
    hint: str = ""

    def verdict(self, name: str, where: str = "") -> bool | None:
        """Print and return the verdict for every kind but ``"value"`` (for which it returns None).

        ``where`` describes the input (e.g. "activation='tanh'"): a function that returns None only for
        some inputs usually lacks a ``return`` in one branch.
        """
        if self.kind == "not_implemented":
            return not_implemented(name)
        if self.kind == "returned_none":
            on = f" (for the input {where})" if where else ""
            return fail(name, f"your function returned None{on} — did you forget `return`?")
        if self.kind == "raised":
            if self.trace:
                print(self.trace.rstrip())
            return fail(
                name,
                f"your function raised {type(self.error).__name__}: {self.error}",
                self.hint
                or "read the traceback above from the bottom: the last line in your code is where it broke",
            )
        return None


def call_student(fn: Callable, *args, **kwargs) -> Outcome:
    """Call ``fn(*args, **kwargs)`` and sort the result into an :class:`Outcome`.

    Only a ``NotImplementedError`` raised by ``fn`` itself (the exercise stub) counts as "not
    implemented"; a ``NotImplementedError`` from deeper down is an ordinary exception.
    """
    if not callable(fn):
        return Outcome("raised", error=TypeError(f"expected a function, got {type(fn).__name__}"))
    try:
        value = fn(*args, **kwargs)
    except NotImplementedError as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        if tb is not None and tb.tb_next is None:  # raised directly in the student's function body
            return Outcome("not_implemented", error=exc)
        return Outcome("raised", error=exc, trace=_student_trace(exc))
    except Exception as exc:  # the student's bug: report it, never crash the checker
        return Outcome("raised", error=exc, trace=_student_trace(exc))
    if value is None:
        return Outcome("returned_none")
    return Outcome("value", value=value)


def _student_trace(exc: BaseException) -> str:
    """The traceback of ``exc`` without the checker's own frame (it starts in the student's code)."""
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    return "".join(traceback.format_exception(type(exc), exc, tb))


# --- what counts as an answer ------------------------------------------------------------------------


def _describe(value) -> str:
    """A short description of a returned object, for FAIL messages."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(type(v).__name__ for v in value[:4]) + (", …" if len(value) > 4 else "")
        return f"a {type(value).__name__} of {len(value)} item(s) ({inner})"
    if isinstance(value, str):
        text = value if len(value) <= 30 else value[:27] + "…"
        return f"a string {text!r}"
    return f"a {type(value).__name__}"


def as_answer(value, label: str, shape: tuple | None = None) -> tuple[np.ndarray | None, str]:
    """Accept ``value`` only as a finite real array (of ``shape`` when given).

    Returns ``(array, "")`` when accepted, ``(None, why)`` otherwise, where ``why`` says what was
    received (and, for NaN/inf, where the first one is). Python and NumPy scalars count as 0-d arrays;
    integer arrays are accepted (promoted to float64), booleans are not.
    """
    if value is None:
        return None, f"{label} is None — did you forget `return`?"
    if isinstance(value, (str, bytes, dict, set)) or callable(value):
        return None, f"{label} should be a NumPy array, got {_describe(value)}"
    if isinstance(value, (list, tuple)):
        return None, (
            f"{label} should be a NumPy array, got {_describe(value)} "
            "(return the array itself; wrap a list with np.array(...) only if that is what you meant)"
        )
    if not isinstance(value, (np.ndarray, np.generic, int, float)) or isinstance(value, bool):
        return None, f"{label} should be a NumPy array, got {_describe(value)}"
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        return None, f"{label} is complex ({arr.dtype}); the answer is real"
    if arr.dtype.kind == "b":
        return None, f"{label} is boolean; the answer is a number"
    if arr.dtype.kind not in "fiu":
        return None, f"{label} should hold real numbers, got dtype {arr.dtype}"
    if shape is not None and arr.shape != tuple(shape):
        return None, f"{label} has shape {arr.shape}, expected {tuple(shape)}"
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        kind = "NaN" if np.isnan(arr[bad]).any() else "inf"
        if arr.ndim == 0:
            return None, f"{label} is {'NaN' if np.isnan(arr) else arr.item()} (a finite number is expected)"
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        count = int(bad.sum())
        entries = f"{count} non-finite entr{'y' if count == 1 else 'ies'}"
        first = "at index" if count == 1 else "the first at index"
        return None, f"{label} contains {kind} ({entries}, {first} {where})"
    return arr, ""


# --- detecting in-place changes ----------------------------------------------------------------------


def _differences(before, after, label: str, depth: int = 0) -> list[str]:
    """Labels of the parts of ``after`` that differ from ``before`` (arrays, containers, objects)."""
    if depth > 6:
        return []
    if isinstance(before, np.ndarray) or isinstance(after, np.ndarray):
        try:
            same = (
                isinstance(after, np.ndarray)
                and isinstance(before, np.ndarray)
                and before.shape == after.shape
                and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
            )
        except TypeError:
            same = False
        return [] if same else [label]
    if isinstance(before, Mapping):
        if not isinstance(after, Mapping) or before.keys() != after.keys():
            return [label]
        return [d for k in before for d in _differences(before[k], after[k], f"{label}[{k!r}]", depth + 1)]
    if isinstance(before, (list, tuple)):
        if type(before) is not type(after) or len(before) != len(after):
            return [label]
        return [
            d
            for i, (b, a) in enumerate(zip(before, after))
            for d in _differences(b, a, f"{label}[{i}]", depth + 1)
        ]
    if isinstance(before, (int, float, complex, str, bool, type(None), np.generic)):
        try:
            equal = before == after or (before != before and after != after)  # NaN == NaN here
        except Exception:  # pragma: no cover - exotic comparisons
            equal = False
        return [] if bool(equal) else [label]
    if dataclasses.is_dataclass(before) or hasattr(before, "__dict__"):
        state_b = vars(before) if hasattr(before, "__dict__") else {}
        state_a = vars(after) if hasattr(after, "__dict__") else {}
        if dataclasses.is_dataclass(before) and not state_b:
            state_b = {f.name: getattr(before, f.name) for f in dataclasses.fields(before)}
            state_a = {f.name: getattr(after, f.name, None) for f in dataclasses.fields(before)}
        if state_b.keys() != state_a.keys():
            return [label]
        return [
            d
            for k in state_b
            if not k.startswith("__")
            for d in _differences(state_b[k], state_a[k], f"{label}.{k}", depth + 1)
        ]
    return []


def changed_arguments(originals: Mapping[str, Any], passed: Mapping[str, Any]) -> list[str]:
    """Names of the arguments (or parts of them) that differ between ``originals`` and ``passed``."""
    return [d for name in originals for d in _differences(originals[name], passed[name], name)]


def _is_private(label: str) -> bool:
    """True if any attribute on the path of ``label`` is private (``model.layers[0]._cache``)."""
    return any(part.startswith("_") for part in label.replace("[", ".").split(".")[1:])


def name_changes(changed: Sequence[str], limit: int = 4) -> str:
    """At most ``limit`` changed names for a FAIL message, public ones first, then "and N more".

    A deep-copied model that was edited differs in many places (parameters, gradients, private
    caches); the student needs the first few public ones to see what happened, not all of them.
    """
    ordered = sorted(changed, key=_is_private)  # stable: the argument order is kept within each group
    shown = ", ".join(f"`{c}`" for c in ordered[:limit])
    more = len(ordered) - limit
    return shown + (f" and {more} more" if more > 0 else "")


# --- hints -------------------------------------------------------------------------------------------


def match_mistake(
    answer, candidates: Mapping[str, Any], rtol: float = 1e-6, atol: float = 1e-9
) -> str | None:
    """The hint of the first usual mistake whose result equals ``answer``, else None.

    NaN in the same places counts as equal (a missing ε gives NaN on a constant input).
    ``candidates`` maps a hint to the wrong result it predicts: an array, a tuple of arrays (compared
    with a tuple answer), or a zero-argument callable returning one (evaluated lazily; a candidate that
    raises or has another shape simply does not match).
    """
    got = answer if isinstance(answer, tuple) else (answer,)
    try:
        got = tuple(np.asarray(g, dtype=np.float64) for g in got)
    except (TypeError, ValueError):
        return None
    for hint, wrong in candidates.items():
        try:
            wrong = wrong() if callable(wrong) else wrong
            wrong = wrong if isinstance(wrong, tuple) else (wrong,)
            if len(wrong) != len(got):
                continue
            if all(
                np.shape(w) == np.shape(g) and np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
                for g, w in zip(got, wrong)
            ):
                return hint
        except Exception:  # a candidate that cannot be formed for this input does not match
            continue
    return None


# --- the grading loop --------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One input of a check: positional arguments (named, for messages) and keyword arguments.

    ``args`` maps each positional argument's name to its value, in call order; ``kwargs`` are passed
    by keyword. ``note`` describes the case in FAIL messages (e.g. "a channel with variance 1e-6").
    """

    args: dict
    kwargs: dict = dataclasses.field(default_factory=dict)
    note: str = ""

    def copies(self) -> tuple[dict, dict]:
        return copy.deepcopy(self.args), copy.deepcopy(self.kwargs)


def _split_outputs(value, outputs: Sequence[str], accept_extra: bool):
    """The student's return value as a tuple of ``len(outputs)`` items, or (None, why)."""
    n = len(outputs)
    if n == 1:
        if isinstance(value, tuple) and accept_extra and len(value) >= 1:
            return (value[0],), ""  # a forward may return (out, cache)
        return (value,), ""
    if not isinstance(value, tuple):
        return None, f"return a tuple ({', '.join(outputs)}), got {_describe(value)}"
    if len(value) != n and not (accept_extra and len(value) > n):
        return None, f"return {n} values ({', '.join(outputs)}), got {len(value)}"
    return tuple(value[:n]), ""


def grade(
    name: str,
    fn: Callable,
    cases: Sequence[Case],
    reference: Callable,
    *,
    outputs: Sequence[str] = ("out",),
    accept_extra: bool = False,
    tol: float = TOLERANCE,
    error: Callable = rel_error,
    diagnose: Callable | None = None,
    allow_mutation: Sequence[str] = (),
    on_raise: Callable | None = None,
    error_name: str = "relative error",
    mutation_hint: str | Callable[[list[str]], str | None] | None = None,
) -> bool:
    """Grade ``fn`` against ``reference`` on every case; print one verdict and return it.

    Parameters
    ----------
    name : str
        Shown in the verdict (usually the student's function name).
    fn : callable
        The student's function, called as ``fn(*case.args.values(), **case.kwargs)`` on deep copies.
    cases : sequence of Case
        Seeded inputs of several shapes; at least one should make the usual mistakes visible.
    reference : callable
        Same signature; returns the expected array, or a tuple of arrays with one entry per name in
        ``outputs``. Called first, on private deep copies.
    outputs : sequence of str
        Names of the returned values, e.g. ``("dx", "dgamma", "dbeta")``.
    accept_extra : bool
        Accept extra trailing return values (a forward's ``(out, cache)``); only the first
        ``len(outputs)`` are graded.
    tol : float
        Largest error that passes.
    error : callable
        ``error(answer, expected) -> float`` per output; the default is the course's relative error.
    diagnose : callable, optional
        ``diagnose(answers, args, kwargs) -> str | None``: the targeted hint for a wrong answer
        (``answers`` is the tuple of the student's arrays, ``args``/``kwargs`` pristine copies of the case).
    allow_mutation : sequence of str
        Argument names the function is *meant* to change in place (e.g. a layer's running statistics).
    on_raise : callable, optional
        ``on_raise(exc, args, kwargs) -> str | None``: a targeted hint when the student's function raised
        (e.g. a broadcasting error from a forgotten ``keepdims=True``).
    error_name : str
        What ``error`` measures, for the verdict line ("relative error", "absolute error", …).
    mutation_hint : str or callable, optional
        The hint when an argument was changed in place, or ``mutation_hint(changed) -> str | None``
        given the changed names (default: build new arrays instead).

    A wrong answer on an earlier input is reported before a crash or a malformed answer on a later one:
    the first mistake is the one to fix.

    Returns
    -------
    bool
        True only if every case returned finite real arrays of the right shapes within ``tol``, and no
        argument was changed in place.
    """
    worst, hint, worst_note = 0.0, "", ""

    def earlier_mistake() -> bool | None:
        """The verdict for an earlier wrong answer, if there was one (reported before a later crash)."""
        if worst >= tol:
            return report(name, worst, tol=tol, hint=hint, what=error_name, where=worst_note)
        return None

    for case in cases:
        ref_args, ref_kwargs = case.copies()
        expected = reference(*ref_args.values(), **ref_kwargs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        expected = tuple(np.asarray(e, dtype=np.float64) for e in expected[: len(outputs)])

        originals, _ = case.copies()
        passed_args, passed_kwargs = case.copies()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # a NaN it produces is reported below instead
            outcome = call_student(fn, *passed_args.values(), **passed_kwargs)
        if outcome.kind == "raised" and on_raise is not None:
            pristine_args, pristine_kwargs = case.copies()
            outcome.hint = _safely(on_raise, outcome.error, pristine_args, pristine_kwargs)
        if outcome.kind != "value" and (earlier := earlier_mistake()) is not None:
            return earlier
        verdict = outcome.verdict(name, where=case.note)
        if verdict is not None:
            return verdict
        changed = [
            c
            for c in changed_arguments(originals, passed_args)
            if c.split(".")[0].split("[")[0] not in allow_mutation
        ]
        if changed:
            return fail(
                name,
                f"your function changed its argument{'s' if len(changed) > 1 else ''} "
                f"{name_changes(changed)} in place",
                (mutation_hint(changed) if callable(mutation_hint) else mutation_hint)
                or "build new arrays instead (x_c = x - mu, not x -= mu): in a network the caller still needs "
                "its input, and a backward pass needs its cache unchanged",
            )
        answers, why = _split_outputs(outcome.value, outputs, accept_extra)
        if answers is None:
            earlier = earlier_mistake()
            return fail(name, why) if earlier is None else earlier
        arrays = []
        for label, value, ref in zip(outputs, answers, expected):
            arr, why = as_answer(value, label if len(outputs) > 1 else "your answer", ref.shape)
            if arr is None:
                extra = f" (input: {case.note})" if case.note else ""
                targeted = ""
                if diagnose is not None and ("shape" in why or "NaN" in why or "inf" in why):
                    pristine_args, pristine_kwargs = case.copies()
                    targeted = _safely(diagnose, tuple(answers), pristine_args, pristine_kwargs)
                earlier = earlier_mistake()
                return fail(name, why + extra, targeted) if earlier is None else earlier
            arrays.append(arr)
        err = max(float(error(a, e)) for a, e in zip(arrays, expected))
        if not math.isfinite(err):
            err = math.inf
        if err > worst:
            worst, worst_note = err, f"input {case.note}" if case.note else ""
            hint = ""
            if err >= tol and diagnose is not None:
                pristine_args, pristine_kwargs = case.copies()
                hint = _safely(diagnose, tuple(arrays), pristine_args, pristine_kwargs)
    return report(name, worst, tol=tol, hint=hint, what=error_name, where=worst_note)


def _safely(hint_fn: Callable, *args) -> str:
    """Call a hint function; a hint that cannot be formed is no hint (never a crash of the checker)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return hint_fn(*args) or ""
    except Exception:
        return ""


def check_forward(
    name: str, fn: Callable, reference: Callable, cases, diagnose=None, eps: float = 1e-5, on_raise=None
) -> bool:
    """Grade a normalization forward ``fn(x, gamma, beta, eps=eps)`` that returns ``out`` or ``(out, cache)``.

    ``cases`` is an iterable of ``(x, gamma, beta)``; ``diagnose(out, x, gamma, beta)`` returns the
    targeted hint for a wrong ``out`` (or None), ``on_raise(exc, x, gamma, beta)`` the hint when the
    student's function raised. Built on :func:`grade`.
    """
    graded = [
        Case({"x": x, "gamma": g, "beta": b}, {"eps": eps}, note=f"x of shape {np.shape(x)}")
        for x, g, b in cases
    ]

    def _diagnose(answers, args, kwargs):
        return diagnose(answers[0], args["x"], args["gamma"], args["beta"]) if diagnose is not None else None

    def _on_raise(exc, args, kwargs):
        return on_raise(exc, args["x"], args["gamma"], args["beta"]) if on_raise is not None else None

    return grade(name, fn, graded, reference, accept_extra=True, diagnose=_diagnose, on_raise=_on_raise)


def prefer_student(fn: Callable, fallback: Callable, check: Callable, name: str | None = None) -> Callable:
    """Return the student's ``fn`` if ``check(fn)`` passes, else the course's ``fallback``.

    Later cells of a notebook use this so the student sees their own code at work once it is right,
    and the notebook still runs when it is not written yet. The check runs silently; one line says
    which function is used.
    """
    import contextlib
    import io

    label = name or getattr(fn, "__name__", "your function")
    with contextlib.redirect_stdout(io.StringIO()):
        passed = check(fn)
    if passed:
        print(f"using your {label}")
        return fn
    print(
        f"using the course's {getattr(fallback, '__name__', 'version')} ({label} does not pass its check yet)"
    )
    return fallback
