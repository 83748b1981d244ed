"""Tests for course_utils.covariate_shift and its plotting/widget/exercise helpers (notebook 04)."""

from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import course_utils as cu
from course_utils import covariate_shift as C
from course_utils.gradcheck import numerical_gradient_array, rel_error
from course_utils.training import MLP, GradNormHook, softmax_cross_entropy, train


@pytest.fixture(scope="module")
def digits():
    return cu.data.load_digits_split(seed=0)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(24, 10)), rng.integers(0, 4, size=24)


def _params(model):
    return [p.copy() for layer in model.layers for p in layer.params.values()]


def test_weight_gradient_is_the_gradient_of_the_loss(batch):
    x, y = batch
    model = MLP([10, 8, 8, 4], "sigmoid", "batch", seed=3)
    G = C.weight_gradient(model, x, y, 1)
    W = model.linears[1].params["W"]

    def loss(_):
        net = copy.deepcopy(model)
        return softmax_cross_entropy(net.forward(x, training=True), y)[0]

    numeric = numerical_gradient_array(lambda w: np.array(loss(w)), W, np.array(1.0), h=1e-6)
    assert rel_error(G, numeric) < 1e-6


def test_ics_measurement_by_hand(batch):
    """G' must equal the gradient after a manual SGD step of exactly the earlier layers."""
    x, y = batch
    lr = 0.7
    for norm in ("none", "batch"):
        model = MLP([10, 8, 8, 8, 4], "sigmoid", norm, seed=5)
        before = _params(model)
        l2, cos = C.ics_measurement(model, x, y, 2, lr)
        assert all(np.array_equal(a, b) for a, b in zip(before, _params(model), strict=True))
        net = copy.deepcopy(model)
        _, d = softmax_cross_entropy(net.forward(x, training=True), y)
        net.backward(d)
        G = net.linears[2].grads["W"].copy()
        for layer in net.layers[: net.linear_indices[2]]:
            for name in layer.params:
                layer.params[name] = layer.params[name] - lr * layer.grads[name]
        _, d = softmax_cross_entropy(net.forward(x, training=True), y)
        net.backward(d)
        G2 = net.linears[2].grads["W"]
        assert l2 == pytest.approx(np.linalg.norm(G - G2), rel=1e-10)
        assert cos == pytest.approx(np.vdot(G, G2) / np.linalg.norm(G) / np.linalg.norm(G2), rel=1e-10)
        assert 0 < l2 and cos < 1


def test_ics_is_zero_for_the_first_layer_and_grows_with_lr(batch):
    x, y = batch
    model = MLP([10, 8, 8, 4], "sigmoid", "none", seed=1)
    assert C.ics_measurement(model, x, y, 0, 1.0) == (0.0, pytest.approx(1.0))
    small = C.ics_measurement(model, x, y, 2, 1e-3)[0]
    large = C.ics_measurement(model, x, y, 2, 1e-1)[0]
    assert large > 50 * small  # first order in lr


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(layer=5), ValueError, "layer"),
        (dict(layer=1.0), ValueError, "layer"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(x=np.zeros((3, 7))), ValueError, "x must be"),
    ],
)
def test_ics_measurement_rejects_bad_arguments(batch, kwargs, exc, match):
    x, y = batch
    args = dict(model=MLP([10, 8, 4], "sigmoid", seed=0), x=x, y=y, layer=1, lr=0.1)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        C.ics_measurement(**args)
    with pytest.raises(TypeError, match="model"):
        C.ics_measurement("net", x, y, 1, 0.1)


