"""The γ/β slider of notebook 00: proves that widgets work and previews what BN's γ and β do.

The pure part is :func:`update_gamma_beta` (``update(plot, gamma, beta) -> readout``), which changes the
histogram bars and the mean line of a :class:`~course_utils.plotting.start.GammaBetaHistogram` in place.
:func:`gamma_beta_demo` wires it to two ipywidgets sliders with :func:`course_utils.widgets.slider_panel`.
"""

from __future__ import annotations

from functools import partial

from ..plotting.start import GammaBetaHistogram
from .core import blit, slider_panel

__all__ = ["update_gamma_beta", "gamma_beta_demo", "GAMMA_RANGE", "BETA_RANGE"]

#: slider ranges (min, max, step) of the demo
GAMMA_RANGE = (-3.0, 3.0, 0.05)
BETA_RANGE = (-5.0, 5.0, 0.1)


def update_gamma_beta(plot: GammaBetaHistogram, gamma: float, beta: float) -> str:
    """Show ``y = gamma·x̂ + beta`` on ``plot`` (artists changed in place) and return the readout text."""
    return plot.set_params(float(gamma), float(beta))


def gamma_beta_demo(x_hat, gamma: float = 1.0, beta: float = 0.0):
    """A slider panel with γ ∈ [−3, 3] and β ∈ [−5, 5] over the histogram of ``γ·x̂ + β``.

    Returns
    -------
    SliderPanel
        Display it (it is the last expression of a cell, or ``display(panel)``); ``panel.controls``
        holds the sliders ``"gamma"`` and ``"beta"``, and a "reset" button sets γ = 1, β = 0.
    """
    import ipywidgets as widgets

    plot = GammaBetaHistogram(
        x_hat,
        gamma_max=max(abs(GAMMA_RANGE[0]), GAMMA_RANGE[1]),
        beta_max=max(abs(BETA_RANGE[0]), BETA_RANGE[1]),
    )
    layout = widgets.Layout(width="330px")
    controls = {
        "gamma": widgets.FloatSlider(
            value=gamma,
            min=GAMMA_RANGE[0],
            max=GAMMA_RANGE[1],
            step=GAMMA_RANGE[2],
            description="γ (scale)",
            continuous_update=True,
            layout=layout,
        ),
        "beta": widgets.FloatSlider(
            value=beta,
            min=BETA_RANGE[0],
            max=BETA_RANGE[1],
            step=BETA_RANGE[2],
            description="β (shift)",
            continuous_update=True,
            layout=layout,
        ),
    }

    def reset(panel):
        panel.controls["gamma"].value = 1.0
        panel.controls["beta"].value = 0.0

    # ticks, labels and the reference outline never change: only the bars and the mean line are redrawn
    blit(plot.fig, [plot.bars, plot.mean_line])
    panel = slider_panel(
        plot.fig, partial(update_gamma_beta, plot), controls, buttons={"reset γ=1, β=0": reset}
    )
    panel.plot = plot
    return panel
