"""Tests for notebook 09's plotting, widget and exercise helpers (optimization topic)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils import landscape as ls  # noqa: E402


def _fake_run(loss, diverged=False, acc=0.9):
    loss = np.asarray(loss, float)
    return ls.RunResult(config={}, loss=loss, diverged=diverged, steps_taken=loss.size, train_accuracy=acc,
                        test_accuracy=acc if not diverged else 0.1, train_loss=0.1, test_loss=0.2)


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
    fig = cu.plotting.plot_paired({"g1": ([1, 2, 3], [2, 3, 4]), "g2": ([1, 1, 1], [0, 0, 1])},
                                  ("before", "after"), ylabel="acc")
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
        traces[label] = ls.train_with_probes(model, X, y, steps=20, batch_size=8, lr=0.1,
                                             step_sizes=[0.05, 0.1, 0.4], probe_every=5)
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


def test_check_gradient_predictiveness(capsys):
    def reference(f, theta, etas):
        return ls.gradient_predictiveness(f, theta, etas)

    def wrong_sign(f, theta, etas):
        _, g = f(theta)
        return np.array([np.linalg.norm(f(theta + e * g)[1] - g) for e in etas])

    def todo(f, theta, etas):
        raise NotImplementedError

    assert cu.exercises.check_gradient_predictiveness(reference)
    assert not cu.exercises.check_gradient_predictiveness(wrong_sign)
    assert "θ − η·g" in capsys.readouterr().out
    assert not cu.exercises.check_gradient_predictiveness(todo)
    assert "not implemented" in capsys.readouterr().out


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
    fig = cu.plotting.plot_paired({"g1": ([1, 2], [2, 3]), "g2": ([1, 1], [0, 1])}, ("plain", "BN"),
                                  ylabel=("acc", "gap"), sharey=False,
                                  colors=(cu.plotting.COLORS["plain"], cu.plotting.COLORS["bn"]))
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
    demos = [(cu.widgets.lr_curves_demo(lrs, data, steps=steps), (1.0, 0.1)),
             (cu.widgets.step_size_demo(small_trace_pair), (0.4, 0.05))]
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