def test_noisy_batchnorm_forward_backward(batch):
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=(16, 5))
    layer = C.NoisyBatchNorm(5, shift_max=1.0, scale_max=2.0, rng=np.random.default_rng(0))
    out = layer.forward(x, training=True)
    assert np.all((layer.noise_scale >= 1) & (layer.noise_scale <= 2))
    assert np.all(np.abs(layer.noise_shift) <= 1)
    # per unit: the batch mean is the shift and the (biased) std the scale, up to eps
    np.testing.assert_allclose(out.mean(axis=0), layer.noise_shift, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), layer.noise_scale, rtol=1e-5)
    # gradient check with the noise frozen
    layer.frozen = True
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)

    def f(xx):
        return layer.forward(xx, training=True)

    numeric = numerical_gradient_array(f, x.copy(), dout, h=1e-6)
    assert rel_error(dx, numeric) < 1e-6
    # new noise at every unfrozen step; eval uses the noise's mean
    layer.frozen = False
    first = layer.noise_scale.copy()
    layer.forward(x, training=True)
    assert not np.array_equal(first, layer.noise_scale)
    ev = layer.forward(x, training=False)
    plain = cu.layers.BatchNorm(5)
    plain.running_mean, plain.running_var = layer.running_mean, layer.running_var
    np.testing.assert_allclose(ev, 1.5 * plain.forward(x, training=False))
    with pytest.raises(ValueError, match="scale_max"):
        C.NoisyBatchNorm(3, scale_max=0.5)


def test_noisy_batchnorm_per_example_noise():
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, size=(400, 6))
    layer = C.NoisyBatchNorm(
        6, shift_max=1.0, scale_max=2.0, per_example_std=0.5, rng=np.random.default_rng(1)
    )
    out = layer.forward(x, training=True)
    assert layer.noise_example.shape == x.shape
    bn = cu.layers.BatchNorm(6).forward(x, training=True)
    expected = bn * layer.noise_scale + layer.noise_shift + layer.noise_example
    np.testing.assert_allclose(out, expected, atol=1e-12)
    # per unit: mean ≈ shift and variance ≈ scale² + 0.5² (the per-example part is independent noise)
    np.testing.assert_allclose(out.mean(axis=0), layer.noise_shift, atol=0.1)
    np.testing.assert_allclose(out.var(axis=0), layer.noise_scale**2 + 0.25, rtol=0.2)
    assert np.std(layer.noise_example) == pytest.approx(0.5, rel=0.1)
    with pytest.raises(ValueError, match="shape"):
        layer.frozen = True
        layer.forward(x[:10], training=True)  # frozen per-example noise of another batch size
    layer.frozen = False
    layer.forward(x[:10], training=True)  # a new step draws noise of the right shape
    assert layer.noise_example.shape == (10, 6)
    ev = layer.forward(x, training=False)  # eval: no per-example noise, mean scale
    plain = cu.layers.BatchNorm(6)
    plain.running_mean, plain.running_var = layer.running_mean, layer.running_var
    np.testing.assert_allclose(ev, 1.5 * plain.forward(x, training=False))
    with pytest.raises(ValueError, match="per_example_std"):
        C.NoisyBatchNorm(3, per_example_std=-1.0)
    assert "per_example_std" in repr(layer)
    # gradient check with all the noise frozen; the per-example term does not depend on x
    small = C.NoisyBatchNorm(5, per_example_std=1.0, rng=np.random.default_rng(2))
    xs = rng.normal(size=(16, 5))
    out = small.forward(xs, training=True)
    small.frozen = True
    dout = rng.normal(size=out.shape)
    dx = small.backward(dout)
    numeric = numerical_gradient_array(lambda xx: small.forward(xx, training=True), xs.copy(), dout, h=1e-6)
    assert rel_error(dx, numeric) < 1e-6


def test_noisy_mlp_has_same_weights_and_frozen_noise_replays(batch):
    x, y = batch
    model = C.noisy_batchnorm_mlp([10, 8, 8, 4], seed=4)
    ref = MLP([10, 8, 8, 4], "sigmoid", "batch", seed=4)
    for a, b in zip(model.linears, ref.linears, strict=True):
        np.testing.assert_array_equal(a.W, b.W)
    assert sum(isinstance(layer, C.NoisyBatchNorm) for layer in model.layers) == 2
    out1 = model.forward(x, training=True)
    with C.frozen_noise(model):
        out2 = model.forward(x, training=True)
    np.testing.assert_allclose(out1, out2)
    assert not any(getattr(layer, "frozen", False) for layer in model.layers)
    # the ICS measurement replays the current step's noise, so it is deterministic
    assert C.ics_measurement(model, x, y, 2, 0.5) == C.ics_measurement(model, x, y, 2, 0.5)


