"""Plot helpers for notebook 09 (why does BatchNorm work?). Every helper returns the Figure.

* :func:`plot_landscape_probes` — Santurkar et al.'s three probes over training, ± BN, as bands over
  the step sizes;
* :func:`plot_beta_profile` — the ratio behind the effective β-smoothness against the distance moved,
  for every probe and step size (where the maximum over η comes from);
* :func:`plot_accuracy_sweep` — final test accuracy against a swept setting (learning rate, initial
  weight scale), mean ± std over seeds, with diverged runs drawn as crosses at chance level;
* :func:`plot_paired` — two conditions measured on the same seeds (placement, ± BN), one line per seed;
* :func:`draw_loss_curves` — training-loss curves of several runs on one axis (used by the
  learning-rate demo as well).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS

__all__ = [
    "plot_landscape_probes",
    "plot_beta_profile",
    "plot_accuracy_sweep",
    "plot_paired",
    "smooth_curve",
    "draw_loss_curves",
    "set_loss_curves",
    "LOSS_YLIM",
]

#: y-range of the loss-curve plots; larger losses (divergence) are drawn at the top edge
LOSS_YLIM = (0.02, 20.0)


def _color(label, fallback_index=0):
    label_l = str(label).lower()
    if "bn" in label_l or "batch" in label_l:
        return COLORS["bn"]
    if "plain" in label_l or "none" in label_l or "no norm" in label_l:
        return COLORS["plain"]
    return (COLORS["green"], COLORS["purple"], COLORS["orange"])[fallback_index % 3]


def plot_landscape_probes(traces: dict, title: str | None = None, figsize=(11.0, 3.5)):
    """Three panels over training steps, one band/line per labelled ``ProbeTrace`` (see landscape).

    (a) range of ``L(θ − ηg)`` over the step sizes; (b) range of ``‖∇L(θ − ηg) − ∇L(θ)‖``;
    (c) effective β-smoothness (max over the step sizes of gradient change / parameter change).
    """
    if not traces:
        raise ValueError("plot_landscape_probes: traces must contain at least one ProbeTrace")
    fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained")
    for k, (label, trace) in enumerate(traces.items()):
        color = _color(label, k)
        steps = trace.probe_steps
        for ax, name in zip(axes[:2], ("losses", "grad_changes"), strict=True):
            low, high = trace.band(name)
            ax.fill_between(steps, low, high, color=color, alpha=0.3, lw=0)
            ax.plot(steps, low, color=color, lw=1)
            ax.plot(steps, high, color=color, lw=1, label=label)
        axes[2].plot(steps, trace.beta, color=color, marker="o", ms=3, lw=1.5, label=label)
    etas = next(iter(traces.values())).step_sizes
    axes[0].set(
        xlabel="training step",
        ylabel="loss L(θ − ηg) (nats)",
        title=f"(a) loss along g, η ∈ [{etas.min():.3g}, {etas.max():.3g}]",
    )
    axes[1].set(
        xlabel="training step", ylabel="‖∇L(θ − ηg) − ∇L(θ)‖", title="(b) gradient change (predictiveness)"
    )
    axes[2].set(
        xlabel="training step", ylabel="max over η of ‖Δ∇L‖ / ‖ηg‖", title="(c) effective β-smoothness"
    )
    axes[1].set_yscale("log")
    axes[2].set_ylim(bottom=0)
    axes[0].legend(loc="upper right")
    if title:
        fig.suptitle(title)
    return fig


def plot_beta_profile(traces: dict, title: str | None = None, ax=None):
    """Gradient change per unit distance, ``‖∇L(θ − ηg) − ∇L(θ)‖ / ‖ηg‖``, against the distance ``‖ηg‖``.

    Every probe of every run is a faint dot (one per step size); the line joins, for each step size,
    the median distance and the median ratio over all probes and runs of that label. The effective
    β-smoothness of one probe is the highest of its dots.

    Parameters
    ----------
    traces : dict label -> ProbeTrace or list of ProbeTrace (e.g. one per seed), same step sizes
    """
    if not traces:
        raise ValueError("plot_beta_profile: traces must contain at least one ProbeTrace")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    else:
        fig = ax.figure
    for k, (label, runs) in enumerate(traces.items()):
        runs = list(runs) if isinstance(runs, list | tuple) else [runs]
        if not runs:
            raise ValueError(f"plot_beta_profile: traces[{label!r}] is empty")
        color = _color(label, k)
        ratios = np.concatenate([t.beta_ratios for t in runs])  # (probes, etas)
        dist = np.concatenate([t.grad_norms[:, None] * t.step_sizes[None, :] for t in runs])
        keep = (dist > 0) & (ratios > 0)
        ax.plot(dist[keep], ratios[keep], ".", color=color, alpha=0.25, ms=4)
        ax.plot(
            np.median(dist, axis=0),
            np.median(ratios, axis=0),
            "-o",
            color=color,
            lw=2,
            ms=5,
            label=f"{label}: median per step size",
        )
    ax.plot([], [], ".", color=COLORS["grey"], alpha=0.6, ms=5, label="one probe at one step size")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="distance moved ‖ηg‖ (parameter space, ℓ2)",
        ylabel="‖∇L(θ − ηg) − ∇L(θ)‖ / ‖ηg‖",
    )
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return fig


def plot_accuracy_sweep(
    x,
    accuracies: dict,
    diverged: dict | None = None,
    *,
    xlabel: str,
    chance: float = 0.1,
    title: str | None = None,
    ax=None,
    xscale: str = "log",
):
    """Mean ± std (over seeds) of the final test accuracy against a swept setting.

    Parameters
    ----------
    x : array-like, shape (K,)
        The swept values (learning rates, initial weight scales …).
    accuracies : dict label -> array (K, n_seeds)
    diverged : dict label -> bool array (K, n_seeds), optional
        Diverged seeds are drawn as crosses at ``chance`` (they *are* chance-level models).
    """
    x = np.asarray(x, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
    else:
        fig = ax.figure
    n_labels = len(accuracies)
    for k, (label, acc) in enumerate(accuracies.items()):
        acc = np.asarray(acc, dtype=float)
        if acc.shape[0] != x.size:
            raise ValueError(
                f"plot_accuracy_sweep: accuracies[{label!r}] must have {x.size} rows, got {acc.shape}"
            )
        color = _color(label, k)
        div = np.zeros(acc.shape, bool) if diverged is None else np.asarray(diverged[label], bool)
        # a small horizontal offset keeps the two labels' seed dots apart on a log axis
        shift = 1.0 + 0.06 * (k - (n_labels - 1) / 2)
        xs = x * shift if xscale == "log" else x + (shift - 1.0)
        mean, std = acc.mean(axis=1), acc.std(axis=1, ddof=1) if acc.shape[1] > 1 else np.zeros(len(x))
        ax.errorbar(xs, mean, yerr=std, color=color, marker="o", ms=5, lw=1.8, capsize=3, label=label)
        for i in range(acc.shape[0]):
            ok = ~div[i]
            ax.plot(np.full(ok.sum(), xs[i]), acc[i, ok], ".", color=color, alpha=0.5, ms=4)
            if div[i].any():
                ax.plot(
                    np.full(div[i].sum(), xs[i]), np.full(div[i].sum(), chance), "x", color=color, ms=9, mew=2
                )
    if diverged is not None and any(np.asarray(d).any() for d in diverged.values()):
        ax.plot([], [], "x", color=COLORS["grey"], ms=8, mew=2, label="diverged run (loss → ∞)")
    ax.axhline(chance, color=COLORS["grey"], ls=":", lw=1)
    ax.text(
        1.005,
        chance,
        "chance",
        color=COLORS["grey"],
        fontsize=8,
        va="center",
        transform=ax.get_yaxis_transform(),
    )
    ax.set_xscale(xscale)
    ax.set(xlabel=xlabel, ylabel="final test accuracy", ylim=(0, 1.2), yticks=np.linspace(0, 1, 6))
    ax.legend(loc="upper center", ncol=3, handletextpad=0.4, columnspacing=1.2)
    if title:
        ax.set_title(title)
    return fig


def plot_paired(
    groups: dict,
    labels=("a", "b"),
    *,
    ylabel,
    title: str | None = None,
    sharey: bool = True,
    figsize=None,
    colors=None,
):
    """One panel per group: the two conditions of each seed joined by a grey line, means ± std on top.

    Parameters
    ----------
    groups : dict name -> (values_a, values_b)
        Paired by seed: ``values_a[i]`` and ``values_b[i]`` come from the same seed.
    labels : (str, str)
        Names of the two conditions (x tick labels).
    ylabel : str or sequence of str
        One label for all panels, or one per group.
    colors : (color, color), optional
        Of the two conditions' means; default two neutral colours (pass ``COLORS["plain"], COLORS["bn"]``
        when the conditions are "without / with BN").
    """
    if not groups:
        raise ValueError("plot_paired: groups must not be empty")
    n = len(groups)
    figsize = figsize or (2.6 * n + 0.6, 3.6)
    ylabels = [ylabel] * n if isinstance(ylabel, str) else list(ylabel)
    if len(ylabels) != n:
        raise ValueError(
            f"plot_paired: ylabel must be a string or one label per group ({n}), got {len(ylabels)}"
        )
    fig, axes = plt.subplots(1, n, figsize=figsize, sharey=sharey, layout="constrained", squeeze=False)
    colors = colors or (COLORS["orange"], COLORS["sky"])
    for k, (ax, (name, (a, b))) in enumerate(zip(axes[0], groups.items(), strict=True)):
        a, b = np.asarray(a, float), np.asarray(b, float)
        for va, vb in zip(a, b, strict=True):
            ax.plot([0, 1], [va, vb], color=COLORS["grey"], lw=1, alpha=0.7, marker=".", ms=5)
        for pos, vals, color in ((0, a, colors[0]), (1, b, colors[1])):
            ax.errorbar(
                [pos + (0.12 if pos else -0.12)],
                [vals.mean()],
                yerr=[vals.std(ddof=1)],
                color=color,
                marker="s",
                ms=6,
                capsize=4,
                lw=2,
            )
        ax.set_xticks([0, 1], labels)
        ax.set_xlim(-0.4, 1.4)
        ax.set_title(name, fontsize=10)
        if k == 0 or not sharey:
            ax.set_ylabel(ylabels[k])
    if title:
        fig.suptitle(title)
    return fig


def smooth_curve(values, window: int = 10) -> np.ndarray:
    """Trailing moving average (the first points average what is available), same length as ``values``."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    window = max(1, int(window))
    csum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, values.size + 1)
    start = np.maximum(0, idx - window)
    return (csum[idx] - csum[start]) / (idx - start)


