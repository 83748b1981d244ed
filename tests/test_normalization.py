"""Tests of course_utils.normalization: gradients, invariants, numerics, purity.

Every gradient check is float64, batch > 1, random upstream gradient, rel_error < 1e-7 on every entry
(see gradcheck_tools for how the numerical side is kept well conditioned).
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck_tools import assert_gradient

import course_utils as cu
from course_utils import normalization as F
from course_utils.gradcheck import rel_error
from course_utils.layers import BatchNorm, Linear

BN_SHAPES = [(6, 4), (6, 4, 3), (3, 4, 2, 3)]
BACKWARDS = {"compact": F.batchnorm_backward, "staged": F.batchnorm_backward_staged}


def channel_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def bshape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def bn_inputs(shape, seed=0, loc=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = rng.normal(loc, scale, size=shape)
    gamma = rng.uniform(0.5, 2.0, C)
    beta = 0.1 * rng.normal(size=C)
    dout = rng.normal(size=shape)
    return x, gamma, beta, dout


def reference_bn(x, gamma, beta, eps=1e-5):
    """Independent textbook BN (np.mean / np.var, per channel)."""
    axes = channel_axes(x)
    mu = np.mean(x, axis=axes, keepdims=True)
    var = np.var(x, axis=axes, keepdims=True)
    return gamma.reshape(bshape(x)) * (x - mu) / np.sqrt(var + eps) + beta.reshape(bshape(x))


# ----------------------------------------------------------------------------------------------
# Forward against an independent reference
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batchnorm_forward_matches_textbook(shape):
    x, gamma, beta, _ = bn_inputs(shape, loc=2.0, scale=3.0)
    out, cache = F.batchnorm_forward(x, gamma, beta)
    np.testing.assert_allclose(out, reference_bn(x, gamma, beta), rtol=1e-12, atol=1e-12)
    assert cache.mu.shape == bshape(x) and cache.x_hat.shape == x.shape


def test_layernorm_forward_matches_textbook():
    rng = np.random.default_rng(30)
    x = rng.normal(2.0, 3.0, size=(4, 3, 5))
    gamma, beta = rng.uniform(0.5, 2, (3, 5)), rng.normal(size=(3, 5))
    out, cache = F.layernorm_forward(x, gamma, beta, eps=1e-4)
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, gamma * (x - mu) / np.sqrt(var + 1e-4) + beta, rtol=1e-12, atol=1e-12)
    assert cache.inv_std.shape == (4, 1, 1)


def test_batchnorm_inference_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3, 2))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2, 3)
    out = F.batchnorm_inference(x, gamma, beta, rm, rv, eps=1e-3)
    expected = (
        gamma[None, :, None] * (x - rm[None, :, None]) / np.sqrt(rv[None, :, None] + 1e-3)
        + beta[None, :, None]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    # each output depends only on its own sample
    np.testing.assert_allclose(
        F.batchnorm_inference(x[2:3], gamma, beta, rm, rv, eps=1e-3), out[2:3], rtol=1e-15
    )


# ----------------------------------------------------------------------------------------------
# Gradient checks
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(BACKWARDS))
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batchnorm_gradients(shape, variant):
    x, gamma, beta, dout = bn_inputs(shape, seed=len(shape))
    _, cache = F.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = BACKWARDS[variant](dout, cache)
    assert_gradient(lambda z: F.batchnorm_forward(z, gamma, beta)[0], x, dout, dx, f"{variant} dx")
    assert_gradient(lambda g: F.batchnorm_forward(x, g, beta)[0], gamma, dout, dgamma, f"{variant} dgamma")
    assert_gradient(lambda b: F.batchnorm_forward(x, gamma, b)[0], beta, dout, dbeta, f"{variant} dbeta")


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 5), (3, 2, 2, 3)])
def test_layernorm_gradients(shape):
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape)
    gamma = rng.uniform(0.5, 2.0, shape[1:])
    beta = 0.1 * rng.normal(size=shape[1:])
    dout = rng.normal(size=shape)
    _, cache = F.layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = F.layernorm_backward(dout, cache)
    assert dgamma.shape == gamma.shape and dbeta.shape == beta.shape
    assert_gradient(lambda z: F.layernorm_forward(z, gamma, beta)[0], x, dout, dx, "LN dx")
    assert_gradient(lambda g: F.layernorm_forward(x, g, beta)[0], gamma, dout, dgamma, "LN dgamma")
    assert_gradient(lambda b: F.layernorm_forward(x, gamma, b)[0], beta, dout, dbeta, "LN dbeta")


@pytest.mark.parametrize(
    "shape, num_groups",
    [
        ((4, 6, 3, 2), 1),
        ((4, 6, 3, 2), 2),
        ((4, 6, 3, 2), 3),
        ((4, 6, 3, 2), 6),
        ((5, 6), 2),
        ((5, 6), 1),
        ((3, 4, 5), 4),
    ],
)
def test_groupnorm_gradients(shape, num_groups):
    rng = np.random.default_rng(11)
    C = shape[1]
    x = rng.normal(size=shape)
    gamma, beta = rng.uniform(0.5, 2.0, C), 0.1 * rng.normal(size=C)
    dout = rng.normal(size=shape)
    _, cache = F.groupnorm_forward(x, gamma, beta, num_groups)
    dx, dgamma, dbeta = F.groupnorm_backward(dout, cache)
    f = lambda z: F.groupnorm_forward(z, gamma, beta, num_groups)[0]  # noqa: E731
    assert_gradient(f, x, dout, dx, f"GN(G={num_groups}) dx")
    f_gamma = lambda g: F.groupnorm_forward(x, g, beta, num_groups)[0]  # noqa: E731
    f_beta = lambda b: F.groupnorm_forward(x, gamma, b, num_groups)[0]  # noqa: E731
    assert_gradient(f_gamma, gamma, dout, dgamma, "GN dgamma")
    assert_gradient(f_beta, beta, dout, dbeta, "GN dbeta")


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2)])
def test_weightnorm_gradients(shape):
    rng = np.random.default_rng(3)
    v = rng.normal(size=shape)
    g = rng.uniform(0.5, 2.0, shape[1:]) * rng.choice([-1, 1], size=shape[1:])
    dw = rng.normal(size=shape)
    _, cache = F.weightnorm_forward(v, g)
    dv, dg = F.weightnorm_backward(dw, cache)
    assert_gradient(lambda z: F.weightnorm_forward(z, g)[0], v, dw, dv, "WN dv")
    assert_gradient(lambda z: F.weightnorm_forward(v, z)[0], g, dw, dg, "WN dg")


def renorm_setup(seed=5):
    """A batch whose channels hit every regime: r clipped low/high or free, d clipped or free."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 4, 3))
    gamma, beta = rng.uniform(0.5, 2.0, 4), 0.1 * rng.normal(size=4)
    batch_mean = x.mean(axis=(0, 2))
    batch_var = x.var(axis=(0, 2))
    running_mean = batch_mean + np.array([0.0, 3.0, -0.1, -5.0]) * np.sqrt(batch_var)
    running_var = batch_var * np.array([1.5, 1e-2, 1e2, 1.0])
    dout = rng.normal(size=x.shape)
    return x, gamma, beta, running_mean, running_var, dout


