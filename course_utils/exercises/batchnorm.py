"""Checks for notebooks 05–06: batch normalization's training-mode forward pass and its backward pass."""

from __future__ import annotations

import numpy as np

from .. import normalization as F
from .core import Case, check_forward, grade, match_mistake

__all__ = ["check_batchnorm_forward", "check_batchnorm_backward"]


def _channel_axes(x):
    """BN's reduction axes: every axis but the channel axis 1."""
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, x):
    return np.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def _forward_cases(rng):
    """An ordinary (N, D) batch, an (N, C, H, W) batch, and a channel whose variance is ~ε."""
    cases = []
    for shape in [(8, 5), (4, 3, 2, 5)]:
        C = shape[1]
        cases.append((rng.normal(3.0, 2.0, size=shape), rng.uniform(0.5, 2.0, C), rng.normal(size=C)))
    x = rng.normal(1.0, 2.0, size=(6, 4))
    x[:, 2] = 5.0 + 3e-3 * rng.normal(size=6)  # variance ≈ 1e-5 = ε: a missing or misplaced ε shows here
    cases.append((x, rng.uniform(0.5, 2.0, 4), rng.normal(size=4)))
    return cases


def check_batchnorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.batchnorm_forward`.

    Tried on an (N, D) batch, an (N, C, H, W) batch and a batch with a near-constant channel, all
    with γ ≠ 1 and β ≠ 0. ``fn`` may return ``out`` or ``(out, cache)``.
    """
    rng = np.random.default_rng(2015)
    return check_forward(
        "batchnorm_forward",
        fn,
        F.batchnorm_forward,
        _forward_cases(rng),
        _diagnose_batchnorm,
        on_raise=_batchnorm_raised,
    )


def _batchnorm_raised(exc, x, gamma, beta):
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"a broadcasting error: x has shape {x.shape} and gamma {gamma.shape}. Keep the reduced axes "
            "(keepdims=True) so mu and var broadcast against x, and reshape gamma/beta to (1, C, 1, …) "
            "for a 4-D input"
        )
    return None


def _diagnose_batchnorm(out, x, gamma, beta):
    """Compare the wrong answer with the usual mistakes and name the one that matches."""
    eps = 1e-5
    axes = _channel_axes(x)
    g, b = _per_channel(gamma, x), _per_channel(beta, x)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)

    def normalized_over(reduce_axes):
        m = x.mean(axis=reduce_axes, keepdims=True)
        v = x.var(axis=reduce_axes, keepdims=True)
        return g * (x - m) / np.sqrt(v + eps) + b

    return match_mistake(
        out,
        {
            "use the biased variance (divide by m, ddof=0), as in training-mode BN": lambda: (
                g * (x - mu) / np.sqrt(x.var(axis=axes, ddof=1, keepdims=True) + eps) + b
            ),
            "eps goes inside the square root: (x - mu) / sqrt(var + eps)": lambda: (
                g * (x - mu) / (np.sqrt(var) + eps) + b
            ),
            "eps is missing: divide by sqrt(var + eps), not sqrt(var) — it matters for a channel whose "
            "variance is tiny (look at the channel that is almost constant)": lambda: (
                g * (x - mu) / np.sqrt(var) + b
            ),
            "statistics are per channel: reduce over every axis except the channel axis 1 "
            "(for (N, D): axis 0), not over the features of each example": lambda: normalized_over(
                tuple(range(1, x.ndim))
            ),
            "for an (N, C, H, W) input each channel's statistics run over N·H·W values (axes (0, 2, 3)), "
            "not over the batch axis 0 alone (that gives one mean per position)": lambda: normalized_over(
                (0,)
            ),
            "gamma scales and beta shifts: y = gamma * x_hat + beta (you swapped them)": lambda: (
                b * (x - mu) / np.sqrt(var + eps) + g
            ),
            "apply gamma and beta after normalizing: y = gamma * x_hat + beta": lambda: (
                (x - mu) / np.sqrt(var + eps)
            ),
            "divide by the standard deviation sqrt(var + eps), not by the variance": lambda: (
                g * (x - mu) / (var + eps) + b
            ),
        },
    )


# --- backward ---------------------------------------------------------------------------------------


def _backward_reference(dout, cache):
    return F.batchnorm_backward(dout, cache)


def check_batchnorm_backward(fn) -> bool:
    """Grade ``fn(dout, cache) -> (dx, dgamma, dbeta)`` against :func:`course_utils.batchnorm_backward`.

    The test cannot pass by accident: float64, batches of N = 8 and N = 16 rows of (N, D) data, γ ≠ 1,
    β ≠ 0 and a *random* upstream gradient (an all-ones ``dout`` would make the true ``dx`` identically
    zero). ``cache`` is the :class:`~course_utils.normalization.BatchNormCache` from
    :func:`course_utils.batchnorm_forward` (``cache.x_hat``, ``cache.gamma`` of shape (1, D),
    ``cache.inv_std`` of shape (1, D), …); the reference is computed from a private copy first, and a
    function that edits the cache fails. ``dgamma`` and ``dbeta`` have shape (D,), like γ and β.
    """
    rng = np.random.default_rng(1502)
    cases = []
    for N, D in [(8, 5), (16, 3)]:
        x = rng.normal(2.0, 3.0, size=(N, D))
        gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
        _, cache = F.batchnorm_forward(x, gamma, beta, eps=1e-5)
        cases.append(Case({"dout": rng.normal(size=(N, D)), "cache": cache}, note=f"N={N}, D={D}"))
    return grade(
        "batchnorm_backward",
        fn,
        cases,
        _backward_reference,
        outputs=("dx", "dgamma", "dbeta"),
        diagnose=_diagnose_backward,
    )


def _diagnose_backward(answers, args, kwargs):
    """Name the usual mistake whose result matches the student's (dx, dgamma, dbeta)."""
    dout, cache = args["dout"], args["cache"]
    dx, dgamma, dbeta = (np.asarray(a) for a in answers)
    _, dgamma_ref, dbeta_ref = F.batchnorm_backward(dout, cache)
    if np.shape(dgamma) != dgamma_ref.shape or np.shape(dbeta) != dbeta_ref.shape:
        return "dgamma and dbeta have one entry per feature, shape (D,) like gamma: sum over axis 0 without keepdims"
    if not np.allclose(dbeta, dbeta_ref, rtol=1e-6, atol=1e-10):
        return "dbeta = Σ over the batch of dy (axis 0): β is added to every row"
    if not np.allclose(dgamma, dgamma_ref, rtol=1e-6, atol=1e-10):
        return (
            match_mistake(
                dgamma,
                {
                    "dgamma = Σ dy·x̂ uses the normalized x̂, not the raw x": lambda: (dout * cache.x).sum(
                        axis=0
                    )
                },
            )
            or "dgamma = Σ over the batch of dy·x̂ (axis 0)"
        )
    m = dout.shape[0]
    g, inv_std, x_hat = cache.gamma, cache.inv_std, cache.x_hat
    sum_dy = dout.sum(axis=0, keepdims=True)
    sum_dy_xhat = (dout * x_hat).sum(axis=0, keepdims=True)
    right = m * dout - sum_dy - x_hat * sum_dy_xhat
    return match_mistake(
        dx,
        {
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
            "the sums run over the batch (axis=0, keepdims=True), one per feature": lambda: (
                (g * inv_std / m)
                * (
                    m * dout
                    - dout.sum(axis=1, keepdims=True)
                    - x_hat * (dout * x_hat).sum(axis=1, keepdims=True)
                )
            ),
        },
    ) or (
        "compare with the staged version: print dx from cu.batchnorm_backward_staged(dout, cache) next to "
        "yours for a tiny batch"
    )
