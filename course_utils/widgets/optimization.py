"""Interactive demos of notebook 09: scrub precomputed runs, never train inside a callback.

* :func:`lr_curves_demo` — a learning-rate slider over a sweep computed beforehand: the training-loss
  curves of every seed, with and without BatchNorm, are swapped in place (``set_data``).
* :func:`step_size_demo` — a step-size slider over precomputed landscape probes: the loss
  ``L(θ − ηg)`` and the gradient change at that η over training, ± BN.

Both figures redraw by **blitting** (:class:`course_utils.widgets.BlitCanvas`): the axes, ticks, labels
and legend are rendered once and cached, and a slider move re-renders only the artists it changed
(marked animated). Text rendering is most of the cost of a full Agg redraw, so this keeps a callback
well under the course's 30 ms budget.
"""

from __future__ import annotations

import numpy as np

from ..plotting.optimization import LOSS_YLIM, draw_loss_curves, set_loss_curves
from ..plotting.style import COLORS, new_figure
from .core import BlitCanvas

__all__ = ["lr_curves_demo", "step_size_demo"]


def _nearest_index(values, value, name, where):
    values = np.asarray(values, dtype=float)
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__}") from exc
    k = int(np.argmin(np.abs(np.log(values) - np.log(max(value, 1e-300)))))
    if not np.isclose(values[k], value, rtol=1e-6):
        raise ValueError(f"{where}: {name}={value} is not one of the precomputed values {values.tolist()}")
    return k


def lr_curves_demo(learning_rates, runs: dict, *, steps: int, window: int = 10, figsize=(7.0, 3.6)):
    """A figure of training-loss curves and ``update(lr) -> readout`` that swaps in another learning rate.

    Parameters
    ----------
    learning_rates : sequence of float, length K
    runs : dict label -> list (length K) of lists of RunResult (one per seed)
        E.g. ``{"plain": [...], "BN": [...]}`` from the notebook's sweep.
    steps : int
        Training steps of an undiverged run.

    Returns
    -------
    fig : Figure (Agg, outside pyplot)
    update : callable
        ``update(lr)`` with ``lr`` one of ``learning_rates``; changes the curves in place and returns
        a text line with each label's final test accuracy (mean ± std) and number of diverged seeds.
    """
    learning_rates = [float(lr) for lr in learning_rates]
    for label, per_lr in runs.items():
        if len(per_lr) != len(learning_rates):
            raise ValueError(
                f"lr_curves_demo: runs[{label!r}] must have one entry per learning rate "
                f"({len(learning_rates)}), got {len(per_lr)}"
            )
    fig, ax = new_figure(figsize=figsize)
    first = {label: per_lr[0] for label, per_lr in runs.items()}
    artists = draw_loss_curves(ax, first, steps=steps, window=window)
    legend = ax.legend(loc="lower left")
    title = ax.set_title("")
    # static note (drawn once into the cached background); the animated title stays short and cheap
    ax.text(
        0.99,
        0.97,
        "× = diverged run",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8,
        color=COLORS["grey"],
    )
    moving = [artist for lines, marks in artists.values() for artist in (*lines, marks)]
    BlitCanvas(fig, [*moving, legend, title])

    def update(lr):
        k = _nearest_index(learning_rates, lr, "lr", "lr_curves_demo.update")
        parts = []
        for label, per_lr in runs.items():
            results = per_lr[k]
            set_loss_curves(artists[label], results, window=window, ylim=LOSS_YLIM)
            acc = np.array([r.test_accuracy for r in results])
            n_div = sum(r.diverged for r in results)
            parts.append(
                f"{label}: test acc {acc.mean():.2f} ± {acc.std(ddof=1) if acc.size > 1 else 0:.2f}"
                f", diverged {n_div}/{len(results)}"
            )
        title.set_text(f"learning rate {learning_rates[k]:g}")
        return f"lr = {learning_rates[k]:g} | " + " | ".join(parts)

    update(learning_rates[0])
    return fig, update


def step_size_demo(traces: dict, figsize=(8.0, 3.4)):
    """Two panels over training and ``update(eta) -> readout`` picking one probed step size.

    Parameters
    ----------
    traces : dict label -> ProbeTrace (all with the same ``step_sizes`` and ``probe_steps``)

    Returns
    -------
    fig, update
        ``update(eta)`` with ``eta`` one of the traces' step sizes.
    """
    labels = list(traces)
    if not labels:
        raise ValueError("step_size_demo: traces must not be empty")
    etas = traces[labels[0]].step_sizes
    for label in labels[1:]:
        if not np.allclose(traces[label].step_sizes, etas):
            raise ValueError("step_size_demo: every trace must use the same step_sizes")
    fig, (ax_loss, ax_grad) = new_figure(1, 2, figsize=figsize)
    lines = {}
    lo_all, hi_all, g_hi = [], [], []
    for k, label in enumerate(labels):
        trace = traces[label]
        color = COLORS["bn"] if "bn" in label.lower() else (COLORS["plain"] if k == 0 else COLORS["green"])
        (l1,) = ax_loss.plot(
            trace.probe_steps, trace.losses[:, 0], color=color, marker="o", ms=3, label=label
        )
        (l2,) = ax_grad.plot(
            trace.probe_steps, trace.grad_changes[:, 0], color=color, marker="o", ms=3, label=label
        )
        lines[label] = (l1, l2)
        lo_all.append(trace.losses.min())
        hi_all.append(trace.losses.max())
        g_hi.append(trace.grad_changes.max())
    lo, hi = min(lo_all), max(hi_all)
    ax_loss.set(
        xlabel="training step", ylabel="L(θ − ηg) (nats)", ylim=(max(lo * 0.8, 1e-3), hi * 1.25), yscale="log"
    )
    positive = [
        t.grad_changes[t.grad_changes > 0].min() for t in traces.values() if np.any(t.grad_changes > 0)
    ]
    g_lo = min(positive) if positive else 1e-3
    ax_grad.set(
        xlabel="training step",
        ylabel="‖∇L(θ − ηg) − ∇L(θ)‖",
        yscale="log",
        ylim=(g_lo * 0.8, max(g_hi) * 1.25),
    )
    legend = ax_loss.legend(loc="upper right")
    title = ax_loss.set_title("")
    ax_grad.set_title("gradient change at this step size")
    BlitCanvas(fig, [line for pair in lines.values() for line in pair] + [legend, title])

    def update(eta):
        k = _nearest_index(etas, eta, "eta", "step_size_demo.update")
        parts = []
        for label in labels:
            trace = traces[label]
            l1, l2 = lines[label]
            l1.set_ydata(trace.losses[:, k])
            l2.set_ydata(trace.grad_changes[:, k])
            parts.append(f"{label}: median gradient change {np.median(trace.grad_changes[:, k]):.3g}")
        title.set_text(f"loss after a step of η = {etas[k]:.3g}")
        return f"η = {etas[k]:.3g} | " + " | ".join(parts)

    update(etas[0])
    return fig, update
