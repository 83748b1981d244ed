"""Figures for the batch-normalization notebooks (05 forward and γ/β, 06 backward).

* :class:`GammaBetaPlot` — the γ/β figure: a histogram of one channel's BN output over the sigmoid
  (with σ′) and over the ReLU, with readout boxes; :meth:`GammaBetaPlot.update` moves bars and text in place.
* :func:`plot_gamma_beta_settings` — the same figure for a few fixed (γ, β), for readers without a kernel.
* :func:`draw_batchnorm_graph` — the computational graph of BN with the backward rule of each node.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._validate import as_real_array, check_positive, check_positive_int
from ..batchnorm import NEAR_LINEAR_Z, SATURATED_Z, activation_stats
from ..normalization import batchnorm_forward
from .style import COLORS, new_figure

__all__ = [
    "GammaBetaPlot",
    "plot_gamma_beta_settings",
    "draw_batchnorm_graph",
]

# colours of the γ/β figure (Okabe–Ito): the part of the batch a readout counts is always blue
_IN = COLORS["blue"]  # bars in the near-linear band / bars of active ReLUs
_OUT = COLORS["orange"]  # bars outside the band (the sigmoid bends there)
_OFF = COLORS["grey"]  # bars of ReLUs that are off


def _readout_box(ax, labels, x0=0.02, top=0.975, fontsize=8.5, widest_number="100%"):
    """A white box in the upper-left corner of ``ax`` with one static label per line.

    The box is laid out in points from the anchor (``x0``, ``top``) in axes coordinates, with the label
    widths measured once, so it fits its text at any figure size. Returns the (empty) number Text of
    each line, right-aligned after the labels, for an update to fill.
    """
    from matplotlib.patches import FancyBboxPatch
    from matplotlib.text import Text
    from matplotlib.transforms import Affine2D, ScaledTranslation

    fig = ax.figure
    points = Affine2D().scale(1 / 72) + fig.dpi_scale_trans + ScaledTranslation(x0, top, ax.transAxes)
    renderer = fig.canvas.get_renderer()

    def width_pt(text, **kw):
        return (
            Text(0, 0, text, fontsize=fontsize, figure=fig, **kw).get_window_extent(renderer).width
            * 72
            / fig.dpi
        )

    label_w = max(width_pt(label) for label in labels)
    number_w = width_pt(widest_number, fontweight="bold") * (fontsize + 1) / fontsize  # drawn 1 pt larger
    pad, gap, line = 4.0, 8.0, 1.55 * fontsize
    width, height = pad + label_w + gap + number_w + pad, 2 * pad + line * len(labels)
    ax.add_patch(
        FancyBboxPatch(
            (0, -height),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=3",
            transform=points,
            fc="white",
            ec=COLORS["grey"],
            lw=0.8,
            alpha=0.92,
            zorder=4,
            clip_on=False,
        )
    )
    numbers = []
    for k, label in enumerate(labels):
        y = -pad - (k + 0.5) * line
        ax.text(
            pad,
            y,
            label,
            transform=points,
            ha="left",
            va="center",
            fontsize=fontsize,
            zorder=5,
            clip_on=False,
        )
        numbers.append(
            ax.text(
                width - pad,
                y,
                "",
                transform=points,
                ha="right",
                va="center",
                fontsize=fontsize + 1,
                fontweight="bold",
                zorder=5,
                clip_on=False,
            )
        )
    return tuple(numbers)


class GammaBetaPlot:
    """Histogram of one channel's BN output over a sigmoid (left) and a ReLU (right), updated in place.

    What the reader sees, and what an update moves:

    * bars: the histogram of y = γ·x̂ + β over the channel's m values, as a fraction of the batch per
      bar. Left: blue inside the sigmoid's near-linear band |y| ≤ ln 4 (yellow), orange outside it.
      Right: blue where the ReLU is on (y > 0), grey where it is off. The bin edges include 0 and ±ln 4,
      so the blue bars hold exactly the fraction the readout reports. *(moved by update)*
    * a black step outline: the channel *before* BN (x itself), for comparison; γ = √(σ_B²+ε), β = μ_B puts
      the bars exactly on it.
    * curves (right axis): σ(y) and σ′(y) on the left, ReLU(y) on the right; grey zones mark where the
      sigmoid is saturated (σ < 0.03 or > 0.97) and where the ReLU is off.
    * a readout box in each panel: % in the band, mean σ′, % saturated; % of ReLUs on. *(moved by update)*

    Parameters
    ----------
    axes : sequence of two matplotlib Axes
        Left: sigmoid view; right: ReLU view. Each gets a twin y-axis for the curves.
    x : array_like
        The channel's values before BN (all N·H·W of them, flattened); at least 2 values, not all equal.
    eps : float, default 1e-5
        BN's ε (inside the square root).
    z_lim : float, default 12
        The horizontal axis shows at least [−z_lim, z_lim] (rounded up to whole bars); values outside
        are counted in the edge bars.
    bars_per_band : int, default 4
        Bar width is ln 4 / bars_per_band, so 0 and ±ln 4 are bar edges.
    y_max : float, default 0.3
        Fixed upper limit of the histogram axis (fraction of the batch per bar). A taller bar is
        cut at the top (e.g. γ = 0 puts the whole batch in one bar); the readout still says it all.
    legend : bool, default True
        Draw a legend under each panel.
    titles : (str, str), optional
        Titles of the two panels (defaults name what each panel asks).

    Attributes
    ----------
    mu_B, sigma_B : float
        Batch mean and sqrt(var + eps) of ``x``: with γ = sigma_B (that is √(σ_B²+ε), ε included), β = mu_B BN returns ``x``.
    stairs : list of the four bar artists (sigmoid in/out, ReLU on/off) — the dynamic artists
    readouts : ((Text, Text, Text), (Text,)) — the numbers in the two readout boxes, also dynamic
    curves : list of the artists drawn above the bars (curves and the outline of x)
    values : ndarray — the last BN output drawn
    """

    def __init__(
        self,
        axes,
        x,
        eps: float = 1e-5,
        z_lim: float = 12.0,
        bars_per_band: int = 4,
        y_max: float = 0.3,
        legend: bool = True,
        titles=None,
    ):
        where = "GammaBetaPlot"
        x = as_real_array(x, "x", where).ravel()
        if x.size < 2 or not np.all(np.isfinite(x)):
            raise ValueError(f"{where}: x needs at least 2 finite values, got shape {x.shape}")
        if np.ptp(x) == 0:
            raise ValueError(f"{where}: x is constant; its normalized values are all 0")
        self.eps = check_positive(eps, "eps", where)
        z_lim = check_positive(z_lim, "z_lim", where)
        bars_per_band = check_positive_int(bars_per_band, "bars_per_band", where)
        self.y_max = check_positive(y_max, "y_max", where)
        if len(axes) != 2:
            raise ValueError(f"{where}: axes must be two Axes (sigmoid, ReLU), got {len(axes)}")
        if titles is not None and len(titles) != 2:
            raise ValueError(f"{where}: titles must be two strings (sigmoid, ReLU), got {len(titles)}")
        self.x = x
        _, cache = batchnorm_forward(x.reshape(-1, 1), np.ones(1), np.zeros(1), eps=self.eps)
        self.mu_B = float(cache.mu.item())
        self.sigma_B = float(np.sqrt(cache.var.item() + self.eps))
        self._set_bins(z_lim, bars_per_band)
        self.axes = tuple(axes)

        # back to front: zones, bars (dynamic), the outline of x, then curves and labels on twin axes
        self._draw_zones()
        self._draw_bars()
        self._format_axes(y_max)
        self._draw_outline_of_x()
        self._draw_activation_curves()
        self._label_zones()
        self._draw_titles_and_readouts(titles)
        if legend:
            self._draw_legends()
        self.values = None

    def _set_bins(self, z_lim, bars_per_band):
        """Bar edges: width ln 4 / bars_per_band, so 0 and ±ln 4 are edges; at least [−z_lim, z_lim].

        Also the finer grids an update switches to at small γ (each bar split in 2, 4, 8 or 16), so the
        histogram keeps about three bars per standard deviation of y over the slider's range.
        """
        self.bars_per_band = bars_per_band
        width = NEAR_LINEAR_Z / bars_per_band
        half = int(np.ceil(z_lim / width))
        self.edges = width * np.arange(-half, half + 1)
        self.z_lim = float(self.edges[-1])
        self._grids = {}
        for split in self.SPLITS:
            edges = (width / split) * np.arange(-half * split, half * split + 1)
            centres = 0.5 * (edges[:-1] + edges[1:])
            self._grids[split] = (edges, np.abs(centres) < NEAR_LINEAR_Z, centres > 0)
        _, self._in_band, self._on = self._grids[1]

    #: how many pieces a bar may be split into at small γ
    SPLITS = (1, 2, 4, 8, 16)

    def split_for(self, gamma: float) -> int:
        """Pieces per bar at this γ: about three bars per standard deviation (|γ|) of y, at most 16."""
        width = NEAR_LINEAR_Z / self.bars_per_band
        target = abs(float(gamma)) / 3.0
        if target <= 0:
            return self.SPLITS[-1]
        split = 2.0 ** np.round(np.log2(width / target))
        return int(min(max(split, self.SPLITS[0]), self.SPLITS[-1]))

    def _draw_zones(self):
        """Yellow near-linear band and grey saturated zones (sigmoid); grey ReLU-off zone."""
        ax_sig, ax_relu = self.axes
        ax_sig.axvspan(-NEAR_LINEAR_Z, NEAR_LINEAR_Z, color=COLORS["yellow"], alpha=0.35, lw=0, zorder=0)
        for lo, hi in ((-self.z_lim, -SATURATED_Z), (SATURATED_Z, self.z_lim)):
            ax_sig.axvspan(lo, hi, color=COLORS["grey"], alpha=0.15, lw=0, zorder=0)
        ax_relu.axvspan(-self.z_lim, 0, color=COLORS["grey"], alpha=0.15, lw=0, zorder=0)

    def _draw_bars(self):
        """The four empty bar artists an update fills: sigmoid in/out of the band, ReLU on/off."""
        ax_sig, ax_relu = self.axes
        zero = np.zeros(self.edges.size - 1)
        self.stairs = [
            ax_sig.stairs(
                zero, self.edges, fill=True, color=_IN, alpha=0.85, lw=0, label="y in the near-linear band"
            ),
            ax_sig.stairs(
                zero, self.edges, fill=True, color=_OUT, alpha=0.8, lw=0, label="y outside the band"
            ),
            ax_relu.stairs(zero, self.edges, fill=True, color=_IN, alpha=0.85, lw=0, label="y > 0: ReLU on"),
            ax_relu.stairs(zero, self.edges, fill=True, color=_OFF, alpha=0.8, lw=0, label="y ≤ 0: ReLU off"),
        ]

    def _format_axes(self, y_max):
        for ax in self.axes:
            ax.set_xlim(-self.z_lim, self.z_lim)
            ax.set_ylim(0, y_max)
            ax.set_xlabel("BN output  y = γ·x̂ + β  (pre-activation, unitless)")
            ax.grid(False)
        self.axes[0].set_ylabel("fraction of the batch per bar")

    def _draw_outline_of_x(self):
        """The channel before BN, as a black outline above the bars (zorder) on the histogram's scale."""
        counts_x, _ = np.histogram(np.clip(self.x, self.edges[0], self.edges[-1]), bins=self.edges)
        self.curves = [
            ax.stairs(
                counts_x / self.x.size,
                self.edges,
                fill=False,
                color=COLORS["black"],
                lw=1.0,
                alpha=0.75,
                zorder=3,
                label="channel before BN (x)",
            )
            for ax in self.axes
        ]

    def _draw_activation_curves(self):
        """σ(y), σ′(y) and ReLU(y) on twin y-axes (right scales)."""
        ax_sig, ax_relu = self.axes
        twin_sig = ax_sig.twinx()
        twin_relu = ax_relu.twinx()
        self.twins = (twin_sig, twin_relu)
        z = np.linspace(-self.z_lim, self.z_lim, 241)
        s = expit(z)
        self.curves += twin_sig.plot(z, s, color=COLORS["black"], lw=1.8, label="σ(y)")
        self.curves += twin_sig.plot(
            z, s * (1 - s), color=COLORS["purple"], lw=1.8, ls="--", label="σ′(y)  (at most 0.25)"
        )
        self.curves += twin_relu.plot(z, np.maximum(z, 0), color=COLORS["black"], lw=1.8, label="ReLU(y)")
        twin_sig.set_ylim(0, 1.4)  # headroom above σ = 1 for the readout box and the labels
        twin_sig.set_ylabel("σ(y),  σ′(y)")
        twin_relu.set_ylim(0, self.z_lim * 1.4)
        twin_sig.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        twin_relu.set_yticks(np.arange(0, self.z_lim + 0.01, 4.0))
        twin_relu.set_ylabel("ReLU(y)")
        for twin in self.twins:
            twin.grid(False)

    def _label_zones(self):
        """Direct (static) labels on the near-linear band, the saturated zones and the ReLU-off zone."""
        twin_sig, twin_relu = self.twins
        label = dict(fontsize=8, ha="center", va="center", color="#444444")
        twin_sig.text(
            NEAR_LINEAR_Z + 0.3, 1.22, "← near-linear band\n    0.2 ≤ σ(y) ≤ 0.8", **{**label, "ha": "left"}
        )
        twin_sig.text(-0.5 * (self.z_lim + SATURATED_Z), 0.8, "saturated\nσ < 0.03\nor > 0.97", **label)
        twin_sig.text(0.5 * (self.z_lim + SATURATED_Z), 0.8, "saturated\nσ < 0.03\nor > 0.97", **label)
        twin_relu.text(-0.5 * self.z_lim, 0.8 * self.z_lim, "ReLU off:\noutput 0, no gradient", **label)

    def _draw_titles_and_readouts(self, titles):
        """Panel titles, and the readout boxes: the box and the labels are static, only the numbers are
        redrawn (text is the most expensive thing Agg draws; a few digits cost far less than sentences)."""
        default_titles = (
            "Sigmoid view: where does the batch land on σ(y)?",
            "ReLU view: which units are on?",
        )
        titles = default_titles if titles is None else titles
        self.titles = tuple(ax.set_title(title) for ax, title in zip(self.axes, titles, strict=True))
        twin_sig, twin_relu = self.twins
        self.readouts = (
            _readout_box(
                twin_sig, ["in near-linear band", "mean σ′ (max 0.25)", "saturated"], widest_number="0.000"
            ),
            _readout_box(twin_relu, ["ReLUs on"]),
        )
        # the bar width (finer at small γ) and, if a bar is taller than the axis, its height
        self.bar_note = twin_relu.text(
            0.98, 0.97, "", transform=twin_relu.transAxes, ha="right", va="top", fontsize=8, color="#444444"
        )

    def _draw_legends(self):
        """One legend under each panel, with the bars' and the curves' entries."""
        for ax, twin in zip(self.axes, self.twins, strict=True):
            handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
            ax.legend(
                handles=handles,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.2),
                ncol=3,
                fontsize=8,
                handlelength=1.6,
                columnspacing=1.2,
                frameon=False,
            )

    @property
    def readout_texts(self) -> list:
        """The Text artists an update changes: the readout numbers and the note on the bar width."""
        return [text for box in self.readouts for text in box] + [self.bar_note]

    def transform(self, gamma: float, beta: float) -> np.ndarray:
        """The BN output y = γ·x̂ + β of the channel, computed by :func:`batchnorm_forward` itself."""
        out, _ = batchnorm_forward(
            self.x.reshape(-1, 1), np.array([float(gamma)]), np.array([float(beta)]), eps=self.eps
        )
        return out.ravel()

    def identity_error(self, gamma: float, beta: float) -> float:
        """max |y − x| for these γ, β (0 up to rounding when γ = sigma_B and β = mu_B)."""
        return float(np.max(np.abs(self.transform(gamma, beta) - self.x)))

    def update(self, gamma: float, beta: float) -> str:
        """Move the bars and the readout boxes to BN(x; γ, β); return a text readout."""
        y = self.transform(gamma, beta)
        stats = activation_stats(y)
        split = self.split_for(gamma)
        edges, in_band, on = self._grids[split]
        counts, _ = np.histogram(np.clip(y, edges[0], edges[-1]), bins=edges)
        heights = counts / y.size
        sig_in, sig_out, relu_on, relu_off = self.stairs
        sig_in.set_data(np.where(in_band, heights, 0.0), edges)
        sig_out.set_data(np.where(in_band, 0.0, heights), edges)
        relu_on.set_data(np.where(on, heights, 0.0), edges)
        relu_off.set_data(np.where(on, 0.0, heights), edges)
        note = f"bar width {NEAR_LINEAR_Z / (self.bars_per_band * split):.2g}"
        if heights.max() > self.y_max:
            note += f"\ntallest bar {heights.max():.0%} (cut)"
        self.bar_note.set_text(note)
        (band, grad, saturated), (relu_on_text,) = self.readouts
        band.set_text(f"{stats['near_linear']:.0%}")
        grad.set_text(f"{stats['mean_sigmoid_grad']:.3f}")
        saturated.set_text(f"{stats['saturated']:.0%}")
        relu_on_text.set_text(f"{stats['relu_active']:.0%}")
        self.values = y
        err = float(np.max(np.abs(y - self.x)))
        tag = "  ← identity: BN gave back its input" if err < 1e-9 else ""
        return (
            f"γ = {gamma:.3f}, β = {beta:.3f}   (this channel: μ_B = {self.mu_B:.3f}, "
            f"√(σ_B²+ε) = {self.sigma_B:.3f})\n"
            f"sigmoid: {stats['near_linear']:.1%} in the near-linear band |y| ≤ ln 4, "
            f"mean σ′ = {stats['mean_sigmoid_grad']:.4f}, "
            f"saturated (σ < 0.03 or > 0.97): {stats['saturated']:.1%}"
            f"  ·  ReLU: {stats['relu_active']:.1%} on\n"
            f"max |y − x| = {err:.2g}{tag}"
        )


