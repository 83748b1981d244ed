"""Figures for the batch-normalization notebooks (05 forward and γ/β, 06 backward).

* :func:`activation_stats` — what a batch of BN outputs does to a sigmoid and to a ReLU.
* :class:`GammaBetaPlot` — the γ/β figure: a histogram of one channel's BN output over the sigmoid
  (with σ′) and over the ReLU; :meth:`GammaBetaPlot.update` moves the bars in place.
* :func:`plot_gamma_beta_settings` — the same figure for a few fixed (γ, β), for readers without a kernel.
* :func:`draw_batchnorm_graph` — the computational graph of BN with the backward rule of each node.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._validate import as_real_array, check_positive, check_positive_int
from ..normalization import batchnorm_forward
from .style import COLORS, new_figure

__all__ = [
    "NEAR_LINEAR_Z",
    "activation_stats",
    "GammaBetaPlot",
    "plot_gamma_beta_settings",
    "draw_batchnorm_graph",
]

#: The sigmoid's "near-linear" band used by the course: σ(z) ∈ [0.2, 0.8] ⇔ |z| ≤ ln 4 ≈ 1.386
#: (the source blog's [0.2, 0.8] claim, read on the output axis).
NEAR_LINEAR_Z = float(np.log(4.0))


def activation_stats(y) -> dict:
    """How a batch of pre-activations ``y`` sits on a sigmoid and on a ReLU.

    Parameters
    ----------
    y : array_like of real numbers (any shape)
        Pre-activations, e.g. one channel's BN output.

    Returns
    -------
    dict with
        ``near_linear`` : fraction of values with σ(y) in [0.2, 0.8] (|y| ≤ ln 4);
        ``mean_sigmoid_grad`` : mean of σ′(y) = σ(y)(1 − σ(y)) (at most 0.25);
        ``saturated`` : fraction with σ′(y) < 0.025, a tenth of its maximum (|y| > 3.64);
        ``relu_active`` : fraction of values > 0 (ReLU units that pass a gradient).
    """
    y = as_real_array(y, "y", "activation_stats")
    if y.size == 0:
        raise ValueError("activation_stats: y must not be empty")
    s = expit(y)
    grad = s * (1.0 - s)
    return {
        "near_linear": float(np.mean(np.abs(y) <= NEAR_LINEAR_Z)),
        "mean_sigmoid_grad": float(grad.mean()),
        "saturated": float(np.mean(grad < 0.025)),
        "relu_active": float(np.mean(y > 0)),
    }


class GammaBetaPlot:
    """Histogram of one channel's BN output over a sigmoid (left) and a ReLU (right), updated in place.

    Parameters
    ----------
    axes : sequence of two matplotlib Axes
        Left: sigmoid view; right: ReLU view. Each gets a twin y-axis for the curves.
    x : array_like
        The channel's values before BN (all N·H·W of them, flattened); at least 2 values, not all equal.
    eps : float, default 1e-5
        BN's ε (inside the square root).
    bins : int, default 60
        Number of histogram bars (fixed; only their heights change).
    z_lim : float, default 12
        The horizontal axis shows [−z_lim, z_lim]; values outside are counted in the edge bars.
    y_max : float, default 0.3
        Fixed upper limit of the histogram axis (fraction of the batch per bar). A taller bar is
        cut at the top (e.g. γ = 0 puts the whole batch in one bar); the readout still says it all.
    dynamic_titles : bool, default True
        Write the readout numbers into the two titles on every update (a full redraw; the slider demo
        turns this off and shows the numbers in its text readout, which is cheaper than drawing text).
    legend : bool, default True
        Draw a legend in each panel.

    Attributes
    ----------
    mu_B, sigma_B : float
        Batch mean and sqrt(var + eps) of ``x``: with γ = sigma_B, β = mu_B BN returns ``x``.
    """

    def __init__(self, axes, x, eps: float = 1e-5, bins: int = 60, z_lim: float = 12.0, y_max: float = 0.3,
                 dynamic_titles: bool = True, legend: bool = True):
        where = "GammaBetaPlot"
        x = as_real_array(x, "x", where).ravel()
        if x.size < 2 or not np.all(np.isfinite(x)):
            raise ValueError(f"{where}: x needs at least 2 finite values, got shape {x.shape}")
        if np.ptp(x) == 0:
            raise ValueError(f"{where}: x is constant; its normalized values are all 0")
        self.eps = check_positive(eps, "eps", where)
        bins = check_positive_int(bins, "bins", where)
        self.z_lim = check_positive(z_lim, "z_lim", where)
        check_positive(y_max, "y_max", where)
        if len(axes) != 2:
            raise ValueError(f"{where}: axes must be two Axes (sigmoid, ReLU), got {len(axes)}")
        self.x = x
        self.dynamic_titles = bool(dynamic_titles)
        _, cache = batchnorm_forward(x.reshape(-1, 1), np.ones(1), np.zeros(1), eps=self.eps)
        self.mu_B = float(cache.mu.item())
        self.sigma_B = float(np.sqrt(cache.var.item() + self.eps))
        self.edges = np.linspace(-self.z_lim, self.z_lim, bins + 1)
        z = np.linspace(-self.z_lim, self.z_lim, 400)
        ax_sig, ax_relu = axes
        self.axes = (ax_sig, ax_relu)
        self.stairs = []
        for ax in self.axes:
            ax.axvline(0, color=COLORS["grey"], lw=0.8, zorder=0)
            stairs = ax.stairs(np.zeros(bins), self.edges, fill=True, color=COLORS["bn"], alpha=0.55,
                               label="BN output histogram")
            self.stairs.append(stairs)
            ax.set_xlim(-self.z_lim, self.z_lim)
            ax.set_ylim(0, y_max)
            ax.set_xlabel("pre-activation  y = γ·x̂ + β  (unitless)")
        ax_sig.set_ylabel("fraction of the batch per bar")
        ax_sig.axvspan(-NEAR_LINEAR_Z, NEAR_LINEAR_Z, color=COLORS["yellow"], alpha=0.25, lw=0,
                       label="near-linear band (0.2 ≤ σ ≤ 0.8)")
        ax_relu.axvspan(0, self.z_lim, color=COLORS["green"], alpha=0.1, lw=0, label="ReLU active (y > 0)")
        twin_sig = ax_sig.twinx()
        s = expit(z)
        twin_sig.plot(z, s, color=COLORS["black"], lw=1.5, label="σ(y)")
        twin_sig.plot(z, s * (1 - s), color=COLORS["vermillion"], lw=1.5, ls="--", label="σ′(y)")
        twin_sig.set_ylim(0, 1.05)
        twin_sig.set_ylabel("σ(y), σ′(y)")
        twin_sig.grid(False)
        twin_relu = ax_relu.twinx()
        twin_relu.plot(z, np.maximum(z, 0), color=COLORS["black"], lw=1.5, label="ReLU(y)")
        twin_relu.set_ylim(0, self.z_lim * 1.05)
        twin_relu.set_ylabel("ReLU(y)")
        twin_relu.grid(False)
        for ax, twin in ((ax_sig, twin_sig), (ax_relu, twin_relu)) if legend else ():
            handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
            twin.legend(handles=handles, loc="upper left", fontsize=7)
        self.twins = (twin_sig, twin_relu)
        self.titles = (ax_sig.set_title("sigmoid view: yellow band = near-linear (0.2 ≤ σ ≤ 0.8)"),
                       ax_relu.set_title("ReLU view: green = active region (y > 0)"))
        self.values = None

    def transform(self, gamma: float, beta: float) -> np.ndarray:
        """The BN output y = γ·x̂ + β of the channel, computed by :func:`batchnorm_forward` itself."""
        out, _ = batchnorm_forward(self.x.reshape(-1, 1), np.array([float(gamma)]), np.array([float(beta)]),
                                   eps=self.eps)
        return out.ravel()

    def identity_error(self, gamma: float, beta: float) -> float:
        """max |y − x| for these γ, β (0 up to rounding when γ = sigma_B and β = mu_B)."""
        return float(np.max(np.abs(self.transform(gamma, beta) - self.x)))

    def update(self, gamma: float, beta: float) -> str:
        """Move the bars to the BN output for (γ, β) and return a one-paragraph readout."""
        y = self.transform(gamma, beta)
        stats = activation_stats(y)
        counts, _ = np.histogram(np.clip(y, -self.z_lim, self.z_lim), bins=self.edges)
        heights = counts / y.size
        for stairs in self.stairs:
            stairs.set_data(heights)
        if self.dynamic_titles:
            self.titles[0].set_text(f"sigmoid: {stats['near_linear']:.0%} in the near-linear band, "
                                    f"mean σ′ = {stats['mean_sigmoid_grad']:.3f}")
            self.titles[1].set_text(f"ReLU: {stats['relu_active']:.0%} of the units active")
        self.values = y
        err = float(np.max(np.abs(y - self.x)))
        tag = "  ← identity recovered" if err < 1e-9 else ""
        return (f"γ = {gamma:.3f}, β = {beta:.3f}   (channel: μ_B = {self.mu_B:.3f}, "
                f"σ_B = √(var+ε) = {self.sigma_B:.3f})\n"
                f"sigmoid: {stats['near_linear']:.1%} of the batch in the near-linear band |y| ≤ ln 4, "
                f"mean σ′ = {stats['mean_sigmoid_grad']:.4f}, "
                f"saturated (σ′ < 0.025): {stats['saturated']:.1%}\n"
                f"ReLU: {stats['relu_active']:.1%} of the units active\n"
                f"max |y − x| = {err:.2g}{tag}")


def plot_gamma_beta_settings(x, settings, eps: float = 1e-5, titles=None):
    """Static version of the γ/β demo: one row (sigmoid view, ReLU view) per ``(gamma, beta)`` setting.

    Parameters
    ----------
    x : array_like
        One channel's values before BN.
    settings : sequence of (gamma, beta)
    eps : float
    titles : sequence of str, optional
        A caption per row, put in front of each row's sigmoid title.

    Returns
    -------
    Figure
    """
    settings = [tuple(map(float, s)) for s in settings]
    if not settings or any(len(s) != 2 for s in settings):
        raise ValueError("plot_gamma_beta_settings: settings must be a non-empty list of (gamma, beta)")
    if titles is not None and len(titles) != len(settings):
        raise ValueError("plot_gamma_beta_settings: titles must have one entry per setting")
    fig, axes = new_figure(len(settings), 2, figsize=(10.0, 3.1 * len(settings)), dpi=80)
    axes = np.atleast_2d(axes)
    for row, (gamma, beta) in enumerate(settings):
        plot = GammaBetaPlot(axes[row], x, eps=eps, legend=(row == 0))  # one legend is enough
        plot.update(gamma, beta)
        head = f"γ = {gamma:g}, β = {beta:g}"
        if titles is not None:
            head = f"{titles[row]} ({head})"
        for title in plot.titles:
            title.set_text(f"{head}\n{title.get_text()}")
            title.set_fontsize(10)
    return fig


# ----------------------------------------------------------------------------------------------
# Notebook 06: the computational graph
# ----------------------------------------------------------------------------------------------
_NODES = {
    # name: (x, y, label)
    "x": (0.8, 2.0, "x\n(m values)"),
    "mu": (3.0, 3.6, "μ = mean(x)"),
    "xmu": (5.0, 2.0, "xμ = x − μ"),
    "var": (7.2, 3.6, "σ² = mean(xμ²)"),
    "inv_std": (9.7, 3.6, "inv_std =\n(σ² + ε)^(−½)"),
    "x_hat": (11.5, 2.0, "x̂ = xμ · inv_std"),
    "gamma": (12.9, 0.35, "γ"),
    "beta": (14.7, 0.35, "β"),
    "y": (13.9, 2.0, "y = γ·x̂ + β"),
}
_EDGES = [
    # (from, to, backward rule written beside the edge, offset of the rule from the edge's midpoint)
    ("x", "mu", "dx += dμ / m", (-0.75, 0.1)),
    ("x", "xmu", "dx += dxμ", (0.0, -0.3)),
    ("mu", "xmu", "dμ = −Σ dxμ", (0.8, 0.1)),
    ("xmu", "var", "dxμ += 2·xμ·dσ² / m", (1.05, -0.1)),
    ("var", "inv_std", "dσ² = −½ (σ²+ε)^(−3/2) · dinv_std", (0.0, 0.75)),
    ("xmu", "x_hat", "dxμ = dx̂ · inv_std", (0.0, -0.3)),
    ("inv_std", "x_hat", "dinv_std = Σ dx̂ · xμ", (1.15, 0.3)),
    ("x_hat", "y", "dx̂ = γ · dy", (0.0, 0.62)),
    ("gamma", "y", "dγ = Σ dy · x̂", (-0.95, 0.0)),
    ("beta", "y", "dβ = Σ dy", (0.75, 0.0)),
]


def draw_batchnorm_graph():
    """The computational graph of training-mode BN for one channel, with each node's backward rule.

    Forward edges are black arrows; the text on each edge (vermillion) is the gradient that flows back
    along it. The two fan-out points (``x`` feeds μ and xμ; xμ feeds σ² and x̂) are where the backward
    pass adds two contributions (``+=``). Sums Σ run over the m = N·H·W values of the channel.

    Returns
    -------
    Figure
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = new_figure(figsize=(12.0, 4.8), dpi=100)
    ax.set_xlim(-0.1, 15.8)
    ax.set_ylim(-0.45, 4.95)
    ax.axis("off")
    boxes = {}
    for name, (cx, cy, label) in _NODES.items():
        is_param = name in ("gamma", "beta")
        face = COLORS["yellow"] if is_param else ("#dcecf7" if name not in ("x", "y") else "#f2f2f2")
        w, h = (0.6, 0.5) if is_param else (1.6, 0.75)
        if name == "inv_std":
            w = 1.9
        box = FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0.05",
                             fc=face, ec=COLORS["black"], lw=1.0)
        ax.add_patch(box)
        ax.text(cx, cy, label, ha="center", va="center", fontsize=9.5)
        boxes[name] = box
    for src, dst, rule, (dx, dy) in _EDGES:
        x0, y0 = _NODES[src][:2]
        x1, y1 = _NODES[dst][:2]
        arrow = FancyArrowPatch(posA=(x0, y0), posB=(x1, y1), patchA=boxes[src], patchB=boxes[dst],
                                arrowstyle="-|>", mutation_scale=14, lw=1.3, color=COLORS["black"],
                                shrinkA=2, shrinkB=2)
        ax.add_patch(arrow)
        mx, my = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
        ax.text(mx, my, rule, ha="center", va="center", fontsize=8.5, color=COLORS["vermillion"],
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    ax.text(0.0, 4.9, "forward: black arrows, left to right   ·   backward: the red rule on each edge, "
            "right to left   ·   Σ over the m values of the channel",
            fontsize=9, va="top", color=COLORS["black"])
    ax.text(0.0, -0.4, "x and xμ each feed two nodes, so their gradients are sums of two paths (the '+=').",
            fontsize=9, va="bottom", color=COLORS["black"])
    return fig
