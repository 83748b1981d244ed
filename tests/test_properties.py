"""Property tests (hypothesis): the invariants of the normalizations over random shapes and scales.

Kept fast: a modest number of examples per property, no deadline (the machine is shared).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils import normalization as F
from course_utils.layers import BatchNorm

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def batches(draw, min_per_channel=2):
    """(x, gamma, beta, dout) with x of shape (N, C, *spatial), random offset and scale."""
    ndim = draw(st.integers(2, 4))
    N = draw(st.integers(1, 6))
    C = draw(st.integers(1, 5))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim - 2, max_size=ndim - 2)))
    if N * int(np.prod(spatial, dtype=int)) < min_per_channel:
        N = min_per_channel
    shape = (N, C) + spatial
    seed = draw(st.integers(0, 2**32 - 1))
    log_scale = draw(st.floats(-3, 3))
    offset = draw(st.floats(-1e3, 1e3))
    rng = np.random.default_rng(seed)
    x = offset + 10.0**log_scale * rng.normal(size=shape)
    gamma = rng.uniform(0.2, 3.0, C) * rng.choice([-1.0, 1.0], C)
    beta = rng.normal(size=C)
    dout = rng.normal(size=shape)
    return x, gamma, beta, dout


def axes_of(x):
    return (0,) + tuple(range(2, x.ndim))


def col(v, x):
    return v.reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))


@SETTINGS
@given(batches())
def test_bn_mean_beta_std_gamma(data):
    x, gamma, beta, _ = data
    eps = 1e-5
    out, cache = F.batchnorm_forward(x, gamma, beta, eps)
    axes = axes_of(x)
    var = cache.var.reshape(-1)
    np.testing.assert_allclose(out.mean(axis=axes), beta, rtol=0, atol=1e-9 * (1 + np.abs(gamma).max()))
    np.testing.assert_allclose(
        out.std(axis=axes), np.abs(gamma) * np.sqrt(var / (var + eps)), rtol=1e-8, atol=1e-9
    )


@SETTINGS
@given(batches())
def test_bn_backward_invariants_and_staged_equals_compact(data):
    x, gamma, beta, dout = data
    _, cache = F.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = F.batchnorm_backward(dout, cache)
    dx_s, dgamma_s, dbeta_s = F.batchnorm_backward_staged(dout, cache)
    term = np.max(np.abs(cache.gamma * cache.inv_std * dout))  # size of the terms dx is made of
    np.testing.assert_allclose(dx, dx_s, rtol=1e-10, atol=1e-11 * term)
    np.testing.assert_allclose(dgamma, dgamma_s, rtol=1e-12, atol=1e-12 * np.abs(dout).sum())
    np.testing.assert_allclose(dbeta, dbeta_s, rtol=1e-12, atol=1e-12 * np.abs(dout).sum())
    axes = axes_of(x)
    m = x.size // x.shape[1]
    # x - mu carries a rounding error of ~eps_machine * |x|, relative to sigma that is |x| / sigma:
    # with x = 256 + 1e-3 * noise, sum(x_hat) is ~1e-11 instead of 0. Bounds scale with it.
    cond = max(1.0, np.max(np.abs(x)) * np.max(cache.inv_std))
    bound = 1e-13 * term * m * cond
    assert np.all(np.abs(dx.sum(axis=axes)) < bound)
    # sum dx * x_hat = gamma * inv_std * sum(dout * x_hat) * eps / (var + eps)  (the eps term)
    var = cache.var.reshape(-1)
    eps_term = gamma / np.sqrt(var + 1e-5) * dgamma * 1e-5 / (var + 1e-5)
    assert np.all(np.abs((dx * cache.x_hat).sum(axis=axes) - eps_term) < bound)
    # all-ones upstream gradient: dx vanishes
    dx_ones = F.batchnorm_backward(np.ones_like(x), cache)[0]
    assert np.max(np.abs(dx_ones)) < 1e-13 * m * cond * np.max(np.abs(cache.gamma * cache.inv_std))


@SETTINGS
@given(batches(), st.floats(-3, 3))
def test_bn_scale_invariance(data, log_a):
    """BN(a x; eps) == BN(x; eps / a^2) for a > 0, and dx scales by 1/a."""
    x, gamma, beta, dout = data
    x = x - x.mean()  # keep a*x representable without cancellation issues
    a = 10.0**log_a
    out_a, cache_a = F.batchnorm_forward(a * x, gamma, beta, eps=1e-5)
    out_1, cache_1 = F.batchnorm_forward(x, gamma, beta, eps=1e-5 / a**2)
    np.testing.assert_allclose(out_a, out_1, rtol=1e-9, atol=1e-9 * np.abs(gamma).max())
    dx_a = F.batchnorm_backward(dout, cache_a)[0]
    dx_1 = F.batchnorm_backward(dout, cache_1)[0]
    term = np.max(np.abs(cache_1.gamma * cache_1.inv_std * dout))
    np.testing.assert_allclose(a * dx_a, dx_1, rtol=1e-8, atol=1e-10 * term)


@SETTINGS
@given(batches())
def test_renorm_rmax1_dmax0_equals_bn(data):
    x, gamma, beta, dout = data
    rng = np.random.default_rng(0)
    rm, rv = rng.normal(size=x.shape[1]) * 10, rng.uniform(1e-3, 1e3, x.shape[1])
    out_r, cache_r = F.batch_renorm_forward(x, gamma, beta, rm, rv, 1.0, 0.0)
    out_b, cache_b = F.batchnorm_forward(x, gamma, beta)
    np.testing.assert_array_equal(out_r, out_b)
    term = np.max(np.abs(cache_b.gamma * cache_b.inv_std * dout))
    dx_r, dx_b = F.batch_renorm_backward(dout, cache_r)[0], F.batchnorm_backward(dout, cache_b)[0]
    np.testing.assert_allclose(dx_r, dx_b, rtol=1e-10, atol=1e-11 * term)


@SETTINGS
@given(batches(min_per_channel=1), st.integers(0, 5))
def test_layernorm_is_per_sample(data, k):
    x, _, _, _ = data
    rng = np.random.default_rng(k)
    gamma, beta = rng.normal(size=x.shape[1:]), rng.normal(size=x.shape[1:])
    out, _ = F.layernorm_forward(x, gamma, beta)
    i = k % x.shape[0]
    alone, _ = F.layernorm_forward(x[i : i + 1], gamma, beta)
    np.testing.assert_allclose(alone[0], out[i], rtol=1e-12, atol=1e-12)
    shuffled = rng.permutation(x.shape[0])
    out_perm, _ = F.layernorm_forward(x[shuffled], gamma, beta)
    np.testing.assert_allclose(out_perm, out[shuffled], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(batches(min_per_channel=1))
def test_groupnorm_extremes_are_ln_and_instance_norm(data):
    x, gamma, beta, dout = data
    C = x.shape[1]
    out_1, cache_1 = F.groupnorm_forward(x, gamma, beta, 1)
    full = lambda v: np.broadcast_to(col(v, x)[0], x.shape[1:]).copy()  # noqa: E731
    out_ln, cache_ln = F.layernorm_forward(x, full(gamma), full(beta))
    np.testing.assert_allclose(out_1, out_ln, rtol=1e-10, atol=1e-10)
    dx_1 = F.groupnorm_backward(dout, cache_1)[0]
    dx_ln = F.layernorm_backward(dout, cache_ln)[0]
    term = np.max(np.abs(dout)) * np.max(np.abs(gamma)) * np.max(cache_ln.inv_std)
    np.testing.assert_allclose(dx_1, dx_ln, rtol=1e-9, atol=1e-11 * term)
    out_c, _ = F.groupnorm_forward(x, gamma, beta, C)
    space = tuple(range(2, x.ndim))
    if space:
        mu, var = x.mean(axis=space, keepdims=True), x.var(axis=space, keepdims=True)
    else:
        mu, var = x, np.zeros_like(x)
    expected = col(gamma, x) * (x - mu) / np.sqrt(var + 1e-5) + col(beta, x)
    np.testing.assert_allclose(out_c, expected, rtol=1e-9, atol=1e-9 * np.abs(gamma).max())


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**32 - 1), st.floats(-3, 3))
def test_weightnorm_properties(d_in, d_out, seed, log_scale):
    rng = np.random.default_rng(seed)
    v = 10.0**log_scale * rng.normal(size=(d_in, d_out))
    g = rng.normal(size=d_out)
    w, cache = F.weightnorm_forward(v, g)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), np.abs(g), rtol=1e-12)
    dw = rng.normal(size=v.shape)
    dv, dg = F.weightnorm_backward(dw, cache)
    np.testing.assert_allclose(dg, (w * dw).sum(axis=0) / np.where(g == 0, 1, g), rtol=1e-9, atol=1e-12)
    # dv . v is a difference of terms of size |g| * |dw| (per column)
    scale = np.abs(g) * np.linalg.norm(dw, axis=0)
    assert np.all(np.abs((dv * v).sum(axis=0)) <= 1e-12 * scale)


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1), st.floats(-2, 2))
def test_fold_batchnorm_equals_eval_mode(d_in, d_out, seed, log_scale):
    rng = np.random.default_rng(seed)
    W, b = 10.0**log_scale * rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    bn = BatchNorm(d_out)
    bn.params["gamma"][:] = rng.normal(size=d_out)
    bn.params["beta"][:] = rng.normal(size=d_out)
    bn.running_mean = rng.normal(size=d_out) * 10.0**log_scale
    bn.running_var = rng.uniform(0.01, 10, d_out) * 10.0 ** (2 * log_scale)
    x = rng.normal(size=(7, d_in))
    expected = bn.forward(x @ W + b, training=False)
    W_f, b_f = F.fold_batchnorm(W, b, bn)
    np.testing.assert_allclose(x @ W_f + b_f, expected, rtol=1e-9, atol=1e-10 * (1 + np.abs(expected).max()))


@SETTINGS
@given(batches())
def test_float32_in_float32_out(data):
    x, gamma, beta, dout = data
    x32, d32 = x.astype(np.float32), dout.astype(np.float32)
    out, cache = F.batchnorm_forward(x32, gamma, beta)
    results = [out, *F.batchnorm_backward(d32, cache), *F.batchnorm_backward_staged(d32, cache)]
    out_l, cache_l = F.layernorm_forward(x32, np.ones(x.shape[1:]), np.zeros(x.shape[1:]))
    results += [out_l, *F.layernorm_backward(d32, cache_l)]
    out_g, cache_g = F.groupnorm_forward(x32, gamma, beta, 1)
    results += [out_g, *F.groupnorm_backward(d32, cache_g)]
    assert all(r.dtype == np.float32 for r in results)
