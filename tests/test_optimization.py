"""Tests for notebook 09's code (optimization topic): probes and experiment runners in
course_utils.optimization, and its figures, widgets and exercise checks."""

import matplotlib

matplotlib.use("Agg")

import copy  # noqa: E402
import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils import optimization as ls  # noqa: E402
from course_utils.training import MLP, train  # noqa: E402


@pytest.fixture
def small_batch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 6))
    y = rng.integers(0, 4, size=24)
    return X, y


def _bn_model(seed=1):
    return MLP([6, 10, 10, 4], activation="relu", normalization="batch", seed=seed)


def test_parameter_vector_roundtrip_and_errors():
    model = _bn_model()
    theta = ls.parameter_vector(model)
    n_params = sum(p.size for layer in model.layers for p in layer.params.values())
    assert theta.shape == (n_params,)
    theta[0] += 1.0  # a copy: the model is untouched
    assert model.linears[0].W.ravel()[0] != theta[0]
    ls.set_parameter_vector(model, theta)
    assert model.linears[0].W.ravel()[0] == theta[0]
    np.testing.assert_array_equal(ls.parameter_vector(model), theta)
    with pytest.raises(ValueError, match="theta"):
        ls.set_parameter_vector(model, theta[:-1])
    with pytest.raises(TypeError, match="model"):
        ls.parameter_vector("not a model")


def test_model_loss_and_grad_matches_finite_differences(small_batch):
    X, y = small_batch
    model = _bn_model()
    f = ls.model_loss_and_grad(model, X, y)
    theta = ls.parameter_vector(model)
    loss, grad = f(theta)
    rng = np.random.default_rng(5)
    h = 1e-6
    for i in rng.choice(theta.size, size=12, replace=False):
        e = np.zeros_like(theta)
        e[i] = h
        numeric = (f(theta + e)[0] - f(theta - e)[0]) / (2 * h)
        assert numeric == pytest.approx(grad[i], rel=1e-5, abs=1e-8)
    assert np.linalg.norm(grad) > 1e-3  # not vacuous


def test_model_loss_and_grad_leaves_the_model_untouched(small_batch):
    X, y = small_batch
    model = _bn_model()
    train(model, X, y, steps=3, batch_size=8, lr=0.1)  # non-trivial running stats and caches
    before = copy.deepcopy(model)
    f = ls.model_loss_and_grad(model, X, y)
    theta = ls.parameter_vector(model)
    for eta in (0.1, 1.0):
        f(theta - eta * f(theta)[1])
    np.testing.assert_array_equal(ls.parameter_vector(model), ls.parameter_vector(before))
    for i in model.norm_indices:
        np.testing.assert_array_equal(model.layers[i].running_mean, before.layers[i].running_mean)
        np.testing.assert_array_equal(model.layers[i].running_var, before.layers[i].running_var)
    # deterministic: training-mode BN does not depend on the (drifting) running stats of the copy
    assert f(theta)[0] == f(theta)[0]


def test_probes_on_a_quadratic_are_exact():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(5, 5))
    A = M @ M.T + np.eye(5)

    def f(theta):
        return 0.5 * theta @ A @ theta, A @ theta

    theta = rng.normal(size=5)
    etas = np.array([0.01, 0.1, 0.3])
    g = A @ theta
    probe = ls.probe_along_gradient(f, theta, etas)
    expected_losses = [0.5 * (theta - e * g) @ A @ (theta - e * g) for e in etas]
    np.testing.assert_allclose(probe.losses, expected_losses, rtol=1e-12)
    np.testing.assert_allclose(probe.grad_changes, etas * np.linalg.norm(A @ g), rtol=1e-12)
    # along g the gradient changes linearly, so every ratio is ‖Ag‖/‖g‖ ≤ λ_max
    np.testing.assert_allclose(probe.beta_ratios, np.linalg.norm(A @ g) / np.linalg.norm(g), rtol=1e-12)
    assert probe.beta <= np.linalg.eigvalsh(A).max() + 1e-12
    np.testing.assert_allclose(ls.gradient_predictiveness(f, theta, etas), probe.grad_changes)
    np.testing.assert_allclose(ls.loss_along_gradient(f, theta, etas), probe.losses)
    assert ls.effective_beta_smoothness(f, theta, etas) == pytest.approx(probe.beta)