def plot_gamma_beta_settings(x, settings, eps: float = 1e-5, titles=None):
    """Static version of the γ/β demo: one row (sigmoid view, ReLU view) per ``(gamma, beta)`` setting.

    Parameters
    ----------
    x : array_like
        One channel's values before BN.
    settings : sequence of (gamma, beta)
    eps : float
    titles : sequence of str, optional
        A caption per row, put in front of each row's titles.

    Returns
    -------
    Figure
    """
    settings = [tuple(map(float, s)) for s in settings]
    if not settings or any(len(s) != 2 for s in settings):
        raise ValueError("plot_gamma_beta_settings: settings must be a non-empty list of (gamma, beta)")
    if titles is not None and len(titles) != len(settings):
        raise ValueError("plot_gamma_beta_settings: titles must have one entry per setting")
    n = len(settings)
    fig, axes = new_figure(n, 2, figsize=(10.0, 2.9 * n + 0.5), dpi=80)
    axes = np.atleast_2d(axes)
    for row, (gamma, beta) in enumerate(settings):
        head = f"γ = {gamma:g}, β = {beta:g}"
        if titles is not None:
            head = f"{titles[row]}  ({head})"
        plot = GammaBetaPlot(
            axes[row], x, eps=eps, legend=(row == n - 1), titles=(f"{head}: sigmoid", f"{head}: ReLU")
        )
        plot.update(gamma, beta)
        if row < n - 1:
            for ax in plot.axes:
                ax.set_xlabel("")
    return fig


