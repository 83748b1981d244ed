"""Check for notebook 06's exercise: the compact backward pass of batch normalization.

(Notebook 05's exercise uses :func:`course_utils.exercises.check_batchnorm_forward` from ``core``.)
"""

from __future__ import annotations

import numpy as np

from .. import normalization as F
from ..gradcheck import rel_error
from .core import _call, report

__all__ = ["check_batchnorm_backward"]


def check_batchnorm_backward(fn) -> bool:
    """Grade ``fn(dout, cache) -> (dx, dgamma, dbeta)`` against :func:`course_utils.batchnorm_backward`.

    The test is built so that it cannot pass by accident: float64, batches of N = 8 and N = 16 rows
    of (N, D) data, γ ≠ 1, β ≠ 0 and a *random* upstream gradient (an all-ones ``dout`` would make the
    true ``dx`` identically zero). ``cache`` is the :class:`~course_utils.normalization.BatchNormCache`
    from :func:`course_utils.batchnorm_forward` (``cache.x_hat``, ``cache.gamma`` of shape (1, D),
    ``cache.inv_std`` of shape (1, D), …). A function that returns only ``dx`` is graded on ``dx``.

    Returns
    -------
    bool
        True if dx, dgamma and dbeta all match to a relative error below 1e-7.
    """
    rng = np.random.default_rng(1502)
    worst = 0.0
    hint = ""
    for N, D in [(8, 5), (16, 3)]:
        x = rng.normal(2.0, 3.0, size=(N, D))
        gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
        dout = rng.normal(size=(N, D))
        _, cache = F.batchnorm_forward(x, gamma, beta, eps=1e-5)
        result = _call(fn, dout.copy(), cache)
        if result is None:
            return report("batchnorm_backward", None)
        expected = F.batchnorm_backward(dout, cache)
        got = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if len(got) not in (1, 3):
            print(f"FAIL ✗ batchnorm_backward: return (dx, dgamma, dbeta), got {len(got)} values")
            return False
        names = ("dx", "dgamma", "dbeta")
        for name, value, ref in zip(names, got, expected, strict=False):
            value = np.asarray(value, dtype=float)
            if value.shape != ref.shape:
                print(f"FAIL ✗ batchnorm_backward: {name} has shape {value.shape}, expected {ref.shape}")
                return False
            err = rel_error(value, ref)
            if err > worst:
                worst = err
                hint = (
                    _diagnose_dx(value, dout, cache)
                    if name == "dx"
                    else f"{name}: sum over the batch axis 0 — dgamma = Σ dy·x̂, dbeta = Σ dy"
                )
    return report("batchnorm_backward", worst, hint=hint)


def _diagnose_dx(dx, dout, cache):
    """Name the usual mistake whose result matches the student's dx."""
    m = dout.shape[0]
    g, inv_std, x_hat = cache.gamma, cache.inv_std, cache.x_hat
    sum_dy = dout.sum(axis=0, keepdims=True)
    sum_dy_xhat = (dout * x_hat).sum(axis=0, keepdims=True)
    right = m * dout - sum_dy - x_hat * sum_dy_xhat
    candidates = {
        "you treated μ_B and σ_B as constants (dx = γ·inv_std·dy): the batch statistics depend on x too": g
        * inv_std
        * dout,
        "the mean term is missing: subtract Σ dy (the path through μ_B)": (g * inv_std / m)
        * (m * dout - x_hat * sum_dy_xhat),
        "the variance term is missing: subtract x̂·Σ(dy·x̂) (the path through σ_B²)": (g * inv_std / m)
        * (m * dout - sum_dy),
        "γ is missing: the upstream gradient reaching x̂ is γ·dy": (inv_std / m) * right,
        "divide by m (the biased variance), not m − 1": (g * inv_std / (m - 1))
        * ((m - 1) * dout - sum_dy - x_hat * sum_dy_xhat),
        "sign: dx = (γ·inv_std/m)·(m·dy − Σdy − x̂·Σ(dy·x̂))": -(g * inv_std / m) * right,
        "the sums run over the batch (axis=0, keepdims=True), one per feature": (g * inv_std / m)
        * (m * dout - dout.sum(axis=1, keepdims=True) - x_hat * (dout * x_hat).sum(axis=1, keepdims=True)),
    }
    for message, wrong in candidates.items():
        if wrong.shape == dx.shape and np.allclose(dx, wrong, rtol=1e-6, atol=1e-10):
            return message
    return (
        "compare with the staged version: print dx from cu.batchnorm_backward_staged(dout, cache) "
        "next to yours for a tiny batch"
    )