def test_batch_renorm_forward_formula_and_regimes():
    x, gamma, beta, rm, rv, _ = renorm_setup()
    r_max, d_max, eps = 2.0, 1.0, 1e-5
    out, cache = F.batch_renorm_forward(x, gamma, beta, rm, rv, r_max, d_max, eps)
    mu = x.mean(axis=(0, 2))
    sigma_b = np.sqrt(x.var(axis=(0, 2)) + eps)
    sigma = np.sqrt(rv + eps)
    r = np.clip(sigma_b / sigma, 1 / r_max, r_max)
    d = np.clip((mu - rm) / sigma, -d_max, d_max)
    np.testing.assert_allclose(cache.r, r, rtol=1e-14)
    np.testing.assert_allclose(cache.d, d, rtol=1e-14, atol=1e-15)
    # the setup really covers: r free, r clipped at r_max, r clipped at 1/r_max; d free and clipped
    assert np.isclose(r, r_max).any() and np.isclose(r, 1 / r_max).any()
    assert ((r > 1 / r_max) & (r < r_max)).any()
    assert np.isclose(np.abs(d), d_max).any() and (np.abs(d) < d_max).any()
    x_hat = (x - mu[None, :, None]) / sigma_b[None, :, None] * r[None, :, None] + d[None, :, None]
    expected = gamma[None, :, None] * x_hat + beta[None, :, None]
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(cache.batch_mean, mu, rtol=1e-14)
    np.testing.assert_allclose(cache.batch_var, x.var(axis=(0, 2)), rtol=1e-13)