def test_hooks_do_not_change_the_training_run(digits):
    X_tr, X_te, y_tr, _ = digits
    kwargs = dict(steps=30, batch_size=50, lr=0.5, seed=2)
    base = MLP([64, 20, 20, 10], "sigmoid", "batch", seed=2)
    hooked = copy.deepcopy(base)
    grads_a, grads_b = GradNormHook(), GradNormHook()
    train(base, X_tr, y_tr, hooks=[grads_a], **kwargs)
    probe = C.ProbeInputHook(hooked.activation_indices[-1], X_te[:40], every=10)
    ics = C.ICSHook(0.5, layers=(1, 2), every=10)
    train(hooked, X_tr, y_tr, hooks=[probe, ics, grads_b], **kwargs)
    np.testing.assert_array_equal(grads_a.values, grads_b.values)
    assert probe.values.shape == (3, 40, 20) and probe.values.dtype == np.float32
    assert ics.l2.shape == ics.cosine.shape == ics.grad_norm.shape == (3, 2)
    assert ics.steps == [0, 10, 20]
    # the hook's G is the model's own gradient of that step
    np.testing.assert_allclose(ics.grad_norm[:, 1], grads_b.values[[0, 10, 20], 2], rtol=1e-10)


class _Snapshot(cu.training.Hook):
    """Keeps a copy of the model and its current batch at each recorded step."""

    def __init__(self, every):
        super().__init__(every)
        self.saved = []

    def record(self, step, model):
        self.saved.append((copy.deepcopy(model), model.last_batch))


@pytest.mark.parametrize("kind", ["plain", "batchnorm", "noisy", "noisy_example"])
def test_ics_hook_measures_the_current_batch(digits, kind):
    """The hook's fast path (reusing the step's gradients) equals ics_measurement on that step's batch."""
    X_tr, _, y_tr, _ = digits
    sizes = [64, 16, 16, 16, 10]
    if kind.startswith("noisy"):
        model = C.noisy_batchnorm_mlp(sizes, seed=1, per_example_std=1.0 if kind == "noisy_example" else 0.0)
    else:
        model = MLP(sizes, "sigmoid", "none" if kind == "plain" else "batch", seed=1)
    snap, ics = _Snapshot(every=7), C.ICSHook(0.3, layers=(1, 2, 3), every=7)
    train(model, X_tr, y_tr, steps=15, batch_size=40, lr=0.3, seed=5, hooks=[snap, ics])
    assert ics.steps == snap.steps == [0, 7, 14]
    for row, (net, (xb, yb)) in enumerate(snap.saved):
        assert xb.shape == (40, 64)
        for j, layer in enumerate((1, 2, 3)):
            l2, cos = C.ics_measurement(net, xb, yb, layer, 0.3)
            assert ics.l2[row, j] == pytest.approx(l2, rel=1e-9, abs=1e-15)
            assert ics.cosine[row, j] == pytest.approx(cos, rel=1e-9)


def test_ics_hook_needs_train(batch):
    model = MLP([10, 8, 8, 4], "sigmoid", seed=0)
    with pytest.raises(RuntimeError, match="last_batch"):
        C.ICSHook(0.1, layers=(1,))(0, model)
    with pytest.raises(ValueError, match="lr"):
        C.ICSHook(0.0)


