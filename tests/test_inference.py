"""Tests for course_utils.inference and the notebook-07 plotting, widget and exercise helpers."""

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import course_utils as cu
from course_utils import inference as inf


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + 2 * (X[:, 2] > 0.3)
    return X, y


@pytest.fixture()
def trained(data):
    X, y = data
    model = cu.training.MLP([6, 8, 7, 4], activation="relu", normalization="batch", seed=1)
    hook = inf.BatchStatsHook()
    cu.training.train(model, X, y, steps=25, batch_size=10, lr=0.1, seed=2, hooks=[hook])
    return model, hook


# ---------------------------------------------------------------- EMA conventions
def test_conventions_are_one_filter():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 3))
    torch_like = inf.ema_trajectory(x, 0.1, "pytorch")
    for conv in ("keras", "cs231n", "source_004"):
        np.testing.assert_allclose(inf.ema_trajectory(x, 0.9, conv), torch_like, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        inf.ema_trajectory(x, 0.99, "keras"), inf.ema_trajectory(x, 0.01, "pytorch"), rtol=0, atol=1e-15
    )


def test_ema_closed_form():
    rng = np.random.default_rng(4)
    x, alpha, init = rng.normal(size=40), 0.2, 1.5
    T = len(x)
    closed = (1 - alpha) ** T * init + sum(alpha * (1 - alpha) ** (T - 1 - t) * x[t] for t in range(T))
    assert inf.ema_trajectory(x, alpha, "pytorch", init)[-1] == pytest.approx(closed, abs=1e-12)
    # momentum 1 (PyTorch) keeps only the last batch, 0 never moves
    assert inf.ema_trajectory(x, 1.0)[-1] == x[-1]
    assert np.all(inf.ema_trajectory(x, 0.0, init=init) == init)


def test_pytorch_momentum_and_bad_input():
    assert inf.pytorch_momentum(0.99, "keras") == pytest.approx(0.01)
    assert inf.pytorch_momentum(0.9, "cs231n") == pytest.approx(0.1)
    assert inf.pytorch_momentum(0.1, "pytorch") == 0.1
    with pytest.raises(ValueError, match="convention"):
        inf.ema_update(0.0, 1.0, 0.1, "tensorflow1")
    with pytest.raises(ValueError, match="momentum"):
        inf.ema_trajectory(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="momentum"):
        inf.EMA_CONVENTIONS["source_004"].batch_weight()
    with pytest.raises(ValueError, match="batch_values"):
        inf.ema_trajectory(np.ones((2, 2, 2)), 0.1)


def test_unbiased_variance():
    assert inf.unbiased_variance(3.0, 4) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="m"):
        inf.unbiased_variance(1.0, 1)


def test_biased_running_variance_is_too_small():
    rng = np.random.default_rng(5)
    m, sigma2 = 4, 2.0
    batches = rng.normal(0.0, np.sqrt(sigma2), size=(20000, m))
    biased = batches.var(axis=1)
    run_b = inf.ema_trajectory(biased, 0.001, init=sigma2)[-5000:].mean()
    run_u = inf.ema_trajectory(inf.unbiased_variance(biased, m), 0.001, init=sigma2)[-5000:].mean()
    assert run_b / sigma2 == pytest.approx((m - 1) / m, abs=0.05)
    assert run_u / sigma2 == pytest.approx(1.0, abs=0.05)


# ---------------------------------------------------------------- running statistics = replayed EMA
def test_replay_matches_layer_running_stats_exactly(trained):
    """Layers and replay share layers.update_running_statistics, so they agree bit for bit."""
    model, hook = trained
    replay = inf.replay_running_statistics(hook, 0.1)
    for r, s in zip(replay, inf.running_statistics(model), strict=True):
        assert np.array_equal(r.mean, s.mean)
        assert np.array_equal(r.var, s.var)
    # a different momentum gives different statistics from the same training run
    other = inf.replay_running_statistics(hook, 0.5)
    assert not np.allclose(other[0].mean, replay[0].mean)


def test_replay_bad_hook():
    with pytest.raises(TypeError, match="hook"):
        inf.replay_running_statistics(inf.BatchStatsHook(), 0.1)