@pytest.mark.parametrize("bad", [[], [0.1, -0.1], [[0.1]], [np.inf]])
def test_probe_rejects_bad_step_sizes(bad):
    def f(theta):
        return 0.0, theta

    with pytest.raises(ValueError, match="step_sizes"):
        ls.probe_along_gradient(f, np.ones(3), bad)


def test_probe_rejects_bad_callable_and_theta():
    with pytest.raises(TypeError, match="loss_and_grad"):
        ls.probe_along_gradient(3, np.ones(3), [0.1])
    with pytest.raises(ValueError, match="theta"):
        ls.probe_along_gradient(lambda t: (0.0, t), np.ones((2, 2)), [0.1])


def test_train_with_probes_does_not_change_the_training(small_batch):
    X, y = small_batch
    a, b = _bn_model(), _bn_model()
    trace = ls.train_with_probes(
        a, X, y, steps=12, batch_size=8, lr=0.2, step_sizes=[0.05, 0.2], probe_every=4, seed=7
    )
    history = train(b, X, y, steps=12, batch_size=8, lr=0.2, seed=7)
    np.testing.assert_allclose(ls.parameter_vector(a), ls.parameter_vector(b), rtol=0, atol=1e-12)
    for i in a.norm_indices:
        np.testing.assert_allclose(a.layers[i].running_var, b.layers[i].running_var, atol=1e-12)
    np.testing.assert_allclose(trace.loss, history.loss, atol=1e-12)
    assert trace.probe_steps.tolist() == [0, 4, 8]
    assert trace.losses.shape == trace.grad_changes.shape == (3, 2)
    low, high = trace.band("grad_changes")
    assert np.all(low <= high)
    np.testing.assert_allclose(trace.beta, trace.beta_ratios.max(axis=1))
    with pytest.raises(ValueError, match="name"):
        trace.band("nope")


