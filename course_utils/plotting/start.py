"""Figures for notebook 00 (start here): what γ and β do to a standardized sample.

The histogram of ``y = γ·x̂ + β`` is drawn on fixed bins over a fixed range, so the interactive demo
(:mod:`course_utils.widgets.start`) only has to change the bar heights when a slider moves.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array
from .style import COLORS, new_figure

__all__ = ["standardized_sample", "affine_histogram", "GammaBetaHistogram", "gamma_beta_figure"]


def standardized_sample(n: int = 3000, seed: int = 0):
    """A right-skewed sample ``x`` (a ReLU-like pre-activation) and its batch-normalized ``x_hat``.

    Returns
    -------
    x : ndarray, shape (n,)
        Gamma-distributed values shifted to mean ≈ 2, std ≈ 1.5 (skewed, so a flip by γ < 0 is visible).
    x_hat : ndarray, shape (n,)
        ``(x − μ_B) / sqrt(σ_B² + ε)`` with ε = 1e-5 (what BN computes before γ and β).
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"standardized_sample: n must be an int >= 2, got {n!r}")
    from ..normalization import batchnorm_forward

    rng = np.random.default_rng(seed)
    x = rng.gamma(shape=4.0, scale=0.75, size=n) - 1.0
    x_hat, _ = batchnorm_forward(x[:, None], np.ones(1), np.zeros(1), eps=1e-5)
    return x, x_hat[:, 0]


def affine_histogram(x_hat, gamma: float, beta: float, edges):
    """Density histogram of ``gamma * x_hat + beta`` on the fixed bin ``edges``.

    Values outside the edges are counted in the first/last bin, so the bars always hold the whole sample
    (the histogram integrates to 1 for any γ, β). With γ = 0 every value equals β and the whole mass
    sits in one bin.
    """
    x_hat = as_real_array(x_hat, "x_hat", "affine_histogram")
    edges = as_real_array(edges, "edges", "affine_histogram")
    if x_hat.ndim != 1 or x_hat.size == 0:
        raise ValueError(f"affine_histogram: x_hat must be a non-empty 1-D array, got shape {x_hat.shape}")
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("affine_histogram: edges must be a strictly increasing 1-D array of >= 2 values")
    for name, value in (("gamma", gamma), ("beta", beta)):
        if not np.isfinite(value):
            raise ValueError(f"affine_histogram: {name} must be finite, got {value!r}")
    y = np.clip(gamma * x_hat + beta, edges[0], edges[-1])
    counts, _ = np.histogram(y, bins=edges)
    return counts / (x_hat.size * np.diff(edges))


class GammaBetaHistogram:
    """A histogram of ``γ·x̂ + β`` over a faint reference histogram of ``x̂`` (γ = 1, β = 0).

    Attributes
    ----------
    fig, ax : the Figure (Agg canvas, outside pyplot) and its Axes
    x_hat : ndarray, the standardized sample
    edges : ndarray, the fixed bin edges
    bars : StepPatch, the output histogram (changed in place by :meth:`set_params`)
    mean_line : Line2D, a vertical line at mean(y)
    """

    def __init__(
        self,
        x_hat,
        *,
        gamma_max: float = 3.0,
        beta_max: float = 5.0,
        bins_per_unit: int = 3,
        figsize=(8.0, 3.4),
        dpi: int = 80,
        fig_ax=None,
    ):
        x_hat = as_real_array(x_hat, "x_hat", "GammaBetaHistogram")
        if x_hat.ndim != 1 or x_hat.size < 2:
            raise ValueError(f"GammaBetaHistogram: x_hat must be 1-D with >= 2 values, got {x_hat.shape}")
        self.x_hat = x_hat
        # wide enough that no (γ, β) inside the slider ranges pushes a value off the axis
        half_width = float(np.ceil(gamma_max * np.abs(x_hat).max() + beta_max + 0.5))
        n_bins = int(2 * half_width * bins_per_unit)
        self.edges = np.linspace(-half_width, half_width, n_bins + 1)
        if fig_ax is None:
            self.fig, self.ax = new_figure(figsize=figsize, dpi=dpi)
        else:
            self.fig, self.ax = fig_ax
        ax = self.ax
        reference = affine_histogram(x_hat, 1.0, 0.0, self.edges)
        ax.stairs(
            reference, self.edges, fill=True, color=COLORS["grey"], alpha=0.35, label="x̂ (γ = 1, β = 0)"
        )
        self.bars = ax.stairs(
            reference, self.edges, fill=True, color=COLORS["bn"], alpha=0.75, label="y = γ·x̂ + β"
        )
        self.mean_line = ax.axvline(0.0, color=COLORS["vermillion"], lw=1.5, label="mean(y)")
        ax.set_xlim(self.edges[0], self.edges[-1])
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("output value y (x̂ is in units of the batch's standard deviation)")
        ax.set_ylabel("density (1 / unit)")
        ax.set_title("γ stretches (or flips) the normalized batch, β slides it")
        # outside the axes: the bars can reach every corner, and a static legend costs nothing to redraw
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))

    def set_params(self, gamma: float, beta: float) -> str:
        """Show ``y = gamma·x̂ + beta``: change the bars and the mean line in place; return a readout."""
        heights = affine_histogram(self.x_hat, gamma, beta, self.edges)
        self.bars.set_data(values=heights)
        y = gamma * self.x_hat + beta
        mean, std = round(float(y.mean()), 6) + 0.0, round(float(y.std()), 6) + 0.0  # no "-0.000"
        self.mean_line.set_xdata([mean, mean])
        note = ""
        if gamma == 0:
            note = "  (γ = 0: every output equals β; the bar is clipped at the top of the plot)"
        elif gamma < 0:
            note = "  (γ < 0 mirrors the batch: the long tail now points left)"
        return (
            f"γ = {gamma:+.2f}, β = {beta:+.2f}   →   mean(y) = {mean:+.3f} (= β),   "
            f"std(y) = {std:.3f} (≈ |γ|){note}"
        )


def gamma_beta_figure(x_hat, settings=((0.5, -3.0), (2.0, 3.0), (-1.0, 0.0)), figsize=(7.0, 3.4), dpi=90):
    """Static figure: the histogram of ``γ·x̂ + β`` for a few (γ, β) pairs, over the x̂ reference."""
    x_hat = as_real_array(x_hat, "x_hat", "gamma_beta_figure")
    settings = [tuple(map(float, s)) for s in settings]
    if not settings or any(len(s) != 2 for s in settings):
        raise ValueError("gamma_beta_figure: settings must be a non-empty list of (gamma, beta) pairs")
    gamma_max = max(abs(g) for g, _ in settings)
    beta_max = max(abs(b) for _, b in settings)
    plot = GammaBetaHistogram(x_hat, gamma_max=gamma_max, beta_max=beta_max, figsize=figsize, dpi=dpi)
    ax = plot.ax
    plot.bars.remove()
    plot.mean_line.remove()
    colors = [COLORS["bn"], COLORS["vermillion"], COLORS["green"], COLORS["purple"], COLORS["orange"]]
    for k, (gamma, beta) in enumerate(settings):
        heights = affine_histogram(x_hat, gamma, beta, plot.edges)
        ax.stairs(
            heights, plot.edges, color=colors[k % len(colors)], lw=2, label=f"γ = {gamma:g}, β = {beta:g}"
        )
    ax.set_ylim(0, 1.05 * max(0.5, max(affine_histogram(x_hat, g, b, plot.edges).max() for g, b in settings)))
    ax.set_title("The same normalized batch: γ sets the spread, β the centre")
    ax.legend(loc="upper left")
    return plot.fig
