"""The training-step slider of notebook 04: scrub through precomputed distributions of a sigmoid's input.

:class:`DistributionScrubber` takes the probe records of two runs (no BN / with BN), precomputes one
histogram per record and gives a pure ``update(step) -> readout`` that swaps the histograms
(``StepPatch.set_data``) and moves the cursor lines (``set_xdata``) in place::

    demo = cu.widgets.DistributionScrubber({"plain": run_plain, "batchnorm": run_bn}, unit=0)
    controls = {"step": widgets.IntSlider(value=0, min=0, max=demo.steps[-1], step=demo.step_size)}
    cu.widgets.slider_panel(demo.fig, demo.update, controls)
"""

from __future__ import annotations

import numpy as np

from ..covariate_shift import percentile_traces
from ..plotting.covariate_shift import KIND_COLORS, KIND_LABELS, draw_percentile_traces
from ..plotting.style import new_figure
from .core import blit

__all__ = ["DistributionScrubber"]


class DistributionScrubber:
    """Histograms of one sigmoid's input at a chosen training step, for two or three networks.

    Parameters
    ----------
    runs : dict kind -> RunRecord
        Kinds among "plain", "batchnorm", "noisy" (one run each, recorded at the same steps).
    unit : int
        Which unit of the probed layer.
    bins : int
    value_range : (float, float)
        Histogram range of the sigmoid input; values outside are counted in the end bins.
    """

    def __init__(
        self,
        runs: dict,
        unit: int = 0,
        bins: int = 60,
        value_range=(-3.0, 3.0),
        figsize=(11.0, 3.3),
        dpi: int = 80,
    ):
        if not runs:
            raise ValueError("DistributionScrubber: runs is empty")
        self.kinds = list(runs)
        first = runs[self.kinds[0]]
        self.steps = np.asarray(first.probe_steps)
        for kind in self.kinds:
            if not np.array_equal(runs[kind].probe_steps, self.steps):
                raise ValueError("DistributionScrubber: all runs must be probed at the same steps")
        self.step_size = int(self.steps[1] - self.steps[0]) if len(self.steps) > 1 else 1
        self.unit = int(unit)
        self.edges = np.linspace(*value_range, bins + 1)
        self.hists, self.traces = {}, {}
        for kind in self.kinds:
            values = np.clip(runs[kind].probe[:, :, self.unit], self.edges[0], self.edges[-1])
            self.hists[kind] = np.array([np.histogram(v, self.edges, density=True)[0] for v in values])
            self.traces[kind] = percentile_traces(runs[kind].probe, self.unit)
        self.fig, axes = new_figure(1, 1 + len(self.kinds), figsize=figsize, dpi=dpi)
        ax = axes[0]
        for kind in self.kinds:
            draw_percentile_traces(ax, self.steps, self.traces[kind], KIND_COLORS[kind], KIND_LABELS[kind])
        self.cursor = ax.axvline(self.steps[0], color="black", lw=1)
        ax.set_xlabel("training step")
        ax.set_ylabel("sigmoid input")
        ax.set_title("15/50/85th percentiles")
        low = min(t.min() for t in self.traces.values())
        high = max(t.max() for t in self.traces.values())
        ax.set_ylim(low - 0.1 * (high - low), high + 0.35 * (high - low))  # room for the legend on top
        ax.legend(fontsize=8, loc="upper center", ncols=len(self.kinds))
        self.stairs, self.medians = {}, {}
        for ax, kind in zip(axes[1:], self.kinds, strict=True):
            self.stairs[kind] = ax.stairs(
                self.hists[kind][0], self.edges, fill=True, color=KIND_COLORS[kind], alpha=0.7
            )
            self.medians[kind] = ax.axvline(self.traces[kind][1, 0], color="black", lw=1, ls="--")
            ax.set_xlim(self.edges[0], self.edges[-1])
            # each panel its own density scale; the narrowest records may run off the top
            ax.set_ylim(0, 1.1 * np.percentile(self.hists[kind].max(axis=1), 90))
            ax.set_xlabel("sigmoid input")
            ax.set_ylabel("density")
            ax.set_title(f"{KIND_LABELS[kind]} (dashed: median)")
        self.axes = axes
        dynamic = [self.cursor, *self.stairs.values(), *self.medians.values()]
        blit(self.fig, dynamic)

    def index(self, step) -> int:
        """The record closest to ``step``."""
        return int(np.argmin(np.abs(self.steps - step)))

    def update(self, step) -> str:
        """Show the distributions recorded at (the record nearest to) ``step``."""
        i = self.index(step)
        self.cursor.set_xdata([self.steps[i]] * 2)
        parts = [f"step {self.steps[i]}"]
        for kind in self.kinds:
            self.stairs[kind].set_data(self.hists[kind][i])
            q15, q50, q85 = self.traces[kind][:, i]
            self.medians[kind].set_xdata([q50] * 2)
            parts.append(f"{KIND_LABELS[kind]}: median {q50:+.2f}, 15–85 % range [{q15:+.2f}, {q85:+.2f}]")
        return "\n".join(parts)