def test_batch_renorm_unclipped_is_the_inference_transform():
    rng = np.random.default_rng(2)
    x = rng.normal(1.0, 2.0, size=(10, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    rm, rv = x.mean(0) + 0.1, x.var(0) * 1.2
    out, _ = F.batch_renorm_forward(x, gamma, beta, rm, rv, r_max=1e6, d_max=1e6)
    np.testing.assert_allclose(out, F.batchnorm_inference(x, gamma, beta, rm, rv), rtol=1e-12, atol=1e-12)


def test_batch_renorm_gradients_with_r_d_constant():
    x, gamma, beta, rm, rv, dout = renorm_setup()
    out, cache = F.batch_renorm_forward(x, gamma, beta, rm, rv, 2.0, 1.0)
    dx, dgamma, dbeta = F.batch_renorm_backward(dout, cache)
    r, d = cache.r.copy(), cache.d.copy()

    # y = gamma * ((x - mu_B) / sigma_B * r + d) + beta with the cached r, d frozen
    # = BN(x) with scale gamma * r and shift gamma * d + beta.
    def frozen(z):
        return F.batchnorm_forward(z, gamma * r, gamma * d + beta)[0]

    np.testing.assert_allclose(frozen(x), out, rtol=1e-13, atol=1e-13)
    assert_gradient(frozen, x, dout, dx, "renorm dx (r, d constant)")
    f_gamma = lambda g: F.batch_renorm_forward(x, g, beta, rm, rv, 2.0, 1.0)[0]  # noqa: E731
    f_beta = lambda b: F.batch_renorm_forward(x, gamma, b, rm, rv, 2.0, 1.0)[0]  # noqa: E731
    assert_gradient(f_gamma, gamma, dout, dgamma, "renorm dgamma")
    assert_gradient(f_beta, beta, dout, dbeta, "renorm dbeta")
    # and it is NOT the gradient through r and d: that one differs where they are not clipped
    full = lambda z: F.batch_renorm_forward(z, gamma, beta, rm, rv, 2.0, 1.0)[0]  # noqa: E731
    from gradcheck_tools import numerical

    assert rel_error(numerical(full, x, dout), dx) > 1e-3


# ----------------------------------------------------------------------------------------------
# The vacuous check: an all-ones upstream gradient
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(BACKWARDS))
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_all_ones_dout_makes_bn_dx_identically_zero(shape, variant):
    x, gamma, beta, _ = bn_inputs(shape, loc=1.0, scale=2.0)
    _, cache = F.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = BACKWARDS[variant](np.ones_like(x), cache)
    assert np.max(np.abs(dx)) < 1e-12
    np.testing.assert_allclose(dbeta, x.size // x.shape[1])  # the other gradients are not zero
    assert np.max(np.abs(dgamma)) < 1e-12  # sum of x_hat is 0 too


def test_all_ones_dout_cannot_tell_a_wrong_backward():
    """A backward that forgets the x_hat term passes with dout = 1 and fails with a random dout."""
    x, gamma, beta, dout = bn_inputs((6, 4), seed=3)
    _, cache = F.batchnorm_forward(x, gamma, beta)

    def wrong_dx(d):
        return cache.gamma * cache.inv_std * (d - d.mean(axis=0, keepdims=True))

    ones = np.ones_like(x)
    # with dout = 1 both give zeros (to rounding): nothing distinguishes them
    assert np.max(np.abs(wrong_dx(ones) - F.batchnorm_backward(ones, cache)[0])) < 1e-12
    # with a random dout the mistake is obvious
    assert rel_error(wrong_dx(dout), F.batchnorm_backward(dout, cache)[0]) > 1e-2


# ----------------------------------------------------------------------------------------------
# Invariants of BN
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", BN_SHAPES + [(2, 3), (7, 2, 4, 4)])
def test_staged_equals_compact(shape):
    x, gamma, beta, dout = bn_inputs(shape, seed=4, loc=-1.0, scale=5.0)
    _, cache = F.batchnorm_forward(x, gamma, beta)
    compact = F.batchnorm_backward(dout, cache)
    staged = F.batchnorm_backward_staged(dout, cache)
    # dx is a difference of terms of size |gamma * inv_std * dout| that can cancel (with N = 2 every
    # x_hat is +-1 and dx ~ 1e-7 of them), so agreement is measured against that size.
    term_size = np.max(np.abs(cache.gamma * cache.inv_std * dout))
    np.testing.assert_allclose(compact[0], staged[0], rtol=1e-12, atol=1e-12 * term_size)
    for a, b in zip(compact[1:], staged[1:], strict=True):
        assert a.shape == b.shape == (shape[1],)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.max(np.abs(b)))


@pytest.mark.parametrize("shape", [(50, 3), (10, 3, 4, 5)])
def test_bn_output_mean_beta_std_gamma(shape):
    x, gamma, beta, _ = bn_inputs(shape, loc=4.0, scale=3.0)
    gamma = gamma * np.array([1, -1, 1])  # a negative gamma gives std |gamma|
    eps = 1e-5
    out, cache = F.batchnorm_forward(x, gamma, beta, eps=eps)
    axes = channel_axes(x)
    np.testing.assert_allclose(out.mean(axis=axes), beta, rtol=0, atol=1e-12)
    var = x.var(axis=axes)
    np.testing.assert_allclose(out.std(axis=axes), np.abs(gamma) * np.sqrt(var / (var + eps)), rtol=1e-12)
    np.testing.assert_allclose(out.std(axis=axes), np.abs(gamma), rtol=1e-5)


@pytest.mark.parametrize("variant", sorted(BACKWARDS))
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_dx_sums_to_zero_and_is_orthogonal_to_x_hat(shape, variant):
    """Sum dx = 0 exactly; sum dx * x_hat = 0 up to the eps term.

    sum(x_hat**2) = m * var / (var + eps), not m, so
    sum(dx * x_hat) = gamma * inv_std * sum(dout * x_hat) * eps / (var + eps): tiny, but not rounding.
    """
    x, gamma, beta, dout = bn_inputs(shape, seed=9, loc=3.0, scale=2.0)
    axes = channel_axes(x)
    for eps in (1e-5, 1e-14):
        _, cache = F.batchnorm_forward(x, gamma, beta, eps=eps)
        dx = BACKWARDS[variant](dout, cache)[0]
        scale = np.abs(dx).sum(axis=axes)
        assert np.all(scale > 1)  # non-vacuous
        assert np.all(np.abs(dx.sum(axis=axes)) < 1e-13 * scale)
        dot = (dx * cache.x_hat).sum(axis=axes)
        var = cache.var.reshape(-1)
        eps_term = gamma / np.sqrt(var + eps) * (dout * cache.x_hat).sum(axis=axes) * eps / (var + eps)
        assert np.all(np.abs(dot - eps_term) < 1e-13 * scale)
        if eps < 1e-10:
            assert np.all(np.abs(dot) < 1e-12 * scale)


@pytest.mark.parametrize("a", [1e-3, 0.5, 3.0, 1e3])
def test_bn_is_invariant_to_weight_scale(a):
    """BN(x @ (aW)) = BN(x @ W) and dL/d(aW) = dL/dW / a (exact with eps scaled by a**2)."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(16, 5))
    W = rng.normal(size=(5, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    dout = rng.normal(size=(16, 3))
    eps = 1e-5

    def forward_backward(W_, eps_):
        out, cache = F.batchnorm_forward(x @ W_, gamma, beta, eps=eps_)
        dz, dgamma, dbeta = F.batchnorm_backward(dout, cache)
        return out, x.T @ dz, dgamma, dbeta

    # exact statement: the eps of the scaled layer is a**2 times larger
    out_a, dW_a, dg_a, db_a = forward_backward(a * W, eps)
    out_1, dW_1, dg_1, db_1 = forward_backward(W, eps / a**2)
    np.testing.assert_allclose(out_a, out_1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW_a, dW_1 / a, rtol=1e-9, atol=1e-12 * np.abs(dW_1 / a).max())
    np.testing.assert_allclose(dg_a, dg_1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db_a, db_1, rtol=1e-14)
    # the usual statement with one fixed eps: equal up to the eps term (variance of x @ W is ~5 here)
    if a >= 0.5:
        out_same_eps = forward_backward(W, eps)[0]
        assert np.max(np.abs(out_a - out_same_eps)) < 1e-4 * max(1.0, 1.0 / a**2)


# ----------------------------------------------------------------------------------------------
# fold_batchnorm
# ----------------------------------------------------------------------------------------------
def test_fold_batchnorm_matches_eval_mode():
    rng = np.random.default_rng(8)
    lin = Linear(6, 4, rng=rng)
    lin.params["b"] = rng.normal(size=4)
    bn = BatchNorm(4, eps=1e-3)
    bn.params["gamma"][:] = rng.uniform(0.5, 2, 4) * np.array([1, -1, 1, 1])
    bn.params["beta"][:] = rng.normal(size=4)
    for _ in range(5):  # realistic running statistics
        bn.forward(lin.forward(rng.normal(2.0, 3.0, size=(32, 6))), training=True)
    x = rng.normal(2.0, 3.0, size=(10, 6))
    expected = bn.forward(lin.forward(x, training=False), training=False)
    W_f, b_f = F.fold_batchnorm(lin.W, lin.b, bn)
    assert W_f.shape == lin.W.shape and b_f.shape == lin.b.shape
    np.testing.assert_allclose(x @ W_f + b_f, expected, rtol=1e-10, atol=1e-10)
    # the fold does not touch the layers
    assert bn.num_batches_tracked == 5


# ----------------------------------------------------------------------------------------------
# Relations between the normalizations
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 4)])
def test_batch_renorm_with_rmax1_dmax0_is_batchnorm(shape):
    x, gamma, beta, dout = bn_inputs(shape, seed=13, loc=2.0, scale=3.0)
    rng = np.random.default_rng(0)
    rm, rv = rng.normal(size=shape[1]), rng.uniform(0.1, 10, shape[1])
    out_r, cache_r = F.batch_renorm_forward(x, gamma, beta, rm, rv, r_max=1.0, d_max=0.0)
    out_b, cache_b = F.batchnorm_forward(x, gamma, beta)
    np.testing.assert_array_equal(cache_r.r, 1.0)
    np.testing.assert_array_equal(cache_r.d, 0.0)
    np.testing.assert_allclose(out_r, out_b, rtol=1e-14, atol=1e-14)
    for a, b in zip(F.batch_renorm_backward(dout, cache_r), F.batchnorm_backward(dout, cache_b), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_groupnorm_one_group_is_layernorm_over_channels_and_space():
    rng = np.random.default_rng(14)
    x = rng.normal(size=(4, 3, 2, 5))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    dout = rng.normal(size=x.shape)
    out_g, cache_g = F.groupnorm_forward(x, gamma, beta, num_groups=1)
    gamma_full = np.broadcast_to(gamma[:, None, None], x.shape[1:]).copy()
    beta_full = np.broadcast_to(beta[:, None, None], x.shape[1:]).copy()
    out_l, cache_l = F.layernorm_forward(x, gamma_full, beta_full)
    np.testing.assert_allclose(out_g, out_l, rtol=1e-13, atol=1e-13)
    dx_g, dgamma_g, dbeta_g = F.groupnorm_backward(dout, cache_g)
    dx_l, dgamma_l, dbeta_l = F.layernorm_backward(dout, cache_l)
    np.testing.assert_allclose(dx_g, dx_l, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dgamma_g, dgamma_l.sum(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(dbeta_g, dbeta_l.sum(axis=(1, 2)), rtol=1e-12)


def test_groupnorm_c_groups_is_instance_norm():
    rng = np.random.default_rng(15)
    x = rng.normal(1.0, 2.0, size=(3, 4, 5, 2))
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    out, _ = F.groupnorm_forward(x, gamma, beta, num_groups=4, eps=1e-5)
    mu = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    expected = gamma[None, :, None, None] * (x - mu) / np.sqrt(var + 1e-5) + beta[None, :, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_groupnorm_groups_are_contiguous_channels():
    rng = np.random.default_rng(16)
    x = rng.normal(size=(2, 6, 3))
    gamma, beta = np.ones(6), np.zeros(6)
    out, _ = F.groupnorm_forward(x, gamma, beta, num_groups=3)
    for k in range(3):
        block = x[:, 2 * k : 2 * k + 2]
        mu = block.mean(axis=(1, 2), keepdims=True)
        var = block.var(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(
            out[:, 2 * k : 2 * k + 2], (block - mu) / np.sqrt(var + 1e-5), rtol=1e-12, atol=1e-13
        )


def test_layernorm_independent_of_batch_composition():
    rng = np.random.default_rng(17)
    x = rng.normal(size=(6, 5))
    gamma, beta = rng.uniform(0.5, 2, 5), rng.normal(size=5)
    out_full, _ = F.layernorm_forward(x, gamma, beta)
    out_alone, _ = F.layernorm_forward(x[3:4], gamma, beta)  # a batch of one is fine for LN
    out_other, _ = F.layernorm_forward(np.concatenate([x[3:4], 100 * rng.normal(size=(3, 5))]), gamma, beta)
    np.testing.assert_allclose(out_alone[0], out_full[3], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(out_other[0], out_full[3], rtol=1e-14, atol=1e-15)
    # per sample: mean(x_hat) = 0, var(x_hat) ~ 1
    _, cache = F.layernorm_forward(x, np.ones(5), np.zeros(5))
    np.testing.assert_allclose(cache.x_hat.mean(axis=1), 0, atol=1e-15)
    # batch norm, by contrast, does depend on the rest of the batch
    bn_full = F.batchnorm_forward(x, gamma, beta)[0]
    bn_other = F.batchnorm_forward(np.concatenate([x[3:4], x[:3]]), gamma, beta)[0]
    assert np.max(np.abs(bn_full[3] - bn_other[0])) > 1e-2


def test_weightnorm_norms_and_orthogonal_gradient():
    rng = np.random.default_rng(18)
    v = rng.normal(size=(7, 4)) * np.array([1e-3, 1.0, 10.0, 1e3])
    g = np.array([0.5, -2.0, 3.0, 1.0])
    w, cache = F.weightnorm_forward(v, g)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), np.abs(g), rtol=1e-14)
    np.testing.assert_allclose(w / g, v / np.linalg.norm(v, axis=0), rtol=1e-14)  # same direction as v
    dw = rng.normal(size=v.shape)
    dv, dg = F.weightnorm_backward(dw, cache)
    col_scale = np.linalg.norm(dv, axis=0) * np.linalg.norm(v, axis=0)
    assert np.all(np.abs((dv * v).sum(axis=0)) < 1e-13 * col_scale)
    assert np.all(np.linalg.norm(dv, axis=0) > 0)
    # w is invariant to the scale of v, and its gradient shrinks as 1/scale
    w2, cache2 = F.weightnorm_forward(5 * v, g)
    np.testing.assert_allclose(w2, w, rtol=1e-14)
    np.testing.assert_allclose(F.weightnorm_backward(dw, cache2)[0], dv / 5, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# Numerics
# ----------------------------------------------------------------------------------------------
def test_large_offset_normalizes_correctly_float64():
    """x = 1e8 + N(0, 1): a one-pass E[x^2] - E[x]^2 variance loses every digit here."""
    rng = np.random.default_rng(19)
    noise = rng.normal(size=(64, 3))
    x = 1e8 + noise
    gamma, beta = np.ones(3), np.zeros(3)
    out, cache = F.batchnorm_forward(x, gamma, beta)
    # x - 1e8 is exact here, so this is the same data without the offset
    ref, _ = F.batchnorm_forward(x - 1e8, gamma, beta)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-7)
    np.testing.assert_allclose(cache.var.ravel(), (x - 1e8).var(axis=0), rtol=1e-7)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-5)
    one_pass = (x * x).mean(axis=0) - x.mean(axis=0) ** 2
    assert np.max(np.abs(one_pass - (x - 1e8).var(axis=0))) > 0.1  # the trap this test guards against
    # the same for LN and GN (statistics per sample)
    out_ln, _ = F.layernorm_forward(x.T.copy(), np.ones(64), np.zeros(64))
    ref_ln, _ = F.layernorm_forward((x - 1e8).T.copy(), np.ones(64), np.zeros(64))
    np.testing.assert_allclose(out_ln, ref_ln, rtol=0, atol=1e-7)
    out_gn, _ = F.groupnorm_forward(x.T.copy(), np.ones(64), np.zeros(64), 4)
    ref_gn, _ = F.groupnorm_forward((x - 1e8).T.copy(), np.ones(64), np.zeros(64), 4)
    np.testing.assert_allclose(out_gn, ref_gn, rtol=0, atol=1e-7)


def _all_calls_float32():
    """(name, function producing every output) for each forward/backward on float32 inputs."""
    rng = np.random.default_rng(20)
    x = rng.normal(size=(6, 4, 3)).astype(np.float32)
    dout = rng.normal(size=x.shape).astype(np.float32)
    g4, b4 = np.ones(4, np.float32), np.zeros(4, np.float32)
    g64, b64 = np.ones(4), np.zeros(4)  # float64 parameters must not promote a float32 x
    rm, rv = np.zeros(4), np.ones(4)
    v = rng.normal(size=(5, 4)).astype(np.float32)
    calls = {}

    def bn(g, b):
        out, cache = F.batchnorm_forward(x, g, b)
        return [out, *F.batchnorm_backward(dout, cache), *F.batchnorm_backward_staged(dout, cache)]

    calls["batchnorm f32 params"] = lambda: bn(g4, b4)
    calls["batchnorm f64 params"] = lambda: bn(g64, b64)
    calls["batchnorm_inference"] = lambda: [F.batchnorm_inference(x, g64, b64, rm, rv)]

    def ln():
        gl = np.ones(x.shape[1:])
        out, cache = F.layernorm_forward(x, gl, np.zeros(x.shape[1:]))
        return [out, *F.layernorm_backward(dout, cache)]

    def gn():
        out, cache = F.groupnorm_forward(x, g64, b64, 2)
        return [out, *F.groupnorm_backward(dout, cache)]

    def wn():
        w, cache = F.weightnorm_forward(v, np.ones(4))
        return [w, *F.weightnorm_backward(v.copy(), cache)]

    def renorm():
        out, cache = F.batch_renorm_forward(x, g64, b64, rm, rv, 3.0, 5.0)
        return [out, cache.r, cache.d, *F.batch_renorm_backward(dout, cache)]

    calls.update(layernorm=ln, groupnorm=gn, weightnorm=wn, batch_renorm=renorm)
    return calls


@pytest.mark.parametrize("name", sorted(_all_calls_float32()))
def test_float32_stays_float32(name):
    for arr in _all_calls_float32()[name]():
        assert arr.dtype == np.float32, f"{name}: got {arr.dtype}"
        assert np.all(np.isfinite(arr))


def test_float32_results_agree_with_float64():
    x, gamma, beta, dout = bn_inputs((16, 4, 3), seed=21, loc=1.0, scale=2.0)
    out64, c64 = F.batchnorm_forward(x, gamma, beta)
    out32, c32 = F.batchnorm_forward(x.astype(np.float32), gamma, beta)
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)
    dx64 = F.batchnorm_backward(dout, c64)[0]
    dx32 = F.batchnorm_backward(dout.astype(np.float32), c32)[0]
    np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5 * np.abs(dx64).max())


def test_constant_channel_gives_finite_zeros_not_nan():
    rng = np.random.default_rng(22)
    x = rng.normal(size=(8, 3, 2))
    x[:, 1] = 7.0  # a dead channel
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 0.0])
    dout = rng.normal(size=x.shape)
    with np.errstate(all="raise"):
        out, cache = F.batchnorm_forward(x, gamma, beta)
        np.testing.assert_array_equal(cache.x_hat[:, 1], 0.0)
        np.testing.assert_array_equal(out[:, 1], 0.5)
        for backward in BACKWARDS.values():
            dx, dgamma, dbeta = backward(dout, cache)
            assert np.all(np.isfinite(dx))
            # with var = 0, x_hat = 0 and dx = gamma / sqrt(eps) * (dout - mean(dout)): finite
            expected = 2.0 / np.sqrt(1e-5) * (dout[:, 1] - dout[:, 1].mean())
            np.testing.assert_allclose(dx[:, 1], expected, rtol=1e-10)
            assert dgamma[1] == 0.0
        # LN / GN with a constant sample, renorm with a constant channel
        xs = x.copy()
        xs[2] = -1.0
        out_ln, cache_ln = F.layernorm_forward(xs, np.ones(xs.shape[1:]), np.zeros(xs.shape[1:]))
        np.testing.assert_array_equal(out_ln[2], 0.0)
        assert np.all(np.isfinite(F.layernorm_backward(dout, cache_ln)[0]))
        out_gn, cache_gn = F.groupnorm_forward(xs, np.ones(3), np.zeros(3), 3)
        np.testing.assert_array_equal(out_gn[2], 0.0)
        assert np.all(np.isfinite(F.groupnorm_backward(dout, cache_gn)[0]))
        out_r, cache_r = F.batch_renorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), 3.0, 5.0)
        assert np.all(np.isfinite(out_r)) and np.all(np.isfinite(F.batch_renorm_backward(dout, cache_r)[0]))


# ----------------------------------------------------------------------------------------------
# Purity: no function modifies its inputs (including dout, and the cache)
# ----------------------------------------------------------------------------------------------
def _snapshot(values):
    return [np.array(v, copy=True) for v in values]


def _assert_unchanged(before, values, name):
    for i, (b, v) in enumerate(zip(before, values, strict=True)):
        assert np.array_equal(b, np.asarray(v)), f"{name} modified argument {i}"


def _cache_arrays(cache):
    values = [getattr(cache, k) for k in cache.__dataclass_fields__]
    return [v for v in values if isinstance(v, np.ndarray)]


def _pure_cases():
    rng = np.random.default_rng(23)
    x = rng.normal(size=(5, 4, 3))
    dout = rng.normal(size=x.shape)
    g, b = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    rm, rv = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    gl, bl = rng.uniform(0.5, 2, (4, 3)), rng.normal(size=(4, 3))
    v, gw = rng.normal(size=(6, 4)), rng.normal(size=4)
    dw = rng.normal(size=(6, 4))
    bn_layer = BatchNorm(4)
    bn_layer.running_mean, bn_layer.running_var = rm.copy(), rv.copy()
    W, bias = rng.normal(size=(3, 4)), rng.normal(size=4)
    return {
        "batchnorm": (F.batchnorm_forward, (x, g, b), F.batchnorm_backward, dout),
        "batchnorm_staged": (F.batchnorm_forward, (x, g, b), F.batchnorm_backward_staged, dout),
        "batchnorm_inference": (F.batchnorm_inference, (x, g, b, rm, rv), None, None),
        "layernorm": (F.layernorm_forward, (x, gl, bl), F.layernorm_backward, dout),
        "groupnorm": (
            lambda *a: F.groupnorm_forward(*a, num_groups=2),
            (x, g, b),
            F.groupnorm_backward,
            dout,
        ),
        "weightnorm": (F.weightnorm_forward, (v, gw), F.weightnorm_backward, dw),
        "batch_renorm": (
            lambda *a: F.batch_renorm_forward(*a, 2.0, 1.0),
            (x, g, b, rm, rv),
            F.batch_renorm_backward,
            dout,
        ),
        "fold_batchnorm": (lambda W_, b_: F.fold_batchnorm(W_, b_, bn_layer), (W, bias), None, None),
    }


@pytest.mark.parametrize("name", sorted(_pure_cases()))
def test_no_input_is_mutated(name):
    forward, args, backward, dout = _pure_cases()[name]
    before = _snapshot(args)
    result = forward(*args)
    _assert_unchanged(before, args, f"{name} forward")
    if backward is None:
        return
    _, cache = result
    dout_before = dout.copy()
    cache_before = _snapshot(_cache_arrays(cache))
    grads1 = backward(dout, cache)
    grads2 = backward(dout, cache)
    assert np.array_equal(dout, dout_before), f"{name} backward modified dout"
    _assert_unchanged(cache_before, _cache_arrays(cache), f"{name} backward (cache)")
    _assert_unchanged(before, args, f"{name} backward")
    for a, b in zip(grads1, grads2, strict=True):
        assert np.array_equal(a, b)
        assert not np.shares_memory(a, dout)


def test_reexported_at_top_level():
    for name in F.__all__:
        assert getattr(cu, name) is getattr(F, name)
