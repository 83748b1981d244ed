"""The γ/β slider demo of notebook 05 (batch normalization forward pass).

:class:`GammaBetaDemo` gives the notebook a figure, a pure ``update(gamma, beta) -> readout`` and a
button action; the notebook builds the sliders itself and passes everything to
:func:`course_utils.widgets.slider_panel`::

    demo = cu.widgets.GammaBetaDemo(x_channel)
    controls = {"gamma": widgets.FloatSlider(value=1, min=0, max=5, description="γ"),
                "beta": widgets.FloatSlider(value=0, min=-5, max=5, description="β")}
    cu.widgets.slider_panel(demo.fig, demo.update, controls,
                            buttons={"identity": demo.set_identity})  # γ = σ_B, β = μ_B

Speed: the figure has four axes (two twins) and their tick labels, legends, zone labels and titles
cost about 25 ms of text rendering per redraw. None of that changes when a slider moves, so
:class:`course_utils.widgets.BlitCanvas` renders it once and afterwards each redraw pastes those
pixels back and draws only the histogram bars, the two readout boxes and the curves above the bars.
"""

from __future__ import annotations

from ..plotting.batchnorm import GammaBetaPlot
from ..plotting.style import new_figure
from .core import blit

__all__ = ["GammaBetaDemo"]


class GammaBetaDemo:
    """Figure, update function and identity button for the γ/β slider panel of notebook 05.

    Parameters
    ----------
    x : array_like
        One channel's values before BN (e.g. all N·H·W values of a conv channel).
    eps : float, default 1e-5
    figsize : (float, float), default (10, 4)
    dpi : int, default 80

    Attributes
    ----------
    fig : Figure
    plot : :class:`course_utils.plotting.GammaBetaPlot`
    """

    def __init__(self, x, eps: float = 1e-5, figsize=(10.0, 4.0), dpi: int = 80):
        self.fig, axes = new_figure(1, 2, figsize=figsize, dpi=dpi)
        self.plot = GammaBetaPlot(axes, x, eps=eps)
        self.plot.update(1.0, 0.0)
        # the outline of x and the curves are static but must stay above the moving bars
        blit(self.fig, [*self.plot.stairs, *self.plot.readout_texts, *self.plot.curves])

    @property
    def identity_values(self) -> tuple[float, float]:
        """(γ, β) = (√(σ_B²+ε), μ_B), ε included: BN with these returns its input exactly."""
        return self.plot.sigma_B, self.plot.mu_B

    def update(self, gamma: float, beta: float) -> str:
        """Move the histogram to BN(x; γ, β); return the readout (fractions, mean σ′, max |y − x|)."""
        return self.plot.update(gamma, beta)

    def set_identity(self, panel) -> float:
        """Button action: set the panel's 'gamma' and 'beta' sliders to σ_B and μ_B.

        The panel's readout then shows max |y − x| of the BN output computed with the sliders' values.
        Returns that maximum error.
        """
        sigma_B, mu_B = self.identity_values
        panel.controls["gamma"].value = sigma_B
        panel.controls["beta"].value = mu_B
        return self.plot.identity_error(panel.controls["gamma"].value, panel.controls["beta"].value)