def test_divergence_is_reported_without_warnings(small_batch):
    X, y = small_batch
    data = (X, X, y, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = ls.train_with_probes(
            MLP([6, 10, 10, 4], activation="relu", init_scale=3.0),
            X,
            y,
            steps=50,
            batch_size=8,
            lr=50.0,
            step_sizes=[1.0],
            probe_every=5,
        )
        run = ls.run_training(
            data, layer_sizes=[6, 10, 10, 4], init_scale=3.0, lr=50.0, steps=50, batch_size=8
        )
    assert trace.diverged and run.diverged
    assert run.test_accuracy == pytest.approx(0.25) and run.train_accuracy == pytest.approx(0.25)
    assert run.test_loss == np.inf and run.loss_gap == np.inf
    assert not np.isnan(run.test_accuracy)


def test_run_training_summary():
    data = cu.data.load_digits_split(0.25, seed=0)
    run = ls.run_training(
        data, layer_sizes=[64, 16, 10], normalization="batch", lr=0.1, steps=60, seed=2, n_train=200
    )
    assert not run.diverged and run.steps_taken == 60
    assert 0.5 < run.test_accuracy <= 1 and 0.5 < run.train_accuracy <= 1
    assert run.accuracy_gap == pytest.approx(run.train_accuracy - run.test_accuracy)
    assert run.weight_norms.shape == (2,) and np.all(run.weight_norms > 0)
    assert run.config["n_train"] == 200
    with pytest.raises(ValueError, match="n_train"):
        ls.run_training(data, layer_sizes=[64, 10], lr=0.1, steps=1, n_train=10**6)
    with pytest.raises(TypeError, match="data"):
        ls.run_training(data[:2], layer_sizes=[64, 10], lr=0.1, steps=1)


def test_scale_invariance_exact_without_eps(small_batch):
    X, y = small_batch
    model = MLP([6, 10, 10, 4], activation="relu", normalization="batch", eps=1e-30, seed=4)
    rows = ls.scale_invariance_check(model, X, y, layer=1, factors=(0.01, 10.0))
    for row in rows:
        assert row.output_change < 1e-12 and row.loss_change < 1e-12
        assert row.grad_ratio == pytest.approx(1 / row.factor, rel=1e-10)
        assert row.update_ratio == pytest.approx(1 / row.factor**2, rel=1e-10)
        assert row.grad_error < 1e-10
        assert abs(row.cosine_w_grad) < 1e-10


def test_scale_invariance_eps_and_no_norm(small_batch):
    X, y = small_batch
    bn = MLP([6, 10, 10, 4], activation="relu", normalization="batch", seed=4)  # eps = 1e-5
    small, large = ls.scale_invariance_check(bn, X, y, factors=(0.003, 100.0))
    assert small.output_change > 1e-3  # eps/a² is no longer negligible
    assert large.output_change < 1e-3
    plain = MLP([6, 10, 10, 4], activation="relu", seed=4)
    (row,) = ls.scale_invariance_check(plain, X, y, factors=(10.0,))
    assert row.loss_change > 1e-3 and abs(row.cosine_w_grad) > 1e-6
    with pytest.raises(ValueError, match="layer"):
        ls.scale_invariance_check(bn, X, y, layer=2)
    with pytest.raises(ValueError, match="factors"):
        ls.scale_invariance_check(bn, X, y, factors=(0.0,))


def _layer_kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_with_classifier_input_norm_adds_and_removes_the_last_bn(small_batch):
    X, y = small_batch
    before = MLP([6, 10, 10, 4], activation="sigmoid", normalization="batch", placement="before", seed=2)
    plus = ls.with_classifier_input_norm(before)
    assert len(before.layers) == 7 and len(plus.layers) == 8  # the original is untouched
    assert _layer_kinds(plus)[-3:] == ["Sigmoid", "BatchNorm", "Linear"]
    for model in (before, plus):
        assert model.linear_indices[-1] == len(model.layers) - 1
        assert [_layer_kinds(model)[i] for i in model.norm_indices] == ["BatchNorm"] * len(model.norm_indices)
        assert [_layer_kinds(model)[i] for i in model.linear_indices] == ["Linear"] * 3
    assert plus.norm_indices == sorted(plus.norm_indices) and len(plus.layer_inputs) == len(plus.layers)
    # in training mode the output layer now receives per-unit standardized inputs (γ = 1, β = 0)
    plus.forward(X, training=True)
    h = plus.layer_inputs[plus.linear_indices[-1]]
    np.testing.assert_allclose(h.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(h.var(axis=0), 1.0, rtol=1e-3)
    # ... while "before" hands it raw sigmoid outputs
    before.forward(X, training=True)
    raw = before.layer_inputs[before.linear_indices[-1]]
    assert raw.min() > 0 and raw.max() < 1
    # the modified net is a consistent network: its gradient matches finite differences
    f = ls.model_loss_and_grad(plus, X, y)
    theta = ls.parameter_vector(plus)
    _, grad = f(theta)
    for i in np.random.default_rng(1).choice(theta.size, size=8, replace=False):
        e = np.zeros_like(theta)
        e[i] = 1e-6
        assert (f(theta + e)[0] - f(theta - e)[0]) / 2e-6 == pytest.approx(grad[i], rel=1e-5, abs=1e-8)
    # removing it again gives back the original network exactly
    back = ls.with_classifier_input_norm(plus, False)
    assert _layer_kinds(back) == _layer_kinds(before) and back.linear_indices == before.linear_indices
    assert back.norm_indices == before.norm_indices
    np.testing.assert_array_equal(back.forward(X), before.forward(X))


def test_with_classifier_input_norm_on_after_nets_and_errors(small_batch):
    X, _ = small_batch
    after = MLP([6, 10, 10, 4], activation="relu", normalization="batch", placement="after", seed=3)
    same = ls.with_classifier_input_norm(after, True)  # already normalized: an unchanged copy
    assert same is not after and _layer_kinds(same) == _layer_kinds(after)
    np.testing.assert_array_equal(same.forward(X), after.forward(X))
    bare = ls.with_classifier_input_norm(after, False)
    assert _layer_kinds(bare)[-2:] == ["ReLU", "Linear"] and len(bare.norm_indices) == 1
    bare.forward(X)
    assert bare.layer_inputs[-1].min() >= 0  # raw ReLU outputs reach the classifier
    with pytest.raises(TypeError, match="model"):
        ls.with_classifier_input_norm("net")
    with pytest.raises(TypeError, match="normalized"):
        ls.with_classifier_input_norm(after, "yes")
    with pytest.raises(ValueError, match="normalization"):
        ls.with_classifier_input_norm(MLP([6, 10, 4], seed=0))
    with pytest.raises(ValueError, match="hidden layer"):
        ls.with_classifier_input_norm(MLP([6, 4], normalization="batch", seed=0))


def test_run_training_classifier_input_norm():
    data = cu.data.load_digits_split(0.25, seed=0)
    kwargs = dict(
        layer_sizes=[64, 16, 10], activation="sigmoid", normalization="batch", lr=0.1, steps=30, seed=1
    )
    plus = ls.run_training(data, placement="before", classifier_input_norm=True, **kwargs)
    assert plus.config["classifier_input_norm"] is True
    model = ls.with_classifier_input_norm(
        MLP([64, 16, 10], activation="sigmoid", normalization="batch", seed=1)
    )
    history = train(model, data[0], data[2], steps=30, batch_size=32, lr=0.1, seed=1)
    np.testing.assert_array_equal(plus.loss, history.loss)
    # an "after" net already normalizes the classifier's input: the option changes nothing
    after = ls.run_training(data, placement="after", **kwargs)
    after_plus = ls.run_training(data, placement="after", classifier_input_norm=True, **kwargs)
    np.testing.assert_array_equal(after.loss, after_plus.loss)


def test_build_model_is_the_network_run_training_trains():
    """build_model gives run_training's untrained net: "before+" = "before" plus the classifier-input BN."""
    data = cu.data.load_digits_split(0.25, seed=0)
    kwargs = dict(layer_sizes=[64, 16, 10], activation="sigmoid", normalization="batch", seed=4)
    plus = ls.build_model(placement="before", classifier_input_norm=True, **kwargs)
    want = ls.with_classifier_input_norm(
        MLP([64, 16, 10], activation="sigmoid", normalization="batch", seed=4)
    )
    assert [type(layer) for layer in plus.layers] == [type(layer) for layer in want.layers]
    for got, ref in zip(plus.linears, want.linears):
        np.testing.assert_array_equal(got.W, ref.W)
    history = train(plus, data[0], data[2], steps=20, batch_size=32, lr=0.1, seed=4)
    run = ls.run_training(data, placement="before", classifier_input_norm=True, lr=0.1, steps=20, **kwargs)
    np.testing.assert_array_equal(run.loss, history.loss)
    plain = ls.build_model(kwargs["layer_sizes"], seed=4)  # run_training's defaults: ReLU, no normalization
    ref = MLP([64, 16, 10], activation="relu", seed=4)
    assert [type(layer) for layer in plain.layers] == [type(layer) for layer in ref.layers]
    assert run.config["seed"] == 4 and run.config["classifier_input_norm"] is True


def _fake_run(loss, diverged=False, acc=0.9):
    loss = np.asarray(loss, float)
    return ls.RunResult(
        config={},
        loss=loss,
        diverged=diverged,
        steps_taken=loss.size,
        train_accuracy=acc,
        test_accuracy=acc if not diverged else 0.1,
        train_loss=0.1,
        test_loss=0.2,
    )


@pytest.fixture
def runs():
    steps = 50
    good = [_fake_run(np.linspace(2.3, 0.1, steps), acc=0.9 + 0.01 * s) for s in range(3)]
    bad = [_fake_run(np.r_[np.linspace(2.3, 5, 10), np.inf], diverged=True) for _ in range(3)]
    return [0.1, 1.0], {"plain": [good, bad], "BN": [good, good]}, steps


def test_smooth_curve():
    y = np.array([1.0, 3.0, 5.0, 7.0])
    np.testing.assert_allclose(cu.plotting.smooth_curve(y, 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(cu.plotting.smooth_curve(y, 1), y)
    assert cu.plotting.smooth_curve([], 3).size == 0


def test_plot_accuracy_sweep_marks_diverged_runs():
    acc = {"plain": np.array([[0.9, 0.92, 0.91], [0.1, 0.1, 0.5]]), "BN": np.full((2, 3), 0.95)}
    div = {"plain": np.array([[False] * 3, [True, True, False]]), "BN": np.zeros((2, 3), bool)}
    fig = cu.plotting.plot_accuracy_sweep([0.1, 1.0], acc, div, xlabel="learning rate")
    assert isinstance(fig, Figure)
    crosses = [ln for ln in fig.axes[0].lines if ln.get_marker() == "x" and len(ln.get_xdata())]
    assert sum(len(ln.get_xdata()) for ln in crosses) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="rows"):
        cu.plotting.plot_accuracy_sweep([0.1], acc, xlabel="lr")


def test_plot_paired_and_landscape(small_trace_pair):
    fig = cu.plotting.plot_paired(
        {"g1": ([1, 2, 3], [2, 3, 4]), "g2": ([1, 1, 1], [0, 0, 1])}, ("before", "after"), ylabel="acc"
    )
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = cu.plotting.plot_landscape_probes(small_trace_pair, title="t")
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError):
        cu.plotting.plot_paired({}, ylabel="acc")


@pytest.fixture
def small_trace_pair():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 5)), rng.integers(0, 3, 32)
    traces = {}
    for label, norm in (("plain", "none"), ("BN", "batch")):
        model = cu.training.MLP([5, 8, 8, 3], activation="relu", normalization=norm, seed=1)
        traces[label] = ls.train_with_probes(
            model, X, y, steps=20, batch_size=8, lr=0.1, step_sizes=[0.05, 0.1, 0.4], probe_every=5
        )
    return traces


