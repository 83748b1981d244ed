"""Tests of course_utils.layers: every layer's backward, running statistics, eval mode, purity."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck_tools import assert_gradient, numerical

from course_utils import layers as L
from course_utils import normalization as F
from course_utils.gradcheck import rel_error


def rng_for(seed):
    return np.random.default_rng(seed)


def check_layer(layer, x, training=True, seed=0):
    """Gradient-check dx and every parameter gradient of ``layer`` at ``x`` (random dout)."""
    out = layer.forward(x, training=training)
    dout = rng_for(seed + 100).normal(size=out.shape)
    dx = layer.backward(dout)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    assert set(grads) == set(layer.params)
    name = type(layer).__name__
    assert_gradient(lambda z: layer.forward(z, training=training), x, dout, dx, f"{name} dx")
    for key, param in layer.params.items():
        # numerical_gradient_array perturbs the parameter array in place, which the layer reads
        assert_gradient(
            lambda _p: layer.forward(x, training=training), param, dout, grads[key], f"{name} d{key}"
        )


def test_linear_gradients_and_shapes():
    rng = rng_for(1)
    layer = L.Linear(5, 3, rng=rng)
    layer.params["b"][:] = rng.normal(size=3)
    x = rng.normal(size=(7, 5))
    np.testing.assert_allclose(layer.forward(x), x @ layer.W + layer.b, rtol=1e-15)
    check_layer(layer, x)
    assert layer.grads["W"].shape == (5, 3) and layer.grads["b"].shape == (3,)


def test_linear_init_is_seeded_and_scaled():
    a = L.Linear(400, 300, rng=np.random.default_rng(3))
    b = L.Linear(400, 300, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.W, b.W)
    assert abs(a.W.std() - 1 / np.sqrt(400)) < 0.01 / np.sqrt(400) * 5
    c = L.Linear(400, 300, rng=np.random.default_rng(3), init_scale=2.0)
    assert abs(c.W.std() - 2.0) < 0.02
    np.testing.assert_array_equal(a.b, 0.0)


@pytest.mark.parametrize("cls", [L.Sigmoid, L.Tanh])
def test_smooth_activation_gradients(cls):
    x = rng_for(2).normal(0, 2, size=(6, 5))
    check_layer(cls(), x)


def test_relu_gradient_away_from_the_kink():
    rng = rng_for(3)
    x = rng.normal(size=(6, 5))
    x[np.abs(x) < 0.1] = 0.5  # central differences across the kink at 0 are meaningless
    check_layer(L.ReLU(), x)
    out = L.ReLU().forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_sigmoid_is_stable_and_derivative_bounded():
    layer = L.Sigmoid()
    with np.errstate(all="raise"):
        out = layer.forward(np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]]))
    assert np.all(np.isfinite(out)) and out[0, 2] == 0.5
    assert 0 < out[0, 1] < 1e-12  # not flushed to zero at -30
    dx = layer.backward(np.ones_like(out))
    assert np.all(dx <= 0.25) and dx[0, 2] == 0.25


@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
def test_batchnorm_layer_gradients_train_mode(shape):
    rng = rng_for(4)
    layer = L.BatchNorm(shape[1])
    layer.params["gamma"][:] = rng.uniform(0.5, 2, shape[1])
    layer.params["beta"][:] = 0.1 * rng.normal(size=shape[1])
    check_layer(layer, rng.normal(size=shape))


@pytest.mark.parametrize("cls", [L.BatchNorm, L.BatchRenorm])
@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
def test_eval_mode_gradients(cls, shape):
    """Eval mode is a fixed affine map with the running statistics; its own backward is checked."""
    rng = rng_for(5)
    layer = cls(shape[1])
    layer.params["gamma"][:] = rng.uniform(0.5, 2, shape[1])
    layer.params["beta"][:] = 0.1 * rng.normal(size=shape[1])
    layer.running_mean = rng.normal(size=shape[1])
    layer.running_var = rng.uniform(0.5, 2, shape[1])
    x = rng.normal(size=shape)
    check_layer(layer, x, training=False)
    out = layer.forward(x, training=False)
    expected = F.batchnorm_inference(x, layer.gamma, layer.beta, layer.running_mean, layer.running_var)
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    assert layer.num_batches_tracked == 0  # eval mode never updates the running statistics


def test_layernorm_and_groupnorm_layer_gradients():
    rng = rng_for(6)
    ln = L.LayerNorm(6)
    ln.params["gamma"][:] = rng.uniform(0.5, 2, 6)
    check_layer(ln, rng.normal(size=(5, 6)))
    ln3 = L.LayerNorm((3, 4))
    ln3.params["beta"][:] = rng.normal(size=(3, 4))
    check_layer(ln3, rng.normal(size=(5, 3, 4)))
    for groups in (1, 2, 6):
        gn = L.GroupNorm(groups, 6)
        gn.params["gamma"][:] = rng.uniform(0.5, 2, 6)
        check_layer(gn, rng.normal(size=(4, 6, 3)))
    # train and eval are the same for LN/GN
    x = rng.normal(size=(5, 6))
    np.testing.assert_array_equal(ln.forward(x, training=True), ln.forward(x, training=False))


def test_batch_renorm_layer_gradients_when_r_d_clipped():
    """With every r and d at their clip bounds, r and d are locally constant, so the layer's own
    forward is the function its backward differentiates (momentum 0 keeps the running stats fixed)."""
    rng = rng_for(7)
    layer = L.BatchRenorm(4, momentum=0.0, r_max=1.5, d_max=0.5)
    layer.params["gamma"][:] = rng.uniform(0.5, 2, 4)
    x = rng.normal(size=(10, 4))
    layer.running_var = x.var(axis=0) * np.array([100.0, 1e-2, 100.0, 1e-2])  # r at 1/r_max or r_max
    layer.running_mean = x.mean(axis=0) + np.array([3.0, -3.0, -3.0, 3.0]) * np.sqrt(layer.running_var)
    layer.forward(x)
    assert np.allclose(np.maximum(layer.last_r, 1 / layer.last_r), 1.5)
    assert np.allclose(np.abs(layer.last_d), 0.5)
    check_layer(layer, x)


def test_batch_renorm_layer_backward_is_the_functional_one():
    rng = rng_for(8)
    layer = L.BatchRenorm(3, r_max=2.0, d_max=1.0)
    layer.running_mean = rng.normal(size=3)
    layer.running_var = rng.uniform(0.2, 3, 3)
    rm, rv = layer.running_mean.copy(), layer.running_var.copy()
    x = rng.normal(size=(6, 3))
    out = layer.forward(x)
    ref_out, cache = F.batch_renorm_forward(x, layer.gamma, layer.beta, rm, rv, 2.0, 1.0)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(layer.last_r, cache.r)
    dout = rng.normal(size=x.shape)
    for a, b in zip(
        (layer.backward(dout), layer.grads["gamma"], layer.grads["beta"]),
        F.batch_renorm_backward(dout, cache),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------
# Running statistics
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [L.BatchNorm, L.BatchRenorm])
@pytest.mark.parametrize("shape", [(16, 3), (4, 3, 2, 2)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_running_stats_are_the_closed_form_ema(cls, shape, momentum):
    """After k steps: running = (1-p)^k * init + sum_i p (1-p)^(k-1-i) * batch_i (PyTorch momentum p),
    with the unbiased (m/(m-1)) batch variance; init 0 for the mean and 1 for the variance."""
    rng = rng_for(9)
    layer = cls(shape[1], momentum=momentum)
    k = 7
    batches = [rng.normal(rng.normal(), rng.uniform(0.5, 3), size=shape) for _ in range(k)]
    for xb in batches:
        layer.forward(xb, training=True)
    axes = (0,) + tuple(range(2, len(shape)))
    p = momentum
    weights = np.array([p * (1 - p) ** (k - 1 - i) for i in range(k)])
    means = np.array([xb.mean(axis=axes) for xb in batches])
    unbiased = np.array([xb.var(axis=axes, ddof=1) for xb in batches])
    np.testing.assert_allclose(layer.running_mean, weights @ means, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.running_var, (1 - p) ** k * 1.0 + weights @ unbiased, rtol=1e-12)
    assert layer.num_batches_tracked == k
    # the biased variance would be a different number (m/(m-1) matters at small m)
    biased = np.array([xb.var(axis=axes) for xb in batches])
    assert not np.allclose(layer.running_var, (1 - p) ** k + weights @ biased, rtol=1e-6)


def test_momentum_extremes():
    rng = rng_for(10)
    x = rng.normal(2.0, 3.0, size=(20, 3))
    frozen = L.BatchNorm(3, momentum=0.0)
    frozen.forward(x)
    np.testing.assert_array_equal(frozen.running_mean, 0.0)
    np.testing.assert_array_equal(frozen.running_var, 1.0)
    last = L.BatchNorm(3, momentum=1.0)
    last.forward(x)
    np.testing.assert_allclose(last.running_mean, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(last.running_var, x.var(axis=0, ddof=1), rtol=1e-13)


def test_eval_mode_does_not_depend_on_the_batch():
    rng = rng_for(11)
    layer = L.BatchNorm(4)
    for _ in range(20):
        layer.forward(rng.normal(1.0, 2.0, size=(32, 4)))
    x = rng.normal(size=(10, 4))
    full = layer.forward(x, training=False)
    np.testing.assert_allclose(layer.forward(x[3:4], training=False)[0], full[3], rtol=1e-15)
    # and training mode does (different batch, different output for the same sample)
    train_full = layer.forward(x, training=True)
    train_part = layer.forward(x[:5], training=True)
    assert np.max(np.abs(train_full[3] - train_part[3])) > 1e-3


# ----------------------------------------------------------------------------------------------
# Purity, dtype, misuse
# ----------------------------------------------------------------------------------------------
def all_layers():
    rng = rng_for(12)
    return {
        "Linear": (L.Linear(4, 3, rng=rng), (5, 4)),
        "Sigmoid": (L.Sigmoid(), (5, 4)),
        "Tanh": (L.Tanh(), (5, 4)),
        "ReLU": (L.ReLU(), (5, 4)),
        "BatchNorm": (L.BatchNorm(4), (5, 4)),
        "BatchNorm4d": (L.BatchNorm(4), (3, 4, 2, 2)),
        "LayerNorm": (L.LayerNorm(4), (5, 4)),
        "GroupNorm": (L.GroupNorm(2, 4), (5, 4, 3)),
        "BatchRenorm": (L.BatchRenorm(4), (5, 4)),
    }


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", sorted(all_layers()))
def test_layers_never_mutate_x_or_dout(name, training):
    layer, shape = all_layers()[name]
    rng = rng_for(13)
    x = rng.normal(size=shape)
    x_before = x.copy()
    out = layer.forward(x, training=training)
    dout = rng.normal(size=out.shape)
    dout_before = dout.copy()
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    assert not np.shares_memory(dx, dout)
    # a second backward with the same dout gives the same result (the layer's cache is intact)
    np.testing.assert_array_equal(layer.backward(dout), dx)


@pytest.mark.parametrize(
    "name", ["Sigmoid", "Tanh", "ReLU", "BatchNorm", "BatchNorm4d", "LayerNorm", "GroupNorm", "BatchRenorm"]
)
@pytest.mark.parametrize("training", [True, False])
def test_float32_through_layers(name, training):
    """Layers without float64 weights keep float32 (Linear's float64 W promotes, by design)."""
    layer, shape = all_layers()[name]
    x = rng_for(14).normal(size=shape).astype(np.float32)
    out = layer.forward(x, training=training)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32


@pytest.mark.parametrize("name", sorted(all_layers()))
def test_backward_checks_dout_shape_and_order(name):
    layer, shape = all_layers()[name]
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones(shape))
    out = layer.forward(rng_for(15).normal(size=shape))
    bad = np.ones(out.shape[:1] + (1,) + out.shape[2:])  # would broadcast silently
    with pytest.raises(ValueError, match=r"dout must have the shape .*got \(5, 1\)|dout must have the shape"):
        layer.backward(bad)


