"""Tests for the batchnorm topic (notebooks 05–06): course_utils.batchnorm and its plotting, widgets,
exercises and image script."""

import warnings

import numpy as np
import pytest
from scipy.special import expit

import course_utils as cu
from course_utils.batchnorm import NEAR_LINEAR_Z, SATURATED_Z, activation_stats
from course_utils.plotting.batchnorm import GammaBetaPlot
from course_utils.saturation import saturated_fraction


@pytest.fixture
def channel():
    rng = np.random.default_rng(7)
    return rng.normal(-2.0, 1.5, size=500)


# ---------------------------------------------------------------------------- activation_stats
def test_near_linear_band_is_sigmoid_between_0p2_and_0p8():
    assert expit(NEAR_LINEAR_Z) == pytest.approx(0.8)
    assert expit(-NEAR_LINEAR_Z) == pytest.approx(0.2)


def test_saturated_is_one_rule_for_pre_activations_and_outputs():
    # |z| > SATURATED_Z on the pre-activation axis ⇔ σ(z) < 0.03 or > 0.97 on the output axis (notebook 03)
    assert expit(SATURATED_Z) == pytest.approx(0.97)
    z = np.random.default_rng(0).normal(0.0, 3.0, size=2000)
    assert activation_stats(z)["saturated"] == saturated_fraction(expit(z))
    assert activation_stats(np.array([SATURATED_Z * 0.999]))["saturated"] == 0.0
    assert activation_stats(np.array([SATURATED_Z * 1.001]))["saturated"] == 1.0


def test_activation_stats_known_values():
    y = np.array([-5.0, -1.0, 0.0, 1.0, 5.0])
    s = activation_stats(y)
    assert s["near_linear"] == pytest.approx(3 / 5)
    assert s["relu_active"] == pytest.approx(2 / 5)  # 0 is not active
    assert s["saturated"] == pytest.approx(2 / 5)
    sig = expit(y)
    assert s["mean_sigmoid_grad"] == pytest.approx(np.mean(sig * (1 - sig)))


def test_activation_stats_standard_normal_matches_theory():
    y = np.random.default_rng(0).standard_normal(200_000)
    s = activation_stats(y)
    assert s["relu_active"] == pytest.approx(0.5, abs=0.01)
    assert s["near_linear"] == pytest.approx(0.834, abs=0.01)  # P(|Z| <= ln 4)
    assert s["mean_sigmoid_grad"] == pytest.approx(0.2066, abs=0.003)


@pytest.mark.parametrize("bad", [np.array([]), np.array(["a", "b"])])
def test_activation_stats_rejects_bad_input(bad):
    with pytest.raises((ValueError, TypeError), match="y"):
        activation_stats(bad)


# ---------------------------------------------------------------------------- GammaBetaPlot
def test_plot_update_matches_batchnorm_forward(channel):
    fig, axes = cu.plotting.new_figure(1, 2)
    plot = GammaBetaPlot(axes, channel)
    plot.update(2.0, 0.5)
    ref, _ = cu.batchnorm_forward(channel.reshape(-1, 1), np.array([2.0]), np.array([0.5]))
    np.testing.assert_allclose(plot.values, ref.ravel())
    sig_in, sig_out, relu_on, relu_off = (s.get_data().values for s in plot.stairs)
    # every value is counted once per panel (edge bars collect the tails)
    assert (sig_in + sig_out).sum() == pytest.approx(1.0)
    assert (relu_on + relu_off).sum() == pytest.approx(1.0)


def test_plot_colours_split_the_bars_where_the_readout_counts(channel):
    """Blue bars hold exactly the fractions printed in the readout boxes (0 and ±ln 4 are bar edges)."""
    fig, axes = cu.plotting.new_figure(1, 2)
    plot = GammaBetaPlot(axes, channel)
    for edge in (0.0, NEAR_LINEAR_Z, -NEAR_LINEAR_Z):
        assert np.min(np.abs(plot.edges - edge)) < 1e-12
    for gamma, beta in [(1.0, 0.0), (3.0, 0.7), (0.4, -1.2)]:
        plot.update(gamma, beta)
        stats = activation_stats(plot.values)
        sig_in, _, relu_on, _ = (s.get_data().values for s in plot.stairs)
        assert sig_in.sum() == pytest.approx(stats["near_linear"])
        assert relu_on.sum() == pytest.approx(stats["relu_active"])
        (band, grad, saturated), (on,) = plot.readouts
        assert band.get_text() == f"{stats['near_linear']:.0%}"
        assert grad.get_text() == f"{stats['mean_sigmoid_grad']:.3f}"
        assert saturated.get_text() == f"{stats['saturated']:.0%}"
        assert on.get_text() == f"{stats['relu_active']:.0%}"