def test_run_experiment_and_summaries(digits):
    rec = C.run_experiment(
        "noisy",
        seed=0,
        hidden=(16, 16),
        steps=40,
        lr=0.5,
        eval_every=20,
        probe_every=10,
        ics_layers=(1, 2),
        ics_every=20,
        data=digits,
    )
    assert rec.test_steps.tolist() == [20, 40]
    assert rec.probe.shape == (4, 300, 16)
    assert rec.ics_l2.shape == (2, 2)
    q = C.percentile_traces(rec.probe, unit=3)
    assert q.shape == (3, 4) and np.all(q[0] <= q[1]) and np.all(q[1] <= q[2])
    assert C.median_drift(rec.probe) > 0
    const = np.zeros((3, 5, 2))
    assert C.median_drift(const) == 0.0
    steps = np.arange(3, dtype=float).reshape(3, 1, 1) * np.ones((3, 5, 2))
    assert C.median_drift(steps) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind"):
        C.run_experiment("layer", data=digits)
    with pytest.raises(ValueError, match="probe"):
        C.median_drift(np.zeros((1, 5, 2)))


def test_run_experiment_without_probe_and_with_per_example_noise(digits):
    rec = C.run_experiment(
        "noisy",
        seed=1,
        hidden=(12, 12),
        steps=20,
        eval_every=10,
        probe_every=0,
        per_example_std=1.0,
        data=digits,
    )
    assert rec.probe.shape == (0, 300, 12) and rec.probe_steps.size == 0
    assert rec.test_steps.tolist() == [10, 20] and np.all(np.isfinite(rec.loss))
    # the probe pass draws its own per-example noise on a copy; the run itself is unchanged
    rec2 = C.run_experiment(
        "noisy",
        seed=1,
        hidden=(12, 12),
        steps=20,
        eval_every=10,
        probe_every=5,
        per_example_std=1.0,
        data=digits,
    )
    np.testing.assert_array_equal(rec.loss, rec2.loss)
    assert rec2.probe.shape == (4, 300, 12)


def test_covariate_shift_example():
    ex = C.covariate_shift_example(n=300, seed=1)
    # P(X) moved ...
    assert ex.x_train.mean() == pytest.approx(-0.8, abs=0.1)
    assert ex.x_shift.mean() == pytest.approx(0.8, abs=0.1)
    # ... P(Y|X) did not: the residuals of the common rule look alike in both samples
    for mean, std in (ex.residual_train, ex.residual_shift):
        assert abs(mean) < 0.03 and std == pytest.approx(ex.noise, rel=0.15)
    np.testing.assert_allclose(ex.y_train - ex.rule(ex.x_train), ex.y_train - np.sin(2 * ex.x_train))
    # the fit is good where it was trained and bad after the shift; refitting on shifted data fixes it
    assert ex.mse_train < 2 * ex.noise**2 and ex.mse_refit < 2 * ex.noise**2
    assert ex.mse_shift > 100 * ex.mse_train
    # no shift: no harm
    same = C.covariate_shift_example(n=300, seed=1, shift_mean=-0.8)
    assert same.mse_shift < 2 * same.noise**2
    for kwargs, name in (
        (dict(n=0), "n"),
        (dict(spread=0.0), "spread"),
        (dict(noise=-1.0), "noise"),
        (dict(degree=0), "degree"),
        (dict(n=3, degree=3), "n must exceed"),
    ):
        with pytest.raises(ValueError, match=name):
            C.covariate_shift_example(**kwargs)


def test_gradient_pair_matches_ics_measurement(batch):
    x, y = batch
    for norm in ("none", "batch"):
        model = MLP([10, 16, 16, 16, 4], "sigmoid", norm, seed=3)
        before = [p.copy() for lay in model.layers for p in lay.params.values()]
        G, G_new = C.gradient_pair(model, x, y, 2, 0.5)
        l2, cos = C.ics_measurement(model, x, y, 2, 0.5)
        assert np.isclose(np.linalg.norm(G - G_new), l2, rtol=1e-12)
        assert np.isclose(np.vdot(G, G_new) / (np.linalg.norm(G) * np.linalg.norm(G_new)), cos, rtol=1e-12)
        assert np.allclose(G, C.weight_gradient(model, x, y, 2), rtol=1e-12)
        after = [p for lay in model.layers for p in lay.params.values()]
        assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_relative_gradient_change():
    G = np.array([[3.0, 0.0], [0.0, 4.0]])
    assert C.relative_gradient_change(G, G) == 0.0
    assert np.isclose(C.relative_gradient_change(G, 2 * G), 1.0)
    assert np.isclose(C.relative_gradient_change(G, -G), 2.0)  # same norm, opposite direction
    with pytest.raises(ValueError, match="one shape"):
        C.relative_gradient_change(G, G[:1])
    with pytest.raises(ValueError, match="zero"):
        C.relative_gradient_change(np.zeros((2, 2)), G)