# ----------------------------------------------------------------------------------------------
# Notebook 06: the computational graph
# ----------------------------------------------------------------------------------------------
_NODES = {
    # name: (x, y, label) — mathtext, in the notation of notebook 06 (s is inv_std in the code)
    "x": (0.8, 2.0, "$x$\n($m$ values)"),
    "mu": (3.0, 3.6, r"$\mu_B = \frac{1}{m}\Sigma_i x_i$"),
    "xmu": (5.0, 2.0, r"$x_\mu = x - \mu_B$"),
    "var": (7.2, 3.6, r"$\sigma_B^2 = \frac{1}{m}\Sigma_i x_{\mu,i}^2$"),
    "inv_std": (9.7, 3.6, "$s = (\\sigma_B^2 + \\epsilon)^{-1/2}$\n(inv_std)"),
    "x_hat": (11.5, 2.0, r"$\hat{x} = x_\mu\, s$"),
    "gamma": (12.9, 0.35, r"$\gamma$"),
    "beta": (14.7, 0.35, r"$\beta$"),
    "y": (13.9, 2.0, r"$y = \gamma\,\hat{x} + \beta$"),
}
_EDGES = [
    # (from, to, backward rule written beside the edge, offset of the rule from the edge's midpoint)
    ("x", "mu", r"$dx$ += $d\mu_B\,/\,m$", (-0.8, 0.1)),
    ("x", "xmu", r"$dx$ += $dx_\mu$", (0.0, -0.32)),
    ("mu", "xmu", r"$d\mu_B = -\Sigma_i dx_{\mu,i}$", (0.95, 0.1)),
    ("xmu", "var", r"$dx_\mu$ += $\frac{2}{m}\,x_\mu\, d\sigma_B^2$", (1.1, -0.15)),
    ("var", "inv_std", r"$d\sigma_B^2 = -\frac{1}{2}(\sigma_B^2+\epsilon)^{-3/2}\, ds$", (0.0, 0.8)),
    ("xmu", "x_hat", r"$dx_\mu = s\, d\hat{x}$", (0.0, -0.32)),
    ("inv_std", "x_hat", r"$ds = \Sigma_i d\hat{x}_i\, x_{\mu,i}$", (1.25, 0.3)),
    ("x_hat", "y", r"$d\hat{x} = \gamma\, dy$", (0.0, 0.6)),
    ("gamma", "y", r"$d\gamma = \Sigma_i dy_i\, \hat{x}_i$", (-1.05, 0.0)),
    ("beta", "y", r"$d\beta = \Sigma_i dy_i$", (0.85, 0.0)),
]