def draw_loss_curves(ax, runs: dict, *, steps: int, window: int = 10, ylim=LOSS_YLIM):
    """Draw training-loss curves on ``ax``; return the artists so a widget can update them in place.

    Parameters
    ----------
    runs : dict label -> list of RunResult (one per seed)
    steps : int
        Length of an undiverged run (fixes the x-axis).

    Returns
    -------
    artists : dict label -> (list of Line2D curves, Line2D of divergence markers)
    """
    artists = {}
    for k, (label, results) in enumerate(runs.items()):
        color = _color(label, k)
        lines = []
        for i, _ in enumerate(results):
            (line,) = ax.plot([], [], color=color, lw=1.3, alpha=0.85, label=label if i == 0 else None)
            lines.append(line)
        (marks,) = ax.plot([], [], "x", color=color, ms=10, mew=2.5, clip_on=False)
        marks.set_in_layout(False)  # an empty unclipped line would break the constrained layout
        artists[label] = (lines, marks)
        set_loss_curves(artists[label], results, window=window, ylim=ylim)
    ax.set_yscale("log")
    ax.set(xlim=(0, steps), ylim=ylim, xlabel="training step", ylabel="training loss (nats, moving avg.)")
    ax.axhline(np.log(10), color=COLORS["grey"], ls=":", lw=1)
    ax.text(steps * 0.99, np.log(10) * 1.1, "chance (ln 10)", color=COLORS["grey"], fontsize=8, ha="right")
    return artists


def set_loss_curves(artist_pair, results, *, window: int = 10, ylim=LOSS_YLIM):
    """Update one label's curves and divergence crosses in place (no new artists)."""
    lines, marks = artist_pair
    mx, my = [], []
    for line, result in zip(lines, results, strict=True):
        y = np.clip(smooth_curve(np.nan_to_num(result.loss, nan=ylim[1], posinf=ylim[1]), window), *ylim)
        line.set_data(np.arange(y.size), y)
        if result.diverged:
            mx.append(result.steps_taken - 1)
            my.append(ylim[1])
    marks.set_data(mx, my)
