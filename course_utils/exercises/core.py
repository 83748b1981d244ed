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

__all__ = ["report", "check_batchnorm_forward"]

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


def check_batchnorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.batchnorm_forward`.

    Tried on an (N, D) batch and an (N, C, H, W) batch with γ ≠ 1 and β ≠ 0.
    """
    rng = np.random.default_rng(2015)
    worst = 0.0
    hint = ""
    for shape in [(8, 5), (4, 3, 2, 5)]:
        C = shape[1]
        x = rng.normal(3.0, 2.0, size=shape)
        gamma, beta = rng.uniform(0.5, 2.0, C), rng.normal(size=C)
        result = _call(fn, x.copy(), gamma.copy(), beta.copy(), eps=1e-5)
        if result is None:
            return report("batchnorm_forward", None)
        out = np.asarray(_first(result), dtype=float)
        expected, _ = F.batchnorm_forward(x, gamma, beta, eps=1e-5)
        if out.shape != expected.shape:
            print(f"FAIL ✗ batchnorm_forward: output shape {out.shape}, expected {expected.shape}")
            return False
        err = rel_error(out, expected)
        if err > worst:
            worst = err
            hint = _diagnose_batchnorm(out, x, gamma, beta)
    return report("batchnorm_forward", worst, hint=hint)


def _diagnose_batchnorm(out, x, gamma, beta):
    """Compare the wrong answer with the usual mistakes and name the one that matches."""
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, C) + (1,) * (x.ndim - 2)
    g, b = gamma.reshape(shape), beta.reshape(shape)
    mu = x.mean(axis=axes, keepdims=True)
    candidates = {
        "use the biased variance (divide by m, ddof=0), as in training-mode BN":
            g * (x - mu) / np.sqrt(x.var(axis=axes, ddof=1, keepdims=True) + 1e-5) + b,
        "eps goes inside the square root: (x - mu) / sqrt(var + eps)":
            g * (x - mu) / (np.sqrt(x.var(axis=axes, keepdims=True)) + 1e-5) + b,
        "statistics are per channel over every axis except axis 1 (for (N, D): over axis 0)":
            g * (x - x.mean(axis=tuple(range(1, x.ndim)), keepdims=True))
            / np.sqrt(x.var(axis=tuple(range(1, x.ndim)), keepdims=True) + 1e-5) + b,
        "apply gamma and beta after normalizing: y = gamma * x_hat + beta":
            (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5),
    }
    for message, wrong in candidates.items():
        if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-9):
            return message
    return "print your mu and var for a tiny batch and compare them with x.mean / x.var by hand"
