"""The depth / init-scale slider demo of notebook 03.

:class:`SaturationDemo` builds a figure and a pure ``update(depth, init_scale) -> readout``; the notebook
makes the sliders and calls :func:`course_utils.widgets.slider_panel`::

    demo = cu.widgets.SaturationDemo(X_batch, y_batch)
    controls = {"depth": widgets.IntSlider(value=10, min=1, max=10, description="depth"),
                "init_scale": widgets.FloatLogSlider(value=0.1, base=10, min=-2, max=1,
                                                     description="s_W")}
    cu.widgets.slider_panel(demo.fig, demo.update, controls)

Each change runs one training-mode forward and backward pass of a fresh sigmoid MLP (64 → 100 × depth
→ 10, weights N(0, init_scale²), the same random directions at every scale) with and without BN on
the batch, and updates two heat-map images (per-layer histograms of the sigmoid outputs) and two
lines (per-layer ‖∂L/∂W‖) in place. Computing costs about 2–5 ms; the redraw dominates.
"""

from __future__ import annotations

import numpy as np

from ..plotting.saturation import draw_activation_heatmap, padded_histogram_image
from ..plotting.style import COLORS, new_figure
from ..saturation import forward_backward_diagnostics
from ..training import MLP
from .core import blit

__all__ = ["SaturationDemo"]

GRAD_FLOOR = 1e-16


class SaturationDemo:
    """Figure and update function for the depth / init-scale panel.

    Parameters
    ----------
    X, y : ndarray
        The batch used for the forward/backward pass (e.g. 128 training digits).
    max_depth : int, default 10
    width : int, default 100
    bins : int, default 20
    seed : int, default 0
        Seeds the random weight directions.
    figsize, dpi : figure size.

    Attributes
    ----------
    fig : Figure
    images : dict {"none", "batch"} -> AxesImage
    lines : dict {"none", "batch"} -> Line2D
    """

    def __init__(
        self,
        X,
        y,
        max_depth: int = 10,
        width: int = 100,
        bins: int = 20,
        seed: int = 0,
        figsize=(11.5, 3.4),
        dpi: int = 80,
    ):
        if not 1 <= int(max_depth) <= 30:
            raise ValueError(f"SaturationDemo: max_depth must be in 1..30, got {max_depth}")
        self.X, self.y = np.asarray(X, dtype=float), np.asarray(y)
        self._models = {}
        self.max_depth, self.width, self.bins, self.seed = int(max_depth), int(width), int(bins), seed
        self.fig, axes = new_figure(1, 3, figsize=figsize, dpi=dpi)
        empty = np.zeros((1, self.bins))
        self.images = {
            "none": draw_activation_heatmap(axes[0], empty, self.max_depth, "no BN: sigmoid outputs"),
            "batch": draw_activation_heatmap(axes[1], empty, self.max_depth, "with BN: sigmoid outputs"),
        }
        self.fig.colorbar(
            self.images["batch"], ax=list(axes[:2]), pad=0.01, aspect=30, label="share of outputs"
        )
        ax = axes[2]
        self.lines = {
            "none": ax.plot([], [], "o-", ms=3, color=COLORS["plain"], label="no BN")[0],
            "batch": ax.plot([], [], "o-", ms=3, color=COLORS["bn"], label="with BN")[0],
        }
        ax.set_yscale("log")
        ax.set_ylim(GRAD_FLOOR, 1e6)
        ax.set_xlim(0.5, self.max_depth + 1.5)
        ax.set_xlabel("weight matrix (last = output layer)")
        ax.set_ylabel("‖∂L/∂W‖")
        ax.set_title("gradient norm per layer")
        ax.legend(loc="upper right", fontsize=8, ncols=2)
        self.axes = axes
        for depth in range(1, self.max_depth + 1):  # build every network now, not on the first slider move
            for norm in ("none", "batch"):
                self._model(depth, norm)
        self.update(self.max_depth, 0.1)
        # render axes, ticks and labels once; later redraws paint only the images and the lines
        overlay = [line for a in axes[:2] for line in a.lines]
        blit(self.fig, [*self.images.values(), *self.lines.values(), *overlay])

    def _model(self, depth: int, norm: str):
        """A cached MLP with unit-std weights for this depth; returns (model, its unit weights)."""
        key = (depth, norm)
        if key not in self._models:
            sizes = [self.X.shape[1]] + [self.width] * depth + [int(self.y.max()) + 1]
            model = MLP(sizes, "sigmoid", norm, init_scale=1.0, seed=self.seed)
            self._models[key] = (model, [layer.W.copy() for layer in model.linears])
        return self._models[key]

    def diagnostics(self, depth: int, init_scale: float) -> dict:
        """{"none": ..., "batch": ...} results of :func:`course_utils.saturation.forward_backward_diagnostics`
        for fresh networks of this depth whose weights are ``init_scale`` × the cached unit-std ones."""
        out = {}
        for norm in ("none", "batch"):
            model, unit_weights = self._model(int(depth), norm)
            for layer, W0 in zip(model.linears, unit_weights, strict=True):
                np.multiply(W0, float(init_scale), out=layer.params["W"])
            out[norm] = forward_backward_diagnostics(model, self.X, self.y, self.bins, copy_model=False)
        return out

    def update(self, depth: int, init_scale: float) -> str:
        """Recompute both networks for this depth and initial weight std; update the artists in place."""
        depth = int(np.clip(depth, 1, self.max_depth))
        results = self.diagnostics(depth, init_scale)
        parts = []
        for norm, res in results.items():
            self.images[norm].set_data(padded_histogram_image(res["histograms"], self.max_depth))
            grads = np.maximum(np.nan_to_num(res["grad_norms"], nan=GRAD_FLOOR), GRAD_FLOOR)
            self.lines[norm].set_data(np.arange(1, depth + 2), grads)
            ratio = grads[0] / grads[-1]
            name = "no BN  " if norm == "none" else "with BN"
            parts.append(
                f"{name}: {100 * res['saturated'].mean():5.1f} % saturated, "
                f"‖∂W₁‖/‖∂W_out‖ = {ratio:.1e}, loss {res['loss']:.2f}"
            )
        return f"depth {depth}, s_W = {init_scale:.3g}\n" + "\n".join(parts)
