"""Numerics that must never go silent (issue 11, items 7-10; issue 12, item 3).

* Huge but finite inputs give the right answer (not β), in float64, float32 and float16.
* ``numerical_gradient_array`` refuses low precision, copes with a read-only ``x`` and says when
  ``f`` returned None.
* Layer caches do not alias the caller's array.
* Zero-size inputs, bad constructor arguments, non-bool ``training``, negative or non-finite running
  statistics and rank-deficient whitening raise errors that name the argument.
* RMSNorm and InstanceNorm live in ``normalization`` next to the other normalizations.
* No course_utils module and no test uses another course_utils module's private names (``_validate``
  excepted).
"""

from __future__ import annotations

import ast
import pathlib
import warnings

import numpy as np
import pytest
from gradcheck_tools import assert_gradient

import course_utils as cu
from course_utils import data as D
from course_utils import layers as L
from course_utils import normalization as F
from course_utils.gradcheck import numerical_gradient_array

RNG = np.random.default_rng(11)
X = RNG.normal(1.0, 2.0, size=(8, 3))
X4 = RNG.normal(size=(4, 6, 2, 3))
G3, B3 = RNG.uniform(0.5, 2.0, 3), RNG.normal(size=3)
G6, B6 = RNG.uniform(0.5, 2.0, 6), RNG.normal(size=6)
TINY_EPS = 1e-300  # ε that is negligible next to any variance of these inputs


