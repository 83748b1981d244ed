"""Notebook 00's γ/β demo: the histogram math, in-place updates, slider extremes, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import course_utils as cu
from course_utils.plotting.start import GammaBetaHistogram, affine_histogram, standardized_sample
from course_utils.widgets.start import BETA_RANGE, GAMMA_RANGE, gamma_beta_demo, update_gamma_beta


@pytest.fixture(scope="module")
def sample():
    return standardized_sample(n=500, seed=1)


def test_sample_is_standardized_like_batchnorm(sample):
    x, x_hat = sample
    assert x.shape == x_hat.shape == (500,)
    assert abs(x_hat.mean()) < 1e-12
    assert x_hat.std() == pytest.approx(np.sqrt(x.var() / (x.var() + 1e-5)), rel=1e-12)
    reference, _ = cu.batchnorm_forward(x[:, None], np.ones(1), np.zeros(1))
    np.testing.assert_allclose(x_hat, reference[:, 0])
    assert ((x_hat - x_hat.mean()) ** 3).mean() > 0.3, "the sample should be visibly right-skewed"


def test_affine_histogram_matches_numpy_histogram(sample):
    _, x_hat = sample
    edges = np.linspace(-15, 15, 121)
    heights = affine_histogram(x_hat, 2.0, 1.5, edges)
    expected, _ = np.histogram(2.0 * x_hat + 1.5, bins=edges, density=True)
    np.testing.assert_allclose(heights, expected)


@settings(max_examples=60, deadline=None)
@given(gamma=st.floats(-3, 3), beta=st.floats(-5, 5))
def test_histogram_always_holds_the_whole_sample(gamma, beta):
    _, x_hat = standardized_sample(n=200, seed=2)
    edges = np.linspace(-8, 8, 33)
    heights = affine_histogram(x_hat, gamma, beta, edges)
    assert np.all(np.isfinite(heights)) and np.all(heights >= 0)
    assert np.sum(heights * np.diff(edges)) == pytest.approx(1.0)


def test_gamma_zero_puts_all_mass_in_the_bin_of_beta(sample):
    _, x_hat = sample
    edges = np.linspace(-6, 6, 25)
    heights = affine_histogram(x_hat, 0.0, 1.2, edges)
    assert np.count_nonzero(heights) == 1
    assert edges[np.argmax(heights)] <= 1.2 < edges[np.argmax(heights) + 1]


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"gamma": np.nan}, "gamma"),
        ({"beta": np.inf}, "beta"),
        ({"edges": np.array([0.0, 0.0, 1.0])}, "edges"),
        ({"x_hat": np.zeros((3, 2))}, "x_hat"),
    ],
)
def test_affine_histogram_rejects_bad_input(sample, bad, match):
    args = {"x_hat": sample[1], "gamma": 1.0, "beta": 0.0, "edges": np.linspace(-1, 1, 5)} | bad
    with pytest.raises(ValueError, match=match):
        affine_histogram(**args)


def test_bad_sample_raises():
    with pytest.raises(ValueError, match="n"):
        standardized_sample(n=1)
    with pytest.raises(TypeError, match="x_hat"):
        GammaBetaHistogram(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="x_hat"):
        GammaBetaHistogram(np.zeros((4, 2)))


def test_update_changes_artists_in_place_and_reports_mean_and_std(sample):
    _, x_hat = sample
    plot = GammaBetaHistogram(x_hat)
    bars, line, n_children = plot.bars, plot.mean_line, len(plot.ax.get_children())
    text = update_gamma_beta(plot, 2.0, -1.0)
    assert plot.bars is bars and plot.mean_line is line and len(plot.ax.get_children()) == n_children
    np.testing.assert_allclose(plot.bars.get_data().values, affine_histogram(x_hat, 2.0, -1.0, plot.edges))
    assert plot.mean_line.get_xdata()[0] == pytest.approx(-1.0)
    assert "mean(y) = -1.000" in text and f"std(y) = {2 * x_hat.std():.3f}" in text


@pytest.mark.parametrize("gamma", [GAMMA_RANGE[0], 0.0, GAMMA_RANGE[1]])
@pytest.mark.parametrize("beta", [BETA_RANGE[0], 0.0, BETA_RANGE[1]])
def test_slider_extremes_give_no_nan_warning_or_lost_values(sample, gamma, beta):
    _, x_hat = sample
    plot = GammaBetaHistogram(x_hat)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = update_gamma_beta(plot, gamma, beta)
        cu.plotting.figure_to_png(plot.fig)
    heights = plot.bars.get_data().values
    assert np.all(np.isfinite(heights)) and "nan" not in text.lower() and "-0.000" not in text
    y = gamma * x_hat + beta
    assert plot.edges[0] < y.min() and y.max() < plot.edges[-1], "the axis must show every value"


def test_demo_panel_sliders_work_and_are_fast_enough(sample):
    _, x_hat = sample
    panel = gamma_beta_demo(x_hat)
    assert set(panel.controls) == {"gamma", "beta"}
    gamma, beta = panel.controls["gamma"], panel.controls["beta"]
    assert (gamma.min, gamma.max, beta.min, beta.max) == (-3.0, 3.0, -5.0, 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        times = np.concatenate(
            [
                cu.widgets.time_callback(panel, "gamma", [-3.0, 0.0, 3.0, 1.0]),
                cu.widgets.time_callback(panel, "beta", [-5.0, 5.0, 0.0]),
            ]
        )
    assert "mean(y) = +0.000" in panel.readout.value
    png = bytes(panel.view.image.value)
    assert png.startswith(b"\x89PNG")
    # generous bound: ~12 ms measured on a loaded 2-core machine; a full re-plot would be ~40 ms
    assert np.median(times) < 150


def test_frozen_panel_still_draws_the_current_bars(sample):
    """The static background is pasted back, but the bars themselves must follow the sliders."""
    _, x_hat = sample
    panel = gamma_beta_demo(x_hat)
    panel.controls["beta"].value = -4.0
    left = bytes(panel.view.image.value)
    panel.controls["beta"].value = 4.0
    assert bytes(panel.view.image.value) != left


def test_static_figure_has_labelled_axes_and_one_curve_per_setting(sample):
    _, x_hat = sample
    fig = cu.plotting.gamma_beta_figure(x_hat, settings=[(1, 0), (2, 1)])
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1:] == ["γ = 1, β = 0", "γ = 2, β = 1"]
    with pytest.raises(ValueError, match="settings"):
        cu.plotting.gamma_beta_figure(x_hat, settings=[])


# --- the warm-up exercise of notebook 00 ----------------------------------------------------------------


# check_standardize is tested against tests/mistakes/corpus_start.py.