def test_lr_curves_demo_updates_in_place(runs):
    lrs, data, steps = runs
    fig, update = cu.widgets.lr_curves_demo(lrs, data, steps=steps)
    ax = fig.axes[0]
    n_lines = len(ax.lines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = update(1.0)
        fig.canvas.draw()
    assert len(ax.lines) == n_lines  # no new artists
    assert "diverged 3/3" in text and "lr = 1" in text
    marks = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert sum(len(m.get_xdata()) for m in marks) == 3
    curves = [ln for ln in ax.lines if ln.get_marker() != "x" and len(ln.get_xdata()) > 2]
    ydata = np.concatenate([ln.get_ydata() for ln in curves])
    assert np.all(np.isfinite(ydata))
    update(0.1)
    assert sum(len(m.get_xdata()) for m in marks) == 0
    with pytest.raises(ValueError, match="lr"):
        update(0.5)
    with pytest.raises(ValueError, match="one entry per learning rate"):
        cu.widgets.lr_curves_demo([0.1], data, steps=steps)


def test_step_size_demo(small_trace_pair):
    fig, update = cu.widgets.step_size_demo(small_trace_pair)
    line = fig.axes[0].lines[0]
    before = line.get_ydata().copy()
    text = update(0.4)
    assert "η = 0.4" in text
    assert fig.axes[0].lines[0] is line and not np.allclose(line.get_ydata(), before)
    np.testing.assert_allclose(line.get_ydata(), small_trace_pair["plain"].losses[:, 2])
    with pytest.raises(ValueError, match="eta"):
        update(0.2)


def test_run_training_seeds_equals_separate_runs():
    """The seed-batched runner gives run_training's numbers, seed for seed (a diverging seed included)."""
    data = cu.data.load_digits_split(test_fraction=0.25, seed=0)
    for kwargs in (
        dict(normalization="batch", lr=3.0, n_train=300),
        dict(normalization="none", lr=3.0, n_train=300),
        dict(normalization="batch", placement="after", activation="sigmoid", lr=0.1, init_scale=0.3),
    ):
        batched = ls.run_training_seeds(data, (0, 3), layer_sizes=[64, 16, 10], steps=30, **kwargs)
        for seed, got in zip((0, 3), batched):
            want = ls.run_training(data, layer_sizes=[64, 16, 10], steps=30, seed=seed, **kwargs)
            assert got.diverged == want.diverged and got.steps_taken == want.steps_taken
            np.testing.assert_allclose(got.loss, want.loss, rtol=1e-12, atol=0)
            for attr in ("train_accuracy", "test_accuracy", "train_loss", "test_loss"):
                assert getattr(got, attr) == pytest.approx(getattr(want, attr), rel=1e-12), attr
            np.testing.assert_allclose(got.weight_norms, want.weight_norms, rtol=1e-12)
            assert got.config == want.config
    with pytest.raises(TypeError, match="data"):
        ls.run_training_seeds((1, 2), (0,), layer_sizes=[64, 10], lr=0.1, steps=1)


def test_learning_rate_sweep_and_best_learning_rate():
    data = cu.data.load_digits_split(test_fraction=0.25, seed=0)
    sweep = ls.learning_rate_sweep(data, [0.01, 0.3], (0, 1), layer_sizes=[64, 16, 10], steps=40)
    assert len(sweep) == 2 and all(len(runs) == 2 for runs in sweep)
    assert ls.best_learning_rate(sweep, [0.01, 0.3]) == 0.3


def test_beta_readings_on_a_quadratic_agree_and_differ_on_a_falling_profile():
    A = np.diag([1.0, 4.0])
    f = lambda th: (0.5 * th @ A @ th, A @ th)  # noqa: E731
    probe = ls.probe_along_gradient(f, np.array([1.0, 1.0]), [0.1, 0.2, 0.4])
    trace = ls.ProbeTrace(
        step_sizes=probe.step_sizes,
        probe_steps=np.array([0]),
        losses=probe.losses[None],
        grad_changes=probe.grad_changes[None],
        beta_ratios=probe.beta_ratios[None],
        grad_norms=np.array([probe.grad_norm]),
        loss=np.array([probe.loss0]),
        diverged=False,
    )
    readings = ls.beta_readings(trace)
    np.testing.assert_allclose(readings["max ratio"], readings["max change / max distance"], rtol=1e-12)
    # A gradient that jumps by 1 at any step and then stays: the ratio falls with eta.
    trace.grad_changes = np.array([[1.0, 1.0, 1.0]])
    trace.beta_ratios = trace.grad_changes / (trace.step_sizes * trace.grad_norms)
    readings = ls.beta_readings(trace)
    assert readings["max ratio"][0] == pytest.approx(4 * readings["max change / max distance"][0])
    summary = ls.probe_summary(trace)
    assert summary["β, reading A"] > summary["β, reading B"]
    with pytest.raises(TypeError, match="ProbeTrace"):
        ls.beta_readings(probe)


def test_paired_difference_is_stats_compare():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=7), rng.normal(size=7)
    d, h = ls.paired_difference(a, b)
    c = cu.stats.compare(a, b, scale=1.0)
    assert (d, h) == pytest.approx((c.mean_diff, c.half_width), rel=1e-12)
    assert h == pytest.approx(2.4469 * np.std(a - b, ddof=1) / np.sqrt(7), rel=1e-4)
    with pytest.raises(ValueError, match="paired"):
        ls.paired_difference(a, b[:3])


