"""Interactive demo of notebook 08: Batch Renorm's clip limits r_max and d_max.

``renorm_clip_view(trace)`` returns a figure and a pure ``update(r_max, d_max) -> str`` that moves the
clip limits over the r and d recorded during a real training run and re-clips them in place
(``set_ydata``); the notebook wires it to two sliders with :func:`course_utils.widgets.slider_panel`.
"""

from __future__ import annotations

import numpy as np

from .. import alternatives as alt
from ..plotting.style import COLORS, new_figure
from .core import blit

__all__ = ["renorm_clip_view"]


def _plain_log_ticks(ax):
    """Readable ticks (0.2, 0.5, 1, 2, 5, …) on a log-scaled y axis, no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())


def renorm_clip_view(trace, unit: int = 0, r_range=(1.0, 5.0), d_range=(0.0, 3.0)):
    """Figure + update function for the r_max / d_max sliders.

    The raw corrections ``r = σ_B/σ_run`` and ``d = (μ_B − μ_run)/σ_run`` recorded by a
    :class:`course_utils.alternatives.RenormTraceHook` are drawn in grey; the coloured curves are the same
    values clipped with the slider's limits, which is what Batch Renorm would feed forward. The readout
    gives, over all units of the layer, the share of (step, unit) pairs where each clip is active —
    r_max = 1, d_max = 0 is plain batch norm (always clipped to r = 1, d = 0); large limits give the
    full correction, i.e. the inference-time normalization.

    Only the clipped curves and the limit lines are redrawn on a slider move; everything else is frozen
    pixels (:class:`course_utils.widgets.BlitCanvas`).

    (The raw values come from one training run; other limits would have changed that run a little. The
    demo shows what the clip does to the corrections, not a re-training.)

    Parameters
    ----------
    trace : RenormTraceHook
        After training.
    unit : int
        Which feature to draw.
    r_range, d_range : tuple
        Slider ranges, used to fix the y-limits so the axes never jump.

    Returns
    -------
    fig : Figure
    update : callable ``update(r_max, d_max) -> str``
    """
    r_raw, d_raw = trace.r_raw, trace.d_raw
    if r_raw.size == 0:
        raise ValueError("renorm_clip_view: the trace is empty (train with the hook first)")
    if not 0 <= unit < r_raw.shape[1]:
        raise ValueError(f"renorm_clip_view: unit must be in [0, {r_raw.shape[1]}), got {unit}")
    steps = np.array(trace.steps)
    fig, (ax_r, ax_d) = new_figure(1, 2, figsize=(8.4, 3.3), dpi=90)
    ax_r.plot(steps, r_raw[:, unit], color=COLORS["grey"], lw=0.6, label=r"raw $\sigma_B/\sigma_{run}$")
    (line_r,) = ax_r.plot(steps, r_raw[:, unit], color=COLORS["renorm"], lw=1.1, label="clipped r")
    upper_r = ax_r.axhline(1.0, color="k", ls="--", lw=1)
    lower_r = ax_r.axhline(1.0, color="k", ls="--", lw=1)
    ax_r.set_yscale("log")
    low = min(1 / r_range[1], np.percentile(r_raw[:, unit], 1)) / 1.2
    high = max(r_range[1], np.percentile(r_raw[:, unit], 99)) * 1.2
    ax_r.set_ylim(low, high)
    _plain_log_ticks(ax_r)
    ax_r.set_xlabel("training step")
    ax_r.set_ylabel("r (log scale)")
    ax_r.legend(fontsize=8, loc="lower right", framealpha=0.9)
    ax_d.plot(
        steps, d_raw[:, unit], color=COLORS["grey"], lw=0.6, label=r"raw $(\mu_B - \mu_{run})/\sigma_{run}$"
    )
    (line_d,) = ax_d.plot(steps, d_raw[:, unit], color=COLORS["blue"], lw=1.1, label="clipped d")
    upper_d = ax_d.axhline(0.0, color="k", ls="--", lw=1)
    lower_d = ax_d.axhline(0.0, color="k", ls="--", lw=1)
    span = max(d_range[1], np.percentile(np.abs(d_raw[:, unit]), 99)) * 1.15
    ax_d.set_ylim(-span, span)
    ax_d.set_xlabel("training step")
    ax_d.set_ylabel("d")
    ax_d.legend(fontsize=8, loc="lower right", framealpha=0.9)
    # Titles state what the recorded run shows; they do not depend on the sliders (redrawing text on every
    # move would triple the callback time), the readout gives the share clipped at the current limits.
    r_lo, r_hi = np.percentile(r_raw[:, unit], [5, 95])
    ax_r.set_title(
        rf"raw $r = \sigma_B/\sigma_{{run}}$ (grey) spans {r_lo:.1f} to {r_hi:.1f} (5–95 %);"
        "\n"
        r"the clip (colour) holds it in [1/$r_{max}$, $r_{max}$]",
        fontsize=10,
    )
    ax_d.set_title(
        rf"raw $d = (\mu_B - \mu_{{run}})/\sigma_{{run}}$ (grey) stays within ±{np.abs(d_raw[:, unit]).max():.1f};"
        "\n"
        r"only a $d_{max}$ below that clips it (colour)",
        fontsize=10,
    )
    dynamic = [line_r, line_d, upper_r, lower_r, upper_d, lower_d]

    def update(r_max: float = 3.0, d_max: float = 5.0) -> str:
        r_max = float(max(r_max, 1.0))
        d_max = float(max(d_max, 0.0))
        r_all, d_all = alt.clip_renorm(r_raw, d_raw, r_max, d_max)
        line_r.set_ydata(r_all[:, unit])
        line_d.set_ydata(d_all[:, unit])
        upper_r.set_ydata([r_max, r_max])
        lower_r.set_ydata([1 / r_max, 1 / r_max])
        upper_d.set_ydata([d_max, d_max])
        lower_d.set_ydata([-d_max, -d_max])
        r_clipped = float(np.mean(r_all != r_raw))
        d_clipped = float(np.mean(d_all != d_raw))
        return (
            f"r_max = {r_max:.2f}, d_max = {d_max:.2f}: r is clipped in {100 * r_clipped:.0f}% and d in "
            f"{100 * d_clipped:.0f}% of the (step, unit) pairs of this layer"
        )

    update()
    # Axes, ticks, labels and the grey raw curves never change: render them once (about 5x faster redraws).
    blit(fig, dynamic)
    return fig, update
