"""Figures of notebook 08 (LayerNorm and friends). Every function returns the Figure it drew.

Figures are built with :func:`course_utils.plotting.style.new_figure` (outside pyplot); display them
with :func:`course_utils.plotting.show`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .. import alternatives as alt
from .style import COLORS, new_figure

__all__ = [
    "METHOD_LABELS",
    "METHOD_COLORS",
    "plot_axes_cubes",
    "plot_batch_size_results",
    "plot_batch_size_sweep",
    "plot_gradient_spikes",
    "plot_renorm_trace",
]

METHOD_LABELS = {
    "batch": "Batch Norm",
    "layer": "Layer Norm",
    "instance": "Instance Norm",
    "group": "Group Norm",
    "renorm": "Batch Renorm",
    "none": "no normalization",
}
METHOD_COLORS = {
    "batch": COLORS["bn"],
    "layer": COLORS["ln"],
    "instance": COLORS["sky"],
    "group": COLORS["gn"],
    "renorm": COLORS["renorm"],
    "none": COLORS["plain"],
}

# oblique projection of the N (depth) axis
_DX, _DY = 0.55, 0.4


def _shade(color, factor):
    """Darken (factor < 1) or lighten (factor > 1, towards white) an RGB colour."""
    rgb = np.array(to_rgb(color))
    if factor <= 1:
        return tuple(rgb * factor)
    return tuple(rgb + (1 - rgb) * (factor - 1))


def _cube_polygons(mask):
    """Polygons and highlight flags of the three visible faces of an (N, C, S) block.

    Front face: sample 0, cells (c, s). Top face: s = S − 1, cells (c, n). Right face: c = C − 1,
    cells (n, s). N recedes into the page along (_DX, _DY).
    """
    N, C, S = mask.shape
    polys, flags, faces = [], [], []
    for c in range(C):
        for s in range(S):
            polys.append([(c, s), (c + 1, s), (c + 1, s + 1), (c, s + 1)])
            flags.append(mask[0, c, s])
            faces.append(0)
    for c in range(C):
        for n in range(N):
            x0, y0 = c + n * _DX, S + n * _DY
            polys.append([(x0, y0), (x0 + 1, y0), (x0 + 1 + _DX, y0 + _DY), (x0 + _DX, y0 + _DY)])
            flags.append(mask[n, c, S - 1])
            faces.append(1)
    for n in range(N):
        for s in range(S):
            x0, y0 = C + n * _DX, s + n * _DY
            polys.append([(x0, y0), (x0 + _DX, y0 + _DY), (x0 + _DX, y0 + 1 + _DY), (x0, y0 + 1)])
            flags.append(mask[n, C - 1, s])
            faces.append(2)
    return polys, np.array(flags), np.array(faces)


def plot_axes_cubes(
    shape=(4, 6, 5),
    num_groups: int = 2,
    sample: int = 0,
    channel: int = 1,
    methods=("batch", "layer", "instance", "group"),
):
    """One (N, C, H·W) block per method with the cells that share one mean and variance filled in.

    The highlighted cells are those of :func:`course_utils.alternatives.shared_statistics_mask` for the
    cell ``(sample, channel)``; each panel's subtitle gives the number of statistics and the number of
    values each one averages (:func:`course_utils.alternatives.statistics_count`).

    Parameters
    ----------
    shape : tuple (N, C, S)
    num_groups : int
        G for Group Norm (must divide C).
    sample, channel : int
        The cell whose statistic is shown.
    methods : sequence of {"batch", "layer", "instance", "group"}

    Returns
    -------
    Figure
    """
    N, C, S = shape
    fig, axes = new_figure(1, len(methods), figsize=(2.6 * len(methods), 3.0), dpi=90)
    axes = np.atleast_1d(axes)
    face_light = (1.0, 0.85, 0.68)  # front, top, right: lit from the front-top
    for ax, method in zip(axes, methods, strict=True):
        mask = alt.shared_statistics_mask(
            method, shape, sample=sample, channel=channel, num_groups=num_groups
        )
        polys, flags, faces = _cube_polygons(mask)
        color = METHOD_COLORS[method]
        facecolors = [
            _shade(color, face_light[f]) if flag else _shade("#FFFFFF", face_light[f])
            for flag, f in zip(flags, faces, strict=True)
        ]
        ax.add_collection(PolyCollection(polys, facecolors=facecolors, edgecolors="#555555", linewidths=0.5))
        ax.set_xlim(-1.2, C + N * _DX + 0.6)
        ax.set_ylim(-1.3, S + N * _DY + 1.0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.annotate(
            "", xy=(C, -0.45), xytext=(0, -0.45), arrowprops=dict(arrowstyle="->", lw=1, color="#333333")
        )
        ax.text(C / 2, -0.75, "C (channels)", ha="center", va="top", fontsize=8)
        ax.annotate(
            "", xy=(-0.45, S), xytext=(-0.45, 0), arrowprops=dict(arrowstyle="->", lw=1, color="#333333")
        )
        ax.text(-0.7, S / 2, "H·W", ha="right", va="center", rotation=90, fontsize=8)
        ax.annotate(
            "",
            xy=(-0.1 + N * _DX, S + 0.25 + N * _DY),
            xytext=(-0.1, S + 0.25),
            arrowprops=dict(arrowstyle="->", lw=1, color="#333333"),
        )
        ax.text(-0.2 + N * _DX / 2, S + 0.45 + N * _DY / 2, "N", ha="right", va="bottom", fontsize=8)
        n_stats, per_stat = alt.statistics_count(method, shape, num_groups)
        name = METHOD_LABELS[method] + (f" (G={num_groups})" if method == "group" else "")
        ax.set_title(f"{name}\n{n_stats} means, each over {per_stat} values", fontsize=9)
    fig.suptitle(
        f"Coloured: the values that share one mean and variance with sample {sample}, "
        f"channel {channel}   (N={N}, C={C}, H·W={S})",
        fontsize=10,
    )
    return fig


def _batch_size_axis(ax, batch_sizes):
    """Batch sizes on a log2 axis, largest on the left (as in Wu & He 2018, Fig. 1)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(batch_sizes, [str(v) for v in batch_sizes])
    ax.invert_xaxis()
    ax.set_xlabel("batch size (examples per step)")