def test_claim_verdicts():
    low = np.array([0.5, -1.0, -3.0, 0.0, -2.0, 1.0])
    high = np.array([2.0, 1.0, -1.0, 1.0, -1.0, 2.0])
    sign = np.array([1, 1, 1, 1, -1, -1])
    np.testing.assert_array_equal(ls.claim_verdicts(low, high, sign), [1, 0, -1, 0, 1, -1])


def test_loss_curves_in_a_constrained_layout_draw_without_warnings(runs):
    lrs, data, steps = runs
    fig, axes = plt.subplots(1, 2, sharey=True, layout="constrained")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ax, k in zip(axes, (0, 1), strict=True):
            per_label = {label: per_lr[k] for label, per_lr in data.items()}
            cu.plotting.draw_loss_curves(ax, per_label, steps=steps)
        fig.canvas.draw()
    plt.close(fig)


def test_plot_paired_labels_and_colors():
    fig = cu.plotting.plot_paired(
        {"g1": ([1, 2], [2, 3]), "g2": ([1, 1], [0, 1])},
        ("plain", "BN"),
        ylabel=("acc", "gap"),
        sharey=False,
        colors=(cu.plotting.COLORS["plain"], cu.plotting.COLORS["bn"]),
    )
    assert [ax.get_ylabel() for ax in fig.axes] == ["acc", "gap"]
    plt.close(fig)
    with pytest.raises(ValueError, match="ylabel"):
        cu.plotting.plot_paired({"g1": ([1, 2], [2, 3])}, ylabel=("a", "b"))


