"""The warm-up exercise of notebook 00: standardize a sample (BN's first step, for one channel)."""

from __future__ import annotations

import numpy as np

from ..gradcheck import rel_error
from .core import _call, report

__all__ = ["check_standardize"]


def check_standardize(fn) -> bool:
    """Grade ``fn(x, eps=1e-5)`` that returns ``(x − mean(x)) / sqrt(var(x) + eps)`` for a 1-D ``x``.

    Tried on three seeded samples with mean ≠ 0 and std ≠ 1 (one of them tiny, so a misplaced ε shows).
    """
    rng = np.random.default_rng(2000)
    worst, hint = 0.0, ""
    for loc, scale, n in [(3.0, 2.0, 50), (-1.0, 0.5, 7), (10.0, 1e-3, 20)]:
        x = rng.normal(loc, scale, size=n)
        result = _call(fn, x.copy(), eps=1e-5)
        if result is None:
            return report("standardize", None)
        out = np.asarray(result, dtype=float)
        expected = (x - x.mean()) / np.sqrt(x.var() + 1e-5)
        if out.shape != expected.shape:
            print(f"FAIL ✗ standardize: output shape {out.shape}, expected {expected.shape}")
            return False
        err = rel_error(out, expected)
        if err > worst:
            worst, hint = err, _diagnose_standardize(out, x)
    return report("standardize", worst, hint=hint)


def _diagnose_standardize(out, x):
    mu = x.mean()
    candidates = {
        "use the biased variance, x.var() (ddof=0), as BN does in training": (x - mu)
        / np.sqrt(x.var(ddof=1) + 1e-5),
        "eps goes inside the square root: (x - mean) / sqrt(var + eps)": (x - mu) / (x.std() + 1e-5),
        "subtract the mean before dividing": x / np.sqrt(x.var() + 1e-5),
        "divide by the standard deviation (the square root of the variance), not by the variance": (x - mu)
        / (x.var() + 1e-5),
    }
    for message, wrong in candidates.items():
        if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-9):
            return message
    return "try x = np.array([1.0, 3.0]): the answer is close to [-1, 1]"