def plot_batch_size_results(result):
    """Left: test error vs batch size per method (mean ± std over seeds), in the style of Wu & He
    (2018, Fig. 1). Right: BN and Batch Renorm on the same test images normalized with running
    statistics (eval mode) vs with mini-batch statistics (training mode).

    Parameters
    ----------
    result : course_utils.alternatives.BatchSizeResult

    Returns
    -------
    Figure
    """
    fig, (ax0, ax1) = new_figure(1, 2, figsize=(9.0, 3.9), dpi=90)
    b = np.array(result.batch_sizes)
    spread = f"mean ± std over {len(result.seeds)} seeds"
    mean, std = result.mean_std("test_accuracy")
    for i, method in enumerate(result.methods):
        ax0.errorbar(
            b,
            100 * (1 - mean[i]),
            yerr=100 * std[i],
            marker="o",
            ms=4,
            capsize=3,
            color=METHOD_COLORS[method],
            label=METHOD_LABELS[method],
        )
    _batch_size_axis(ax0, b)
    ax0.set_ylabel(f"test error (%), {spread}")
    ax0.set_title("BN's error grows as the batch shrinks;\nLN and GN stay flat")
    ax0.legend()
    bmean, bstd = result.mean_std("batch_stat_accuracy")
    for i, method in enumerate(result.methods):
        if method not in ("batch", "renorm"):
            continue
        color = METHOD_COLORS[method]
        ax1.errorbar(
            b,
            100 * mean[i],
            yerr=100 * std[i],
            marker="o",
            ms=4,
            capsize=3,
            color=color,
            label=f"{METHOD_LABELS[method]}: running stats (eval)",
        )
        ax1.errorbar(
            b,
            100 * bmean[i],
            yerr=100 * bstd[i],
            marker="s",
            ms=4,
            capsize=3,
            color=color,
            ls="--",
            label=f"{METHOD_LABELS[method]}: batch stats (train mode)",
        )
    _batch_size_axis(ax1, b)
    ax1.set_ylabel(f"test accuracy (%), {spread}")
    ax1.set_title("Same test images, two modes:\nBN's gap opens at small batches")
    ax1.legend(fontsize=7)
    return fig


def plot_batch_size_sweep(result, title=None):
    """Test error vs batch size per method (mean ± std over seeds, thin lines: single seeds), in the
    style of Wu & He (2018, Fig. 1), for a :class:`course_utils.alternatives.SweepResult`.

    Returns
    -------
    Figure
    """
    fig, ax = new_figure(1, 1, figsize=(6.4, 3.8), dpi=90)
    b = np.array(result.batch_sizes)
    mean, std = result.mean_std()
    for i, method in enumerate(result.methods):
        color = METHOD_COLORS[method]
        ax.plot(b, 100 * (1 - result.test_accuracy[i]), color=color, lw=0.5, alpha=0.25)
        ax.errorbar(
            b,
            100 * (1 - mean[i]),
            yerr=100 * std[i],
            marker="o",
            ms=4,
            capsize=3,
            color=color,
            label=METHOD_LABELS[method],
        )
    _batch_size_axis(ax, b)
    ax.set_ylabel(f"test error (%), mean ± std over {len(result.seeds)} seeds")
    ax.set_title(title or "BN's error grows as the batch shrinks; GN's does not", fontsize=10)
    ax.legend()
    return fig