def test_plot_identity_values_recover_input(channel):
    fig, axes = cu.plotting.new_figure(1, 2)
    plot = GammaBetaPlot(axes, channel)
    assert plot.mu_B == pytest.approx(channel.mean())
    assert plot.sigma_B == pytest.approx(np.sqrt(channel.var() + 1e-5))
    assert plot.identity_error(plot.sigma_B, plot.mu_B) < 1e-12
    # the plain standard deviation (without eps) is NOT exact: the error is of order eps / var
    assert plot.identity_error(channel.std(), plot.mu_B) > 1e-8


def test_plot_rejects_constant_or_tiny_input():
    fig, axes = cu.plotting.new_figure(1, 2)
    with pytest.raises(ValueError, match="x"):
        GammaBetaPlot(axes, np.ones(10))
    with pytest.raises(ValueError, match="x"):
        GammaBetaPlot(axes, np.array([1.0]))
    with pytest.raises(ValueError, match="axes"):
        GammaBetaPlot([axes[0]], np.arange(5.0))
    with pytest.raises(ValueError, match="titles"):
        GammaBetaPlot(axes, np.arange(5.0), titles=("only one",))
    with pytest.raises(ValueError, match="bars_per_band"):
        GammaBetaPlot(axes, np.arange(5.0), bars_per_band=0)


def test_static_settings_figure(channel):
    fig = cu.plotting.plot_gamma_beta_settings(channel, [(1, 0), (4, 0), (1, 1.5)])
    assert len(fig.axes) == 12  # 3 rows × (2 axes + 2 twins)
    with pytest.raises(ValueError, match="settings"):
        cu.plotting.plot_gamma_beta_settings(channel, [])


# ---------------------------------------------------------------------------- widget demo
def _panel(channel):
    widgets = pytest.importorskip("ipywidgets")
    demo = cu.widgets.GammaBetaDemo(channel)
    controls = {
        "gamma": widgets.FloatSlider(value=1, min=0, max=5, step=0.05, description="γ"),
        "beta": widgets.FloatSlider(value=0, min=-5, max=5, step=0.05, description="β"),
    }
    panel = cu.widgets.slider_panel(
        demo.fig, demo.update, controls, buttons={"identity": demo.set_identity}
    )  # γ = σ_B, β = μ_B
    return demo, panel


def test_demo_updates_in_place_and_changes_pixels(channel):
    demo, panel = _panel(channel)
    stairs_before = list(demo.plot.stairs)
    png0 = panel.view.image.value
    panel.controls["gamma"].value = 3.0
    assert panel.view.image.value != png0
    assert demo.plot.stairs == stairs_before  # same artists, moved in place
    sig_ax, relu_ax = demo.plot.axes
    assert all(s in sig_ax.patches for s in demo.plot.stairs[:2])
    assert all(s in relu_ax.patches for s in demo.plot.stairs[2:])


def test_frozen_figure_renders_like_a_full_redraw(channel):
    """The frozen-background redraw must show the same picture as drawing everything again."""
    demo, panel = _panel(channel)
    panel.controls["gamma"].value = 2.5
    panel.controls["beta"].value = -1.0
    fast = np.asarray(demo.fig.canvas.buffer_rgba()).astype(int)
    fig, axes = cu.plotting.new_figure(1, 2, figsize=(10.0, 4.0), dpi=80)
    full = GammaBetaPlot(axes, channel)
    full.update(2.5, -1.0)
    fig.canvas.draw()
    slow = np.asarray(fig.canvas.buffer_rgba()).astype(int)
    assert fast.shape == slow.shape
    # curves are drawn twice in the fast path (once frozen, once on top): allow antialiasing differences
    assert np.mean(np.abs(fast - slow) > 40) < 0.01


