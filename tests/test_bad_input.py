"""Bad input gets a clear ValueError/TypeError that names the argument, and nothing is mutated.

One case per line of the list below; each asserts the exception type, that the message names the
argument (and, where there are any, the shapes seen), and that no array involved was modified.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import layers as L
from course_utils import normalization as F
from course_utils.gradcheck import numerical_gradient_array, rel_error

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 3))
X4 = rng.normal(size=(2, 6, 2, 2))
G3, B3 = np.ones(3), np.zeros(3)
G6, B6 = np.ones(6), np.zeros(6)
RM, RV = np.zeros(3), np.ones(3)
DOUT = rng.normal(size=(4, 3))
V, GW = rng.normal(size=(5, 3)), np.ones(3)
W_LIN, B_LIN = rng.normal(size=(5, 4)), np.zeros(4)
_, BN_CACHE = F.batchnorm_forward(X, G3, B3)
_, LN_CACHE = F.layernorm_forward(X, G3, B3)
_, GN_CACHE = F.groupnorm_forward(X4, G6, B6, 2)
_, WN_CACHE = F.weightnorm_forward(V, GW)
_, RENORM_CACHE = F.batch_renorm_forward(X, G3, B3, RM, RV, 3.0, 5.0)
BN_LAYER = L.BatchNorm(3)
STRINGS = np.array([["a", "b", "c"], ["d", "e", "f"]])
OBJECTS = np.array([[1.0, None, 2.0], [1.0, 2.0, 3.0]], dtype=object)
COMPLEX = X + 1j


CASES = [
    # (id, call, expected exception, regex the message must match)
    # --- training-mode BN with one value per channel
    (
        "bn_one_value_per_channel_2d",
        lambda: F.batchnorm_forward(X[:1], G3, B3),
        ValueError,
        r"x of shape \(1, 3\) has only one value per channel",
    ),
    (
        "bn_one_value_per_channel_4d",
        lambda: F.batchnorm_forward(X4[:1, :, :1, :1], G6, B6),
        ValueError,
        r"x of shape \(1, 6, 1, 1\) has only one value per channel",
    ),
    (
        "renorm_one_value_per_channel",
        lambda: F.batch_renorm_forward(X[:1], G3, B3, RM, RV, 3.0, 5.0),
        ValueError,
        r"x of shape \(1, 3\) has only one value per channel",
    ),
    (
        "bn_layer_one_value_per_channel",
        lambda: BN_LAYER.forward(X[:1]),
        ValueError,
        r"x of shape \(1, 3\) has only one value per channel",
    ),
    # --- gamma / beta of the wrong shape
    (
        "bn_gamma_shape",
        lambda: F.batchnorm_forward(X, np.ones(4), B3),
        ValueError,
        r"gamma must have shape \(3,\).*x has shape \(4, 3\).*got \(4,\)",
    ),
    (
        "bn_beta_shape",
        lambda: F.batchnorm_forward(X, G3, np.zeros((1, 3))),
        ValueError,
        r"beta must have shape \(3,\).*got \(1, 3\)",
    ),
    (
        "ln_gamma_shape",
        lambda: F.layernorm_forward(X4, G6, B6),
        ValueError,
        r"gamma must have shape \(6, 2, 2\).*got \(6,\)",
    ),
    (
        "gn_beta_shape",
        lambda: F.groupnorm_forward(X4, G6, B3, 2),
        ValueError,
        r"beta must have shape \(6,\).*got \(3,\)",
    ),
    (
        "inference_running_var_shape",
        lambda: F.batchnorm_inference(X, G3, B3, RM, np.ones(2)),
        ValueError,
        r"running_var must have shape \(3,\).*got \(2,\)",
    ),
    (
        "renorm_running_mean_shape",
        lambda: F.batch_renorm_forward(X, G3, B3, np.zeros(4), RV, 3.0, 5.0),
        ValueError,
        r"running_mean must have shape \(3,\).*got \(4,\)",
    ),
    (
        "wn_g_shape",
        lambda: F.weightnorm_forward(V, np.ones(5)),
        ValueError,
        r"g must have shape \(3,\).*v has shape \(5, 3\).*got \(5,\)",
    ),
    # --- x with ndim < 2
    (
        "bn_x_1d",
        lambda: F.batchnorm_forward(X[0], G3, B3),
        ValueError,
        r"x must have at least 2 dimensions.*got shape \(3,\)",
    ),
    (
        "ln_x_0d",
        lambda: F.layernorm_forward(np.float64(1.0), G3, B3),
        ValueError,
        r"x must have at least 2 dimensions.*got shape \(\)",
    ),
    (
        "gn_x_1d",
        lambda: F.groupnorm_forward(X[0], G3, B3, 1),
        ValueError,
        r"x must have at least 2 dimensions",
    ),
    ("wn_v_1d", lambda: F.weightnorm_forward(V[0], GW), ValueError, r"v must have at least 2 dimensions"),
    # --- num_groups not dividing C, or <= 0, or not an integer
    (
        "gn_groups_not_dividing",
        lambda: F.groupnorm_forward(X4, G6, B6, 4),
        ValueError,
        r"num_groups=4 must divide the C=6 channels of x \(2, 6, 2, 2\)",
    ),
    (
        "gn_groups_zero",
        lambda: F.groupnorm_forward(X4, G6, B6, 0),
        ValueError,
        r"num_groups must be a positive integer, got 0",
    ),
    (
        "gn_groups_negative",
        lambda: F.groupnorm_forward(X4, G6, B6, -2),
        ValueError,
        r"num_groups must be a positive integer, got -2",
    ),
    (
        "gn_groups_float",
        lambda: F.groupnorm_forward(X4, G6, B6, 2.0),
        TypeError,
        r"num_groups must be an integer",
    ),
    ("gn_layer_groups_not_dividing", lambda: L.GroupNorm(4, 6), ValueError, r"num_groups=4 must divide"),
    # --- eps <= 0
    ("bn_eps_zero", lambda: F.batchnorm_forward(X, G3, B3, eps=0.0), ValueError, r"eps must be .*> 0, got 0"),
    ("ln_eps_negative", lambda: F.layernorm_forward(X, G3, B3, eps=-1e-5), ValueError, r"eps must be .*> 0"),
    ("gn_eps_nan", lambda: F.groupnorm_forward(X4, G6, B6, 2, eps=np.nan), ValueError, r"eps must be"),
    (
        "inference_eps_zero",
        lambda: F.batchnorm_inference(X, G3, B3, RM, RV, eps=0),
        ValueError,
        r"eps must be",
    ),
    (
        "renorm_eps_negative",
        lambda: F.batch_renorm_forward(X, G3, B3, RM, RV, 3.0, 5.0, eps=-1.0),
        ValueError,
        r"eps must be",
    ),
    ("bn_layer_eps_zero", lambda: L.BatchNorm(3, eps=0.0), ValueError, r"eps must be"),
    (
        "eps_string",
        lambda: F.batchnorm_forward(X, G3, B3, eps="1e-5"),
        TypeError,
        r"eps must be a real number",
    ),
    # --- momentum outside [0, 1]
    (
        "bn_layer_momentum_high",
        lambda: L.BatchNorm(3, momentum=1.5),
        ValueError,
        r"momentum must lie in \[0.0, 1.0\], got 1.5",
    ),
    (
        "renorm_layer_momentum_negative",
        lambda: L.BatchRenorm(3, momentum=-0.1),
        ValueError,
        r"momentum must lie in \[0.0, 1.0\], got -0.1",
    ),
    # --- r_max < 1, d_max < 0
    (
        "renorm_r_max",
        lambda: F.batch_renorm_forward(X, G3, B3, RM, RV, r_max=0.5, d_max=5.0),
        ValueError,
        r"r_max must lie in \[1.0, inf\], got 0.5",
    ),
    (
        "renorm_d_max",
        lambda: F.batch_renorm_forward(X, G3, B3, RM, RV, r_max=3.0, d_max=-1.0),
        ValueError,
        r"d_max must lie in \[0.0, inf\], got -1.0",
    ),
    ("renorm_layer_r_max", lambda: L.BatchRenorm(3, r_max=0.9), ValueError, r"r_max must lie in"),
    ("renorm_layer_d_max", lambda: L.BatchRenorm(3, d_max=-0.1), ValueError, r"d_max must lie in"),
    # --- non-numeric and complex arrays
    (
        "bn_x_strings",
        lambda: F.batchnorm_forward(STRINGS, G3, B3),
        TypeError,
        r"x must be numeric, got dtype <U1",
    ),
    (
        "bn_x_objects",
        lambda: F.batchnorm_forward(OBJECTS, G3, B3),
        TypeError,
        r"x must be numeric, got dtype object",
    ),
    ("bn_x_none", lambda: F.batchnorm_forward(None, G3, B3), TypeError, r"x must be numeric"),
    (
        "bn_gamma_strings",
        lambda: F.batchnorm_forward(X, np.array(["1", "1", "1"]), B3),
        TypeError,
        r"gamma must be numeric",
    ),
    ("bn_x_complex", lambda: F.batchnorm_forward(COMPLEX, G3, B3), TypeError, r"x must be real, got complex"),
    ("ln_beta_complex", lambda: F.layernorm_forward(X, G3, B3 + 0j), TypeError, r"beta must be real"),
    ("bn_dout_complex", lambda: F.batchnorm_backward(DOUT + 1j, BN_CACHE), TypeError, r"dout must be real"),
    ("linear_x_complex", lambda: L.Linear(3, 2).forward(COMPLEX), TypeError, r"x must be real"),
    ("sigmoid_x_strings", lambda: L.Sigmoid().forward(STRINGS), TypeError, r"x must be numeric"),
    (
        "gradcheck_x_int",
        lambda: numerical_gradient_array(lambda z: z, np.arange(3), np.ones(3)),
        TypeError,
        r"x must be a floating ndarray",
    ),
    ("rel_error_complex", lambda: rel_error(COMPLEX, X), TypeError, r"a must be real"),
    # --- a backward called with a cache from another function
    (
        "bn_backward_ln_cache",
        lambda: F.batchnorm_backward(DOUT, LN_CACHE),
        TypeError,
        r"cache must be the one returned by batchnorm_forward, got LayerNormCache",
    ),
    (
        "staged_backward_renorm_cache",
        lambda: F.batchnorm_backward_staged(DOUT, RENORM_CACHE),
        TypeError,
        r"cache must be the one returned by batchnorm_forward, got BatchRenormCache",
    ),
    (
        "ln_backward_bn_cache",
        lambda: F.layernorm_backward(DOUT, BN_CACHE),
        TypeError,
        r"cache must be the one returned by layernorm_forward",
    ),
    (
        "gn_backward_ln_cache",
        lambda: F.groupnorm_backward(DOUT, LN_CACHE),
        TypeError,
        r"cache must be the one returned by groupnorm_forward",
    ),
    (
        "wn_backward_tuple",
        lambda: F.weightnorm_backward(V, (V, GW)),
        TypeError,
        r"cache must be the one returned by weightnorm_forward, got tuple",
    ),
    (
        "renorm_backward_bn_cache",
        lambda: F.batch_renorm_backward(DOUT, BN_CACHE),
        TypeError,
        r"cache must be the one returned by batch_renorm_forward",
    ),
    # --- dout whose shape differs from x
    (
        "bn_backward_dout_shape",
        lambda: F.batchnorm_backward(DOUT[:, :2], BN_CACHE),
        ValueError,
        r"dout must have the shape of the forward output \(4, 3\), got \(4, 2\)",
    ),
    (
        "bn_staged_dout_broadcastable",
        lambda: F.batchnorm_backward_staged(DOUT[:1], BN_CACHE),
        ValueError,
        r"dout must have the shape of the forward output \(4, 3\), got \(1, 3\)",
    ),
    (
        "ln_backward_dout_shape",
        lambda: F.layernorm_backward(DOUT.T, LN_CACHE),
        ValueError,
        r"dout must have the shape .*\(4, 3\), got \(3, 4\)",
    ),
    (
        "gn_backward_dout_shape",
        lambda: F.groupnorm_backward(np.ones((2, 6, 4)), GN_CACHE),
        ValueError,
        r"dout must have the shape .*\(2, 6, 2, 2\), got \(2, 6, 4\)",
    ),
    (
        "wn_backward_dw_shape",
        lambda: F.weightnorm_backward(V[:4], WN_CACHE),
        ValueError,
        r"dw must have the shape .*\(5, 3\), got \(4, 3\)",
    ),
    (
        "renorm_backward_dout_shape",
        lambda: F.batch_renorm_backward(DOUT[:3], RENORM_CACHE),
        ValueError,
        r"dout must have the shape .*\(4, 3\), got \(3, 3\)",
    ),
    (
        "sigmoid_layer_dout_shape",
        lambda: _forward_then_backward(L.Sigmoid(), X, DOUT[:, :1]),
        ValueError,
        r"dout must have the shape .*\(4, 3\), got \(4, 1\)",
    ),
    # --- fold_batchnorm with mismatched sizes
    (
        "fold_bn_size",
        lambda: F.fold_batchnorm(W_LIN, B_LIN, L.BatchNorm(3)),
        ValueError,
        r"bn.gamma must have shape \(4,\).*W has shape \(5, 4\).*got \(3,\)",
    ),
    (
        "fold_b_size",
        lambda: F.fold_batchnorm(W_LIN, np.zeros(5), L.BatchNorm(4)),
        ValueError,
        r"b must have shape \(4,\).*got \(5,\)",
    ),
    (
        "fold_W_ndim",
        lambda: F.fold_batchnorm(W_LIN[0], B_LIN, L.BatchNorm(4)),
        ValueError,
        r"W must have shape \(D_in, D_out\), got \(4,\)",
    ),
    (
        "fold_bn_not_a_layer",
        lambda: F.fold_batchnorm(W_LIN, B_LIN, object()),
        TypeError,
        r"bn must be a BatchNorm layer",
    ),
    # --- numerical_gradient_array with dout of the wrong shape
    (
        "gradcheck_dout_shape",
        lambda: numerical_gradient_array(lambda z: 2 * z, X.copy(), DOUT[:2]),
        ValueError,
        r"dout must have the shape of f\(x\) \(4, 3\), got \(2, 3\)",
    ),
    (
        "gradcheck_h_zero",
        lambda: numerical_gradient_array(lambda z: 2 * z, X.copy(), DOUT, h=0.0),
        ValueError,
        r"h must be",
    ),
    # --- a few more structural mistakes
    (
        "inference_negative_running_var",
        lambda: F.batchnorm_inference(X, G3, B3, RM, -RV),
        ValueError,
        r"running_var must be >= 0",
    ),
    (
        "wn_zero_column",
        lambda: F.weightnorm_forward(np.zeros((5, 3)), GW),
        ValueError,
        r"v has a column of zeros",
    ),
    (
        "linear_x_shape",
        lambda: L.Linear(5, 2).forward(X),
        ValueError,
        r"x must have shape \(N, 5\), got \(4, 3\)",
    ),
    ("bn_layer_channels", lambda: L.BatchNorm(5).forward(X), ValueError, r"num_features=5.*got \(4, 3\)"),
    ("rel_error_shapes", lambda: rel_error(X, X.T), ValueError, r"a and b must have the same shape"),
]


def _forward_then_backward(layer, x, dout):
    layer.forward(x)
    return layer.backward(dout)


WATCHED = [X, X4, G3, B3, G6, B6, RM, RV, DOUT, V, GW, W_LIN, B_LIN, STRINGS, COMPLEX]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_clear_error_and_mutates_nothing(call, exc, match):
    before = [a.copy() for a in WATCHED]
    caches_before = [(c.x.copy(), c.x_hat.copy()) for c in (BN_CACHE, LN_CACHE, GN_CACHE)]
    running_before = (BN_LAYER.running_mean.copy(), BN_LAYER.running_var.copy(), BN_LAYER.num_batches_tracked)
    with pytest.raises(exc, match=match):
        call()
    for a, b in zip(WATCHED, before, strict=True):
        np.testing.assert_array_equal(a, b)
    for c, (x, x_hat) in zip((BN_CACHE, LN_CACHE, GN_CACHE), caches_before, strict=True):
        np.testing.assert_array_equal(c.x, x)
        np.testing.assert_array_equal(c.x_hat, x_hat)
    np.testing.assert_array_equal(BN_LAYER.running_mean, running_before[0])
    np.testing.assert_array_equal(BN_LAYER.running_var, running_before[1])
    assert BN_LAYER.num_batches_tracked == running_before[2]


def test_every_case_names_its_function():
    """Messages start with the function's name, so the traceback's last line is enough."""
    for name, call, exc, _ in CASES:
        with pytest.raises(exc) as info:
            call()
        assert ":" in str(info.value), name
        assert not str(info.value).startswith(("operands could not be broadcast", "shapes")), name


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
