"""Tests of course_utils.training: loss, end-to-end gradients, SGD, the training loop and its hooks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gradcheck_tools import assert_gradient

from course_utils import layers as L
from course_utils.data import load_digits_split
from course_utils.training import (
    MLP,
    SGD,
    GradNormHook,
    Hook,
    LayerInputHook,
    softmax_cross_entropy,
    train,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(test_fraction=0.25, seed=0)


# ----------------------------------------------------------------------------------------------
# softmax cross-entropy
# ----------------------------------------------------------------------------------------------
def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(7, 5))
    y = rng.integers(0, 5, size=7)
    loss, dlogits = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(7), y]).mean(), rtol=1e-14)
    onehot = np.eye(5)[y]
    np.testing.assert_allclose(dlogits, (p - onehot) / 7, rtol=1e-12, atol=1e-16)
    assert_gradient(
        lambda z: np.array(softmax_cross_entropy(z, y)[0]),
        logits,
        np.array(1.0),
        dlogits,
        "softmax_cross_entropy dlogits",
    )


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1.0, 0.0]])
    y = np.array([0, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dlogits = softmax_cross_entropy(logits, y)
    np.testing.assert_allclose(loss, 0.5 * (1e4 - 1.0), rtol=1e-12)  # row 1: 0, row 2: 1e4 - 1
    assert np.all(np.isfinite(dlogits))


@pytest.mark.parametrize(
    "logits, y, error, match",
    [
        (np.zeros((3, 4)), np.array([0, 1]), ValueError, "y"),
        (np.zeros((3, 4)), np.array([0, 1, 4]), ValueError, r"y must hold integer class labels in \[0, 4\)"),
        (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), TypeError, "y must hold integer class labels"),
        (np.zeros(4), np.array([0]), ValueError, "logits must be"),
    ],
)
def test_softmax_cross_entropy_bad_input(logits, y, error, match):
    with pytest.raises(error, match=match):
        softmax_cross_entropy(logits, y)


# ----------------------------------------------------------------------------------------------
# MLP structure and end-to-end gradients
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "placement, kinds",
    [
        ("before", ["Linear", "BatchNorm", "Sigmoid", "Linear", "BatchNorm", "Sigmoid", "Linear"]),
        ("after", ["Linear", "Sigmoid", "BatchNorm", "Linear", "Sigmoid", "BatchNorm", "Linear"]),
    ],
)
def test_mlp_layer_order(placement, kinds):
    model = MLP([5, 4, 4, 3], "sigmoid", "batch", placement=placement)
    assert [type(layer).__name__ for layer in model.layers] == kinds
    assert [kinds[i] for i in model.linear_indices] == ["Linear"] * 3
    assert [kinds[i] for i in model.norm_indices] == ["BatchNorm"] * 2
    assert [kinds[i] for i in model.activation_indices] == ["Sigmoid"] * 2
    assert len(model.linears) == 3


def test_mlp_without_normalization_and_seeded_init():
    a, b = MLP([5, 6, 3], "relu", seed=3), MLP([5, 6, 3], "relu", seed=3)
    assert [type(layer).__name__ for layer in a.layers] == ["Linear", "ReLU", "Linear"]
    for la, lb in zip(a.linears, b.linears, strict=True):
        np.testing.assert_array_equal(la.W, lb.W)
    assert not np.array_equal(a.linears[0].W, MLP([5, 6, 3], "relu", seed=4).linears[0].W)
    c = MLP([5, 6, 3], init_scale=0.01)
    assert all(abs(layer.W.std() - 0.01) < 0.006 for layer in c.linears)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(layer_sizes=[5]), "layer_sizes"),
        (dict(layer_sizes=[5, 0, 3]), "layer_sizes"),
        (dict(layer_sizes=[5, 3], activation="softplus"), "activation"),
        (dict(layer_sizes=[5, 3], normalization="weight"), "normalization"),
        (dict(layer_sizes=[5, 3], placement="middle"), "placement"),
        (dict(layer_sizes=[5, 6, 3], normalization="group", num_groups=4), "num_groups"),
    ],
)
def test_mlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


@pytest.mark.parametrize("normalization", ["none", "batch", "layer", "group"])
@pytest.mark.parametrize("placement", ["before", "after"])
def test_mlp_end_to_end_gradients(normalization, placement):
    """Every parameter's gradient and dL/dx of loss = softmax_cross_entropy(MLP(x), y).

    (BatchRenorm is left out here: its backward holds r and d constant by design, so it is not the
    gradient of its own forward; see test_layers / test_normalization for its checks.)
    """
    rng = np.random.default_rng(1)
    # groups of 4 features: with 2 values per group x_hat is +-1 whatever x, and the gradient only
    # flows through eps (tiny and badly conditioned, like BatchNorm with a batch of 2)
    model = MLP([5, 8, 8, 3], "tanh", normalization, placement=placement, seed=2, num_groups=2)
    for layer in model.layers:  # non-trivial gamma / beta / biases
        for key, p in layer.params.items():
            if key != "W":
                p += rng.normal(0, 0.3, size=p.shape)
    x = rng.normal(size=(8, 5))
    y = rng.integers(0, 3, size=8)

    def loss_of(_=None, inp=None):
        return np.array(softmax_cross_entropy(model.forward(x if inp is None else inp), y)[0])

    _, dlogits = softmax_cross_entropy(model.forward(x), y)
    dx = model.backward(dlogits)
    grads = [(i, k, layer.grads[k].copy()) for i, layer in enumerate(model.layers) for k in layer.params]
    assert len(grads) == 3 * 2 + (0 if normalization == "none" else 2 * 2)
    one = np.array(1.0)
    assert_gradient(lambda z: loss_of(inp=z), x, one, dx, "MLP dx")
    for i, key, grad in grads:
        if normalization == "batch" and placement == "before" and key == "b" and i + 1 in model.norm_indices:
            # a bias right before BatchNorm is subtracted with the batch mean: its gradient is exactly 0
            assert np.max(np.abs(grad)) < 1e-15
            continue
        assert_gradient(loss_of, model.layers[i].params[key], one, grad, f"MLP layer {i} d{key}")


# ----------------------------------------------------------------------------------------------
# SGD
# ----------------------------------------------------------------------------------------------
class _Toy:
    """Minimal stand-in for an MLP: one layer whose gradient we set by hand."""

    def __init__(self):
        self.layers = [L.Layer()]
        self.layers[0].params["w"] = np.array([1.0, -2.0])


def test_sgd_plain_and_momentum_match_the_closed_form():
    grads = [np.array([1.0, 2.0]), np.array([-1.0, 0.5]), np.array([3.0, 0.0])]
    for momentum in (0.0, 0.9):
        toy = _Toy()
        opt = SGD(lr=0.1, momentum=momentum)
        w = toy.layers[0].params["w"]
        w_ref, v = w.copy(), np.zeros(2)
        for g in grads:
            toy.layers[0].grads["w"] = g.copy()
            opt.step(toy)
            v = momentum * v + g  # PyTorch's heavy ball
            w_ref = w_ref - 0.1 * v
        np.testing.assert_allclose(toy.layers[0].params["w"], w_ref, rtol=1e-15)
        assert toy.layers[0].params["w"] is w  # updated in place
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=1.5)


# ----------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------
def _run(digits, seed=0, steps=60, **kwargs):
    X_train, X_test, y_train, y_test = digits
    model = MLP([64, 32, 32, 10], "sigmoid", kwargs.pop("normalization", "batch"), seed=seed)
    hist = train(
        model,
        X_train,
        y_train,
        steps=steps,
        batch_size=32,
        lr=kwargs.pop("lr", 0.5),
        seed=seed,
        X_test=X_test,
        y_test=y_test,
        **kwargs,
    )
    return model, hist


def test_train_is_deterministic_for_a_seed(digits):
    m1, h1 = _run(digits, seed=3, momentum=0.9)
    m2, h2 = _run(digits, seed=3, momentum=0.9)
    np.testing.assert_array_equal(h1.loss, h2.loss)
    np.testing.assert_array_equal(h1.test_accuracy, h2.test_accuracy)
    for a, b in zip(m1.layers, m2.layers, strict=True):
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])
    np.testing.assert_array_equal(m1.layers[1].running_var, m2.layers[1].running_var)
    _, h3 = _run(digits, seed=4, momentum=0.9)
    assert not np.array_equal(h1.loss, h3.loss)


@pytest.mark.parametrize("normalization", ["none", "batch", "layer", "group", "renorm"])
@pytest.mark.parametrize("placement", ["before", "after"])
def test_every_configuration_trains(digits, normalization, placement):
    X_train, X_test, y_train, y_test = digits
    model = MLP([64, 32, 32, 10], "sigmoid", normalization, placement=placement, seed=0)
    hist = train(model, X_train, y_train, steps=300, batch_size=32, lr=0.5, X_test=X_test, y_test=y_test)
    assert not hist.diverged and hist.steps_taken == 300 and hist.loss.shape == (300,)
    assert hist.loss[-50:].mean() < 0.25 * hist.loss[:10].mean()
    assert hist.final_test_accuracy > 0.85


@pytest.mark.parametrize("normalization", ["none", "batch", "layer"])
def test_divergence_is_reported_without_warnings(digits, normalization):
    X_train, X_test, y_train, y_test = digits
    model = MLP([64, 32, 32, 10], "relu", normalization, seed=0)
    with warnings.catch_warnings(), np.errstate(over="warn", invalid="warn", divide="warn"):
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid) would fail here
        hist = train(
            model,
            X_train,
            y_train,
            steps=200,
            batch_size=32,
            lr=1e6,
            X_test=X_test,
            y_test=y_test,
            eval_every=10,
        )
    assert hist.diverged
    assert hist.steps_taken < 200 and len(hist.loss) == hist.steps_taken
    assert not np.isfinite(hist.loss[-1]) or hist.loss[-1] > 1e3
    assert hist.final_test_accuracy == pytest.approx(0.1)  # chance, never NaN
    assert np.all(np.isfinite(hist.test_accuracy))


def test_eval_every_records_test_accuracy(digits):
    _, hist = _run(digits, steps=100, eval_every=30)
    np.testing.assert_array_equal(hist.test_steps, [30, 60, 90, 100])
    assert hist.test_accuracy.shape == (4,) and np.all((0 <= hist.test_accuracy) & (hist.test_accuracy <= 1))
    _, hist0 = _run(digits, steps=20)
    np.testing.assert_array_equal(hist0.test_steps, [20])


def test_hooks_record_shapes_and_timing(digits):
    X_train, X_test, y_train, _ = digits
    model = MLP([64, 32, 16, 10], "sigmoid", "batch", seed=0)
    grad_hook = GradNormHook(every=5)
    pct_hook = LayerInputHook(model.activation_indices[0], lambda x: np.percentile(x, [15, 50, 85]))
    probe_hook = LayerInputHook(
        model.norm_indices[1], lambda x: x.mean(axis=0), X_probe=X_test[:40], every=10
    )

    class Timing(Hook):
        """Record W and dW of the first Linear: the hook must run after backward, before the update."""

        def __init__(self):
            super().__init__()
            self.W, self.dW = [], []

        def record(self, step, model):
            self.W.append(model.linears[0].W.copy())
            self.dW.append(model.linears[0].grads["W"].copy())

    timing = Timing()
    hist = train(
        model,
        X_train,
        y_train,
        steps=30,
        batch_size=20,
        lr=0.3,
        hooks=[grad_hook, pct_hook, probe_hook, timing],
    )
    assert hist.hooks == [grad_hook, pct_hook, probe_hook, timing]
    assert grad_hook.values.shape == (6, 3) and grad_hook.steps == [0, 5, 10, 15, 20, 25]
    assert np.all(grad_hook.values > 0)
    assert pct_hook.values.shape == (30, 3) and np.all(np.diff(pct_hook.values, axis=1) >= 0)
    assert probe_hook.values.shape == (3, 16) and probe_hook.steps == [0, 10, 20]
    for s in range(29):
        np.testing.assert_allclose(timing.W[s + 1], timing.W[s] - 0.3 * timing.dW[s], rtol=1e-14, atol=1e-16)
    # the grad-norm hook saw the same gradients
    norms = [np.linalg.norm(timing.dW[s]) for s in grad_hook.steps]
    np.testing.assert_allclose(grad_hook.values[:, 0], norms)
    # the probe pass left the training batch's inputs in place (batch of 20, not the 40 probes)
    assert model.layer_inputs[0].shape == (20, 64)


def test_probe_hook_does_not_disturb_training(digits):
    """A probe forward pass in eval mode must not change what the training run computes."""
    X_train, X_test, y_train, _ = digits
    runs = []
    for hooks in ([], [LayerInputHook(2, np.mean, X_probe=X_test[:30])]):
        model = MLP([64, 16, 10], "sigmoid", "batch", seed=0)
        runs.append(train(model, X_train, y_train, steps=40, batch_size=16, lr=0.3, hooks=hooks).loss)
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(steps=0), "steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=10_000), "batch_size"),
        (dict(lr=-1.0), "lr"),
        (dict(momentum=2.0), "momentum"),
    ],
)
def test_train_bad_arguments(digits, kwargs, match):
    X_train, _, y_train, _ = digits
    args = dict(steps=5, batch_size=8, lr=0.1) | kwargs
    with pytest.raises(ValueError, match=match):
        train(MLP([64, 10]), X_train, y_train, **args)
    with pytest.raises(ValueError, match="X must be"):
        train(MLP([64, 10]), X_train, y_train[:-1], steps=5, batch_size=8, lr=0.1)


def test_train_refuses_bad_labels_before_training(digits):
    """Labels are checked once, up front, under train's name (not by softmax_cross_entropy mid-run)."""
    X_train, _, y_train, _ = digits
    model = MLP([64, 10], seed=0)
    before = model.layers[0].params["W"].copy()
    with pytest.raises(
        ValueError, match=r"^train: y must hold integer class labels in \[0, 10\), got values"
    ):
        train(model, X_train, y_train + 1, steps=5, batch_size=8, lr=0.1)
    with pytest.raises(TypeError, match=r"^train: y must hold integer class labels .* got dtype float64$"):
        train(model, X_train, y_train.astype(float), steps=5, batch_size=8, lr=0.1)
    np.testing.assert_array_equal(model.layers[0].params["W"], before)


