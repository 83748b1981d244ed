"""Interactive demos of notebooks 01 and 02: the directional derivative, and feature scaling.

Each builder returns ``(fig, update)``: ``fig`` comes from :func:`course_utils.plotting.new_figure`
with everything expensive (the contours of f) drawn once; ``update(**values)`` only moves existing
artists (``set_data``, ``set_offsets``, ``set_UVC``, ``set_text``) and returns a text readout. The
notebook wires ``update`` to sliders with :func:`course_utils.widgets.slider_panel`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.artist import Artist

from .. import calculus as C
from ..data import standardize
from ..plotting.style import COLORS, new_figure

__all__ = ["directional_derivative_demo", "feature_scaling_demo", "FEATURE_SCALING_LEVELS"]


class _Background(Artist):
    """A pre-rendered RGBA picture of the whole figure, blitted as is (no resampling)."""

    def __init__(self, rgba):
        super().__init__()
        self._rgba = np.ascontiguousarray(rgba[::-1])  # Agg's draw_image counts rows from the bottom

    def draw(self, renderer):
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, self._rgba)
        gc.restore()


def _freeze_background(fig, dynamic):
    """Render everything but ``dynamic`` once and keep it as a picture behind the dynamic artists.

    Axes, tick labels, legends and contours never change in these demos, yet re-rendering their
    text is most of the cost of a redraw (about 45 of 55 ms here). After this call the figure draws
    one background image (about 0.4 ms) plus the dynamic artists. The layout is frozen first (axes must
    not move once their pixels are baked in), and the figure must be rendered at its own dpi, which
    :func:`course_utils.plotting.figure_to_png` does.
    """
    dynamic = list(dynamic)
    for artist in dynamic:
        artist.set_visible(False)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    background = np.asarray(fig.canvas.buffer_rgba()).copy()
    for ax in fig.axes:
        for child in ax.get_children():
            if all(child is not artist for artist in dynamic):
                child.set_visible(False)
    fig.patch.set_visible(False)
    fig.add_artist(_Background(background)).set_zorder(-10)
    for artist in dynamic:
        artist.set_visible(True)


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
    xs = np.linspace(-extent, extent, 161)
    X, Y = np.meshgrid(xs, xs)
    Z = C.example_f(np.stack([X, Y], axis=-1))
    ax_c.contour(X, Y, Z, levels=14, cmap="viridis", linewidths=0.9)
    ax_c.set(xlim=(-extent, extent), ylim=(-extent, extent), xlabel="x", ylabel="y", aspect="equal",
             title="f(x, y): u (blue), ∇f (red), D_u f (green)")
    tangent, = ax_c.plot([], [], "--", color=COLORS["grey"], lw=1.2)
    drop, = ax_c.plot([], [], ":", color=COLORS["black"], lw=1.0)
    projection, = ax_c.plot([], [], "-", color=COLORS["green"], lw=4, alpha=0.8, solid_capstyle="butt")
    arrows = ax_c.quiver([0, 0], [0, 0], [1, 1], [0, 0], color=[COLORS["blue"], COLORS["vermillion"]],
                         angles="xy", scale_units="xy", scale=1, width=0.012, zorder=4)
    point, = ax_c.plot([], [], "o", color=COLORS["black"], ms=5, zorder=5)

    # the largest gradient norm the sliders can reach fixes the right panel's y-range once
    ps = np.linspace(-slider_extent, slider_extent, 51)
    PX, PY = np.meshgrid(ps, ps)
    g_max = float(np.linalg.norm(C.example_grad(np.stack([PX, PY], -1)), axis=-1).max())
    thetas = np.linspace(0.0, 360.0, 361)
    ax_d.axhline(0.0, color=COLORS["grey"], lw=0.8)
    curve, = ax_d.plot(thetas, np.zeros_like(thetas), color=COLORS["green"], lw=2,
                       label="D_u f(θ) = ∇f·u")
    bounds, = ax_d.plot([], [], ":", color=COLORS["vermillion"], lw=1, label="±‖∇f‖")
    special, = ax_d.plot([], [], "x", color=COLORS["black"], ms=8, mew=2, ls="none",
                         label="θ of ∇f (max), −∇f (min), tangents (0)")
    current, = ax_d.plot([], [], "o", color=COLORS["blue"], ms=9, zorder=5, label="current θ")
    ax_d.set(xlim=(0, 360), ylim=(-1.15 * g_max, 1.15 * g_max), xticks=range(0, 361, 90),
             xlabel="direction θ of u (degrees)", ylabel="D_u f (units of f per unit length)",
             title="D_u f is a cosine of amplitude ‖∇f‖")
    ax_d.legend(loc="lower left", fontsize=7.5)
    _freeze_background(fig, [tangent, drop, projection, arrows, point, curve, bounds, special, current])

    def update(theta=60.0, px=1.2, py=0.3):
        p = np.array([float(px), float(py)])
        u = C.unit_vector(math.radians(float(theta)))
        g = C.example_grad(p)
        g_norm = float(np.linalg.norm(g))
        d_formula = float(g @ u)
        d_numeric = C.directional_derivative(C.example_f, p, u)
        arrows.set_offsets(np.array([p, p]))
        arrows.set_UVC(np.array([u[0], g[0]]), np.array([u[1], g[1]]))
        point.set_data([p[0]], [p[1]])
        foot = p + d_formula * u
        projection.set_data([p[0], foot[0]], [p[1], foot[1]])
        drop.set_data([p[0] + g[0], foot[0]], [p[1] + g[1], foot[1]])
        if g_norm > 0:
            t_dir = np.array([-g[1], g[0]]) / g_norm
            ends = p + np.outer([-1.2, 1.2], t_dir)
            tangent.set_data(ends[:, 0], ends[:, 1])
            theta_g = math.degrees(math.atan2(g[1], g[0])) % 360.0
        else:
            tangent.set_data([], [])
            theta_g = 0.0
        curve.set_ydata(g_norm * np.cos(np.radians(thetas - theta_g)))
        bounds.set_data([0, 360, np.nan, 0, 360], [g_norm, g_norm, np.nan, -g_norm, -g_norm])
        marks = np.array([theta_g, theta_g + 180.0, theta_g + 90.0, theta_g + 270.0]) % 360.0
        special.set_data(marks, [g_norm, -g_norm, 0.0, 0.0])
        current.set_data([float(theta) % 360.0], [d_formula])
        alpha = math.degrees(math.acos(max(-1.0, min(1.0, d_formula / g_norm)))) if g_norm > 0 else 0.0
        return (f"p = ({p[0]:+.2f}, {p[1]:+.2f})   θ = {float(theta):5.1f}°"
                f"   ∇f(p) = ({g[0]:+.3f}, {g[1]:+.3f}), ‖∇f‖ = {g_norm:.3f}\n"
                f"D_u f by central difference = {d_numeric:+.4f}    ∇f·u = {d_formula:+.4f}"
                f"    angle(u, ∇f) = {alpha:5.1f}°  (max at 0°, zero at 90°, min at 180°)")

    update()
    return fig, update


#: excess-loss levels L − L* of the contours drawn by :func:`feature_scaling_demo`
FEATURE_SCALING_LEVELS = (0.02, 0.1, 0.4, 1.5, 5.0, 15.0)


def _ellipse_points(H, w_star, levels, n_points=160):
    """All contour ellipses as one polyline separated by NaNs (one artist to update)."""
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


def feature_scaling_demo(n: int = 200, seed: int = 0, steps: int = 100, rel_tol: float = 1e-6):
    """Gradient descent on least squares with raw features (left) and z-scored features (right).

    The data come from :func:`course_utils.calculus.make_scaled_regression`: feature 2 is ``scale``
    times larger than feature 1. Both panels use the *same* learning rate ``lr`` and start from zero
    weights. Contours are the exact ellipses of the quadratic loss at the excess levels
    :data:`FEATURE_SCALING_LEVELS`, redrawn as lines (no contouring on slider moves). The z-scored
    problem does not depend on ``scale`` at all, so its panel only reacts to ``lr``.

    Returns
    -------
    fig : Figure
    update : callable ``update(scale, lr) -> str``
    """
    fig, (ax_raw, ax_std) = new_figure(1, 2, figsize=(8.6, 4.0))
    boxes = {"raw": ((-0.5, 3.0), (-0.5, 4.0)), "std": ((-0.5, 2.0), (-0.5, 2.0))}
    artists = {}
    for key, ax, xlabel, ylabel, title in (
            ("raw", ax_raw, "w₁ (weight of x₁)", "w₂ (weight of x₂)", "raw features"),
            ("std", ax_std, "v₁ (weight of z-scored x₁)", "v₂ (weight of z-scored x₂)",
             "z-scored features (independent of the scale)")):
        (x0, x1), (y0, y1) = boxes[key]
        ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", xlabel=xlabel, ylabel=ylabel, title=title)
        contours, = ax.plot([], [], color=COLORS["sky"], lw=1.0)
        path, = ax.plot([], [], "-o", color=COLORS["vermillion"], lw=1.2, ms=2.5)
        start, = ax.plot([0.0], [0.0], "s", color=COLORS["black"], ms=5)
        optimum, = ax.plot([], [], "*", color=COLORS["black"], ms=11)
        status = ax.text(0.03, 0.97, "", transform=ax.transAxes, va="top", ha="left", fontsize=8.5,
                         bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.85))
        artists[key] = (contours, path, optimum, status, start)

    X1, y = C.make_scaled_regression(n=n, scale=1.0, seed=seed)
    y_centred = y - y.mean()
    Z = standardize(X1)  # identical for every scale: z-scoring removes it exactly
    problems = {"std": (C.least_squares_hessian(Z), *C.least_squares_solution(Z, y_centred), Z, y_centred)}
    _freeze_background(fig, [artist for key in artists for artist in artists[key][:4]])
    std_ellipses = _ellipse_points(problems["std"][0], problems["std"][1], FEATURE_SCALING_LEVELS)
    artists["std"][0].set_data(std_ellipses[:, 0], std_ellipses[:, 1])
    artists["std"][2].set_data([problems["std"][1][0]], [problems["std"][1][1]])

    def _run(key, H, w_star, Xd, yd, lr):
        contours, path_line, optimum, status, _ = artists[key]
        path, losses, diverged = C.gd_least_squares(Xd, yd, lr, steps)
        shown = _clip_path(path, boxes[key])
        path_line.set_data(shown[:, 0], shown[:, 1])
        lam_max = float(np.linalg.eigvalsh(H)[-1])
        k_tol = C.steps_to_tolerance(H, np.zeros(2), w_star, lr, rel_tol)
        ratio = lr * lam_max / 2
        if diverged or not math.isfinite(k_tol):
            growth = abs(1 - lr * lam_max)
            text = (f"DIVERGES: loss ×{growth**2:.3g} per step" if growth >= 1
                    else "stalls: > 1e15 steps to tolerance")
            status.set_color(COLORS["vermillion"])
        else:
            text = f"{k_tol:,} steps to tolerance"
            status.set_color(COLORS["black"])
        text += f"\nη = {ratio:.3g} × 2/λmax"
        status.set_text(text)
        return k_tol, lam_max, diverged

    def update(scale=100.0, lr=1e-3):
        scale, lr = float(scale), float(lr)
        X = X1 * np.array([1.0, scale])
        H = C.least_squares_hessian(X)
        w_star, _ = C.least_squares_solution(X, y)
        ellipses = _ellipse_points(H, w_star, FEATURE_SCALING_LEVELS)
        artists["raw"][0].set_data(ellipses[:, 0], ellipses[:, 1])
        artists["raw"][2].set_data([w_star[0]], [w_star[1]])
        k_raw, lam_raw, _ = _run("raw", H, w_star, X, y, lr)
        H_s, w_s, _, Zd, yd = problems["std"]
        k_std, lam_std, _ = _run("std", H_s, w_s, Zd, yd, lr)
        eig = np.linalg.eigvalsh(H)

        def fmt(k):
            return "diverges / never" if not math.isfinite(k) else f"{k:,}"

        return (f"scale of x₂ = {scale:.4g}   η = {lr:.3g}   (same η in both panels, {steps} steps drawn)\n"
                f"raw:      λ = {eig[0]:.3g}, {eig[1]:.3g}   κ = {eig[1] / eig[0]:.3g}"
                f"   2/λmax = {2 / lam_raw:.3g}"
                f"   steps to L−L* ≤ {rel_tol:g}·(L₀−L*): {fmt(k_raw)}\n"
                f"z-scored: κ = {C.condition_number(H_s):.3g}   2/λmax = {2 / lam_std:.3g}"
                f"   steps to tolerance: {fmt(k_std)}")

    update()
    return fig, update