def test_running_stats_layer_names_x_on_channel_mismatch():
    with pytest.raises(ValueError, match=r"x must have shape \(N, 4, \.\.\.\).*got \(5, 3\)"):
        L.BatchNorm(4).forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="num_features=4"):
        L.BatchRenorm(4).forward(np.ones((5, 3)), training=False)


def test_gradcheck_of_a_wrong_layer_fails():
    """The layer check is not vacuous: a sigmoid whose backward forgets a factor is caught."""

    class BadSigmoid(L.Sigmoid):
        def backward(self, dout):
            out = self._need_cache()
            return dout * out  # missing (1 - out)

    layer = BadSigmoid()
    x = rng_for(16).normal(size=(4, 3))
    out = layer.forward(x)
    dout = rng_for(17).normal(size=out.shape)
    assert rel_error(numerical(layer.forward, x, dout), layer.backward(dout)) > 1e-2


def test_kept_state_restores_caches_and_running_statistics():
    rng = np.random.default_rng(0)
    bn = L.BatchNorm(3)
    x = rng.normal(size=(5, 3))
    bn.forward(x, training=True)
    cache, mean, var = bn.last_cache, bn.running_mean.copy(), bn.running_var.copy()
    with L.kept_state([bn]):
        bn.forward(rng.normal(5.0, 2.0, size=(4, 3)), training=True)  # an extra pass, e.g. an evaluation
        assert bn.last_cache is not cache
    assert bn.last_cache is cache
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
