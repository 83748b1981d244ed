"""Figures of notebook 04 (internal covariate shift). Every function returns its Figure.

Most functions take ``records``: a dict ``{"plain": [RunRecord, ...], "batchnorm": [...], "noisy": [...]}``
of :class:`course_utils.covariate_shift.RunRecord` (one per seed), optionally with a fourth entry
``"noisy_example"`` (noisy BN with per-example noise).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..covariate_shift import CovariateShiftExample, percentile_traces
from .style import COLORS

__all__ = [
    "KIND_LABELS",
    "KIND_COLORS",
    "plot_accuracy_curves",
    "draw_percentile_traces",
    "plot_ioffe_figure",
    "plot_ics",
    "plot_noisy_batchnorm",
    "plot_covariate_shift_example",
]

KIND_LABELS = {
    "plain": "no BN",
    "batchnorm": "with BN",
    "noisy": "noisy BN",
    "noisy_example": "noisy BN + per-example noise",
}
KIND_COLORS = {
    "plain": COLORS["plain"],
    "batchnorm": COLORS["bn"],
    "noisy": COLORS["purple"],
    "noisy_example": COLORS["green"],
}


def _band(ax, x, values, kind, label=None):
    values = np.asarray(values)
    mean, std = values.mean(axis=0), values.std(axis=0)
    ax.fill_between(x, mean - std, mean + std, color=KIND_COLORS[kind], alpha=0.25, lw=0)
    ax.plot(x, mean, color=KIND_COLORS[kind], label=label or f"{KIND_LABELS[kind]} ({len(values)} seeds)")


def plot_accuracy_curves(ax, records, kinds=("plain", "batchnorm")):
    """Test accuracy vs step, mean ± std over seeds, on ``ax``."""
    for kind in kinds:
        runs = records[kind]
        _band(ax, runs[0].test_steps, [r.test_accuracy for r in runs], kind)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def draw_percentile_traces(ax, steps, traces, color, label=None):
    """15/50/85th percentile lines (``traces`` of shape (3, n_records)); the 50th is solid."""
    lines = []
    for k, style in zip(range(3), (":", "-", ":"), strict=True):
        lines += ax.plot(steps, traces[k], ls=style, color=color, label=label if k == 1 else None)
    return lines


def plot_ioffe_figure(records, unit: int = 0, seed_index: int = 0, percentiles=percentile_traces):
    """Ioffe & Szegedy 2015, Fig. 1 at small scale: (a) test accuracy, (b, c) percentiles of one
    last-hidden-layer sigmoid's input over training without and with BN.

    ``percentiles(probe, unit)`` computes the (3, n_records) traces (the notebook passes the student's
    function once it passes its check).
    """
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.5), layout="constrained")
    plot_accuracy_curves(axes[0], records)
    axes[0].set_title("(a) BN reaches high accuracy sooner")
    for ax, kind, letter in ((axes[1], "plain", "b"), (axes[2], "batchnorm", "c")):
        run = records[kind][seed_index]
        draw_percentile_traces(
            ax,
            run.probe_steps,
            np.asarray(percentiles(run.probe, unit)),
            KIND_COLORS[kind],
            "median (dotted: 15th, 85th pct)",
        )
        ax.set_title(f"({letter}) {KIND_LABELS[kind]}: input of sigmoid #{unit}, layer 3")
        ax.set_xlabel("training step")
        ax.set_ylabel("sigmoid input (pre-activation)")
        ax.legend(loc="lower left", fontsize=8)
    lo = min(ax.get_ylim()[0] for ax in axes[1:])
    hi = max(ax.get_ylim()[1] for ax in axes[1:])
    for ax in axes[1:]:
        ax.set_ylim(lo, hi)
    return fig


def plot_ics(records, layer_names, kinds=("plain", "batchnorm", "noisy"), layer_pos: int = 1):
    """ICS during training: ‖G − G′‖ (log) and cos(G, G′) of one layer vs step (mean ± std over
    seeds), and the median over training of ‖G − G′‖ / ‖G‖ for every measured layer."""
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.5), layout="constrained")
    for kind in kinds:
        runs = records[kind]
        steps = runs[0].ics_steps
        l2 = np.array([r.ics_l2[:, layer_pos] for r in runs])
        cos = np.array([r.ics_cosine[:, layer_pos] for r in runs])
        _band(axes[0], steps, np.log10(l2), kind)
        _band(axes[1], steps, cos, kind)
    axes[0].set_ylabel("log₁₀ ‖G − G′‖")
    axes[0].set_title(f"{layer_names[layer_pos]}: ‖G − G′‖ is not smaller with BN")
    axes[1].set_ylabel("cos(G, G′)")
    axes[1].set_title(f"{layer_names[layer_pos]}: cos(G, G′) is lower with BN")
    for ax in axes[:2]:
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    width = 0.8 / len(kinds)
    pos = np.arange(len(layer_names))
    for j, kind in enumerate(kinds):
        rel = np.array([np.median(r.ics_l2 / r.ics_grad_norm, axis=0) for r in records[kind]])
        axes[2].bar(
            pos + (j - (len(kinds) - 1) / 2) * width,
            rel.mean(axis=0),
            width,
            yerr=rel.std(axis=0),
            color=KIND_COLORS[kind],
            capsize=3,
            label=KIND_LABELS[kind],
        )
    axes[2].set_xticks(pos, layer_names)
    axes[2].set_ylabel("median ‖G − G′‖ / ‖G‖")
    axes[2].set_title("relative ICS is larger with BN (± std, seeds)")
    axes[2].legend(fontsize=8)
    return fig


def plot_noisy_batchnorm(records, unit: int = 0, seed_index: int = 0, smooth: int = 20):
    """Noisy BN: (a) training loss vs step (moving average, mean ± std over seeds), (b) test accuracy
    vs step, for every network in ``records``; (c) percentiles of one sigmoid's input in the noisy-BN
    net against the BN net."""
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.6), layout="constrained")
    kinds = [k for k in ("plain", "batchnorm", "noisy", "noisy_example") if k in records]
    kernel = np.ones(smooth) / smooth
    for kind in kinds:
        losses = np.array([np.convolve(r.loss, kernel, mode="valid") for r in records[kind]])
        _band(axes[0], np.arange(losses.shape[1]) + smooth, losses, kind)
        runs = records[kind]
        _band(axes[1], runs[0].test_steps, [r.test_accuracy for r in runs], kind)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel(f"training loss (nats, {smooth}-step average)")
    axes[0].set_title("(a) training loss: every BN variant ≪ no BN")
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("test accuracy")
    axes[1].set_ylim(0, 1)
    axes[1].set_title("(b) test accuracy: every BN variant is fast")
    axes[1].legend(fontsize=7.5, loc="lower right")  # one legend for (a) and (b): same colours
    low = np.inf
    for kind in ("batchnorm", "noisy"):
        run = records[kind][seed_index]
        traces = percentile_traces(run.probe, unit)
        low = min(low, traces.min())
        draw_percentile_traces(
            axes[2],
            run.probe_steps,
            traces,
            KIND_COLORS[kind],
            f"{KIND_LABELS[kind]} median (dotted: 15th, 85th pct)",
        )
    axes[2].set_ylim(bottom=low - 2.0)  # room for the legend below the traces
    axes[2].set_xlabel("training step")
    axes[2].set_ylabel("sigmoid input (pre-activation)")
    axes[2].set_title(f"(c) sigmoid #{unit}, layer 3: noisy BN's input jumps")
    axes[2].legend(fontsize=7.5, loc="lower left")
    return fig


def plot_covariate_shift_example(example: CovariateShiftExample, xlim=(-2.2, 2.2)):
    """Covariate shift on a line: (a) the two input distributions, (b) both samples, the common rule
    and the polynomials fitted on each sample."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.4), layout="constrained")
    c_train, c_shift = COLORS["green"], COLORS["orange"]
    bins = np.linspace(*xlim, 45)
    axes[0].hist(example.x_train, bins, density=True, color=c_train, alpha=0.6, label="training inputs")
    axes[0].hist(example.x_shift, bins, density=True, color=c_shift, alpha=0.6, label="shifted inputs")
    axes[0].set_xlabel("input x")
    axes[0].set_ylabel("density")
    axes[0].set_title("(a) P(X) moves")
    axes[0].legend(fontsize=8, loc="upper left")
    grid = np.linspace(*xlim, 300)
    ax = axes[1]
    ax.scatter(example.x_train, example.y_train, s=6, color=c_train, alpha=0.5, label="training sample")
    ax.scatter(example.x_shift, example.y_shift, s=6, color=c_shift, alpha=0.5, label="shifted sample")
    ax.plot(grid, example.rule(grid), color="black", lw=1.5, label="rule E[y|x] = sin 2x (both)")
    ax.plot(grid, np.polyval(example.coef, grid), color=c_train, lw=2, label="fitted on training inputs")
    ax.plot(
        grid,
        np.polyval(example.coef_refit, grid),
        color=c_shift,
        lw=2,
        ls="--",
        label="fitted on shifted inputs",
    )
    ax.set_ylim(-2.5, 2.5)
    ax.set_xlim(*xlim)
    ax.set_xlabel("input x")
    ax.set_ylabel("target y")
    ax.set_title("(b) same rule P(Y|X); the old fit fails on the new inputs")
    ax.legend(fontsize=7.5, loc="lower left", ncols=2)
    return fig