def _full_redraw_pixels(fig):
    fig.canvas.invalidate()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_blitted_redraw_matches_a_full_redraw(runs, small_trace_pair):
    lrs, data, steps = runs
    demos = [
        (cu.widgets.lr_curves_demo(lrs, data, steps=steps), (1.0, 0.1)),
        (cu.widgets.step_size_demo(small_trace_pair), (0.4, 0.05)),
    ]
    for (fig, update), values in demos:
        fig.canvas.draw()  # caches the background
        for value in values:
            update(value)
            fig.canvas.draw()  # blitted
            blitted = np.asarray(fig.canvas.buffer_rgba()).copy()
            np.testing.assert_array_equal(blitted, _full_redraw_pixels(fig))
        # the figure really changes between values
        update(values[0])
        fig.canvas.draw()
        first = np.asarray(fig.canvas.buffer_rgba()).copy()
        update(values[1])
        fig.canvas.draw()
        assert not np.array_equal(first, np.asarray(fig.canvas.buffer_rgba()))


def test_plot_beta_profile(small_trace_pair):
    fig = cu.plotting.plot_beta_profile(small_trace_pair, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    medians = {ln.get_label().split(":")[0]: ln for ln in ax.lines if "median" in ln.get_label()}
    assert set(medians) == {"plain", "BN"}
    for label, trace in small_trace_pair.items():
        np.testing.assert_allclose(medians[label].get_ydata(), np.median(trace.beta_ratios, axis=0))
        np.testing.assert_allclose(medians[label].get_xdata(), trace.step_sizes * np.median(trace.grad_norms))
    plt.close(fig)
    # a list of traces per label (several seeds) pools their probes
    two = cu.plotting.plot_beta_profile({"BN": [small_trace_pair["BN"], small_trace_pair["BN"]]})
    (line,) = [ln for ln in two.axes[0].lines if "median" in ln.get_label()]
    np.testing.assert_allclose(line.get_ydata(), np.median(small_trace_pair["BN"].beta_ratios, axis=0))
    plt.close(two)
    with pytest.raises(ValueError, match="traces"):
        cu.plotting.plot_beta_profile({})
    with pytest.raises(ValueError, match="empty"):
        cu.plotting.plot_beta_profile({"BN": []})