def plot_renorm_trace(trace, units=(0,)):
    """r and d of Batch Renorm over training for a few units: raw values (thin, grey), clipped values
    used in the forward pass (coloured) and the limits ±d_max, r_max, 1/r_max (dashed).

    Parameters
    ----------
    trace : course_utils.alternatives.RenormTraceHook
        After training.
    units : sequence of int
        Which features of the layer to draw.

    Returns
    -------
    Figure
    """
    fig, (ax0, ax1) = new_figure(1, 2, figsize=(9.0, 3.4), dpi=90)
    steps = np.array(trace.steps)
    r, r_raw, d, d_raw = trace.r, trace.r_raw, trace.d, trace.d_raw
    r_max, d_max = trace.r_max, trace.d_max
    palette = [COLORS["renorm"], COLORS["blue"], COLORS["green"], COLORS["purple"]]
    for k, unit in enumerate(units):
        color = palette[k % len(palette)]
        raw_label = "raw, before the clip" if k == 0 else None
        used_label = "clipped (used)" + (f", unit {unit}" if len(units) > 1 else "")
        ax0.plot(steps, r_raw[:, unit], color=COLORS["grey"], lw=0.8, label=raw_label)
        ax0.plot(steps, r[:, unit], color=color, lw=0.9, label=used_label)
        ax1.plot(steps, d_raw[:, unit], color=COLORS["grey"], lw=0.8, label=raw_label)
        ax1.plot(steps, d[:, unit], color=color, lw=0.9, label=used_label)
    for ax, upper, lower in ((ax0, r_max, 1 / r_max), (ax1, d_max, -d_max)):
        ax.plot(steps, upper, "k--", lw=1, label="clip limits")
        ax.plot(steps, lower, "k--", lw=1)
        ax.set_xlabel("training step")
    ax0.set_yscale("log")
    low = min(np.percentile(r_raw[:, list(units)], 0.5), 1 / r_max.max()) / 1.2
    high = max(np.percentile(r_raw[:, list(units)], 99.5), r_max.max()) * 1.2
    ax0.set_ylim(low, high)
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if low <= t <= high]
    ax0.yaxis.set_major_locator(FixedLocator(ticks))
    ax0.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax0.yaxis.set_minor_locator(NullLocator())
    ax0.set_ylabel(r"$r = \sigma_B/\sigma_{run}$  (log scale)")
    which = f"unit {units[0]}" if len(units) == 1 else "units " + ", ".join(map(str, units))
    ax0.set_title(f"r of {which}: raw (grey) vs clipped (colour)")
    ax1.set_ylabel(r"$d = (\mu_B - \mu_{run})/\sigma_{run}$")
    ax1.set_title(f"d of {which}: raw (grey) vs clipped (colour)")
    ax0.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return fig


def plot_gradient_spikes(
    result, batch_size: int = 2, seed=None, methods=("batch", "group"), layer: int = 0, title=None
):
    """‖∂L/∂W‖ of one Linear layer at every training step, one curve per method (log scale).

    Shows what BN's blocked gradient at batch size 2 looks like in training: tiny almost always, with
    rare spikes of several orders of magnitude (a feature whose two values nearly coincide), against the
    steady gradient of a batch-independent normalization.

    Parameters
    ----------
    result : course_utils.alternatives.BatchSizeResult
    batch_size : int
        One of ``result.batch_sizes``.
    seed : int, optional
        Which run; default the first seed.
    methods : sequence of str
        Methods of ``result`` to draw.
    layer : int
        Index of the Linear layer (0 = the first, whose gradient crosses every normalization).
    title : str, optional
        The finding to state; default names the batch size, seed and layer.

    Returns
    -------
    Figure
    """
    seed = result.seeds[0] if seed is None else seed
    if seed not in result.seeds:
        raise ValueError(f"plot_gradient_spikes: seed must be one of {result.seeds}, got {seed!r}")
    fig, ax = new_figure(1, 1, figsize=(9.0, 3.3), dpi=90)
    for method in methods:
        result.gradient_stats(method, batch_size, layer)  # validates method, batch size and layer
        g = result.grad_norms[(method, batch_size, seed)][:, layer]
        ax.plot(
            np.arange(len(g)),
            g,
            color=METHOD_COLORS[method],
            lw=0.8,
            label=f"{METHOD_LABELS[method]} (median {np.median(g):.2g}, max {g.max():.2g})",
        )
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * (high / low) ** 0.2)  # head-room for the legend above the curves
    ax.set_xlabel("training step")
    ax.set_ylabel(f"‖∂L/∂W‖ of Linear layer {layer + 1}  (log scale)")
    if title is None:
        title = (
            f"Batch size {batch_size}, seed {seed}: the gradient reaching Linear layer {layer + 1} "
            "at each step"
        )
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right", ncols=len(methods), framealpha=0.9)
    return fig
