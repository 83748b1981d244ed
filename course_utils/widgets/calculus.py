"""Interactive demos of notebooks 01 and 02: the directional derivative, and feature scaling.

Each builder returns ``(fig, update)``: ``fig`` comes from :func:`course_utils.plotting.new_figure`
with everything expensive (the contours of f, the text) drawn once and cached by
:func:`course_utils.widgets.blit`; ``update(**values)`` only moves existing
artists (``set_data``, ``set_offsets``, ``set_UVC``, ``set_text``) and returns a text readout. The
notebook wires ``update`` to sliders with :func:`course_utils.widgets.slider_panel`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import calculus as C
from ..data import standardize
from ..plotting.style import COLORS, new_figure
from .core import blit

__all__ = ["directional_derivative_demo", "feature_scaling_demo", "FEATURE_SCALING_LEVELS"]


def directional_derivative_demo(extent: float = 3.0, slider_extent: float = 2.5):
    """Contours of :func:`course_utils.calculus.example_f` with u and ∇f at p, and D_u f against θ.

    Left panel: contours (drawn once), the point p, the unit direction u (blue), the gradient ∇f(p)
    (vermillion, drawn to scale in the same units as u), the projection of ∇f onto u — a segment of
    signed length D_u f = ∇f·u (green) — and the tangent to the contour through p (dashed).
    Right panel: D_u f(θ) = ‖∇f‖ cos(θ − θ_∇f) for all θ at this p, with the current θ marked, the
    maximum at θ_∇f and the two zeros (tangent directions).

    Returns
    -------
    fig : Figure
    update : callable ``update(theta, px, py) -> str``
        ``theta`` in degrees; ``(px, py)`` the point p.
    """
    fig, (ax_c, ax_d) = new_figure(1, 2, figsize=(8.6, 3.9))
    contour_panel = _ContourPanel(ax_c, extent)
    cosine_panel = _CosinePanel(ax_d, slider_extent)
    blit(fig, contour_panel.artists + cosine_panel.artists)

    def update(theta=60.0, px=1.2, py=0.3):
        p = np.array([float(px), float(py)])
        u = C.unit_vector(math.radians(float(theta)))
        g = C.example_grad(p)
        d_formula = float(g @ u)
        contour_panel.move(p, u, g, d_formula)
        cosine_panel.move(float(theta), g, d_formula)
        return _directional_readout(p, float(theta), u, g, d_formula)

    update()
    return fig, update


class _ContourPanel:
    """Left panel of :func:`directional_derivative_demo`: contours of f (static), p, u, ∇f, the projection
    of ∇f onto u and the tangent to the contour through p (moved by :meth:`move`)."""

    def __init__(self, ax, extent):
        xs = np.linspace(-extent, extent, 161)
        X, Y = np.meshgrid(xs, xs)
        Z = C.example_f(np.stack([X, Y], axis=-1))
        ax.contour(X, Y, Z, levels=14, cmap="viridis", linewidths=0.9)
        ax.set(
            xlim=(-extent, extent),
            ylim=(-extent, extent),
            xlabel="x",
            ylabel="y",
            aspect="equal",
            title="f(x, y): u (blue), ∇f (red), D_u f (green)",
        )
        (self.tangent,) = ax.plot([], [], "--", color=COLORS["grey"], lw=1.2)
        (self.drop,) = ax.plot([], [], ":", color=COLORS["black"], lw=1.0)
        (self.projection,) = ax.plot(
            [], [], "-", color=COLORS["green"], lw=4, alpha=0.8, solid_capstyle="butt"
        )
        self.arrows = ax.quiver(
            [0, 0],
            [0, 0],
            [1, 1],
            [0, 0],
            color=[COLORS["blue"], COLORS["vermillion"]],
            angles="xy",
            scale_units="xy",
            scale=1,
            width=0.012,
            zorder=4,
        )
        (self.point,) = ax.plot([], [], "o", color=COLORS["black"], ms=5, zorder=5)
        self.artists = [self.tangent, self.drop, self.projection, self.arrows, self.point]

    def move(self, p, u, g, d_formula):
        self.arrows.set_offsets(np.array([p, p]))
        self.arrows.set_UVC(np.array([u[0], g[0]]), np.array([u[1], g[1]]))
        self.point.set_data([p[0]], [p[1]])
        foot = p + d_formula * u
        self.projection.set_data([p[0], foot[0]], [p[1], foot[1]])
        self.drop.set_data([p[0] + g[0], foot[0]], [p[1] + g[1], foot[1]])
        g_norm = float(np.linalg.norm(g))
        if g_norm > 0:
            ends = p + np.outer([-1.2, 1.2], np.array([-g[1], g[0]]) / g_norm)
            self.tangent.set_data(ends[:, 0], ends[:, 1])
        else:
            self.tangent.set_data([], [])


class _CosinePanel:
    """Right panel of :func:`directional_derivative_demo`: D_u f(θ) = ‖∇f‖ cos(θ − θ_∇f) over all θ, its
    bounds ±‖∇f‖, the max/min/zero directions and the current θ (moved by :meth:`move`)."""

    def __init__(self, ax, slider_extent):
        # the largest gradient norm the sliders can reach fixes the y-range once
        ps = np.linspace(-slider_extent, slider_extent, 51)
        PX, PY = np.meshgrid(ps, ps)
        g_max = float(np.linalg.norm(C.example_grad(np.stack([PX, PY], -1)), axis=-1).max())
        self.thetas = np.linspace(0.0, 360.0, 361)
        ax.axhline(0.0, color=COLORS["grey"], lw=0.8)
        (self.curve,) = ax.plot(
            self.thetas, np.zeros_like(self.thetas), color=COLORS["green"], lw=2, label="D_u f(θ) = ∇f·u"
        )
        (self.bounds,) = ax.plot([], [], ":", color=COLORS["vermillion"], lw=1, label="±‖∇f‖")
        (self.special,) = ax.plot(
            [],
            [],
            "x",
            color=COLORS["black"],
            ms=8,
            mew=2,
            ls="none",
            label="θ of ∇f (max), −∇f (min), tangents (0)",
        )
        (self.current,) = ax.plot([], [], "o", color=COLORS["blue"], ms=9, zorder=5, label="current θ")
        ax.set(
            xlim=(0, 360),
            ylim=(-1.15 * g_max, 1.15 * g_max),
            xticks=range(0, 361, 90),
            xlabel="direction θ of u (degrees)",
            ylabel="D_u f (units of f per unit length)",
            title="D_u f is a cosine of amplitude ‖∇f‖",
        )
        ax.legend(loc="lower left", fontsize=7.5)
        self.artists = [self.curve, self.bounds, self.special, self.current]

    def move(self, theta, g, d_formula):
        g_norm = float(np.linalg.norm(g))
        theta_g = math.degrees(math.atan2(g[1], g[0])) % 360.0 if g_norm > 0 else 0.0
        self.curve.set_ydata(g_norm * np.cos(np.radians(self.thetas - theta_g)))
        self.bounds.set_data([0, 360, np.nan, 0, 360], [g_norm, g_norm, np.nan, -g_norm, -g_norm])
        marks = np.array([theta_g, theta_g + 180.0, theta_g + 90.0, theta_g + 270.0]) % 360.0
        self.special.set_data(marks, [g_norm, -g_norm, 0.0, 0.0])
        self.current.set_data([theta % 360.0], [d_formula])


def _directional_readout(p, theta, u, g, d_formula) -> str:
    """The text under the directional-derivative demo: p, θ, ∇f, and D_u f computed two ways."""
    g_norm = float(np.linalg.norm(g))
    d_numeric = C.directional_derivative(C.example_f, p, u)
    alpha = math.degrees(math.acos(max(-1.0, min(1.0, d_formula / g_norm)))) if g_norm > 0 else 0.0
    return (
        f"p = ({p[0]:+.2f}, {p[1]:+.2f})   θ = {theta:5.1f}°"
        f"   ∇f(p) = ({g[0]:+.3f}, {g[1]:+.3f}), ‖∇f‖ = {g_norm:.3f}\n"
        f"D_u f by central difference = {d_numeric:+.4f}    ∇f·u = {d_formula:+.4f}"
        f"    angle(u, ∇f) = {alpha:5.1f}°  (max at 0°, zero at 90°, min at 180°)"
    )


#: excess-loss levels L − L* of the contours drawn by :func:`feature_scaling_demo`
FEATURE_SCALING_LEVELS = (0.02, 0.1, 0.4, 1.5, 5.0, 15.0)


def _ellipse_points(H, w_star, levels, n_points=160):
    """All contour ellipses as one polyline separated by NaNs (one artist)."""
    pieces = []
    for level in levels:
        pieces.append(C.quadratic_ellipse(H, w_star, level, n_points))
        pieces.append(np.full((1, 2), np.nan))
    return np.concatenate(pieces)


def _clip_path(path, box):
    """Keep the iterates up to the first one far outside ``box`` (so a divergent path stays drawable)."""
    (x0, x1), (y0, y1) = box
    span = max(x1 - x0, y1 - y0)
    far = (np.abs(path[:, 0] - (x0 + x1) / 2) > 20 * span) | (np.abs(path[:, 1] - (y0 + y1) / 2) > 20 * span)
    if far.any():
        return path[: int(np.argmax(far)) + 1]
    return path


def _factor(lr_lambda):
    """The per-step factor 1 - η λ of one eigen-direction, readable also when it is 1 - tiny."""
    if 0 < lr_lambda < 1e-2:
        return f"(1 − {lr_lambda:.2g})"
    return f"{1 - lr_lambda:.3g}".replace("-", "−")


def _fmt_steps(k):
    return "never (diverges)" if not math.isfinite(k) else f"{k:,}"


def feature_scaling_demo(n: int = 200, seed: int = 0, steps: int = 100, rel_tol: float = 1e-6):
    """Gradient descent on least squares with raw features (left), z-scored features (middle) and
    both loss curves (right), for a slider-controlled scale of feature 2 and learning rate.

    The data come from :func:`course_utils.calculus.make_scaled_regression`: feature 2 is ``scale``
    times larger than feature 1. Both problems use the *same* learning rate ``lr`` and start from
    zero weights; the iterates are computed in closed form (:func:`course_utils.calculus.gd_quadratic`).

    The left panel plots ``w₂`` zoomed by the scale, i.e. the coordinates ``(w₁, s·w₂)``. Because
    ``X w`` depends on ``w₂`` only through ``s·w₂``, the contours in these coordinates are the same
    ellipses for every scale (drawn once): the scale does not change the fitted model, only how
    gradient descent moves — along ``s·w₂`` each step is ``s²`` times longer than it would be at
    ``s = 1``. Without the zoom the bowl would be a trench ``√κ`` times longer than wide and the path
    a vertical stroke. The readout gives the numbers at every slider position: eigenvalues, κ,
    ``2/λmax``, where ``η`` sits relative to it, the factor by which each eigen-direction's offset is
    multiplied per step (``1 - η λ``; divergence when its size reaches 1) and the exact number of
    steps to reduce the excess loss to ``rel_tol`` of its start. In-figure text is kept to a one-word
    status, because rendering text is most of the cost of a redraw.

    Returns
    -------
    fig : Figure
    update : callable ``update(scale, lr) -> str``
    """
    fig, (ax_raw, ax_std, ax_loss) = new_figure(1, 3, figsize=(11.0, 3.7))
    problem = _scaling_problem(n, seed, rel_tol)
    runs = {
        "raw": _contour_panel(ax_raw, problem.H1, problem.w1_star, _RAW_PANEL),
        "std": _contour_panel(ax_std, problem.H_z, problem.v_star, _STD_PANEL),
    }
    _loss_panel(ax_loss, runs, steps, rel_tol)
    blit(fig, [run[key] for key in ("path", "status", "curve", "cross") for run in runs.values()])

    def update(scale=100.0, lr=4e-5):
        scale, lr = float(scale), float(lr)
        D = np.array([1.0, scale])
        H = np.outer(D, D) * problem.H1  # X = X1 diag(1, s), so H = diag(D) H1 diag(D) and w* = w1* / D
        w_star = problem.w1_star / D
        _draw_run(runs["raw"], H, w_star, lr, steps, D)
        _draw_run(runs["std"], problem.H_z, problem.v_star, lr, steps, np.ones(2))
        k_raw = C.steps_to_tolerance(H, np.zeros(2), w_star, lr, rel_tol)
        k_z = C.steps_to_tolerance(problem.H_z, np.zeros(2), problem.v_star, lr, rel_tol)
        return _readout_text(problem, scale, lr, np.linalg.eigvalsh(H), k_raw, k_z, steps, rel_tol, seed)

    update()
    return fig, update


class _ScalingProblem(NamedTuple):
    """What :func:`feature_scaling_demo` computes once: the s = 1 problem and the z-scored one."""

    H1: np.ndarray  # Hessian and minimizer of the raw problem at scale 1
    w1_star: np.ndarray
    H_z: np.ndarray  # Hessian and minimizer of the z-scored problem (the same at every scale)
    v_star: np.ndarray
    eig_z: np.ndarray
    lr_best_z: float  # 2 / (λmin + λmax) of the z-scored problem, and its steps to tolerance
    k_best_z: float


def _scaling_problem(n, seed, rel_tol) -> _ScalingProblem:
    X1, y = C.make_scaled_regression(n=n, scale=1.0, seed=seed)
    Z = standardize(X1)  # identical for every scale: z-scoring divides the scale out exactly
    H_z = C.least_squares_hessian(Z)
    v_star, _ = C.least_squares_solution(Z, y - y.mean())
    lr_best_z = C.optimal_lr(H_z)
    return _ScalingProblem(
        H1=C.least_squares_hessian(X1),
        w1_star=C.least_squares_solution(X1, y)[0],
        H_z=H_z,
        v_star=v_star,
        eig_z=np.linalg.eigvalsh(H_z),
        lr_best_z=lr_best_z,
        k_best_z=C.steps_to_tolerance(H_z, np.zeros(2), v_star, lr_best_z, rel_tol),
    )


#: How each contour panel of :func:`feature_scaling_demo` looks: view box, path colour, labels.
_RAW_PANEL = dict(
    box=((-0.5, 3.0), (-0.5, 4.0)),
    color=COLORS["vermillion"],
    label="raw",
    xlabel="w₁ (weight of x₁)",
    ylabel="s·w₂ (weight of x₂, zoomed ×s)",
    title="raw features: same contours at every s",
)
_STD_PANEL = dict(
    box=((-0.5, 2.0), (-0.5, 2.0)),
    color=COLORS["blue"],
    label="z-scored",
    xlabel="v₁ (weight of z-scored x₁)",
    ylabel="v₂ (weight of z-scored x₂)",
    title="z-scored features (scale-free)",
)
#: The loss panel's y-range; relative losses are clipped a little beyond it (so a diverged curve stays drawable).
_LOSS_FLOOR, _LOSS_CEILING = 1e-9, 1e4


def _contour_panel(ax, H, w_star, look) -> dict:
    """Draw the static part of one contour panel (ellipses, start, minimum) and return its run's
    artists: ``{"path", "status"}`` plus the panel's ``look`` (``box``, ``color``, ``label``)."""
    (x0, x1), (y0, y1) = look["box"]
    ax.set(
        xlim=(x0, x1),
        ylim=(y0, y1),
        aspect="equal",
        xlabel=look["xlabel"],
        ylabel=look["ylabel"],
        title=look["title"],
    )
    ellipses = _ellipse_points(H, w_star, FEATURE_SCALING_LEVELS)
    ax.plot(ellipses[:, 0], ellipses[:, 1], color=COLORS["sky"], lw=1.0)
    ax.plot([0.0], [0.0], "s", color=COLORS["black"], ms=5)
    ax.plot([w_star[0]], [w_star[1]], "*", color=COLORS["black"], ms=11)
    (path,) = ax.plot([], [], "-o", color=look["color"], lw=1.2, ms=2.5)
    status = ax.text(
        0.03,
        0.97,
        "",
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=9,
        color=COLORS["vermillion"],
        fontweight="bold",
    )
    return {"path": path, "status": status, **look}