def no_warnings(fn, *args, **kwargs):
    """Call fn with every warning turned into an error (an overflow warning is a silent wrong answer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# Item 7: huge but finite inputs
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e160, 1e300])
def test_batchnorm_forward_does_not_depend_on_the_scale_of_x(scale):
    expected, cache_ref = F.batchnorm_forward(X, G3, B3, eps=TINY_EPS)
    out, cache = no_warnings(F.batchnorm_forward, X * scale, G3, B3, eps=TINY_EPS)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # the backward pass reads the same cache: dx scales like 1/scale, dgamma and dbeta do not
    dout = RNG.normal(size=X.shape)
    dx_ref, dgamma_ref, dbeta_ref = F.batchnorm_backward(dout, cache_ref)
    dx, dgamma, dbeta = no_warnings(F.batchnorm_backward, dout, cache)
    np.testing.assert_allclose(dx * scale, dx_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dgamma, dgamma_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dbeta, dbeta_ref, rtol=1e-12)


def test_batchnorm_huge_float64_with_default_eps_is_not_beta():
    out, _ = no_warnings(F.batchnorm_forward, X * 1e160, G3, B3)
    np.testing.assert_allclose(out, F.batchnorm_forward(X, G3, B3, eps=TINY_EPS)[0], rtol=1e-12, atol=1e-12)
    assert np.abs(out - B3).max() > 0.5


def test_batchnorm_huge_float32_keeps_dtype_and_is_right():
    x32 = (X * 1e20).astype(np.float32)
    out, _ = no_warnings(F.batchnorm_forward, x32, G3, B3)
    assert out.dtype == np.float32
    expected = F.batchnorm_forward(x32.astype(np.float64), G3, B3, eps=TINY_EPS)[0]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_batchnorm_float16_is_computed_in_float32_and_cast_back():
    x16 = (X * 300).astype(np.float16)  # (x - mu)^2 overflows float16 (max 65504)
    out, cache = no_warnings(F.batchnorm_forward, x16, G3, B3)
    assert out.dtype == np.float16
    expected = F.batchnorm_forward(x16.astype(np.float64), G3, B3)[0]
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=2e-3, atol=5e-3)
    dout = RNG.normal(size=X.shape).astype(np.float16)
    dx, dgamma, dbeta = no_warnings(F.batchnorm_backward, dout, cache)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == np.float16
    assert np.isfinite(dx).all()


def test_float16_with_eps_below_its_resolution_and_a_constant_channel_is_not_nan():
    x16 = X.astype(np.float16)
    x16[:, 1] = 3.0  # a constant channel: var = 0, so only eps keeps 1/sqrt(var + eps) finite
    assert np.float16(1e-8) == 0  # the trap: eps = 1e-8 rounds to 0 in float16
    out, _ = no_warnings(F.batchnorm_forward, x16, G3, B3, eps=1e-8)
    assert out.dtype == np.float16 and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 1], np.float16(B3[1]), rtol=1e-3)
    out, _ = no_warnings(F.layernorm_forward, np.full((2, 4), 7.0, np.float16), np.ones(4), np.zeros(4), 1e-8)
    assert np.isfinite(out).all()


def test_eps_that_rounds_to_zero_in_the_computing_precision_is_refused():
    with pytest.raises(ValueError, match="eps"):
        F.batchnorm_forward(X.astype(np.float32), G3, B3, eps=1e-50)


@pytest.mark.parametrize("scale", [1e200, 1e300])
def test_layernorm_and_groupnorm_do_not_depend_on_the_scale_of_x(scale):
    g, b = RNG.uniform(0.5, 2, (6, 2, 3)), RNG.normal(size=(6, 2, 3))
    out, cache = no_warnings(F.layernorm_forward, X4 * scale, g, b, TINY_EPS)
    out_ref, cache_ref = F.layernorm_forward(X4, g, b, TINY_EPS)
    np.testing.assert_allclose(out, out_ref, rtol=1e-12, atol=1e-12)
    dout = RNG.normal(size=X4.shape)
    dx = no_warnings(F.layernorm_backward, dout, cache)[0]
    np.testing.assert_allclose(dx * scale, F.layernorm_backward(dout, cache_ref)[0], rtol=1e-10, atol=1e-10)
    out, cache = no_warnings(F.groupnorm_forward, X4 * scale, G6, B6, 3, TINY_EPS)
    np.testing.assert_allclose(out, F.groupnorm_forward(X4, G6, B6, 3, TINY_EPS)[0], rtol=1e-12, atol=1e-12)
    out, _ = no_warnings(F.instancenorm_forward, X4 * scale, G6, B6, TINY_EPS)
    np.testing.assert_allclose(out, F.instancenorm_forward(X4, G6, B6, TINY_EPS)[0], rtol=1e-12, atol=1e-12)


def test_layernorm_huge_with_default_eps_is_not_beta():
    out, _ = no_warnings(F.layernorm_forward, X * 1e200, G3, B3)
    np.testing.assert_allclose(out, F.layernorm_forward(X, G3, B3, TINY_EPS)[0], rtol=1e-12, atol=1e-12)


def test_rmsnorm_does_not_depend_on_the_scale_of_x():
    out, cache = no_warnings(F.rmsnorm_forward, X * 1e200, G3, TINY_EPS)
    out_ref, cache_ref = F.rmsnorm_forward(X, G3, TINY_EPS)
    np.testing.assert_allclose(out, out_ref, rtol=1e-12, atol=1e-12)
    dout = RNG.normal(size=X.shape)
    dx = no_warnings(F.rmsnorm_backward, dout, cache)[0]
    np.testing.assert_allclose(dx * 1e200, F.rmsnorm_backward(dout, cache_ref)[0], rtol=1e-10, atol=1e-10)


def test_weightnorm_with_huge_entries():
    v = RNG.normal(size=(5, 3))
    g = RNG.uniform(0.5, 2, 3)
    w, cache = no_warnings(F.weightnorm_forward, v * 1e200, g)
    w_ref, cache_ref = F.weightnorm_forward(v, g)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13)
    dw = RNG.normal(size=v.shape)
    dv, dg = no_warnings(F.weightnorm_backward, dw, cache)
    dv_ref, dg_ref = F.weightnorm_backward(dw, cache_ref)
    np.testing.assert_allclose(dv * 1e200, dv_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dg, dg_ref, rtol=1e-12)


def test_batch_renorm_with_huge_entries_uses_the_true_batch_std():
    out, cache = no_warnings(
        F.batch_renorm_forward, X * 1e160, G3, B3, np.zeros(3), np.ones(3), r_max=1.0, d_max=0.0
    )
    np.testing.assert_allclose(out, F.batchnorm_forward(X, G3, B3, eps=TINY_EPS)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "forward",
    [
        lambda x: F.batchnorm_forward(x, G6, B6)[0],
        lambda x: F.layernorm_forward(x, np.ones(x.shape[1:]), np.zeros(x.shape[1:]))[0],
        lambda x: F.groupnorm_forward(x, G6, B6, 2)[0],
        lambda x: F.instancenorm_forward(x, G6, B6)[0],
        lambda x: F.rmsnorm_forward(x, np.ones(x.shape[1:]))[0],
    ],
    ids=["bn", "ln", "gn", "in", "rms"],
)
def test_ordinary_inputs_keep_dtype(forward):
    for dtype in (np.float16, np.float32, np.float64):
        assert forward(X4.astype(dtype)).dtype == dtype


# ----------------------------------------------------------------------------------------------
# Item 8: numerical_gradient_array
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_numerical_gradient_refuses_low_precision(dtype):
    x = X.astype(dtype)
    with pytest.raises(TypeError, match=r"float64.*astype"):
        numerical_gradient_array(np.tanh, x, np.ones(x.shape))


def test_numerical_gradient_low_precision_on_request_perturbs_in_its_dtype():
    x32 = X.astype(np.float32)
    num = numerical_gradient_array(lambda z: z * z, x32, np.ones(x32.shape), h=1e-2, allow_low_precision=True)
    assert num.dtype == np.float32
    np.testing.assert_allclose(num, 2 * x32, rtol=1e-3, atol=1e-3)


def test_numerical_gradient_of_a_read_only_x():
    x = X.copy()
    x.flags.writeable = False
    num = numerical_gradient_array(lambda z: z**3, x, np.ones(x.shape))
    np.testing.assert_allclose(num, 3 * X**2, rtol=1e-6, atol=1e-8)
    assert not x.flags.writeable
    np.testing.assert_array_equal(x, X)


def test_numerical_gradient_when_f_returns_none():
    with pytest.raises(TypeError, match="f returned None"):
        numerical_gradient_array(lambda z: None, X.copy(), np.ones(X.shape))


# ----------------------------------------------------------------------------------------------
# Item 9: layer caches do not alias the caller's array
# ----------------------------------------------------------------------------------------------
def _layers():
    rng = np.random.default_rng(0)
    return {
        "Linear": (lambda: L.Linear(3, 4, rng=np.random.default_rng(1)), (8, 3)),
        "Sigmoid": (L.Sigmoid, (8, 3)),
        "Tanh": (L.Tanh, (8, 3)),
        "ReLU": (L.ReLU, (8, 3)),
        "BatchNorm": (lambda: L.BatchNorm(3), (8, 3)),
        "BatchRenorm": (lambda: L.BatchRenorm(3), (8, 3)),
        "LayerNorm": (lambda: L.LayerNorm(3), (8, 3)),
        "GroupNorm": (lambda: L.GroupNorm(3, 6), (4, 6, 2)),
        "rng": rng,
    }


@pytest.mark.parametrize(
    "name", ["Linear", "Sigmoid", "Tanh", "ReLU", "BatchNorm", "BatchRenorm", "LayerNorm", "GroupNorm"]
)
@pytest.mark.parametrize("training", [True, False])
def test_backward_is_unchanged_when_the_caller_edits_x_or_out_in_place(name, training):
    make, shape = _layers()[name]
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape)
    dout = rng.normal(size=shape if name != "Linear" else (8, 4))
    reference = make()
    reference.forward(x.copy(), training=training)
    dx_ref = reference.backward(dout)
    layer = make()
    x_mine = x.copy()
    out = layer.forward(x_mine, training=training)
    x_mine *= 0  # the caller reuses its buffers
    out *= 0
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, dx_ref)
    for key in reference.grads:
        np.testing.assert_array_equal(layer.grads[key], reference.grads[key], err_msg=key)


# ----------------------------------------------------------------------------------------------
# Item 10: cryptic or missing errors
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda: F.batchnorm_forward(np.zeros((4, 0)), np.ones(0), np.zeros(0)),
        lambda: F.batchnorm_forward(np.zeros((0, 3)), G3, B3),
        lambda: F.layernorm_forward(np.zeros((0, 3)), G3, B3),
        lambda: F.layernorm_forward(np.zeros((3, 0)), np.ones(0), np.zeros(0)),
        lambda: F.groupnorm_forward(np.zeros((0, 6, 2)), G6, B6, 3),
        lambda: F.groupnorm_forward(np.zeros((2, 6, 0)), G6, B6, 3),
        lambda: F.instancenorm_forward(np.zeros((2, 6, 0)), G6, B6),
        lambda: F.rmsnorm_forward(np.zeros((0, 3)), G3),
        lambda: F.batch_renorm_forward(np.zeros((0, 3)), G3, B3, np.zeros(3), np.ones(3), 3.0, 5.0),
        lambda: F.weightnorm_forward(np.zeros((0, 3)), G3),
    ],
    ids=["bn_4x0", "bn_0x3", "ln_0x3", "ln_3x0", "gn_N0", "gn_HW0", "in_HW0", "rms_0x3", "renorm", "wn"],
)
def test_zero_size_inputs_raise_a_value_error_naming_x_and_its_shape(call):
    with pytest.raises(ValueError, match=r"(x|v) .*(empty|zero-size).*\(\d+, \d+"):
        call()


@pytest.mark.parametrize(
    "arg, error",
    [(-3, ValueError), (0, ValueError), (3.5, TypeError), ((3, -1), ValueError), ("3", TypeError)],
)
def test_layernorm_layer_checks_normalized_shape(arg, error):
    with pytest.raises(error, match="normalized_shape"):
        L.LayerNorm(arg)


@pytest.mark.parametrize(
    "layer", [L.BatchNorm(3), L.BatchRenorm(3), L.LayerNorm(3), L.Linear(3, 3), L.ReLU()]
)
@pytest.mark.parametrize("training", ["False", 0, 1, None, np.array([True])])
def test_training_must_be_a_bool(layer, training):
    with pytest.raises(TypeError, match="training"):
        layer.forward(X, training=training)


def test_training_accepts_numpy_bool():
    bn = L.BatchNorm(3)
    bn.forward(X, training=np.bool_(False))
    assert bn.num_batches_tracked == 0
    bn.forward(X, training=np.bool_(True))
    assert bn.num_batches_tracked == 1


def test_batchnorm_inference_accepts_an_empty_batch():
    """Eval mode computes no statistic, so an empty batch is an empty answer (as in PyTorch)."""
    out = F.batchnorm_inference(np.zeros((0, 3)), G3, B3, np.zeros(3), np.ones(3))
    assert out.shape == (0, 3)


def test_fold_batchnorm_checks_running_var():
    bn = L.BatchNorm(3)
    bn.running_var = np.array([1.0, -0.5, 2.0])
    with pytest.raises(ValueError, match="running_var"):
        F.fold_batchnorm(np.ones((4, 3)), np.zeros(3), bn)


BAD_STATISTICS = [
    ("running_var", np.nan, "running_var must be >= 0 and finite"),
    ("running_var", np.inf, "running_var must be >= 0 and finite"),
    ("running_var", -0.5, "running_var must be >= 0 and finite"),
    ("running_mean", np.nan, "running_mean must be finite"),
    ("running_mean", -np.inf, "running_mean must be finite"),
]


def _stats_with(name, value):
    """(running_mean, running_var) of 3 channels with ``value`` in channel 1 of ``name``."""
    stats = {"running_mean": np.zeros(3), "running_var": np.ones(3)}
    stats[name][1] = value
    return stats["running_mean"], stats["running_var"]


@pytest.mark.parametrize("name, value, match", BAD_STATISTICS)
def test_non_finite_or_negative_running_statistics_are_refused_not_silent(name, value, match):
    """A NaN running_var passes ``np.any(rv < 0)``; without a check eval mode returned NaN (or β for inf)."""
    rm, rv = _stats_with(name, value)
    where_first = rf"{match}.*, got {value} at channel 1"
    with pytest.raises(ValueError, match=rf"^batchnorm_inference: {where_first}"):
        F.batchnorm_inference(X, G3, B3, rm, rv)
    with pytest.raises(ValueError, match=rf"^batch_renorm_forward: {where_first}"):
        F.batch_renorm_forward(X, G3, B3, rm, rv, 3.0, 5.0)
    bn = L.BatchNorm(3)
    bn.running_mean, bn.running_var = rm, rv
    with pytest.raises(ValueError, match=rf"^fold_batchnorm: bn\.{where_first}"):
        F.fold_batchnorm(np.ones((4, 3)), np.zeros(3), bn)
    with pytest.raises(ValueError, match=rf"^batchnorm_inference: {where_first}"):
        bn.forward(X, training=False)  # the layer's eval mode goes through batchnorm_inference


def test_running_statistics_at_the_edge_are_accepted():
    """Zero variance (a constant channel) and huge finite statistics stay legal."""
    out = F.batchnorm_inference(X, G3, B3, np.array([0.0, 1e300, -1e300]), np.array([0.0, 1e300, 1.0]))
    assert np.all(np.isfinite(out))


def test_whitening_with_eps_zero_on_rank_deficient_input():
    Xd = RNG.normal(size=(20, 3))
    Xd = np.column_stack([Xd, Xd[:, 0] + Xd[:, 1]])  # rank 3 of 4
    with pytest.raises(ValueError, match=r"rank 3 < D=4.*eps"):
        D.whitening_matrix(Xd, eps=0)
    W, mean = D.whitening_matrix(Xd[:, :3], eps=0)  # full rank: eps = 0 is fine
    Z = (Xd[:, :3] - mean) @ W
    np.testing.assert_allclose(Z.T @ Z / len(Z), np.eye(3), atol=1e-10)


def test_one_value_per_statistic_documented_where_bn_refuses():
    """LN over one feature and GN with one value per group return β (as PyTorch); the docs say so."""
    out, _ = F.layernorm_forward(X[:, :1], G3[:1], B3[:1])
    np.testing.assert_array_equal(out, np.broadcast_to(B3[:1], out.shape))
    out, _ = F.groupnorm_forward(X, G3, B3, 3)
    np.testing.assert_array_equal(out, np.broadcast_to(B3, out.shape))
    for fn in (F.layernorm_forward, F.groupnorm_forward):
        assert "returns β" in fn.__doc__ and "batchnorm_forward" in fn.__doc__
    assert "one value per channel" in F.batchnorm_forward.__doc__


# ----------------------------------------------------------------------------------------------
# Issue 12, item 3: every normalization in normalization.py, a public core
# ----------------------------------------------------------------------------------------------
def test_rmsnorm_and_instancenorm_live_in_normalization_and_top_level():
    for name in ("rmsnorm_forward", "rmsnorm_backward", "instancenorm_forward", "instancenorm_backward"):
        assert name in F.__all__ and getattr(cu, name) is getattr(F, name)
    assert "standardize_over" in F.__all__ and cu.standardize_over is F.standardize_over


def test_standardize_over_and_its_backward():
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, size=(5, 4, 3))
    stats = F.standardize_over(x, (0, 2), 1e-5)
    mu = x.mean(axis=(0, 2), keepdims=True)
    var = x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(stats.mu, mu, rtol=1e-14)
    np.testing.assert_allclose(stats.var, var, rtol=1e-13)
    np.testing.assert_allclose(stats.x_hat, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-12)
    dx_hat = rng.normal(size=x.shape)
    dx = F.standardize_over_backward(dx_hat, stats.x_hat, stats.inv_std, (0, 2))
    assert_gradient(lambda z: F.standardize_over(z, (0, 2), 1e-5).x_hat, x.copy(), dx_hat, dx, "dx")


# ----------------------------------------------------------------------------------------------
# Issue 12, item 4: no module imports another module's private names (only _validate is shared)
# ----------------------------------------------------------------------------------------------
def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """Private names of *other* course_utils modules that ``source`` (the module ``module``, dotted)
    imports or reaches through a module alias, except anything of ``course_utils._validate``.

    Caught: ``from .normalization import _x``, ``from course_utils.exercises.core import (a, _x)``,
    ``import course_utils._x``, ``F._x`` / ``cu.exercises.core._x`` where ``F``/``cu`` name a
    course_utils module. Not caught: ``getattr(F, "_x")`` and private attributes of objects.
    """
    tree = ast.parse(source)
    package = module.split(".") if is_package else module.split(".")[:-1]
    aliases, found = {}, []

    def allowed(dotted: str) -> bool:
        own_child = dotted.startswith(module + ".") and dotted.count(".") == module.count(".") + 1
        return "_validate" in dotted.split(".") or own_child

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            source_module = ".".join(base + ([node.module] if node.module else []))
            if source_module.split(".")[0] != "course_utils":
                continue
            for name in node.names:
                full = f"{source_module}.{name.name}"
                if _is_private(name.name) and not allowed(full):
                    found.append(f"line {node.lineno}: from {source_module} import {name.name}")
                aliases[name.asname or name.name] = full
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.split(".")[0] != "course_utils":
                    continue
                if any(_is_private(part) for part in name.name.split(".")) and not allowed(name.name):
                    found.append(f"line {node.lineno}: import {name.name}")
                aliases[name.asname or "course_utils"] = name.name if name.asname else "course_utils"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.insert(0, root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                dotted = ".".join([aliases[root.id], *chain])
                if not allowed(dotted):
                    found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_private_name_scanner_finds_what_it_should():
    bad = {
        "from .normalization import (\n    as_x,\n    _standardize,\n)": "_standardize",
        "from course_utils.exercises.batchnorm import _staged": "_staged",
        "from ..exercises import core\ncore._call(f)": "core._call",
        "import course_utils as cu\ncu.covariate_shift._add_noise(m)": "_add_noise",
        "from course_utils import normalization as F\nF._check_x(x, 'f')": "F._check_x",
        "import course_utils._secret": "_secret",
    }
    for source, what in bad.items():
        found = _private_uses(source, "course_utils.widgets.calculus")
        assert len(found) == 1 and what in found[0], (source, found)
    good = [
        "from ._validate import check_X_y, _helper",
        "from course_utils._validate import as_real_array",
        "from . import _validate\n_validate._private(1)",
        "from .layers import Linear\nself._cache = 1\nmodel._cache = 2",
        "import numpy as np\nnp._core",
        "from . import layers as L\nL.Linear.__init__",
    ]
    for source in good:
        assert _private_uses(source, "course_utils.batched") == [], source
    # a package's own submodules are its children, not another module's privates
    assert _private_uses("from . import _impl", "course_utils.widgets", is_package=True) == []


def test_no_module_or_test_imports_private_names_of_another_module():
    """Every course_utils module and every test uses only public names of other course_utils modules;
    the one shared private module is ``_validate`` (argument checks)."""
    root = pathlib.Path(cu.__file__).resolve().parent.parent
    paths = sorted((root / "course_utils").rglob("*.py")) + sorted((root / "tests").rglob("*.py"))
    offenders = []
    for path in paths:
        rel = path.relative_to(root)
        is_package = path.name == "__init__.py"
        parts = rel.with_suffix("").parts[:-1] if is_package else rel.with_suffix("").parts
        for use in _private_uses(path.read_text(), ".".join(parts), is_package):
            offenders.append(f"{rel} {use}")
    assert len(paths) > 60  # the scan saw the tree
    assert offenders == [], "\n".join(offenders)
