"""Exercise check of notebook 08: ``check_layernorm_forward``."""

from __future__ import annotations

import numpy as np

from .. import normalization as F
from .core import check_forward

__all__ = ["check_layernorm_forward"]


def check_layernorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.layernorm_forward`.

    Tried on an (N, D) batch with per-feature γ ≠ 1 and β ≠ 0, on a batch of one sample (LayerNorm must
    work there, unlike BatchNorm), and on an (N, C, L) batch with γ, β of shape (C, L).
    """
    rng = np.random.default_rng(2016)
    cases = []
    for shape in [(6, 5), (1, 7), (3, 4, 5)]:
        x = rng.normal(2.0, 3.0, size=shape)
        cases.append((x, rng.uniform(0.5, 2.0, size=shape[1:]), rng.normal(size=shape[1:])))
    return check_forward("layernorm_forward", fn, F.layernorm_forward, cases, _diagnose_layernorm)


def _diagnose_layernorm(out, x, gamma, beta):
    """Name the usual mistake whose output matches the wrong answer."""
    feat = tuple(range(1, x.ndim))
    mu = x.mean(axis=feat, keepdims=True)
    var = x.var(axis=feat, keepdims=True)
    candidates = {
        "LayerNorm averages over the features of each sample (axis 1, …),"
        " not over the batch (axis 0)": lambda: (
            gamma * (x - x.mean(axis=0, keepdims=True)) / np.sqrt(x.var(axis=0, keepdims=True) + 1e-5) + beta
        ),
        "use the biased variance (divide by the number of features, ddof=0)": lambda: (
            gamma * (x - mu) / np.sqrt(x.var(axis=feat, ddof=1, keepdims=True) + 1e-5) + beta
        ),
        "eps goes inside the square root: (x - mu) / sqrt(var + eps)": lambda: (
            gamma * (x - mu) / (np.sqrt(var) + 1e-5) + beta
        ),
        "apply gamma and beta after normalizing: y = gamma * x_hat + beta": lambda: (
            (x - mu) / np.sqrt(var + 1e-5)
        ),
        "normalize only over the last axis? LayerNorm uses every axis except 0": lambda: (
            gamma * (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
            + beta
        ),
    }
    for message, make in candidates.items():
        with np.errstate(all="ignore"):
            wrong = make()
        if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-9):
            return message
    return "print mu and var of one sample and compare with x[0].mean() and x[0].var() by hand"