def _loss_panel(ax, runs, steps, rel_tol) -> None:
    """Draw the loss panel's axes, tolerance line and legend; add each run's ``curve`` and ``cross``."""
    ax.set(
        xlim=(0, steps),
        ylim=(_LOSS_FLOOR, _LOSS_CEILING),
        yscale="log",
        xlabel="gradient-descent step",
        ylabel="(L − L*) / (L₀ − L*)",
        title=f"loss over the {steps} steps drawn",
    )
    ax.axhline(rel_tol, ls=":", color=COLORS["grey"], lw=1.0)
    ax.text(
        steps * 0.98, rel_tol * 1.6, "tolerance", ha="right", va="bottom", fontsize=8, color=COLORS["grey"]
    )
    for run in runs.values():
        (run["curve"],) = ax.plot([], [], color=run["color"], lw=1.8, label=run["label"])
        (run["cross"],) = ax.plot([], [], "x", color=run["color"], ms=10, mew=2.5)
    ax.plot([], [], "x", color=COLORS["black"], ms=8, mew=2, ls="none", label="diverged (cut)")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)


def _draw_run(run, H, w_star, lr, steps, to_display) -> bool:
    """Move one run's path, loss curve, divergence cross and status to gradient descent at rate ``lr``."""
    path, excess, diverged = C.gd_quadratic(H, w_star, np.zeros(2), lr, steps)
    shown = _clip_path(path * to_display, run["box"])
    run["path"].set_data(shown[:, 0], shown[:, 1])
    relative = np.clip(excess / excess[0], _LOSS_FLOOR * 1e-3, _LOSS_CEILING * 1e3)
    run["curve"].set_data(np.arange(len(relative)), relative)
    if diverged:
        run["cross"].set_data([len(relative) - 1], [min(relative[-1], _LOSS_CEILING * 0.5)])
    else:
        run["cross"].set_data([], [])
    run["status"].set_text("DIVERGES" if diverged else "")
    return diverged


