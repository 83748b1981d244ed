r"""Forward and backward passes of every normalization the course teaches.

Conventions (the course's numerics contract, PyTorch semantics):

* Axis 1 is the channel axis. ``x`` has shape ``(N, C)`` or ``(N, C, *spatial)``.
* BatchNorm reduces over every axis except 1, LayerNorm over every axis except 0,
  GroupNorm over each group of ``C // num_groups`` channels and all spatial positions.
* Training-mode statistics use the **biased** variance :math:`\frac1m\sum (x-\mu)^2`,
  computed in two passes (subtract the mean first, never :math:`E[x^2]-E[x]^2`).
* :math:`\epsilon` sits inside the square root: :math:`\hat x = (x-\mu)/\sqrt{\sigma^2+\epsilon}`.
* Functions are pure: inputs are never modified, and the output has the dtype of ``x``.
* Precision and range: float16 is computed in float32 and cast back (as PyTorch accumulates half in
  float); float32 and float64 are computed in their own dtype. Where the squares overflow (huge but
  finite ``x``) the statistics are taken on a copy rescaled by a power of two, so the output never
  depends on the scale of ``x`` (see :func:`standardize_over`). An ``eps`` that rounds to 0 in the
  computing dtype is refused (ValueError naming ``eps``); an empty ``x`` too (ValueError naming ``x``).

Every normalization of the course lives here: BatchNorm, LayerNorm, GroupNorm, InstanceNorm, RMSNorm,
WeightNorm, Batch Renormalization and the folding of eval-mode BN. :func:`standardize_over` and
:func:`standardize_over_backward` are the public core they share.

Every ``*_forward`` returns ``(out, cache)``; the matching ``*_backward(dout, cache)`` returns the
gradients with respect to the forward's inputs, in the order they were passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._validate import (
    as_real_array,
    check_cache,
    check_in_range,
    check_ndim_at_least,
    check_positive,
    check_positive_int,
    check_running_statistics,
    check_same_shape,
    check_shape,
)

__all__ = [
    "Standardized",
    "standardize_over",
    "standardize_over_backward",
    "compute_dtype",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_staged",
    "batchnorm_inference",
    "layernorm_forward",
    "layernorm_backward",
    "groupnorm_forward",
    "groupnorm_backward",
    "instancenorm_forward",
    "instancenorm_backward",
    "rmsnorm_forward",
    "rmsnorm_backward",
    "weightnorm_forward",
    "weightnorm_backward",
    "batch_renorm_forward",
    "batch_renorm_backward",
    "fold_batchnorm",
]


# ----------------------------------------------------------------------------------------------
# The shared core: standardize over some axes, and its gradient.
# ----------------------------------------------------------------------------------------------
class Standardized(NamedTuple):
    """Result of :func:`standardize_over`; every array keeps the reduced axes as size 1.

    ``mu``, ``var`` and ``inv_std`` have the broadcast shape of one statistic per group;
    ``xmu`` and ``x_hat`` have the shape of ``x``.
    """

    mu: np.ndarray
    xmu: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    x_hat: np.ndarray


def compute_dtype(dtype) -> np.dtype:
    """The dtype a normalization of ``dtype`` data is computed in: float16 → float32, else unchanged.

    Half precision has 11 significant bits and overflows at 65504, so its statistics (like PyTorch's
    ``acc_type`` for half) are accumulated in float32; the output is cast back to float16.
    float32 and float64 are computed in their own precision (float32 stays bit-identical to before).
    """
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _largest_power_of_two_below(a: np.ndarray) -> np.ndarray:
    """2**floor(log2(a)) elementwise (0.5 where a == 0): dividing by it is exact and leaves a in [1, 2)."""
    _, exponent = np.frexp(a)
    return np.ldexp(np.ones_like(a), exponent - 1)


def _standardize_rescaled(x: np.ndarray, axes: tuple, eps, m: int) -> Standardized:
    r""":func:`standardize_over` for data whose squares overflow (e.g. ``|x| ~ 1e160`` in float64).

    Two exact rescalings by powers of two, so nothing overflows and no digit is lost:
    ``xs = x / s1`` with ``s1 ≈ max|x|`` (the mean of ``xs`` cannot overflow), then
    ``ys = (xs - mean(xs)) / s2`` with ``s2 ≈ max|xs - mean(xs)|``. With :math:`S = s_1 s_2`,
    :math:`\sqrt{\sigma^2+\epsilon} = S\sqrt{\overline{y^2} + \epsilon/S^2}` and
    :math:`\hat x = y / \sqrt{\overline{y^2} + \epsilon/S^2}`. ``var`` itself (= S²·mean(y²)) may be
    inf when it is beyond the dtype's range; ``x_hat`` and ``inv_std`` are right.
    """
    s1 = _largest_power_of_two_below(np.abs(x).max(axis=axes, keepdims=True))
    xs = x / s1
    mus = xs.sum(axis=axes, keepdims=True) / m
    xmus = xs - mus
    s2 = _largest_power_of_two_below(np.abs(xmus).max(axis=axes, keepdims=True))
    ys = xmus / s2
    vs = (ys * ys).sum(axis=axes, keepdims=True) / m
    with np.errstate(over="ignore", under="ignore"):
        root = np.sqrt(vs + eps / s1 / s1 / s2 / s2)  # sqrt(var + eps) / S
        return Standardized(
            mu=mus * s1,
            xmu=xmus * s1,
            var=vs * s2 * s2 * s1 * s1,
            inv_std=1.0 / (root * s2 * s1),
            x_hat=ys / root,
        )


def standardize_over(x: np.ndarray, axes: tuple, eps: float) -> Standardized:
    r"""Standardize ``x`` over ``axes``: the core that every normalization of the course shares.

    .. math::
        \mu = \tfrac1m\textstyle\sum x,\quad \sigma^2 = \tfrac1m\sum (x-\mu)^2,\quad
        \hat x = (x-\mu)/\sqrt{\sigma^2+\epsilon}

    with :math:`m` the number of values per group (two-pass, biased variance, ε inside the root).

    Precision and range (issue 11):

    * float16 input is computed in float32 (see :func:`compute_dtype`); every returned array is then
      float32 and the callers cast their *output* back to float16. float32/float64 are computed in
      their own dtype.
    * When :math:`(x-\mu)^2` or the sum overflows (finite ``x`` of size ~1e154 and beyond in float64,
      ~1e19 in float32), the groups concerned are recomputed on a copy rescaled by powers of two
      (:func:`_standardize_rescaled`), so ``x_hat`` and ``inv_std`` are right whatever the scale of
      ``x``; only ``var`` is inf there, since its true value is not representable. Ordinary inputs
      take the plain two-pass path and give bit-identical results to the course's earlier version.
    * NaN or inf in ``x`` propagates to its groups (as in NumPy and PyTorch).

    Parameters
    ----------
    x : ndarray of float
    axes : tuple of int
        Axes reduced by the statistics.
    eps : float > 0
        Must not round to 0 in the computing dtype (the forwards check this and name ``eps``).

    Returns
    -------
    Standardized
        ``(mu, xmu, var, inv_std, x_hat)``, unpackable as a tuple.
    """
    work = x.astype(np.float32) if x.dtype == np.float16 else x
    eps = work.dtype.type(eps)
    with np.errstate(over="ignore", invalid="ignore"):
        total = work.sum(axis=axes, keepdims=True)
        m = work.size // total.size  # values per group
        mu = total / m  # the same rounding as x.mean, without its Python overhead
        xmu = work - mu
        var = (xmu * xmu).sum(axis=axes, keepdims=True) / m  # two-pass, biased
        inv_std = 1.0 / np.sqrt(var + eps)
    bad = ~np.isfinite(var)
    if not bad.any():
        return Standardized(mu, xmu, var, inv_std, xmu * inv_std)
    # Some group overflowed (or holds NaN/inf, which the rescaled path propagates): recompute those.
    with np.errstate(over="ignore", invalid="ignore"):
        rescaled = _standardize_rescaled(work, axes, eps, m)
        plain = (mu, xmu, var, inv_std, xmu * inv_std)
    return Standardized(*(np.where(bad, r, p) for r, p in zip(rescaled, plain)))


def standardize_over_backward(dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axes: tuple):
    r"""Gradient of :math:`\hat x = (x-\mu)/\sqrt{\sigma^2+\epsilon}` with respect to ``x``.

    With :math:`m` values per group, the closed form is
    :math:`\frac{1}{m\,\sigma}\big(m\,d\hat x - \sum d\hat x - \hat x \sum d\hat x\,\hat x\big)`:
    the gradient minus its mean, minus its component along :math:`\hat x` (both sums over ``axes``).
    ``x_hat`` and ``inv_std`` are those of :func:`standardize_over` (any scale of ``x``).
    """
    m = x_hat.size // inv_std.size
    mean_dx_hat = dx_hat.sum(axis=axes, keepdims=True) / m
    buf = dx_hat * x_hat  # the one full-size temporary; reused below for speed
    mean_dx_hat_x_hat = buf.sum(axis=axes, keepdims=True) / m
    # inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), computed in place in buf
    np.multiply(x_hat, mean_dx_hat_x_hat, out=buf)
    np.subtract(dx_hat, buf, out=buf)
    buf -= mean_dx_hat
    buf *= inv_std
    return buf


def _channel_axes(ndim: int) -> tuple:
    """Every axis except the channel axis 1."""
    return (0,) + tuple(range(2, ndim))


def _channel_shape(ndim: int, C: int) -> tuple:
    """Shape that broadcasts a per-channel vector of length C against an ndim-array."""
    return (1, C) + (1,) * (ndim - 2)


def _check_x(x, where: str, allow_empty: bool = False) -> np.ndarray:
    x = as_real_array(x, "x", where)
    check_ndim_at_least(x, 2, "x", where)
    if x.size == 0 and not allow_empty:
        raise ValueError(
            f"{where}: x is empty (zero-size), shape {x.shape}; every statistic needs at least one value"
        )
    return x


def _check_eps(eps, x: np.ndarray, where: str) -> float:
    """``eps`` > 0 that does not round to 0 in the dtype ``x`` is computed in (else 0/0 = NaN)."""
    eps = check_positive(eps, "eps", where)
    work = compute_dtype(x.dtype)
    if work.type(eps) == 0:
        raise ValueError(
            f"{where}: eps={eps} rounds to 0 in {work}, the precision x of dtype {x.dtype} is "
            f"normalized in, so a constant channel would give 0/0 = NaN; use eps >= "
            f"{np.finfo(work).smallest_normal} or a float64 x"
        )
    return eps


def _grad_dtype(dout: np.ndarray, x: np.ndarray) -> np.dtype:
    """dtype of the gradients: that of ``dout`` and ``x`` together (float16 caches are float32)."""
    return np.result_type(dout.dtype, x.dtype)


def _check_param(p, name: str, shape: tuple, x: np.ndarray, where: str, hint: str) -> np.ndarray:
    p = as_real_array(p, name, where)
    check_shape(p, shape, name, where, hint=f"{hint}; x has shape {x.shape}")
    return p.astype(x.dtype, copy=False)


def _check_dout(dout, shape: tuple, where: str, name: str = "dout") -> np.ndarray:
    dout = as_real_array(dout, name, where)
    check_same_shape(dout, shape, where, name=name)
    return dout


# ----------------------------------------------------------------------------------------------
# BatchNorm
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchNormCache:
    """Intermediates of :func:`batchnorm_forward`, named after the math (all keep dims)."""

    x: np.ndarray
    gamma: np.ndarray  # broadcast shape (1, C, 1, ...)
    mu: np.ndarray
    xmu: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    x_hat: np.ndarray
    eps: float
    axes: tuple


def batchnorm_forward(x, gamma, beta, eps: float = 1e-5):
    r"""Training-mode batch normalization (Ioffe & Szegedy 2015, Algorithm 1).

    .. math::
        \mu_B = \tfrac1m \sum_i x_i,\quad
        \sigma_B^2 = \tfrac1m \sum_i (x_i-\mu_B)^2,\quad
        \hat x_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\epsilon}},\quad
        y_i = \gamma \hat x_i + \beta

    with one :math:`\mu_B, \sigma_B^2, \gamma, \beta` per channel and :math:`m = N\cdot H\cdot W\cdots`
    values per channel.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, *spatial)
        Mini-batch; axis 1 is the channel axis.
    gamma, beta : ndarray, shape (C,)
        Scale and shift, one per channel.
    eps : float, default 1e-5
        Added to the variance inside the square root; must be > 0.

    Returns
    -------
    out : ndarray, shape of x, dtype of x
    cache : BatchNormCache
        Intermediates ``mu, xmu, var, inv_std, x_hat`` (each of broadcast shape) for the backward pass.

    Raises
    ------
    ValueError
        If there is only one value per channel (``N * prod(spatial) == 1``): its variance is zero and
        :math:`\hat x` would be identically 0 (PyTorch refuses this case too). LayerNorm over one
        feature and GroupNorm with one value per group return β in that situation instead (see
        :func:`layernorm_forward`, :func:`groupnorm_forward`). Also if ``x`` is empty, or ``eps``
        rounds to 0 in the computing dtype.

    Notes
    -----
    Precision and range: see :func:`standardize_over` (float16 computed in float32 and cast back;
    huge but finite ``x`` handled by rescaling by a power of two, so the output never depends on the
    scale of ``x``). ``cache.var`` is inf where the variance itself exceeds the dtype's range.
    """
    where = "batchnorm_forward"
    x = _check_x(x, where)
    eps = _check_eps(eps, x, where)
    C = x.shape[1]
    gamma = _check_param(gamma, "gamma", (C,), x, where, "one per channel")
    beta = _check_param(beta, "beta", (C,), x, where, "one per channel")
    axes = _channel_axes(x.ndim)
    if x.size // C <= 1:
        raise ValueError(
            f"{where}: x of shape {x.shape} has only one value per channel; training-mode batch "
            "statistics need N * prod(spatial) > 1 (use batchnorm_inference or a larger batch)"
        )
    mu, xmu, var, inv_std, x_hat = standardize_over(x, axes, eps)
    bshape = _channel_shape(x.ndim, C)
    g = gamma.reshape(bshape)
    out = (g * x_hat + beta.reshape(bshape)).astype(x.dtype, copy=False)
    cache = BatchNormCache(
        x=x, gamma=g, mu=mu, xmu=xmu, var=var, inv_std=inv_std, x_hat=x_hat, eps=eps, axes=axes
    )
    return out, cache


def batchnorm_backward(dout, cache: BatchNormCache):
    r"""Backward pass of :func:`batchnorm_forward` in its compact closed form.

    .. math::
        \frac{\partial L}{\partial x_i} = \frac{\gamma}{m\sqrt{\sigma_B^2+\epsilon}}
        \Big(m\,dy_i - \sum_j dy_j - \hat x_i \sum_j dy_j \hat x_j\Big)

    Parameters
    ----------
    dout : ndarray, shape of x
        Upstream gradient :math:`\partial L/\partial y`.
    cache : BatchNormCache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape of x
    dgamma, dbeta : ndarray, shape (C,)
    """
    where = "batchnorm_backward"
    check_cache(cache, BatchNormCache, where, "batchnorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    axes, x_hat, gamma = cache.axes, cache.x_hat, cache.gamma
    m = x_hat.size // gamma.size
    # The two sums the formula needs are dbeta and dgamma themselves (dy = dout), so compute them
    # once and build dx in a single buffer: (gamma * inv_std) * (dy - mean(dy) - x_hat * mean(dy * x_hat)).
    dbeta = dout.sum(axis=axes)
    buf = dout * x_hat
    dgamma = buf.sum(axis=axes)
    np.multiply(x_hat, dgamma.reshape(gamma.shape) / m, out=buf)
    np.subtract(dout, buf, out=buf)
    buf -= dbeta.reshape(gamma.shape) / m
    buf *= gamma * cache.inv_std
    dtype = _grad_dtype(dout, cache.x)
    return buf.astype(dtype, copy=False), dgamma.astype(dtype, copy=False), dbeta.astype(dtype, copy=False)


def batchnorm_backward_staged(dout, cache: BatchNormCache):
    r"""Backward pass of :func:`batchnorm_forward`, node by node through the computational graph.

    The forward pass is the chain ``mu = mean(x)``, ``xmu = x - mu``, ``var = mean(xmu**2)``,
    ``inv_std = (var + eps)**-0.5``, ``x_hat = xmu * inv_std``, ``out = gamma * x_hat + beta``.
    Walking it backwards, each line below is the local derivative of one node times the gradient
    arriving from above; where a node feeds two others (``xmu`` feeds ``var`` and ``x_hat``; ``x``
    feeds ``mu`` and ``xmu``) the two contributions are added. This is the version notebook 06
    teaches; :func:`batchnorm_backward` is the same result simplified on paper. It follows the graph
    literally, so it needs ``var`` to be representable: for inputs whose variance overflows
    (``|x| ≳ 1e154`` in float64) use :func:`batchnorm_backward`, which reads only ``x_hat``, ``inv_std``.

    Parameters and returns are those of :func:`batchnorm_backward`.
    """
    where = "batchnorm_backward_staged"
    check_cache(cache, BatchNormCache, where, "batchnorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    axes, xmu, inv_std, var = cache.axes, cache.xmu, cache.inv_std, cache.var
    m = cache.x.size // cache.mu.size

    # out = gamma * x_hat + beta
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * cache.x_hat).sum(axis=axes)
    dx_hat = dout * cache.gamma
    # x_hat = xmu * inv_std           (first path into xmu, and into inv_std)
    dxmu = dx_hat * inv_std
    dinv_std = (dx_hat * xmu).sum(axis=axes, keepdims=True)
    # inv_std = (var + eps) ** -0.5
    dvar = -0.5 * (var + cache.eps) ** -1.5 * dinv_std
    # var = mean(xmu ** 2)            (second path into xmu)
    dxmu = dxmu + (2.0 / m) * xmu * dvar
    # xmu = x - mu                    (first path into x, and into mu)
    dx = dxmu.copy()
    dmu = -dxmu.sum(axis=axes, keepdims=True)
    # mu = mean(x)                    (second path into x)
    dx = dx + dmu / m
    dtype = _grad_dtype(dout, cache.x)
    return dx.astype(dtype, copy=False), dgamma.astype(dtype, copy=False), dbeta.astype(dtype, copy=False)


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps: float = 1e-5):
    r"""Eval-mode batch normalization with fixed (running or population) statistics.

    .. math:: y = \gamma\,\frac{x - \mathrm{running\_mean}}{\sqrt{\mathrm{running\_var}+\epsilon}} + \beta

    Each output depends only on its own input, so the result is the same whatever batch the sample is in.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, *spatial)
    gamma, beta, running_mean, running_var : ndarray, shape (C,)
        ``running_mean`` must be finite and ``running_var`` finite and ≥ 0 (ValueError otherwise:
        a NaN or inf statistic would silently give NaN or β).
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, shape of x
    """
    where = "batchnorm_inference"
    x = _check_x(x, where, allow_empty=True)  # no statistic is computed: an empty batch is fine
    eps = _check_eps(eps, x, where)
    C = x.shape[1]
    work = x.astype(compute_dtype(x.dtype), copy=False)  # float16 is computed in float32
    gamma = _check_param(gamma, "gamma", (C,), work, where, "one per channel")
    beta = _check_param(beta, "beta", (C,), work, where, "one per channel")
    running_mean = _check_param(running_mean, "running_mean", (C,), work, where, "one per channel")
    running_var = _check_param(running_var, "running_var", (C,), work, where, "one per channel")
    check_running_statistics(running_mean, running_var, where)
    bshape = _channel_shape(x.ndim, C)
    scale = gamma / np.sqrt(running_var + work.dtype.type(eps))
    out = (work - running_mean.reshape(bshape)) * scale.reshape(bshape) + beta.reshape(bshape)
    return out.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# LayerNorm
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerNormCache:
    """Intermediates of :func:`layernorm_forward`."""

    x: np.ndarray
    gamma: np.ndarray  # shape x.shape[1:]
    inv_std: np.ndarray  # shape (N, 1, ...)
    x_hat: np.ndarray
    axes: tuple


def layernorm_forward(x, gamma, beta, eps: float = 1e-5):
    r"""Layer normalization (Ba, Kiros & Hinton 2016): each sample over all its features.

    .. math::
        \mu_n = \tfrac1H\sum_h x_{nh},\quad \sigma_n^2 = \tfrac1H\sum_h (x_{nh}-\mu_n)^2,\quad
        y_{nh} = \gamma_h \frac{x_{nh}-\mu_n}{\sqrt{\sigma_n^2+\epsilon}} + \beta_h

    Same as PyTorch's ``F.layer_norm(x, x.shape[1:], gamma, beta, eps)``. The statistics never mix
    samples, so the output of a sample does not depend on the batch (or its size).

    With a single feature (``x.shape[1:] == (1,)``) every sample is its own mean, so
    :math:`\hat x = 0` and the layer silently returns β — PyTorch does the same. This is the analogue
    of one value per channel in :func:`batchnorm_forward`, which raises instead (there the batch is
    the mistake; here it is the layer's size, fixed when the model is built).

    Parameters
    ----------
    x : ndarray, shape (N, *features) with at least one feature axis
    gamma, beta : ndarray, shape x.shape[1:]
        One scale and shift per feature (not scalars).
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, shape of x
    cache : LayerNormCache
    """
    where = "layernorm_forward"
    x = _check_x(x, where)
    eps = _check_eps(eps, x, where)
    gamma = _check_param(gamma, "gamma", x.shape[1:], x, where, "x.shape[1:]")
    beta = _check_param(beta, "beta", x.shape[1:], x, where, "x.shape[1:]")
    axes = tuple(range(1, x.ndim))
    _, _, _, inv_std, x_hat = standardize_over(x, axes, eps)
    out = (gamma * x_hat + beta).astype(x.dtype, copy=False)
    return out, LayerNormCache(x=x, gamma=gamma, inv_std=inv_std, x_hat=x_hat, axes=axes)


def layernorm_backward(dout, cache: LayerNormCache):
    """Backward pass of :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray, shape of x
    dgamma, dbeta : ndarray, shape x.shape[1:]
    """
    where = "layernorm_backward"
    check_cache(cache, LayerNormCache, where, "layernorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * cache.x_hat).sum(axis=0)
    dx = standardize_over_backward(dout * cache.gamma, cache.x_hat, cache.inv_std, cache.axes)
    dtype = _grad_dtype(dout, cache.x)
    return dx.astype(dtype, copy=False), dgamma.astype(dtype, copy=False), dbeta.astype(dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# GroupNorm
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupNormCache:
    """Intermediates of :func:`groupnorm_forward` (``x_hat`` and ``inv_std`` in grouped shape)."""

    x: np.ndarray
    gamma: np.ndarray  # broadcast shape (1, C, 1, ...)
    inv_std: np.ndarray  # shape (N, G, 1)
    x_hat: np.ndarray  # shape (N, G, C // G * prod(spatial))
    num_groups: int


def groupnorm_forward(x, gamma, beta, num_groups: int, eps: float = 1e-5):
    r"""Group normalization (Wu & He 2018): per sample, per group of ``C // num_groups`` channels.

    Statistics are taken over the channels of a group and all spatial positions of one sample.
    ``num_groups=1`` is LayerNorm over ``(C, *spatial)`` with per-channel γ, β;
    ``num_groups=C`` is InstanceNorm. Same as PyTorch's ``F.group_norm``.

    With one value per group (``C // num_groups == 1`` and no spatial axes, e.g. an ``(N, C)`` input
    with ``num_groups=C``) every value is its own mean, so :math:`\hat x = 0` and the layer silently
    returns β — PyTorch does the same. This is the analogue of one value per channel in
    :func:`batchnorm_forward`, which raises instead.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, *spatial)
    gamma, beta : ndarray, shape (C,)
    num_groups : int
        Must divide C.
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, shape of x
    cache : GroupNormCache
    """
    where = "groupnorm_forward"
    x = _check_x(x, where)
    eps = _check_eps(eps, x, where)
    num_groups = check_positive_int(num_groups, "num_groups", where)
    N, C = x.shape[:2]
    if C % num_groups:
        raise ValueError(f"{where}: num_groups={num_groups} must divide the C={C} channels of x {x.shape}")
    gamma = _check_param(gamma, "gamma", (C,), x, where, "one per channel")
    beta = _check_param(beta, "beta", (C,), x, where, "one per channel")
    grouped = x.reshape(N, num_groups, -1)
    _, _, _, inv_std, x_hat = standardize_over(grouped, (2,), eps)
    bshape = _channel_shape(x.ndim, C)
    g = gamma.reshape(bshape)
    out = (g * x_hat.reshape(x.shape) + beta.reshape(bshape)).astype(x.dtype, copy=False)
    return out, GroupNormCache(x=x, gamma=g, inv_std=inv_std, x_hat=x_hat, num_groups=num_groups)


def groupnorm_backward(dout, cache: GroupNormCache):
    """Backward pass of :func:`groupnorm_forward`.

    Returns
    -------
    dx : ndarray, shape of x
    dgamma, dbeta : ndarray, shape (C,)
    """
    where = "groupnorm_backward"
    check_cache(cache, GroupNormCache, where, "groupnorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    shape = cache.x.shape
    axes = _channel_axes(len(shape))
    x_hat = cache.x_hat.reshape(shape)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = (dout * cache.gamma).reshape(cache.x_hat.shape)
    dx = standardize_over_backward(dx_hat, cache.x_hat, cache.inv_std, (2,))
    dtype = _grad_dtype(dout, cache.x)
    return (
        dx.reshape(shape).astype(dtype, copy=False),
        dgamma.astype(dtype, copy=False),
        dbeta.astype(dtype, copy=False),
    )


# ----------------------------------------------------------------------------------------------
# RMSNorm
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RMSNormCache:
    """Intermediates of :func:`rmsnorm_forward`."""

    x: np.ndarray
    gamma: np.ndarray  # shape x.shape[1:]
    inv_rms: np.ndarray  # shape (N, 1, ...)
    x_hat: np.ndarray  # x * inv_rms
    axes: tuple


def rmsnorm_forward(x, gamma, eps: float = 1e-6):
    r"""RMSNorm (Zhang & Sennrich 2019): divide each sample by the root mean square of its features.

    .. math::
        \mathrm{rms}_n = \sqrt{\tfrac1H\textstyle\sum_h x_{nh}^2 + \epsilon},\qquad
        y_{nh} = \gamma_h\, \frac{x_{nh}}{\mathrm{rms}_n}

    No mean is subtracted and there is no β: it is LayerNorm without re-centering. When a sample's
    features already have mean 0 it equals LayerNorm (with β = 0). Same as PyTorch's
    ``torch.nn.functional.rms_norm(x, x.shape[1:], gamma, eps)``; ``eps=1e-6`` is LLaMA's value.
    float16 is computed in float32 and cast back; where ``x**2`` overflows (huge but finite ``x``)
    the mean square is taken of ``x`` divided by a power of two near ``max|x|``, as in
    :func:`standardize_over`.

    Parameters
    ----------
    x : ndarray, shape (N, *features)
    gamma : ndarray, shape x.shape[1:]
        One gain per feature.
    eps : float > 0, default 1e-6

    Returns
    -------
    out : ndarray, shape of x, dtype of x
    cache : RMSNormCache
    """
    where = "rmsnorm_forward"
    x = _check_x(x, where)
    eps = _check_eps(eps, x, where)
    gamma = _check_param(gamma, "gamma", x.shape[1:], x, where, "x.shape[1:]")
    axes = tuple(range(1, x.ndim))
    work = x.astype(np.float32) if x.dtype == np.float16 else x
    eps = work.dtype.type(eps)
    with np.errstate(over="ignore"):
        mean_square = (work * work).mean(axis=axes, keepdims=True)
    inv_rms = 1.0 / np.sqrt(mean_square + eps)
    x_hat = work * inv_rms
    huge = np.isinf(mean_square) & np.isfinite(work).all(axis=axes, keepdims=True)
    if huge.any():
        s = _largest_power_of_two_below(np.abs(work).max(axis=axes, keepdims=True))
        ys = work / s
        with np.errstate(over="ignore", under="ignore"):
            root = np.sqrt((ys * ys).mean(axis=axes, keepdims=True) + eps / s / s)  # rms / s
        inv_rms = np.where(huge, 1.0 / (root * s), inv_rms)
        x_hat = np.where(huge, ys / root, x_hat)
    out = (gamma * x_hat).astype(x.dtype, copy=False)
    return out, RMSNormCache(x=x, gamma=gamma, inv_rms=inv_rms, x_hat=x_hat, axes=axes)


def rmsnorm_backward(dout, cache: RMSNormCache):
    r"""Backward pass of :func:`rmsnorm_forward`.

    With :math:`\hat x = x/\mathrm{rms}` and :math:`d\hat x = \gamma\,dy`,

    .. math:: \frac{\partial L}{\partial x} = \frac{1}{\mathrm{rms}}
        \Big(d\hat x - \hat x\,\tfrac1H\textstyle\sum_h d\hat x_h\,\hat x_h\Big)

    — the LayerNorm formula without the "minus the mean of the gradient" term.

    Returns
    -------
    dx : ndarray, shape of x
    dgamma : ndarray, shape x.shape[1:]
    """
    where = "rmsnorm_backward"
    check_cache(cache, RMSNormCache, where, "rmsnorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    dgamma = (dout * cache.x_hat).sum(axis=0)
    dx_hat = dout * cache.gamma
    proj = (dx_hat * cache.x_hat).mean(axis=cache.axes, keepdims=True)
    dx = cache.inv_rms * (dx_hat - cache.x_hat * proj)
    dtype = _grad_dtype(dout, cache.x)
    return dx.astype(dtype, copy=False), dgamma.astype(dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# InstanceNorm (written on its own, so that GroupNorm(G=C) == InstanceNorm is a real check)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstanceNormCache:
    """Intermediates of :func:`instancenorm_forward`."""

    x: np.ndarray
    gamma: np.ndarray  # broadcast shape (1, C, 1, ...)
    inv_std: np.ndarray  # shape (N, C, 1, ...)
    x_hat: np.ndarray
    axes: tuple


def instancenorm_forward(x, gamma, beta, eps: float = 1e-5):
    r"""Instance normalization (Ulyanov et al. 2016): each sample and channel over its spatial positions.

    Statistics over axes ``2, 3, …`` only, so ``x`` needs spatial axes: for an ``(N, C)`` input each
    statistic would cover one value and the output would be β. Same as PyTorch's
    ``F.instance_norm(x, weight=gamma, bias=beta, eps=eps)`` (no running statistics).
    Precision and range as in :func:`standardize_over`.

    Parameters
    ----------
    x : ndarray, shape (N, C, *spatial) with at least one spatial axis
    gamma, beta : ndarray, shape (C,)
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, shape of x
    cache : InstanceNormCache
    """
    where = "instancenorm_forward"
    x = _check_x(x, where)
    if x.ndim < 3:
        raise ValueError(f"{where}: x must have shape (N, C, *spatial) with a spatial axis, got {x.shape}")
    eps = _check_eps(eps, x, where)
    C = x.shape[1]
    gamma = _check_param(gamma, "gamma", (C,), x, where, "one per channel")
    beta = _check_param(beta, "beta", (C,), x, where, "one per channel")
    axes = tuple(range(2, x.ndim))
    _, _, _, inv_std, x_hat = standardize_over(x, axes, eps)
    bshape = _channel_shape(x.ndim, C)
    g = gamma.reshape(bshape)
    out = (g * x_hat + beta.reshape(bshape)).astype(x.dtype, copy=False)
    return out, InstanceNormCache(x=x, gamma=g, inv_std=inv_std, x_hat=x_hat, axes=axes)


def instancenorm_backward(dout, cache: InstanceNormCache):
    """Backward pass of :func:`instancenorm_forward`; returns ``dx, dgamma, dbeta``."""
    where = "instancenorm_backward"
    check_cache(cache, InstanceNormCache, where, "instancenorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    param_axes = (0,) + cache.axes
    dbeta = dout.sum(axis=param_axes)
    dgamma = (dout * cache.x_hat).sum(axis=param_axes)
    dx = standardize_over_backward(dout * cache.gamma, cache.x_hat, cache.inv_std, cache.axes)
    dtype = _grad_dtype(dout, cache.x)
    return dx.astype(dtype, copy=False), dgamma.astype(dtype, copy=False), dbeta.astype(dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# WeightNorm
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeightNormCache:
    v: np.ndarray
    g: np.ndarray
    norm: np.ndarray  # shape v.shape[1:]


def weightnorm_forward(v, g):
    r"""Weight normalization (Salimans & Kingma 2016): :math:`w = g\,v/\lVert v\rVert`.

    The norm is over axis 0, one per output unit of a ``(D_in, D_out)`` weight (column j of ``v``
    gives column j of ``w``, whose length is exactly ``g[j]``).

    Parameters
    ----------
    v : ndarray, shape (D_in, D_out)
        Direction parameter; no column may be all zeros.
    g : ndarray, shape (D_out,)
        Length parameter.

    Returns
    -------
    w : ndarray, shape (D_in, D_out)
    cache : WeightNormCache

    Notes
    -----
    The norm is ``sqrt(sum(v**2))``; where ``v**2`` overflows (entries ~1e155 and beyond in float64)
    it is recomputed on ``v`` divided by a power of two near ``max|v|`` and multiplied back, so huge but
    finite columns give the right ``w`` instead of zeros.
    """
    where = "weightnorm_forward"
    v = as_real_array(v, "v", where)
    check_ndim_at_least(v, 2, "v", where)
    g = as_real_array(g, "g", where)
    check_shape(g, v.shape[1:], "g", where, hint=f"one per output unit; v has shape {v.shape}")
    g = g.astype(v.dtype, copy=False)
    if v.size == 0:
        raise ValueError(f"{where}: v is empty (zero-size), shape {v.shape}; a norm needs at least one value")
    with np.errstate(over="ignore"):
        norm = np.sqrt((v * v).sum(axis=0))
    huge = np.isinf(norm) & np.isfinite(v).all(axis=0)
    if huge.any():  # v * v overflowed: take the norm of v / s (s a power of two ~ max|v|), times s
        s = _largest_power_of_two_below(np.abs(v).max(axis=0))
        norm = np.where(huge, np.sqrt(((v / s) ** 2).sum(axis=0)) * s, norm)
    if np.any(norm == 0):
        raise ValueError(f"{where}: v has a column of zeros; its direction v/||v|| is undefined")
    return g * v / norm, WeightNormCache(v=v, g=g, norm=norm)


def weightnorm_backward(dw, cache: WeightNormCache):
    r"""Backward pass of :func:`weightnorm_forward`.

    .. math::
        \frac{\partial L}{\partial g} = \frac{v\cdot dw}{\lVert v\rVert},\qquad
        \frac{\partial L}{\partial v} = \frac{g}{\lVert v\rVert}
        \Big(dw - \frac{v\cdot dw}{\lVert v\rVert^2}\,v\Big)

    so :math:`\partial L/\partial v` is ``dw`` with its component along ``v`` (hence along ``w``) removed.

    Returns
    -------
    dv : ndarray, shape (D_in, D_out)
    dg : ndarray, shape (D_out,)
    """
    where = "weightnorm_backward"
    check_cache(cache, WeightNormCache, where, "weightnorm_forward")
    dw = _check_dout(dw, cache.v.shape, where, name="dw")
    v, g, norm = cache.v, cache.g, cache.norm
    v_dot_dw = (v * dw).sum(axis=0)
    dg = v_dot_dw / norm
    with np.errstate(over="ignore", under="ignore"):
        norm2 = norm**2
    # (v.dw)/||v||^2; when ||v||^2 over- or underflows (|v| ~ 1e155 and beyond), divide twice instead
    along_v = np.where(
        np.isfinite(norm2) & (norm2 >= np.finfo(norm.dtype).smallest_normal), v_dot_dw / norm2, dg / norm
    )
    dv = (g / norm) * (dw - v * along_v)
    return dv, dg


# ----------------------------------------------------------------------------------------------
# Batch Renormalization
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchRenormCache:
    """Intermediates of :func:`batch_renorm_forward`; ``r`` and ``d`` have shape (C,) for plotting."""

    x: np.ndarray
    gamma: np.ndarray  # broadcast shape
    inv_std: np.ndarray
    x_hat_batch: np.ndarray  # (x - mu_B) / sigma_B
    x_hat: np.ndarray  # x_hat_batch * r + d
    r: np.ndarray
    d: np.ndarray
    batch_mean: np.ndarray  # shape (C,)
    batch_var: np.ndarray  # shape (C,), biased
    axes: tuple


def batch_renorm_forward(
    x, gamma, beta, running_mean, running_var, r_max: float, d_max: float, eps: float = 1e-5
):
    r"""Training-mode Batch Renormalization (Ioffe 2017, Algorithm 1).

    .. math::
        \sigma_B = \sqrt{\sigma_B^2+\epsilon},\quad \sigma = \sqrt{\mathrm{running\_var}+\epsilon},\quad
        r = \mathrm{clip}_{[1/r_{max},\,r_{max}]}\!\big(\sigma_B/\sigma\big),\quad
        d = \mathrm{clip}_{[-d_{max},\,d_{max}]}\!\big((\mu_B-\mathrm{running\_mean})/\sigma\big)

    .. math:: \hat x = \frac{x-\mu_B}{\sigma_B}\,r + d,\qquad y = \gamma\hat x + \beta

    ``r`` and ``d`` are treated as constants by the backward pass (the paper's ``stop_gradient``).
    With ``r_max = 1, d_max = 0`` this is exactly batch normalization; when neither clip is active,
    :math:`\hat x = (x - \mathrm{running\_mean})/\sigma`, the inference-time transform. The running
    statistics are not updated here (the function is pure): :class:`course_utils.layers.BatchRenorm`
    does that with ``cache.batch_mean`` and ``cache.batch_var``. The paper keeps a moving σ; we keep
    ``running_var`` and take σ from it, as PyTorch-style layers do.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, *spatial)
    gamma, beta, running_mean, running_var : ndarray, shape (C,)
        ``running_mean`` finite, ``running_var`` finite and ≥ 0 (ValueError otherwise).
    r_max : float, ≥ 1
    d_max : float, ≥ 0
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, shape of x
    cache : BatchRenormCache
        ``cache.r`` and ``cache.d`` (shape (C,)) are the clipped corrections used.
    """
    where = "batch_renorm_forward"
    x = _check_x(x, where)
    eps = _check_eps(eps, x, where)
    r_max = check_in_range(r_max, "r_max", where, 1.0, np.inf)
    d_max = check_in_range(d_max, "d_max", where, 0.0, np.inf)
    C = x.shape[1]
    gamma = _check_param(gamma, "gamma", (C,), x, where, "one per channel")
    beta = _check_param(beta, "beta", (C,), x, where, "one per channel")
    running_mean = _check_param(running_mean, "running_mean", (C,), x, where, "one per channel")
    running_var = _check_param(running_var, "running_var", (C,), x, where, "one per channel")
    check_running_statistics(running_mean, running_var, where)
    if x.size // C <= 1:
        raise ValueError(f"{where}: x of shape {x.shape} has only one value per channel")
    axes = _channel_axes(x.ndim)
    bshape = _channel_shape(x.ndim, C)
    mu, _, var, inv_std, x_hat_batch = standardize_over(x, axes, eps)
    work = x_hat_batch.dtype  # float16 is computed in float32
    # sigma_B = sqrt(var + eps); where var overflowed (huge x) it is still 1 / inv_std
    with np.errstate(over="ignore"):
        sigma_batch = np.where(np.isfinite(var), np.sqrt(var + work.type(eps)), 1.0 / inv_std).reshape(C)
    sigma = np.sqrt(running_var.astype(work, copy=False) + work.type(eps))
    r = np.clip(sigma_batch / sigma, 1.0 / r_max, r_max).astype(work, copy=False)
    d = np.clip((mu.reshape(C) - running_mean) / sigma, -d_max, d_max).astype(work, copy=False)
    x_hat = x_hat_batch * r.reshape(bshape) + d.reshape(bshape)
    g = gamma.reshape(bshape)
    out = (g * x_hat + beta.reshape(bshape)).astype(x.dtype, copy=False)
    cache = BatchRenormCache(
        x=x,
        gamma=g,
        inv_std=inv_std,
        x_hat_batch=x_hat_batch,
        x_hat=x_hat,
        r=r,
        d=d,
        batch_mean=mu.reshape(C),
        batch_var=var.reshape(C),
        axes=axes,
    )
    return out, cache


def batch_renorm_backward(dout, cache: BatchRenormCache):
    """Backward pass of :func:`batch_renorm_forward`, with ``r`` and ``d`` held constant.

    Returns
    -------
    dx : ndarray, shape of x
    dgamma, dbeta : ndarray, shape (C,)
    """
    where = "batch_renorm_backward"
    check_cache(cache, BatchRenormCache, where, "batch_renorm_forward")
    dout = _check_dout(dout, cache.x.shape, where)
    axes = cache.axes
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * cache.x_hat).sum(axis=axes)
    r = cache.r.reshape(cache.gamma.shape)
    dx = standardize_over_backward(dout * cache.gamma * r, cache.x_hat_batch, cache.inv_std, axes)
    dtype = _grad_dtype(dout, cache.x)
    return dx.astype(dtype, copy=False), dgamma.astype(dtype, copy=False), dbeta.astype(dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# Folding eval-mode BN into the preceding affine layer
# ----------------------------------------------------------------------------------------------
def fold_batchnorm(W, b, bn):
    r"""Fold an eval-mode BatchNorm into the Linear layer before it.

    For :math:`y = \mathrm{BN}_{eval}(xW + b)` with :math:`s = \gamma/\sqrt{\mathrm{running\_var}+\epsilon}`:

    .. math:: W' = W\,\mathrm{diag}(s),\qquad b' = (b - \mathrm{running\_mean})\,s + \beta

    so that :math:`xW' + b' = y` exactly (up to rounding), one matrix product and no normalization.

    Parameters
    ----------
    W : ndarray, shape (D_in, D_out)
    b : ndarray, shape (D_out,)
    bn : object with attributes ``gamma, beta, running_mean, running_var`` (each shape (D_out,)) and ``eps``
        Typically a :class:`course_utils.layers.BatchNorm`. ``running_mean`` must be finite and
        ``running_var`` finite and ≥ 0 (ValueError otherwise).

    Returns
    -------
    W_folded : ndarray, shape (D_in, D_out)
    b_folded : ndarray, shape (D_out,)
    """
    where = "fold_batchnorm"
    W = as_real_array(W, "W", where)
    if W.ndim != 2:
        raise ValueError(f"{where}: W must have shape (D_in, D_out), got {W.shape}")
    D_out = W.shape[1]
    b = as_real_array(b, "b", where)
    check_shape(b, (D_out,), "b", where, hint=f"W has shape {W.shape}")
    for attr in ("gamma", "beta", "running_mean", "running_var", "eps"):
        if not hasattr(bn, attr):
            raise TypeError(f"{where}: bn must be a BatchNorm layer (missing attribute {attr!r})")
    stats = {}
    for attr in ("gamma", "beta", "running_mean", "running_var"):
        stats[attr] = as_real_array(getattr(bn, attr), f"bn.{attr}", where)
        check_shape(stats[attr], (D_out,), f"bn.{attr}", where, hint=f"W has shape {W.shape}")
    eps = check_positive(bn.eps, "bn.eps", where)
    check_running_statistics(stats["running_mean"], stats["running_var"], where, prefix="bn.")
    scale = stats["gamma"] / np.sqrt(stats["running_var"] + eps)
    return W * scale, (b - stats["running_mean"]) * scale + stats["beta"]