def test_run_seeds_and_seed_summary(digits):
    runs = C.run_seeds(
        ("plain", "noisy"),
        seeds=[0, 1],
        hidden=(8, 8),
        steps=60,
        eval_every=25,
        probe_every=15,
        ics_layers=(1, 2),
        ics_every=30,
        data=digits,
    )
    assert set(runs) == {"plain", "noisy"} and [r.seed for r in runs["noisy"]] == [0, 1]
    s = C.seed_summary(runs["noisy"], at_steps=(50,))
    assert s["acc@50"].shape == s["acc_final"].shape == s["drift"].shape == (2,)
    assert s["rel_ics"].shape == (2, 2) and np.all(s["rel_ics"] > 0)
    r = runs["noisy"][0]
    assert np.isclose(s["loss_last50"][0], r.loss[-50:].mean())
    assert np.isclose(s["drift"][0], C.median_drift(r.probe, start=2))
    assert np.isfinite(s["train_loss_eval"]).all()


@pytest.mark.parametrize("per_example_std", [0.0, 1.0])
def test_run_seeds_is_run_experiment_per_seed(digits, per_example_std):
    """run_seeds trains the seeds of a kind together (train_seeds with per-seed noise and hooks); every
    record equals the loop's run_experiment bit for bit, probes and ICS included."""
    settings = dict(
        hidden=(16, 16, 16),
        steps=40,
        eval_every=10,
        probe_every=10,
        ics_layers=(1, 2, 3),
        ics_every=15,
        per_example_std=per_example_std,
        data=digits,
    )
    runs = C.run_seeds(("plain", "batchnorm", "noisy"), seeds=[2, 0, 5], **settings)
    for kind, records in runs.items():
        for rec in records:
            ref = C.run_experiment(kind, rec.seed, **settings)
            for name in ref.__dataclass_fields__:
                np.testing.assert_array_equal(
                    getattr(rec, name), getattr(ref, name), err_msg=f"{kind} {name}"
                )


def test_plots_and_scrubber(digits):
    import matplotlib.pyplot as plt

    records = {
        kind: [
            C.run_experiment(
                kind,
                seed=s,
                hidden=(8, 8),
                steps=30,
                lr=0.5,
                eval_every=10,
                probe_every=10,
                ics_layers=(1, 2),
                ics_every=10,
                data=digits,
            )
            for s in (0, 1)
        ]
        for kind in ("plain", "batchnorm", "noisy")
    }
    records["noisy_example"] = [
        C.run_experiment(
            "noisy",
            seed=s,
            hidden=(8, 8),
            steps=30,
            lr=0.5,
            eval_every=10,
            probe_every=0,
            per_example_std=1.0,
            data=digits,
        )
        for s in (0, 1)
    ]
    figs = [
        cu.plotting.plot_ioffe_figure(records),
        cu.plotting.plot_ics(records, ["W2", "Wout"], layer_pos=0),
        cu.plotting.plot_noisy_batchnorm(records, smooth=5),
        cu.plotting.plot_covariate_shift_example(C.covariate_shift_example(n=50)),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    plt.close("all")
    demo = cu.widgets.DistributionScrubber(
        {"plain": records["plain"][0], "batchnorm": records["batchnorm"][0]}
    )
    stairs = demo.stairs["plain"]
    for step in (-100, 0, 15, 20, 10_000):
        text = demo.update(step)
        assert "median" in text and "nan" not in text
    assert demo.stairs["plain"] is stairs
    assert demo.index(10_000) == len(demo.steps) - 1
    cu.plotting.figure_to_png(demo.fig)