def _readout_line(name, lam, lr, k) -> str:
    """Two lines of the readout for one problem: its eigenvalues, κ, η against 2/λmax, the per-step factors."""
    ratio = lr * lam[1] / 2
    verdict = "DIVERGES" if ratio >= 1 else f"{_fmt_steps(k)} steps to tolerance"
    return (
        f"{name:<9} λ = {lam[0]:.3g}, {lam[1]:.3g}   κ = {lam[1] / lam[0]:.3g}   "
        f"2/λmax = {2 / lam[1]:.3g}   η = {ratio:.3g} × 2/λmax\n"
        f"{'':<9} per step ×{_factor(lr * lam[0])} along the flat axis, "
        f"×{_factor(lr * lam[1])} along the steep axis → {verdict}"
    )


def _readout_text(problem, scale, lr, eig, k_raw, k_z, steps, rel_tol, seed) -> str:
    """The text under the feature-scaling demo (``eig``: eigenvalues of the raw problem at ``scale``)."""
    return (
        f"scale of x₂: s = {scale:.4g}    η = {lr:.3g}    (the same η for both problems, "
        f"{steps} steps drawn; tolerance: L − L* ≤ {rel_tol:g}·(L₀ − L*))\n"
        + _readout_line("raw", eig, lr, k_raw)
        + "\n"
        + f"{'':<9} drawn to scale in (w₁, w₂) this bowl is {math.sqrt(eig[1] / eig[0]):,.0f}× "
        f"longer than wide\n"
        + _readout_line("z-scored", problem.eig_z, lr, k_z)
        + "\n"
        + f"{'':<9} at η = 2/(λmin + λmax) = {problem.lr_best_z:.3g}: {_fmt_steps(problem.k_best_z)} steps "
        f"to tolerance on this data (seed {seed}), the same at every s (z-scoring divides s out)"
    )
