"""The momentum slider of notebook 07: a running mean chasing a drifting batch mean.

:func:`ema_chase_demo` draws the figure once and returns a pure ``update(momentum) -> readout`` that
recomputes the EMA (300-step loops, about a millisecond) and moves one Line2D with
``set_ydata``; the notebook wires it to a slider with :func:`course_utils.widgets.slider_panel`.

Only that one line changes, so the figure gets a :class:`course_utils.widgets.BlitCanvas`: the first
draw renders everything else once and keeps the pixels; every later draw restores them and paints only
the moving line. A redraw then costs about a third of a full one (the PNG encoding is most of what is left).
"""

from __future__ import annotations

import numpy as np

from .. import inference as inf
from ..plotting.style import COLORS, new_figure
from .core import blit

__all__ = ["ema_chase_demo"]


def ema_chase_demo(true_mean, batch_means, momentum: float = 0.1):
    """Figure and update function of the momentum slider.

    Parameters
    ----------
    true_mean, batch_means : ndarray, shape (T,)
        From :func:`course_utils.inference.drifting_batch_means` (precomputed once).
    momentum : float in [0, 1]
        Initial PyTorch momentum.

    Returns
    -------
    fig : matplotlib Figure (Agg, outside pyplot)
    update : callable ``update(momentum) -> str``
        Moves the running-mean line in place and returns the readout text.
    """
    true_mean = np.asarray(true_mean, dtype=float)
    batch_means = np.asarray(batch_means, dtype=float)
    if true_mean.shape != batch_means.shape or true_mean.ndim != 1:
        raise ValueError(
            f"ema_chase_demo: true_mean and batch_means must be 1-D of one shape, got "
            f"{true_mean.shape} and {batch_means.shape}"
        )
    fig, ax = new_figure(figsize=(7.5, 3.6))
    steps = np.arange(len(true_mean))
    ax.plot(steps, batch_means, ".", color=COLORS["grey"], ms=3, label="batch mean (what BN sees)")
    ax.plot(steps, true_mean, color=COLORS["black"], lw=2, label="true mean")
    (line,) = ax.plot(
        steps,
        inf.ema_trajectory(batch_means, momentum),
        color=COLORS["bn"],
        lw=2.2,
        label="running mean (EMA)",
    )
    pad = 0.3
    ax.set_ylim(min(batch_means.min(), true_mean.min()) - pad, max(batch_means.max(), true_mean.max()) + pad)
    ax.set_xlim(0, len(steps) - 1)
    ax.set_xlabel("training step")
    ax.set_ylabel("mean of one channel")
    ax.set_title("The running mean chases the batch mean")
    ax.legend(loc="upper left", fontsize=8)
    blit(fig, [line])  # only the running-mean line is redrawn

    def update(momentum: float) -> str:
        momentum = float(np.clip(momentum, 0.0, 1.0))
        line.set_ydata(inf.ema_trajectory(batch_means, momentum))
        err = inf.ema_tracking_error(true_mean, batch_means, momentum)
        memory = "∞" if momentum == 0 else f"{1 / momentum:,.0f}"
        return (
            f"PyTorch momentum = {momentum:.3g}  ≡  Keras / CS231n / blog momentum = {1 - momentum:.3g}"
            f"   |  memory ≈ 1/momentum = {memory} batches\n"
            f"RMS error vs the true mean: {err['rms']:.3f}   (from lagging the drift: {err['lag']:.3f};  "
            f"from batch noise let through: {err['noise']:.3f})"
        )

    update(momentum)
    return fig, update
