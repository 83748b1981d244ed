"""Tests for course_utils.saturation and its plotting/widget/exercise helpers (notebook 03)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy.special import expit

import course_utils as cu
from course_utils import saturation as S
from course_utils.training import MLP


@pytest.fixture(scope="module")
def digits():
    return cu.data.load_digits_split(seed=0)


def test_sigmoid_derivative_matches_finite_differences_and_is_bounded():
    x = np.linspace(-10, 10, 2001)
    h = 1e-5
    numeric = (expit(x + h) - expit(x - h)) / (2 * h)
    np.testing.assert_allclose(S.sigmoid_derivative(x), numeric, rtol=1e-6, atol=1e-10)
    tails = np.linspace(-40, 40, 81)  # the closed form e^{-|x|} / (1 + e^{-|x|})^2, exact in the tails
    np.testing.assert_allclose(
        S.sigmoid_derivative(tails), np.exp(-np.abs(tails)) / (1 + np.exp(-np.abs(tails))) ** 2, rtol=1e-6
    )
    assert S.sigmoid_derivative(0.0) == 0.25
    assert np.all(S.sigmoid_derivative(x) <= 0.25)
    with np.errstate(all="raise"):
        assert np.all(np.isfinite(S.sigmoid_derivative(np.array([-1e4, 1e4]))))


def test_saturated_fraction_counts_strictly_outside_thresholds():
    a = np.array([0.0, 0.03, 0.5, 0.97, 1.0, 0.02, 0.98, 0.5])
    assert S.saturated_fraction(a) == pytest.approx(4 / 8)
    assert S.saturated_fraction(a, low=0.1, high=0.9) == pytest.approx(6 / 8)


@pytest.mark.parametrize(
    "bad, kwargs, exc",
    [
        (np.array([1.5]), {}, ValueError),
        (np.array([0.5]), {"low": 0.9, "high": 0.1}, ValueError),
        (np.array([]), {}, ValueError),
        (np.array(["a"]), {}, TypeError),
    ],
)
def test_saturated_fraction_rejects_bad_input(bad, kwargs, exc):
    with pytest.raises(exc):
        S.saturated_fraction(bad, **kwargs)


def test_tangent_line_deviation_known_values():
    r = S.tangent_line_deviation(0.2, 0.8)
    assert r["x_high"] == pytest.approx(np.log(4))
    # at the end points the tangent is 1/2 + ln(4)/4 while sigma is 0.8
    assert r["tangent_max_dev"] == pytest.approx(0.5 + np.log(4) / 4 - 0.8, rel=1e-6)
    assert r["slope_min"] == pytest.approx(0.16) and r["slope_max"] == pytest.approx(0.25)
    assert r["chord_max_dev"] < r["tangent_max_dev"]
    with pytest.raises(ValueError, match="out_low"):
        S.tangent_line_deviation(0.8, 0.2)


def test_activation_histograms_rows_sum_to_one_and_bin_correctly():
    h = S.activation_histograms([np.array([0.0, 0.49, 0.51, 1.0]), np.full((3, 2), 0.99)], bins=2)
    np.testing.assert_allclose(h, [[0.5, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="bins"):
        S.activation_histograms([np.zeros(3)], bins=0)


def test_hidden_activations_leave_model_untouched(digits):
    X = digits[0][:50]
    model = MLP([64, 20, 20, 10], "sigmoid", "batch", seed=1)
    running = [model.layers[i].running_mean.copy() for i in model.norm_indices]
    acts = S.hidden_activations(model, X)
    assert [a.shape for a in acts] == [(50, 20), (50, 20)]
    assert all(np.all((a > 0) & (a < 1)) for a in acts)
    for i, before in zip(model.norm_indices, running, strict=True):
        np.testing.assert_array_equal(model.layers[i].running_mean, before)
    with pytest.raises(ValueError, match="sigmoid"):
        S.hidden_activations(MLP([64, 5, 10], "relu"), X)
    with pytest.raises(TypeError, match="model"):
        S.hidden_activations("net", X)


def test_layer_gradient_table_vanishes_without_bn_and_not_with_bn(digits):
    data = (digits[0], digits[2])
    plain = S.layer_gradient_table(depth=6, width=50, normalization="none", record_at=(3, 5), data=data)
    bn = S.layer_gradient_table(depth=6, width=50, normalization="batch", record_at=(3, 5), data=data)
    assert plain.shape == bn.shape == (2, 7)
    assert np.all(plain[:, 0] / plain[:, -1] < 1e-2)  # 6 sigmoid layers: ~0.25**6
    assert np.all(bn[:, 0] / bn[:, -1] > 0.1)
    assert np.all(np.diff(np.log(plain[:, :6]), axis=1) > 0)  # grows monotonically towards the output
    with pytest.raises(ValueError, match="record_at"):
        S.layer_gradient_table(record_at=[], data=data)


def test_init_scale_sweep_shape_and_bn_rescues_tiny_scale(digits):
    acc = S.init_scale_sweep(
        [0.01, 0.5],
        seeds=(0,),
        hidden=(16, 16),
        steps=60,
        batch_size=32,
        lr=1.0,
        data=(digits[0], digits[2]),
        test_data=(digits[1], digits[3]),
    )
    assert acc.shape == (2, 2, 1)
    assert acc[0, 0, 0] < 0.2 < acc[1, 0, 0]  # plain net at std 0.01 stays at chance, BN learns
    with pytest.raises(ValueError, match="scales"):
        S.init_scale_sweep([0.0], data=(digits[0], digits[2]), test_data=(digits[1], digits[3]))


def test_forward_backward_diagnostics_matches_a_training_step(digits):
    X, y = digits[0][:40], digits[2][:40]
    model = MLP([64, 30, 30, 10], "sigmoid", "none", seed=2)
    res = S.forward_backward_diagnostics(model, X, y, bins=10)
    hook = cu.training.GradNormHook()
    cu.training.train(
        MLP([64, 30, 30, 10], "sigmoid", "none", seed=2),
        X,
        y,
        steps=1,
        batch_size=40,
        lr=0.1,
        hooks=[hook],
        seed=0,
    )
    # same batch (up to order), same weights -> same gradient norms
    np.testing.assert_allclose(res["grad_norms"], hook.values[0], rtol=1e-10)
    assert res["histograms"].shape == (2, 10)
    np.testing.assert_allclose(res["histograms"].sum(axis=1), 1.0)


def test_source_table_shape():
    for key in ("none", "batch"):
        assert S.SOURCE_GRADIENT_TABLE[key].shape == (5, 11)


def test_layer_gradient_norms_is_frobenius_in_order_and_validates():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(4, 3)) * 1e-6, rng.normal(size=(3, 2))]
    np.testing.assert_allclose(S.layer_gradient_norms(grads), [np.linalg.norm(g) for g in grads], rtol=1e-14)
    np.testing.assert_allclose(S.layer_gradient_norms((np.array([[3.0, 4.0]]),)), [5.0])
    with pytest.raises(TypeError, match="list of arrays"):
        S.layer_gradient_norms(np.ones((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        S.layer_gradient_norms([])


def test_variance_keeping_std_known_values():
    assert S.variance_keeping_std(64, "relu") == pytest.approx(np.sqrt(2 / 64))
    assert S.variance_keeping_std(100, "tanh") == pytest.approx(0.1)
    assert S.variance_keeping_std(100, "linear") == pytest.approx(0.1)
    assert S.variance_keeping_std(16, "sigmoid") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="activation"):
        S.variance_keeping_std(16, "gelu")
    with pytest.raises(ValueError, match="fan_in"):
        S.variance_keeping_std(0, "relu")


def test_gradient_norm_recorder_uses_the_given_function(digits):
    X, y = digits[0][:64], digits[2][:64]
    calls = []

    def spy(weight_grads):
        calls.append(len(weight_grads))
        weight_grads[0][...] = 0.0  # a careless function cannot corrupt the model's gradients
        return S.layer_gradient_norms(weight_grads)

    model = MLP([64, 8, 8, 10], "sigmoid", "none", seed=0)
    ours, reference = S.GradientNormRecorder(spy), cu.training.GradNormHook()
    cu.training.train(model, X, y, steps=3, batch_size=32, lr=0.1, hooks=[ours, reference], seed=0)
    assert calls == [3, 3, 3]
    np.testing.assert_allclose(ours.values[:, 1:], reference.values[:, 1:], rtol=1e-14)
    assert np.all(reference.values[:, 0] > 0)
    with pytest.raises(TypeError, match="norms"):
        S.GradientNormRecorder(norms=3)


def test_layer_gradient_table_accepts_a_norms_function(digits):
    data = (digits[0], digits[2])
    base = S.layer_gradient_table(depth=2, width=10, record_at=(1, 2), data=data)
    doubled = S.layer_gradient_table(
        depth=2, width=10, record_at=(1, 2), data=data, norms=lambda g: 2 * S.layer_gradient_norms(g)
    )
    np.testing.assert_allclose(doubled, 2 * base, rtol=1e-14)


def test_preactivation_profile_he_keeps_the_signal_and_lecun_relu_loses_it(digits):
    X, y = digits[0][:300], digits[2][:300]
    sizes = [64] + [64] * 8 + [10]
    he = S.preactivation_profile(MLP(sizes, "relu", init_scale=np.sqrt(2 / 64), seed=0), X, y)
    half = S.preactivation_profile(MLP(sizes, "relu", init_scale=1 / 8, seed=0), X, y)
    assert he["z_std"].shape == (8,) and he["weight_grad_norms"].shape == (9,)
    assert 0.3 < he["z_std"][-1] / he["z_std"][0] < 3  # about constant
    assert half["z_std"][-1] / half["z_std"][0] < 0.15  # (1/sqrt 2)^7 ~ 0.09
    assert he["grad_ratio"] == pytest.approx(he["weight_grad_norms"][0] / he["weight_grad_norms"][-1])
    with pytest.raises(TypeError, match="model"):
        S.preactivation_profile("net", X, y)


def test_budget_runs_and_activation_contrast_shapes(digits):
    data, test = (digits[0], digits[2]), (digits[1], digits[3])
    runs = S.budget_runs(
        {"plain": ("none", None)},
        seeds=(0, 1),
        hidden=(8,),
        steps=20,
        eval_every=10,
        data=data,
        test_data=test,
    )
    assert runs["plain"].test_accuracy.shape == (2, 2)
    contrast = S.activation_contrast(
        {"relu": ("relu", np.sqrt(2 / 64))}, seeds=(0, 1), depth=2, steps=5, data=data, test_data=test
    )
    assert contrast["relu"]["grad_ratio"].shape == (2,)
    assert contrast["relu"]["runs"].final_test_accuracy.shape == (2,)
    with pytest.raises(TypeError, match="configs"):
        S.budget_runs({}, data=data, test_data=test)


def test_plots_return_figures():
    import matplotlib.pyplot as plt

    tables = {"none": np.full((2, 5, 11), 1e-3), "batch": np.full((2, 5, 11), 0.2)}
    figs = [
        cu.plotting.plot_sigmoid_and_derivative(),
        cu.plotting.plot_layer_gradient_norms(tables, S.SOURCE_GRADIENT_TABLE),
        cu.plotting.plot_activation_heatmaps({("a", "b"): np.full((3, 5), 0.2)}, {("a", "b"): 0.1}),
        cu.plotting.plot_init_sweep([0.1, 1.0], np.full((2, 2, 3), 0.5)),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    plt.close("all")


def test_saturation_demo_updates_in_place_and_survives_extremes(digits):
    X, y = digits[0][:32], digits[2][:32]
    demo = cu.widgets.SaturationDemo(X, y, max_depth=4, width=20)
    image = demo.images["none"]
    with np.errstate(all="raise"):
        for depth in (1, 4):
            for scale in (0.01, 10.0):
                text = demo.update(depth, scale)
                assert "saturated" in text and "nan" not in text
    assert demo.images["none"] is image  # same artist, new data
    assert len(demo.lines["none"].get_xdata()) == 4 + 1
    big = demo.diagnostics(4, 10.0)
    assert big["none"]["saturated"].mean() > 0.5 > big["batch"]["saturated"].mean()


def test_linear_fit_r2_matches_a_sampled_regression_and_steins_lemma():
    from scipy.integrate import quad
    from scipy.stats import norm

    fit = S.linear_fit_r2(input_std=1.0)
    # Stein's lemma: the least-squares slope is E[sigma'(x)] for x ~ N(0, 1)
    expected_slope = quad(lambda x: S.sigmoid_derivative(x) * norm.pdf(x), -40, 40)[0]
    assert fit["slope"] == pytest.approx(expected_slope, rel=1e-8)
    x = np.random.default_rng(0).normal(0.0, 2.0, 400_000)
    s = expit(x)
    b, a = np.polyfit(x, s, 1)
    r2 = 1 - np.var(s - (a + b * x)) / np.var(s)
    fit2 = S.linear_fit_r2(input_std=2.0)
    assert fit2["r2"] == pytest.approx(r2, abs=2e-3) and fit2["slope"] == pytest.approx(b, rel=5e-3)
    assert fit2["output_std"] == pytest.approx(np.std(s), rel=5e-3)
    r2s = [S.linear_fit_r2(input_std=sd)["r2"] for sd in (1e-3, 1.0, 2.0, 4.0)]
    assert r2s[0] > 0.999999 and np.all(np.diff(r2s) < 0)  # wider input, more curvature
    # a shifted input sits on the flatter, curved part: less linear than the centred one
    assert S.linear_fit_r2(1.0, input_mean=2.0)["r2"] < fit["r2"]
    with pytest.raises(ValueError, match="input_std"):
        S.linear_fit_r2(input_std=0.0)


def _manual_hidden_gradients(model, X, y):
    """dL/dh_k for every hidden output h_k of a plain sigmoid MLP, by the chain rule written out."""
    hs, h = [], X
    for k, layer in enumerate(model.linears):
        z = h @ layer.W + layer.b
        if k < len(model.linears) - 1:
            h = expit(z)
            hs.append(h)
    _, d = cu.training.softmax_cross_entropy(z, y)
    grads = [None] * len(hs)
    d = d @ model.linears[-1].W.T
    for k in range(len(hs) - 1, -1, -1):
        grads[k] = d
        d = (d * hs[k] * (1 - hs[k])) @ model.linears[k].W.T
    return hs, grads


def test_signal_propagation_matches_the_chain_rule(digits):
    X, y = digits[0][:60], digits[2][:60]
    model = MLP([64, 20, 15, 12, 10], "sigmoid", "none", init_scale=0.4, seed=5)
    sp = S.signal_propagation(model, X, y)
    hs, grads = _manual_hidden_gradients(model, X, y)
    np.testing.assert_allclose(sp["backward"], [np.linalg.norm(g) for g in grads], rtol=1e-10)
    np.testing.assert_allclose(sp["spread"], [h.std(axis=0).mean() for h in hs], rtol=1e-12)
    np.testing.assert_allclose(sp["rms_slope"], [np.sqrt(np.mean((h * (1 - h)) ** 2)) for h in hs])
    back = sp["backward"]
    assert sp["backward_gain"] == pytest.approx(np.sqrt(back[0] / back[1] * back[1] / back[2]))
    assert sp["norm_input_std"] is None
    diag = S.forward_backward_diagnostics(model, X, y)
    np.testing.assert_allclose(sp["weight_grad_norms"], diag["grad_norms"], rtol=1e-12)
    assert sp["loss"] == pytest.approx(diag["loss"])


def test_signal_propagation_linear_regime_and_batchnorm(digits):
    X, y = digits[0][:300], digits[2][:300]
    # tiny weights: sigma is linear with slope 1/4, so each layer scales both signals by c/4
    c = 0.2
    tiny = S.signal_propagation(
        MLP([64] + [40] * 5 + [10], "sigmoid", "none", init_scale=c / np.sqrt(40), seed=0), X, y
    )
    assert tiny["forward_gain"] == pytest.approx(c / 4, rel=0.1)
    assert tiny["backward_gain"] == pytest.approx(c / 4, rel=0.1)
    assert tiny["saturated"][1:].max() == 0.0  # (the first layer sees raw z-scored pixels)
    # with BN the pre-activation's batch std is ~0.2 c and the gains are ~1 at any scale
    for scale in (0.1, 1.0):
        model = MLP([64] + [100] * 5 + [10], "sigmoid", "batch", init_scale=scale, seed=1)
        running = model.layers[model.norm_indices[0]].running_mean.copy()
        sp = S.signal_propagation(model, X, y)
        np.testing.assert_array_equal(model.layers[model.norm_indices[0]].running_mean, running)
        assert sp["norm_input_std"][1:] == pytest.approx(0.21 * scale * 10, rel=0.15)
        assert 0.9 < sp["forward_gain"] < 1.1 and 0.85 < sp["backward_gain"] < 1.2
    one = S.signal_propagation(MLP([64, 10, 10], "sigmoid", seed=0), X, y)
    assert np.isnan(one["forward_gain"]) and np.isnan(one["backward_gain"])
    with pytest.raises(TypeError, match="model"):
        S.signal_propagation(None, X, y)
    with pytest.raises(ValueError, match="sigmoid"):
        S.signal_propagation(MLP([64, 10, 10], "tanh"), X, y)


def test_layer_gradient_table_records_saturation(digits):
    data = (digits[0], digits[2])
    grads, sat = S.layer_gradient_table(
        depth=4, width=30, record_at=(2, 4), data=data, return_saturation=True
    )
    np.testing.assert_array_equal(
        grads, S.layer_gradient_table(depth=4, width=30, record_at=(2, 4), data=data)
    )
    assert sat.shape == (2, 4) and sat.max() < 0.01
    _, big = S.layer_gradient_table(
        depth=4, width=30, record_at=(2, 4), data=data, init_scale=1.0, return_saturation=True
    )
    assert big[:, 1:].min() > 0.2  # std 1.0 weights on 30 inputs: |x| ~ 3 - many outputs past 0.03/0.97


def test_init_scale_sweep_output_scale(digits):
    kwargs = dict(
        seeds=(0,),
        normalizations=("batch",),
        hidden=(8, 8),
        steps=5,
        batch_size=16,
        lr=0.5,
        data=(digits[0], digits[2]),
        test_data=(digits[1], digits[3]),
    )
    same = S.init_scale_sweep([0.3], output_scale=0.3, **kwargs)
    np.testing.assert_allclose(same, S.init_scale_sweep([0.3], **kwargs), atol=1e-12)
    with pytest.raises(ValueError, match="output_scale"):
        S.init_scale_sweep([0.3], output_scale=0.0, **kwargs)


def test_budget_curves_plot_one_line_per_configuration(digits):
    import matplotlib.pyplot as plt

    runs = S.budget_runs(
        {"a": ("none", None), "b": ("batch", None)},
        seeds=(0, 1),
        hidden=(8,),
        steps=20,
        eval_every=10,
        data=(digits[0], digits[2]),
        test_data=(digits[1], digits[3]),
    )
    fig = cu.plotting.plot_budget_curves(runs, mark_step=10, title="t")
    ax = fig.axes[0]
    assert ax.get_title() == "t" and ax.get_xlabel() == "SGD steps"
    assert len(ax.get_lines()) >= 2
    plt.close(fig)


def test_init_sweep_plot_with_propagation_panels():
    import matplotlib.pyplot as plt

    scales = np.array([0.1, 1.0, 10.0])
    prop = {
        "forward_gain": np.full((3, 2), 0.5),
        "backward_gain": np.full((3, 2), 0.7),
        "saturated": np.full((3, 2), 0.2),
    }
    fig = cu.plotting.plot_init_sweep(
        scales, np.full((2, 3, 2), 0.5), default_scale=0.2, propagation=prop, fan_in=32, steps=100
    )
    assert "after 100 steps" in fig.axes[0].get_ylabel()
    assert len([ax for ax in fig.axes if ax.get_ylabel()]) == 3
    plt.close(fig)


def test_preactivation_profile_separates_the_sigmoid_offset_from_the_signal(digits):
    """At the '4x for sigmoid' scale the rms of z stays near c/2 (the constant 1/2 passed on through W, a fixed
    offset per unit), while the part of z that varies between examples, the signal, nearly vanishes."""
    X, y = digits[0][:500], digits[2][:500]
    sizes = [64] + [64] * 10 + [10]
    p = S.preactivation_profile(MLP(sizes, "sigmoid", init_scale=4 / 8, seed=0), X, y)
    assert p["z_rms"].shape == p["z_spread"].shape == (10,)
    assert np.all(p["z_spread"] <= p["z_rms"] + 1e-12)
    assert 1.5 < p["z_rms"][-1] < 3.5  # ~ c/2 = 2
    assert p["z_spread"][-1] < 0.1 * p["z_spread"][0]


def test_signal_propagation_plot_has_the_two_lower_panels():
    import matplotlib.pyplot as plt

    scales = np.array([0.1, 1.0, 10.0])
    prop = {
        "forward_gain": np.full((3, 2), 0.5),
        "backward_gain": np.full((3, 2), 0.7),
        "saturated": np.full((3, 2), 0.2),
    }
    fig = cu.plotting.plot_signal_propagation(scales, prop, default_scale=0.2, fan_in=32)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert len(labels) == 2 and "factor per layer" in labels[0] and "saturated" in labels[1]
    plt.close(fig)


def test_init_probe_and_scale_rule_profiles(digits):
    X, y = digits[0][:200], digits[2][:200]
    probe = S.init_probe({"big": ("none", 1.0), "small": ("none", None)}, seeds=(0, 1), data=(X, y), depth=3)
    assert probe["big"]["saturated"].shape == (2,) and probe["big"]["histograms"].shape == (3, 25)
    assert probe["big"]["saturated"].mean() > probe["small"]["saturated"].mean()
    assert len(probe["small"]["runs"]) == 2 and "outputs" not in probe["small"]["runs"][0]
    prof = S.scale_rule_profiles({"relu": ("relu", np.sqrt(2 / 64))}, seeds=(0, 1), data=(X, y), depth=3)
    assert prof["relu"]["z_rms"].shape == (2, 3) and prof["relu"]["grad_ratio"].shape == (2,)
    with pytest.raises(TypeError):
        S.init_probe({}, data=(X, y))


def test_saturation_threshold_and_factor_per_layer():
    assert S.saturation_threshold() == pytest.approx(S.SATURATED_Z)
    assert S.sigmoid(S.saturation_threshold(0.9)) == pytest.approx(0.9)
    assert S.factor_per_layer([1e-6, 1e-3, 1.0]) == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        S.saturation_threshold(0.4)
    with pytest.raises(ValueError):
        S.factor_per_layer([1.0])