# ---------------------------------------------------------------- forward passes
def test_forward_with_statistics(trained, data):
    model, _ = trained
    X, _ = data
    before = inf.running_statistics(model)
    np.testing.assert_allclose(
        inf.forward_with_statistics(model, X, "running"), model.forward(X, training=False), atol=1e-13
    )
    out_batch = inf.forward_with_statistics(model, X, "batch")
    after = inf.running_statistics(model)
    unchanged = all(
        np.array_equal(a.mean, b.mean) and np.array_equal(a.var, b.var)
        for a, b in zip(before, after, strict=True)
    )
    assert unchanged, "batch-statistics pass must not touch running stats"
    np.testing.assert_allclose(out_batch, model.forward(X, training=True), atol=1e-13)
    with pytest.raises(ValueError, match="statistics"):
        inf.forward_with_statistics(model, X, "population")
    with pytest.raises(ValueError, match="BNStatistics"):
        inf.forward_with_statistics(model, X, before[:1])


def test_batch_statistics_depend_on_the_batch(trained, data):
    model, _ = trained
    X, y = data
    logits = inf.batch_statistics_logits(model, X, 10)
    np.testing.assert_allclose(logits[:10], inf.forward_with_statistics(model, X[:10], "batch"), atol=1e-13)
    shuffled = inf.batch_statistics_logits(model, X, 10, np.random.default_rng(0).permutation(len(X)))
    assert not np.allclose(logits, shuffled)
    full = inf.batch_statistics_logits(model, X, len(X))
    np.testing.assert_allclose(full, inf.forward_with_statistics(model, X, "batch"), atol=1e-13)
    with pytest.raises(ValueError, match="batch_size"):
        inf.batch_statistics_logits(model, X, 1)
    with pytest.raises(ValueError, match="order"):
        inf.batch_statistics_logits(model, X, 10, np.zeros(len(X), dtype=int))
    acc = inf.batch_statistics_accuracy(model, X, y, 10, sort_by_label=True)
    assert 0.0 <= acc <= 1.0