def test_demo_extremes_give_no_warning_or_nan(channel):
    demo, panel = _panel(channel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for gamma in (0.0, 5.0):
            for beta in (-5.0, 5.0, 0.0):
                panel.controls["gamma"].value = gamma
                panel.controls["beta"].value = beta
                assert np.all(np.isfinite(demo.plot.values))
                assert "nan" not in panel.readout.value.lower()
    panel.controls["gamma"].value = 0.0
    panel.controls["beta"].value = 5.0
    assert np.all(demo.plot.values == 5.0)  # γ = 0: the channel collapses to β


def test_identity_button_recovers_input_exactly(channel):
    demo, panel = _panel(channel)
    err = demo.set_identity(panel)
    assert err < 1e-12
    assert panel.controls["gamma"].value == demo.plot.sigma_B
    assert "identity" in panel.readout.value
    # the channel before BN (mean −2, std 1.5) has only a few percent of its values above 0
    assert demo.plot.readouts[1][0].get_text() == f"{np.mean(channel > 0):.0%}"


# ---------------------------------------------------------------------------- exercise check
# The checkers of notebooks 05–06 are tested against tests/mistakes/corpus_batchnorm.py.


# ---------------------------------------------------------------------------- experiments (05, 06)
def _loop_runs(factory, seeds, steps, lr, hidden=64):
    """The experiments' runs the slow way: one train() per seed with the custom layer swapped in."""
    X, X_test, y, y_test = cu.data.load_digits_split(seed=0)
    out = []
    for seed in seeds:
        model = cu.training.MLP(
            [64, hidden, hidden, 10], activation="sigmoid", normalization="batch", seed=seed
        )
        for i in model.norm_indices:
            model.layers[i] = factory(model.layers[i].num_features)
        hist = cu.training.train(
            model, X, y, steps=steps, batch_size=64, lr=lr, seed=seed, X_test=X_test, y_test=y_test
        )
        out.append((model, hist))
    return out


@pytest.mark.parametrize("gamma0, learn", [(2.0, False), (2.0, True)])
def test_gamma_init_experiment_equals_separate_train_runs(gamma0, learn):
    name = next(k for k, v in cu.batchnorm.GAMMA_VARIANTS.items() if v == (gamma0, learn))
    got = cu.batchnorm.gamma_init_experiment(seeds=[0, 1], steps=40, hidden=16)[name]
    runs = _loop_runs(
        lambda c: cu.batchnorm.FixedAffineBatchNorm(c, gamma0, learn), [0, 1], 40, 1.0, hidden=16
    )
    for k, (model, hist) in enumerate(runs):
        gammas = np.concatenate([model.layers[i].params["gamma"] for i in model.norm_indices])
        assert abs(got["loss"][k] - hist.loss[-30:].mean()) < 1e-12
        assert got["acc"][k] == hist.final_test_accuracy
        assert abs(got["gamma"][k] - gammas.mean()) < 1e-12
        if not learn:
            assert np.all(gammas == gamma0)


def test_ignore_stats_experiment_equals_separate_train_runs():
    got = cu.batchnorm.ignore_stats_experiment(seeds=[3, 4], lr=3.0, steps=40)["ignore"]
    runs = _loop_runs(cu.batchnorm.BatchNormIgnoringStats, [3, 4], 40, 3.0)
    X, X_test, _, y_test = cu.data.load_digits_split(seed=0)
    for k, (model, hist) in enumerate(runs):
        np.testing.assert_allclose(got["loss curve"][k], hist.loss, rtol=0, atol=1e-12)
        assert got["test acc (running stats)"][k] == hist.final_test_accuracy
        assert abs(got["running mean off by (std)"][k] - cu.batchnorm.running_mean_error(model, X)) < 1e-9
        assert abs(got["max |b| before BN"][k] - np.abs(model.linears[0].b).max()) < 1e-12


# ---------------------------------------------------------------------------- graph figure + image script
def test_graph_figure_has_every_node_and_rule():
    fig = cu.plotting.draw_batchnorm_graph()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for needed in (
        r"\mu_B = \frac{1}{m}\Sigma_i x_i",
        r"x_\mu = x - \mu_B",
        r"\sigma_B^2 = \frac{1}{m}",
        r"\hat{x} = x_\mu\, s",
        r"d\mu_B = -\Sigma_i dx_{\mu,i}",
        r"d\beta = \Sigma_i dy_i",
        "inv_std",
        r"\partial L",
    ):
        assert needed in texts
    fig.canvas.draw()  # every mathtext label must parse


def test_image_script_writes_png(tmp_path, monkeypatch):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "images" / "make_batchnorm.py"
    spec = importlib.util.spec_from_file_location("make_batchnorm", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    (written,) = module.main()
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------- small γ stays readable
@pytest.mark.parametrize("gamma", [0.05, 0.2, 0.5, 1.0, 5.0])
def test_histogram_keeps_its_shape_over_the_slider_range(channel, gamma):
    """Finer bars at small γ: several non-empty bars, none cut at the top, colours still exact."""
    fig, axes = cu.plotting.new_figure(1, 2)
    plot = GammaBetaPlot(axes, channel)
    plot.update(gamma, 0.0)
    sig_in, sig_out, relu_on, _ = (s.get_data().values for s in plot.stairs)
    heights = sig_in + sig_out
    assert np.count_nonzero(heights) >= 8
    assert heights.max() <= plot.y_max
    assert "cut" not in plot.bar_note.get_text()
    stats = activation_stats(plot.values)
    assert sig_in.sum() == pytest.approx(stats["near_linear"])
    assert relu_on.sum() == pytest.approx(stats["relu_active"])


def test_a_bar_taller_than_the_axis_is_labelled(channel):
    fig, axes = cu.plotting.new_figure(1, 2)
    plot = GammaBetaPlot(axes, channel)
    plot.update(0.0, 1.0)  # every value equals β: one bar holds the whole batch
    assert "tallest bar 100% (cut)" in plot.bar_note.get_text()
