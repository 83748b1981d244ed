"""Checks for the notebooks' exercises: each ``check_*(fn)`` grades a student's function.

A check runs the student's function on seeded random inputs, compares with the course's reference
implementation, prints one clear line (PASS or FAIL with the relative error) and, on failure, a hint
about the typical mistake. It returns True/False so a teacher's autograder can use it too. A function
whose body still raises ``NotImplementedError`` gets a friendly "not implemented yet" instead of a
traceback, so the notebook still runs top to bottom.
"""

from __future__ import annotations

import numpy as np

from .. import normalization as F
from ..gradcheck import rel_error

__all__ = ["report", "check_forward", "check_batchnorm_forward"]

TOLERANCE = 1e-7


def report(name: str, error: float | None, tol: float = TOLERANCE, hint: str = "") -> bool:
    """Print the verdict of one check and return whether it passed.

    ``error=None`` means the student's function is not written yet.
    """
    if error is None:
        print(f"… {name}: not implemented yet (replace the NotImplementedError with your code)")
        return False
    if np.isfinite(error) and error < tol:
        print(f"PASS ✓ {name}: max relative error {error:.1e} (< {tol:.0e})")
        return True
    print(f"FAIL ✗ {name}: max relative error {error:.1e} (needs < {tol:.0e})")
    if hint:
        print(f"   hint: {hint}")
    return False


def _call(fn, *args, **kwargs):
    """Run the student's fn; None if it is not implemented yet."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        return None


def _first(result):
    """Accept either ``out`` or ``(out, cache)`` from a student's forward function."""
    return result[0] if isinstance(result, tuple) else result


def check_forward(name: str, fn, reference, cases, diagnose=None) -> bool:
    """Grade a student's forward function against the course's ``reference`` on several inputs.

    Parameters
    ----------
    name : str
        Shown in the verdict line.
    fn, reference : callable
        Called as ``f(x, gamma, beta, eps=1e-5)``; either may return ``out`` or ``(out, cache)``.
    cases : iterable of (x, gamma, beta)
        Inputs; each call gets copies, so a student's in-place edit cannot change the reference's input.
    diagnose : callable, optional
        ``diagnose(out, x, gamma, beta) -> hint`` for the worst case.

    Returns
    -------
    bool
        Whether the largest relative error over all cases is below :data:`TOLERANCE`.
    """
    worst, hint = 0.0, ""
    for x, gamma, beta in cases:
        result = _call(fn, x.copy(), gamma.copy(), beta.copy(), eps=1e-5)
        if result is None:
            return report(name, None)
        out = np.asarray(_first(result), dtype=float)
        expected = _first(reference(x, gamma, beta, eps=1e-5))
        if out.shape != expected.shape:
            print(
                f"FAIL ✗ {name}: output shape {out.shape} for x of shape {x.shape}, expected {expected.shape}"
            )
            return False
        err = rel_error(out, expected)
        if err > worst:
            worst = err
            hint = diagnose(out, x, gamma, beta) if diagnose is not None else ""
    return report(name, worst, hint=hint)


def check_batchnorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.batchnorm_forward`.

    Tried on an (N, D) batch and an (N, C, H, W) batch with γ ≠ 1 and β ≠ 0.
    """
    rng = np.random.default_rng(2015)
    cases = []
    for shape in [(8, 5), (4, 3, 2, 5)]:
        C = shape[1]
        cases.append((rng.normal(3.0, 2.0, size=shape), rng.uniform(0.5, 2.0, C), rng.normal(size=C)))
    return check_forward("batchnorm_forward", fn, F.batchnorm_forward, cases, _diagnose_batchnorm)


def _diagnose_batchnorm(out, x, gamma, beta):
    """Compare the wrong answer with the usual mistakes and name the one that matches."""
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, C) + (1,) * (x.ndim - 2)
    g, b = gamma.reshape(shape), beta.reshape(shape)
    mu = x.mean(axis=axes, keepdims=True)
    candidates = {
        "use the biased variance (divide by m, ddof=0), as in training-mode BN": g
        * (x - mu)
        / np.sqrt(x.var(axis=axes, ddof=1, keepdims=True) + 1e-5)
        + b,
        "eps goes inside the square root: (x - mu) / sqrt(var + eps)": g
        * (x - mu)
        / (np.sqrt(x.var(axis=axes, keepdims=True)) + 1e-5)
        + b,
        "statistics are per channel over every axis except axis 1 (for (N, D): over axis 0)": g
        * (x - x.mean(axis=tuple(range(1, x.ndim)), keepdims=True))
        / np.sqrt(x.var(axis=tuple(range(1, x.ndim)), keepdims=True) + 1e-5)
        + b,
        "apply gamma and beta after normalizing: y = gamma * x_hat + beta": (x - mu)
        / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5),
    }
    for message, wrong in candidates.items():
        if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-9):
            return message
    return "print your mu and var for a tiny batch and compare them with x.mean / x.var by hand"