def test_probe_in_batches(trained, data):
    model, _ = trained
    X, _ = data
    probs = inf.probe_in_batches(model, X[0], X, 5, 7, seed=1, exclude=0)
    assert probs.shape == (7, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[:, 0].std() > 0  # the answer changes with the companions
    with pytest.raises(ValueError, match="batch_size"):
        inf.probe_in_batches(model, X[0], X, 1, 3)
    with pytest.raises(ValueError, match="x_probe"):
        inf.probe_in_batches(model, X[:2], X, 4, 3)


# ---------------------------------------------------------------- population statistics
def test_population_statistics_first_layer_exact(trained, data):
    model, _ = trained
    X, _ = data
    before = inf.running_statistics(model)
    pop = inf.population_statistics(model, X)
    lin = model.linears[0]
    h = X @ lin.W + lin.b
    np.testing.assert_allclose(pop[0].mean, h.mean(axis=0), atol=1e-13)
    np.testing.assert_allclose(pop[0].var, h.var(axis=0, ddof=1), atol=1e-13)
    # normalizing the training set with them gives outputs whose mean is exactly beta
    bn = inf.bn_layers(model)[0]
    out = cu.batchnorm_inference(h, bn.gamma, bn.beta, pop[0].mean, pop[0].var, bn.eps)
    np.testing.assert_allclose(out.mean(axis=0), bn.beta, atol=1e-12)
    after = inf.running_statistics(model)
    assert all(np.array_equal(a.mean, b.mean) for a, b in zip(before, after, strict=True))


def test_algorithm2_single_bn_layer(data):
    X, _ = data
    model = cu.training.MLP([6, 5, 3], activation="tanh", normalization="batch", seed=0)
    stats = inf.algorithm2_statistics(model, X, 8, seed=3, n_batches=4)
    lin = model.linears[0]
    batches = cu.data.iterate_minibatches(len(X), 8, seed=3)
    hs = [X[next(batches)] @ lin.W + lin.b for _ in range(4)]
    np.testing.assert_allclose(stats[0].mean, np.mean([h.mean(axis=0) for h in hs], axis=0), atol=1e-13)
    np.testing.assert_allclose(stats[0].var, 8 / 7 * np.mean([h.var(axis=0) for h in hs], axis=0), atol=1e-13)
    with pytest.raises(ValueError, match="batch_size"):
        inf.algorithm2_statistics(model, X, 1)


def test_bn_layers_rejects_other_models():
    with pytest.raises(ValueError, match="normalization"):
        inf.bn_layers(cu.training.MLP([3, 4, 2], normalization="layer"))
    with pytest.raises(TypeError, match="MLP"):
        inf.bn_layers(object())


# ---------------------------------------------------------------- folding
def test_fold_mlp_equals_eval_mode(trained, data):
    model, _ = trained
    X, _ = data
    folded = inf.fold_mlp(model)
    np.testing.assert_allclose(folded.forward(X), model.forward(X, training=False), atol=1e-12)
    with pytest.raises(ValueError, match="placement"):
        inf.fold_mlp(cu.training.MLP([3, 4, 2], normalization="batch", placement="after"))


def test_source_formulas(trained):
    model, _ = trained
    bn = inf.bn_layers(model)[0]
    lin = model.linears[0]
    W, b0 = lin.W, np.random.default_rng(6).normal(size=lin.b.shape)
    _, b_right = cu.fold_batchnorm(W, np.zeros_like(b0), bn)
    np.testing.assert_allclose(inf.source_fold_bias(bn), b_right, atol=1e-14)  # right when b = 0
    _, b_right = cu.fold_batchnorm(W, b0, bn)
    assert np.abs(inf.source_fold_bias(bn) - b_right).max() > 1e-3  # wrong otherwise
    # refold update: W rule right, b rule wrong
    old = inf.BNStatistics(bn.running_mean.copy(), bn.running_var.copy())
    new = inf.BNStatistics(old.mean + 0.3, old.var * 1.7)
    W_old, b_old = cu.fold_batchnorm(W, b0, bn)
    bn.running_mean, bn.running_var = new.mean, new.var
    W_new, b_new = cu.fold_batchnorm(W, b0, bn)
    W_src, b_src = inf.source_refold_update(W_old, b_old, old, new, bn.eps)
    np.testing.assert_allclose(W_src, W_new, atol=1e-12)
    assert np.abs(b_src - b_new).max() > 1e-2


def test_count_eval_operations():
    unfolded = inf.count_eval_operations([64, 64, 64, 10], folded=False)
    folded = inf.count_eval_operations([64, 64, 64, 10], folded=True)
    assert unfolded == {"linear": 2 * (64 * 64 * 2 + 64 * 10), "bn": 3 * 128, "total": 17664 + 384}
    assert folded["bn"] == 0 and folded["total"] == 17664
    with pytest.raises(ValueError, match="layer_sizes"):
        inf.count_eval_operations([5], folded=True)


# ---------------------------------------------------------------- drift, slider, figures
def test_drift_and_tracking_error():
    true, batch = inf.drifting_batch_means(200, 16, seed=1)
    true2, batch2 = inf.drifting_batch_means(200, 16, seed=1)
    assert np.array_equal(batch, batch2) and true.shape == (200,)
    # noise-free batch means: the only error is lag
    clean = inf.ema_tracking_error(true, true, 0.1)
    assert clean["noise"] == 0.0 and clean["lag"] == pytest.approx(clean["rms"], abs=1e-15)
    # momentum 1 copies every batch: no lag, all noise (= the batch noise itself)
    copy = inf.ema_tracking_error(true, batch, 1.0)
    assert copy["lag"] == 0.0
    assert copy["noise"] == pytest.approx(np.sqrt(np.mean((batch - true) ** 2)), abs=1e-14)
    # momentum 0 never moves: all lag, no noise
    frozen = inf.ema_tracking_error(true, batch, 0.0)
    assert frozen["noise"] == 0.0 and frozen["lag"] == pytest.approx(np.sqrt(np.mean(true**2)))
    slow = inf.ema_tracking_error(true, batch, 0.005)
    fast = inf.ema_tracking_error(true, batch, 0.5)
    assert slow["lag"] > fast["lag"] and fast["noise"] > slow["noise"]
    # the noise part of an EMA of white noise: variance alpha/(2 - alpha) of the batch noise (stationary)
    rng = np.random.default_rng(8)
    noise = rng.normal(0.0, 1.0, 200_000)
    long = inf.ema_tracking_error(np.zeros_like(noise), noise, 0.1)
    assert long["noise"] ** 2 == pytest.approx(0.1 / 1.9, rel=0.03)
    # the two parts add up to the error step by step (linearity), checked via a constant offset
    offset = inf.ema_tracking_error(np.ones(50), np.ones(50) + 0.5, 0.2, init=1.0)
    assert offset["lag"] == 0.0 and offset["rms"] == pytest.approx(offset["noise"], abs=1e-15)
    with pytest.raises(ValueError, match="shape"):
        inf.ema_tracking_error(true, batch[:5], 0.1)
    with pytest.raises(ValueError, match="momentum"):
        inf.ema_tracking_error(true, batch, 2.0)


def test_same_class_batch_accuracy(trained, data):
    model, _ = trained
    X, y = data
    acc = inf.same_class_batch_accuracy(model, X, y, 4, seed=0)
    assert 0.0 <= acc <= 1.0
    assert acc == inf.same_class_batch_accuracy(model, X, y, 4, seed=0)  # seeded
    # by hand: each example's batch holds only examples of its own class, never itself
    rng = np.random.default_rng(0)
    right = []
    for i in range(len(X)):
        members = np.flatnonzero(y == y[i])
        companions = rng.choice(members[members != i], size=3, replace=False)
        assert np.all(y[companions] == y[i]) and i not in companions
        logits = inf.forward_with_statistics(model, np.vstack([X[i : i + 1], X[companions]]), "batch")
        right.append(logits[0].argmax() == y[i])
    assert acc == pytest.approx(np.mean(right), abs=0)
    # and it is not the accuracy with running statistics (the batch changes the answers)
    assert acc != np.mean(model.forward(X, training=False).argmax(axis=1) == y)
    with pytest.raises(ValueError, match="batch_size"):
        inf.same_class_batch_accuracy(model, X, y, 1)
    with pytest.raises(ValueError, match="batch_size"):
        inf.same_class_batch_accuracy(model, X, y, len(X))
    with pytest.raises(ValueError, match="y"):
        inf.same_class_batch_accuracy(model, X, y[:-1], 4)


def test_ema_chase_demo_updates_in_place():
    true, batch = inf.drifting_batch_means(100, 16)
    fig, update = cu.widgets.ema_chase_demo(true, batch, 0.1)
    line = fig.axes[0].lines[-1]
    n_lines = len(fig.axes[0].lines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for momentum in (0.0, 0.001, 0.5, 1.0):
            text = update(momentum)
            assert isinstance(text, str) and "nan" not in text.lower()
            assert np.all(np.isfinite(line.get_ydata()))
            cu.plotting.figure_to_png(fig)
    assert len(fig.axes[0].lines) == n_lines
    np.testing.assert_array_equal(line.get_ydata(), batch)  # momentum 1: running = last batch


def test_blit_canvas_matches_a_full_redraw():
    true, batch = inf.drifting_batch_means(120, 16)
    fig, update = cu.widgets.ema_chase_demo(true, batch, 0.1)
    assert isinstance(fig.canvas, cu.widgets.BlitCanvas)
    first = cu.plotting.figure_to_png(fig)
    fig.set_layout_engine("none")  # as FigureView does after the first draw
    update(0.02)
    assert cu.plotting.figure_to_png(fig) != first  # the line moved
    blitted = np.asarray(fig.canvas.buffer_rgba()).copy()
    fig.canvas.invalidate()
    fig.canvas.draw()
    np.testing.assert_array_equal(np.asarray(fig.canvas.buffer_rgba()), blitted)


def test_figures():
    figs = [
        cu.plotting.plot_accuracy_by_statistics(["a", "b"], np.array([[0.9, 0.5], [0.92, 0.55], [0.9, 0.6]])),
        cu.plotting.plot_probe_in_batches(
            {2: np.full((5, 4), 0.25), 8: np.full((5, 4), 0.25)}, 1, 0.9, np.full(4, 0.3), image=np.zeros(64)
        ),
        cu.plotting.plot_ema_chase(*inf.drifting_batch_means(50), [0.01, 0.1], inf.ema_trajectory),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    with pytest.raises(ValueError, match="accuracies"):
        cu.plotting.plot_accuracy_by_statistics(["a"], np.ones((3, 2)))


# ---------------------------------------------------------------- one shared EMA
def test_every_ema_is_the_one_shared_step():
    """ema_update, ema_trajectory and the layers all use layers.ema_step (PyTorch and Keras writing)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(20, 3))
    for convention, weights in (("pytorch", "batch"), ("keras", "old"), ("cs231n", "old")):
        running = np.zeros(3)
        for v in values:
            running = cu.layers.ema_step(running, v, 0.3, weights)
        np.testing.assert_array_equal(inf.ema_trajectory(values, 0.3, convention)[-1], running)
        np.testing.assert_array_equal(
            inf.ema_update(values[0], values[1], 0.3, convention),
            cu.layers.ema_step(values[0], values[1], 0.3, weights),
        )
    mean, var = cu.layers.update_running_statistics(
        np.zeros(3), np.ones(3), values[0], values[1] ** 2, 4, 0.1
    )
    np.testing.assert_array_equal(mean, 0.1 * values[0])
    np.testing.assert_allclose(var, 0.9 + 0.1 * values[1] ** 2 * 4 / 3, rtol=1e-15)


# ---------------------------------------------------------------- notebook 07's seed-batched experiments
def test_biased_running_variance_is_the_linear_ema_identity(trained):
    """Feeding the biased variance scales the EMA's sum by (m-1)/m and keeps the initial term."""
    model, hook = trained
    m, steps = hook.batch_size, len(hook.means[0])
    replay = inf.replay_running_statistics(hook, 0.1, unbiased=False)
    identity = inf.biased_running_variance(model, m, 0.1, steps)
    for r, v in zip(replay, identity, strict=True):
        np.testing.assert_allclose(v, r.var, rtol=1e-12)


def test_swapped_layer_trains_like_the_course_layer():
    """A layer class built from the course's pieces trains bit-for-bit like cu.layers.BatchNorm."""
    X_train, X_test, y_train, y_test = cu.data.load_digits_split(test_fraction=0.25, seed=0)
    layer_cls = cu.exercises.pieces_layer(cu.exercises.student_batchnorm_pieces(verbose=False))
    run = inf.train_with_batchnorm_layer(layer_cls, X_train, y_train, X_test, y_test, seed=1, steps=50)
    assert run.difference == 0.0
    assert run.running_mean_gap < 1e-12
    assert all(isinstance(run.other_model.layers[i], layer_cls) for i in run.other_model.norm_indices)


def test_layer_check_restores_the_course_layer_and_the_pieces(capsys):
    """The layer check wraps cu.layers.BatchNorm's methods and the pieces only while it runs."""
    course_methods = {m: vars(cu.layers.BatchNorm).get(m) for m in ("forward", "backward", "_eval_forward")}
    pieces = cu.exercises.student_batchnorm_pieces(verbose=False)
    functions = {k: getattr(pieces, k) for k in ("forward", "backward", "update", "eval_forward")}

    class Crashes(cu.layers.BatchNorm):
        def forward(self, x, training=True):
            return super().forward(x, training) + undefined_name  # noqa: F821

        def backward(self, dout):
            return super().backward(dout)

    assert cu.exercises.check_student_batchnorm_layer(Crashes, pieces) is False
    assert "raised NameError" in capsys.readouterr().out
    assert {m: vars(cu.layers.BatchNorm).get(m) for m in course_methods} == course_methods
    assert {k: getattr(pieces, k) for k in functions} == functions


def test_layer_check_without_pieces_still_refuses_the_course_layer(capsys):
    """Without pieces the check cannot ask for them, but running cu.layers.BatchNorm itself still fails."""

    class Delegates(cu.layers.BatchNorm):
        def forward(self, x, training=True):
            return super().forward(x, training)

        def backward(self, dout):
            return super().backward(dout)

    assert cu.exercises.check_student_batchnorm_layer(Delegates) is False
    assert "course's own layer" in capsys.readouterr().out


def test_pieces_name_what_is_still_the_courses_as_the_table_does(capsys):
    """pieces.from_course lists the missing pieces by the names the printed table (and the exercises) use."""
    ex = cu.exercises
    pieces = ex.student_batchnorm_pieces(update=ex.course_update_running_stats)
    table = capsys.readouterr().out
    assert pieces.from_course == ["batchnorm_forward", "batchnorm_backward", "batchnorm_eval_forward"]
    assert all(f"{name} (" in table for name in ex.PIECE_NAMES.values())
    assert ex.student_batchnorm_pieces(verbose=False).from_course == list(ex.PIECE_NAMES.values())