def test_blas_runs_single_threaded_inside_the_model_and_is_restored():
    """Tiny matrices + a busy shared machine: multi-threaded BLAS made training 5-10x slower."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]

    class Probe(L.Layer):
        seen: list = []

        def forward(self, x, training=True):
            Probe.seen.append(blas_threads())
            return x

        def backward(self, dout):
            Probe.seen.append(blas_threads())
            return dout

    before = blas_threads()
    model = MLP([4, 3, 2], "tanh", seed=0)
    model.layers.insert(1, Probe())
    model.layer_inputs.append(None)
    x, y = np.random.default_rng(0).normal(size=(6, 4)), np.array([0, 1, 0, 1, 1, 0])
    _, dlogits = softmax_cross_entropy(model.forward(x), y)
    model.backward(dlogits)
    train(model, x, y, steps=2, batch_size=3, lr=0.1)
    assert Probe.seen and all(all(n == 1 for n in threads) for threads in Probe.seen)
    assert blas_threads() == before


def test_mlp_bn_momentum_reaches_the_running_average_layers():
    """``MLP(bn_momentum=...)`` is BatchNorm's EMA momentum (not SGD's ``train(momentum=...)``)."""
    for normalization in ("batch", "renorm"):
        model = MLP([5, 4, 3], normalization=normalization, bn_momentum=0.25)
        assert [model.layers[i].momentum for i in model.norm_indices] == [0.25]
    with pytest.raises(TypeError, match="momentum"):
        MLP([5, 4, 3], normalization="batch", momentum=0.25)
