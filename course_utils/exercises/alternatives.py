"""Exercise check of notebook 08: ``check_layernorm_forward``."""

from __future__ import annotations

import numpy as np

from .. import normalization as F
from ..gradcheck import rel_error
from .core import _call, _first, report

__all__ = ["check_layernorm_forward"]


def check_layernorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.layernorm_forward`.

    Tried on an (N, D) batch with per-feature γ ≠ 1 and β ≠ 0, on a batch of one sample (LayerNorm must
    work there, unlike BatchNorm), and on an (N, C, L) batch with γ, β of shape (C, L).
    """
    rng = np.random.default_rng(2016)
    worst = 0.0
    hint = ""
    for shape in [(6, 5), (1, 7), (3, 4, 5)]:
        x = rng.normal(2.0, 3.0, size=shape)
        gamma = rng.uniform(0.5, 2.0, size=shape[1:])
        beta = rng.normal(size=shape[1:])
        result = _call(fn, x.copy(), gamma.copy(), beta.copy(), eps=1e-5)
        if result is None:
            return report("layernorm_forward", None)
        out = np.asarray(_first(result), dtype=float)
        expected, _ = F.layernorm_forward(x, gamma, beta, eps=1e-5)
        if out.shape != expected.shape:
            print(f"FAIL ✗ layernorm_forward: output shape {out.shape} for x of shape {x.shape}, "
                  f"expected {expected.shape}")
            return False
        err = rel_error(out, expected)
        if err > worst:
            worst = err
            hint = _diagnose_layernorm(out, x, gamma, beta)
    return report("layernorm_forward", worst, hint=hint)


def _diagnose_layernorm(out, x, gamma, beta):
    """Name the usual mistake whose output matches the wrong answer."""
    feat = tuple(range(1, x.ndim))
    mu = x.mean(axis=feat, keepdims=True)
    var = x.var(axis=feat, keepdims=True)
    candidates = {
        "LayerNorm averages over the features of each sample (axis 1, …), not over the batch (axis 0)":
            lambda: gamma * (x - x.mean(axis=0, keepdims=True))
            / np.sqrt(x.var(axis=0, keepdims=True) + 1e-5) + beta,
        "use the biased variance (divide by the number of features, ddof=0)":
            lambda: gamma * (x - mu) / np.sqrt(x.var(axis=feat, ddof=1, keepdims=True) + 1e-5) + beta,
        "eps goes inside the square root: (x - mu) / sqrt(var + eps)":
            lambda: gamma * (x - mu) / (np.sqrt(var) + 1e-5) + beta,
        "apply gamma and beta after normalizing: y = gamma * x_hat + beta":
            lambda: (x - mu) / np.sqrt(var + 1e-5),
        "normalize only over the last axis? LayerNorm uses every axis except 0":
            lambda: gamma * (x - x.mean(axis=-1, keepdims=True))
            / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5) + beta,
    }
    for message, make in candidates.items():
        with np.errstate(all="ignore"):
            wrong = make()
        if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-9):
            return message
    return "print mu and var of one sample and compare with x[0].mean() and x[0].var() by hand"
