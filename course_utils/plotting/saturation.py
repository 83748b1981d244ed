"""Figures of notebook 03 (sigmoid saturation and vanishing gradients). Every function returns its Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from scipy.special import expit, logit

from ..saturation import SATURATION_HIGH, SATURATION_LOW
from .style import COLORS

__all__ = [
    "plot_sigmoid_and_derivative",
    "plot_layer_gradient_norms",
    "plot_activation_heatmaps",
    "draw_activation_heatmap",
    "padded_histogram_image",
    "plot_init_sweep",
    "plot_signal_propagation",
    "plot_budget_curves",
]


def plot_sigmoid_and_derivative(out_low: float = 0.2, out_high: float = 0.8, x_max: float = 6.0):
    """σ with its tangent at 0 (left) and σ′ = σ(1 − σ) (right); the band where σ ∈ [out_low, out_high]."""
    x = np.linspace(-x_max, x_max, 601)
    s = expit(x)
    x_low, x_high = logit(out_low), logit(out_high)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.4), layout="constrained")
    for ax in (ax1, ax2):
        ax.axvspan(
            x_low, x_high, color=COLORS["grey"], alpha=0.2, lw=0, label=f"σ(z) ∈ [{out_low:g}, {out_high:g}]"
        )
        ax.set_xlabel("pre-activation z")
    ax1.plot(x, s, color=COLORS["black"], label="σ(z)")
    ax1.plot(x, 0.5 + x / 4, color=COLORS["orange"], ls="--", label="tangent 1/2 + z/4")
    ax1.set_ylim(-0.1, 1.1)
    ax1.set_ylabel("σ(z)")
    ax1.set_title("σ bends away from its tangent outside the band")
    ax1.legend(loc="upper left")
    ax2.plot(x, s * (1 - s), color=COLORS["black"], label="σ′(z) = σ(1 − σ)")
    ax2.axhline(0.25, color=COLORS["vermillion"], ls=":", label="max 1/4 at z = 0")
    ax2.set_ylabel("σ′(z)")
    ax2.set_ylim(0, 0.28)
    ax2.set_title("σ′ ≤ 1/4 everywhere; < 0.02 for |z| > 4")
    ax2.legend(loc="center right", fontsize=8)
    return fig


def plot_layer_gradient_norms(tables: dict, source: dict | None = None):
    """Per-layer ‖∂L/∂W‖ on a log axis, our runs (mean ± min/max over seeds) vs the source blog.

    Parameters
    ----------
    tables : dict {"none": array, "batch": array}
        Arrays of shape (n_seeds, n_iterations, n_layers); each seed's iterations are averaged
        geometrically before the mean/min/max over seeds.
    source : dict with the same keys and arrays (n_iterations, n_layers), optional
        Drawn as hollow markers.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    labels = {"none": "no BN", "batch": "with BN"}
    colors = {"none": COLORS["plain"], "batch": COLORS["bn"]}
    for key, arr in tables.items():
        arr = np.asarray(arr)
        per_seed = np.exp(np.log(arr).mean(axis=1))  # (n_seeds, n_layers)
        layers = np.arange(1, per_seed.shape[1] + 1)
        mean = np.exp(np.log(per_seed).mean(axis=0))
        ax.fill_between(
            layers, per_seed.min(axis=0), per_seed.max(axis=0), color=colors[key], alpha=0.25, lw=0
        )
        ax.plot(layers, mean, "o-", color=colors[key], label=f"ours, {labels[key]} ({arr.shape[0]} seeds)")
        if source is not None and key in source:
            src = np.exp(np.log(np.asarray(source[key])).mean(axis=0))
            ax.plot(
                layers,
                src,
                "s--",
                mfc="none",
                color=colors[key],
                alpha=0.8,
                label=f"source blog, {labels[key]}",
            )
    ax.set_yscale("log")
    ax.set_xticks(layers, [str(k) for k in layers[:-1]] + ["out"])
    ax.set_xlabel("weight matrix (1 = next to the input, out = output layer)")
    ax.set_ylabel("‖∂L/∂W‖ (iterations 10–50, geo. mean)")
    ax.set_title("Without BN the gradient shrinks ~4× per layer; with BN it stays flat")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def draw_activation_heatmap(ax, hist, max_layers: int | None = None, title: str = ""):
    """Draw per-layer histograms of sigmoid outputs as an image (rows = layers, columns = bins).

    Returns the AxesImage so a widget can ``set_data`` it. Rows beyond ``len(hist)`` (up to
    ``max_layers``) are left blank. Colour = fraction of the layer's values in the bin (log scale).
    """
    hist = np.asarray(hist, dtype=float)
    n_layers, bins = hist.shape
    max_layers = n_layers if max_layers is None else max_layers
    image = padded_histogram_image(hist, max_layers)
    im = ax.imshow(
        image,
        origin="lower",
        aspect="auto",
        extent=(0, 1, 0.5, max_layers + 0.5),
        norm=LogNorm(1e-3, 1),
        cmap="viridis",
        interpolation="nearest",
    )
    for edge in (SATURATION_LOW, SATURATION_HIGH):
        ax.axvline(edge, color="white", lw=0.8, ls=":")
    ax.set_xlabel("sigmoid output σ")
    ax.set_ylabel("hidden layer")
    ax.set_yticks(range(1, max_layers + 1, max(1, max_layers // 5)))
    ax.grid(False)
    if title:
        ax.set_title(title)
    return im


def padded_histogram_image(hist, max_layers: int) -> np.ndarray:
    """``hist`` (n_layers, bins) as a (max_layers, bins) image: empty bins and missing layers are NaN
    (drawn blank), extra layers are cut."""
    image = np.full((max_layers, hist.shape[1]), np.nan)
    rows = min(len(hist), max_layers)
    image[:rows] = np.where(hist[:rows] > 0, hist[:rows], np.nan)
    return image


def plot_activation_heatmaps(hists: dict, saturated: dict | None = None):
    """Grid of per-layer activation histograms: ``hists[(row_label, col_label)] = (n_layers, bins)``.

    ``saturated`` (same keys) adds the % of saturated units to each panel's title.
    """
    rows = list(dict.fromkeys(k[0] for k in hists))
    cols = list(dict.fromkeys(k[1] for k in hists))
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(4.2 * len(cols), 2.9 * len(rows)), layout="constrained", squeeze=False
    )
    im = None
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            title = f"{r}, {c}"
            if saturated is not None:
                title += f": {100 * saturated[(r, c)]:.1f} % saturated"
            im = draw_activation_heatmap(ax, hists[(r, c)], title=title)
            if i < len(rows) - 1:
                ax.set_xlabel("")
    fig.colorbar(im, ax=axes, label="fraction of the layer's outputs", shrink=0.8)
    fig.suptitle(
        "Where the sigmoid outputs of each layer land (dotted: saturation thresholds 0.03, 0.97)", fontsize=11
    )
    return fig


def plot_init_sweep(
    scales,
    accuracy,
    labels=("no BN", "with BN"),
    default_scale=None,
    propagation=None,
    fan_in=None,
    steps=None,
):
    """Final test accuracy vs initial weight std (log axis), mean ± std over seeds; optionally, below it,
    how the plain network passes signals at initialization.

    Parameters
    ----------
    scales : sequence of float
    accuracy : array, shape (n_variants, n_scales, n_seeds)
        As returned by :func:`course_utils.saturation.init_scale_sweep`.
    labels : names of the variants.
    default_scale : float, optional
        Marks ``1/sqrt(fan_in)`` (and 4× it when ``propagation`` is given).
    propagation : dict, optional
        ``{"forward_gain", "backward_gain", "saturated"}``, each (n_scales, n_seeds), from
        :func:`course_utils.saturation.signal_propagation` of the plain network at initialization.
        Adds a panel of the per-layer gains (with the linear-regime prediction c/4, c = std·√fan_in)
        and a panel of the share of saturated units.
    fan_in : int, optional
        Fan-in of the hidden layers; adds a top axis in units of ``1/sqrt(fan_in)`` and the c/4 line.
    steps : int, optional
        The training budget behind ``accuracy``; the axis label and title then say "after N steps".
    """
    scales = np.asarray(scales, dtype=float)
    accuracy = np.asarray(accuracy)
    colors = [COLORS["plain"], COLORS["bn"], COLORS["green"], COLORS["purple"]]
    if propagation is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
        axes = [ax]
    else:
        fig, axes = plt.subplots(
            3,
            1,
            figsize=(7.5, 7.6),
            sharex=True,
            layout="constrained",
            gridspec_kw={"height_ratios": [2.2, 1.6, 1.0]},
        )
        ax = axes[0]
    for k, label in enumerate(labels):
        mean, std = accuracy[k].mean(axis=1), accuracy[k].std(axis=1)
        ax.errorbar(
            scales,
            mean,
            yerr=std,
            marker="o",
            ms=4,
            capsize=3,
            color=colors[k],
            label=f"{label} ({accuracy.shape[2]} seeds, ± std)",
        )
    ax.axhline(0.1, color=COLORS["grey"], ls=":", label="chance (10 classes)")
    marks = []
    if default_scale is not None:
        marks.append((default_scale, "--", "1/√fan_in (default)"))
        if propagation is not None:
            marks.append((4 * default_scale, "-.", "4/√fan_in (the “4× for sigmoid” rule)"))
    for a in axes:
        for x, ls, label in marks:
            a.axvline(x, color=COLORS["black"], ls=ls, lw=0.8, label=label if a is ax else None)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    budget = f" after {steps} steps" if steps is not None else ""
    ax.set_ylabel(f"test accuracy{budget}")
    ax.set_title(
        f"Within {steps} steps, BN trains over a wider range of initial scales"
        if steps
        else "BN widens the range of initial scales that train"
    )
    ax.legend(
        fontsize=8,
        loc="lower left",
        bbox_to_anchor=(0.0, 0.13),
        frameon=True,
        framealpha=0.9,
        edgecolor="none",
    )
    if fan_in is not None:
        top = ax.secondary_xaxis(
            "top", functions=(lambda s: s * np.sqrt(fan_in), lambda c: c / np.sqrt(fan_in))
        )
        top.set_xlabel(f"c = s_W · √{fan_in}  (multiple of the hidden layers' default std)")
    if propagation is not None:
        _plot_propagation(axes[1], axes[2], scales, propagation, fan_in)
    axes[-1].set_xlabel("initial weight std s_W (every layer)")
    return fig


def plot_signal_propagation(scales, propagation, default_scale=None, fan_in=None):
    """The two lower panels of :func:`plot_init_sweep` alone (the accuracy panel is Section 5's figure):
    the plain network's factor per layer, forward and backward, and its share of saturated units at
    initialization, against the initial weight std (log axis).

    Parameters
    ----------
    scales : sequence of float
    propagation : dict
        ``{"forward_gain", "backward_gain", "saturated"}``, each (n_scales, n_seeds).
    default_scale : float, optional
        Marks ``1/sqrt(fan_in)`` and 4× it (the "4× for sigmoid" rule).
    fan_in : int, optional
        Adds the c/4 line and a top axis in units of ``1/sqrt(fan_in)``.
    """
    scales = np.asarray(scales, dtype=float)
    fig, (ax_gain, ax_sat) = plt.subplots(
        2, 1, figsize=(7.5, 4.8), sharex=True, layout="constrained", gridspec_kw={"height_ratios": [1.6, 1.0]}
    )
    if default_scale is not None:
        for x, ls, label in (
            (default_scale, "--", "1/√fan_in (default)"),
            (4 * default_scale, "-.", "4/√fan_in (the “4× for sigmoid” rule)"),
        ):
            for a in (ax_gain, ax_sat):
                a.axvline(x, color=COLORS["black"], ls=ls, lw=0.8, label=label if a is ax_gain else None)
    ax_gain.set_xscale("log")
    _plot_propagation(ax_gain, ax_sat, scales, propagation, fan_in)
    if fan_in is not None:
        top = ax_gain.secondary_xaxis(
            "top", functions=(lambda s: s * np.sqrt(fan_in), lambda c: c / np.sqrt(fan_in))
        )
        top.set_xlabel(f"c = s_W · √{fan_in}")
    ax_sat.set_xlabel("initial weight std s_W (every layer)")
    return fig


def _plot_propagation(ax_gain, ax_sat, scales, propagation, fan_in):
    fwd = np.asarray(propagation["forward_gain"])
    bwd = np.asarray(propagation["backward_gain"])
    sat = np.asarray(propagation["saturated"])
    for values, marker, ls, label in (
        (fwd, "o", "-", "forward: spread of the outputs"),
        (bwd, "s", "--", "backward: ‖∂L/∂h‖"),
    ):
        geo = np.exp(np.log(values).mean(axis=1))
        ax_gain.plot(
            scales,
            geo,
            marker=marker,
            ms=4,
            ls=ls,
            color=COLORS["plain"],
            label=f"{label} (geo. mean, {values.shape[1]} seeds)",
        )
    if fan_in is not None:
        linear = scales * np.sqrt(fan_in) / 4
        keep = linear <= 3
        ax_gain.plot(
            scales[keep],
            linear[keep],
            ":",
            color=COLORS["grey"],
            lw=1.5,
            label="c/4: a linear σ of slope 1/4",
        )
    ax_gain.axhline(1.0, color=COLORS["black"], lw=0.8, label="1: nothing lost per layer")
    ax_gain.set_yscale("log")
    ax_gain.set_ylim(0.01, 4)
    ax_gain.set_ylabel("factor per layer\n(no BN, at init)")
    ax_gain.set_title("Plain net: each sigmoid layer scales the signal by ≈ c/4 until σ bends", fontsize=10)
    ax_gain.legend(fontsize=7.5, loc="lower right", frameon=True, framealpha=0.9, edgecolor="none")
    ax_sat.plot(scales, 100 * sat.mean(axis=1), "o-", ms=4, color=COLORS["vermillion"])
    ax_sat.set_ylim(0, 100)
    ax_sat.set_ylabel("% saturated\n(no BN, at init)")
    ax_sat.set_title("…while from c ≈ 2 on more and more units saturate", fontsize=10)


def plot_budget_curves(
    runs: dict,
    mark_step: int | None = None,
    title: str = "At the default scale the plain net is slow, not stuck",
):
    """Test accuracy against the number of SGD steps, mean ± std over seeds, one line per configuration.

    Parameters
    ----------
    runs : dict label -> :class:`~course_utils.batched.SeedRuns`
        E.g. from :func:`course_utils.saturation.budget_runs` (``test_steps``, ``test_accuracy``).
    mark_step : int, optional
        A dashed vertical line at this budget (e.g. the sweep's 100 steps).
    title : str
        States the finding.
    """
    fig, ax = plt.subplots(figsize=(7.0, 3.4), layout="constrained")
    colors = [COLORS["plain"], COLORS["bn"], COLORS["green"], COLORS["purple"]]
    for k, (label, r) in enumerate(runs.items()):
        acc = np.asarray(r.test_accuracy)
        mean, std = acc.mean(axis=0), acc.std(axis=0)
        color = colors[k % len(colors)]
        ax.plot(
            r.test_steps, mean, marker="o", ms=4, color=color, label=f"{label} ({acc.shape[0]} seeds, ± std)"
        )
        ax.fill_between(r.test_steps, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    ax.axhline(0.1, color=COLORS["grey"], ls=":", label="chance (10 classes)")
    if mark_step is not None:
        ax.axvline(
            mark_step, color=COLORS["black"], ls="--", lw=0.8, label=f"the sweep's budget ({mark_step} steps)"
        )
    ax.set_ylim(0, 1)
    ax.set_xlabel("SGD steps")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right", frameon=True, framealpha=0.9, edgecolor="none")
    return fig
