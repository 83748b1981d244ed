"""The warm-up exercise of notebook 00: standardize a sample (BN's first step, for one channel)."""

from __future__ import annotations

import numpy as np

from .core import Case, grade, match_mistake

__all__ = ["check_standardize"]

EPS = 1e-5


def _standardize(x, eps=EPS):
    return (x - x.mean()) / np.sqrt(x.var() + eps)


def check_standardize(fn) -> bool:
    """Grade ``fn(x, eps=1e-5)`` that returns ``(x − mean(x)) / sqrt(var(x) + eps)`` for a 1-D ``x``.

    Tried on five seeded samples with mean ≠ 0 and std ≠ 1: an ordinary one, a short one (where the
    biased and unbiased variances differ visibly), one whose spread is comparable to √ε (where
    forgetting ε, or putting it outside the square root, shows), a constant one (where ε is all that
    keeps the answer finite) and one with another ``eps`` (where a hard-coded ε shows).
    """
    rng = np.random.default_rng(2000)
    cases = [
        Case({"x": rng.normal(3.0, 2.0, size=50)}, {"eps": EPS}, note="50 values, std 2"),
        Case({"x": rng.normal(-1.0, 0.5, size=7)}, {"eps": EPS}, note="7 values, std 0.5"),
        Case({"x": rng.normal(10.0, 3e-3, size=20)}, {"eps": EPS}, note="20 values with std 0.003 ≈ √ε"),
        Case({"x": np.full(6, 4.0)}, {"eps": EPS}, note="6 equal values"),
        Case({"x": rng.normal(0.5, 0.1, size=12)}, {"eps": 1e-2}, note="12 values with std 0.1, eps=0.01"),
    ]
    return grade("standardize", fn, cases, _standardize, diagnose=_diagnose_standardize)


def _diagnose_standardize(answers, args, kwargs):
    (out,), x, eps = answers, args["x"], kwargs["eps"]
    mu = x.mean()
    return match_mistake(
        out,
        {
            "use the biased variance, x.var() (ddof=0, divide by n), as BN does in training": lambda: (
                (x - mu) / np.sqrt(x.var(ddof=1) + eps)
            ),
            "eps goes inside the square root, added to the variance: sqrt(var + eps), not std + eps": lambda: (
                (x - mu) / (x.std() + eps)
            ),
            "eps goes inside the square root, added to the variance: sqrt(var + eps), not sqrt(var) + "
            "sqrt(eps)": lambda: (x - mu) / (x.std() + np.sqrt(eps)),
            "eps is missing: divide by sqrt(var + eps). It matters when the spread is tiny — try a sample "
            "whose values are all almost equal": lambda: (x - mu) / x.std(),
            "subtract the mean before dividing": lambda: x / np.sqrt(x.var() + eps),
            "divide by the standard deviation (the square root of var + eps), not by the variance": lambda: (
                (x - mu) / (x.var() + eps)
            ),
            "subtract the mean of x, not its first value or its median": lambda: (
                (x - np.median(x)) / np.sqrt(x.var() + eps)
            ),
            **{
                f"use the eps argument you are given, not a fixed {fixed:g} (this input has eps={eps:g})": (
                    lambda fixed=fixed: (x - mu) / np.sqrt(x.var() + fixed)
                )
                for fixed in (1e-5, 1e-8, 1e-3, 1e-6, 1e-7, 1e-12)
                if fixed != eps
            },
        },
    )