def draw_batchnorm_graph():
    """The computational graph of training-mode BN for one channel, with each node's backward rule.

    Forward edges are black arrows; the text on each edge (vermillion) is the gradient that flows back
    along it, starting from the upstream gradient dy = ∂L/∂y that enters at the output. The labels use
    the notation of notebook 06: x_μ = x − μ_B and s = (σ_B² + ε)^(−1/2) (``xmu`` and ``inv_std`` in
    :func:`course_utils.batchnorm_backward_staged`). The two fan-out points (``x`` feeds μ and x_μ;
    x_μ feeds σ_B² and x̂) are where the backward pass adds two contributions (``+=``). Sums Σ run over
    the m = N·H·W values of the channel.

    Returns
    -------
    Figure
    """
    fig, ax = new_figure(figsize=(12.5, 4.8), dpi=100)
    ax.set_xlim(-0.3, 16.2)
    ax.set_ylim(-0.45, 4.95)
    ax.axis("off")
    boxes = _draw_graph_nodes(ax)
    _draw_graph_edges(ax, boxes)
    _draw_graph_captions(ax)
    return fig


def _draw_graph_nodes(ax) -> dict:
    """One rounded box per node of ``_NODES`` (parameters γ, β small and yellow); returns name → patch."""
    from matplotlib.patches import FancyBboxPatch

    boxes = {}
    for name, (cx, cy, label) in _NODES.items():
        is_param = name in ("gamma", "beta")
        face = COLORS["yellow"] if is_param else ("#dcecf7" if name not in ("x", "y") else "#f2f2f2")
        w, h = (0.6, 0.5) if is_param else (1.75, 0.8)
        if name in ("inv_std", "var"):
            w = 2.1
        box = FancyBboxPatch(
            (cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0.05", fc=face, ec=COLORS["black"], lw=1.0
        )
        ax.add_patch(box)
        ax.text(cx, cy, label, ha="center", va="center", fontsize=12)
        boxes[name] = box
    return boxes


def _draw_graph_edges(ax, boxes: dict) -> None:
    """A black forward arrow per edge of ``_EDGES``, labelled (vermillion) with its backward rule."""
    from matplotlib.patches import FancyArrowPatch

    for src, dst, rule, (dx, dy) in _EDGES:
        x0, y0 = _NODES[src][:2]
        x1, y1 = _NODES[dst][:2]
        arrow = FancyArrowPatch(
            posA=(x0, y0),
            posB=(x1, y1),
            patchA=boxes[src],
            patchB=boxes[dst],
            arrowstyle="-|>",
            mutation_scale=14,
            lw=1.3,
            color=COLORS["black"],
            shrinkA=2,
            shrinkB=2,
        )
        ax.add_patch(arrow)
        mx, my = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
        label_box = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85)
        ax.text(
            mx, my, rule, ha="center", va="center", fontsize=11.5, color=COLORS["vermillion"], bbox=label_box
        )


def _draw_graph_captions(ax) -> None:
    """The upstream gradient dy entering at the output, and the reading guide above and below."""
    from matplotlib.patches import FancyArrowPatch

    red = COLORS["vermillion"]
    ax.add_patch(
        FancyArrowPatch(
            posA=(15.75, 2.0),
            posB=(14.8, 2.0),
            arrowstyle="-|>",
            mutation_scale=14,
            lw=1.6,
            color=red,
            shrinkB=2,
        )
    )
    ax.text(
        15.3,
        2.75,
        "$dy = \\partial L/\\partial y$\nfrom the loss",
        ha="center",
        va="center",
        fontsize=11.5,
        color=red,
    )
    guide = (
        "forward: black arrows, left to right   ·   backward: the red rule on each edge, "
        "right to left   ·   sums Σ run over the m values of the channel"
    )
    ax.text(0.0, 4.9, guide, fontsize=11, va="top", color=COLORS["black"])
    fan_out = "x and x$_\\mu$ each feed two nodes, so their gradients are sums of two paths (the '+=')."
    ax.text(0.0, -0.4, fan_out, fontsize=11, va="bottom", color=COLORS["black"])
