"""Static figures of notebooks 01 and 02 (directional derivatives; feature scaling and contours).

Every function returns the Figure it drew (created with pyplot, so it shows inline).
"""

from __future__ import annotations

import math

import numpy as np

from .. import calculus as C
from .style import COLORS

__all__ = [
    "plot_directional_derivative_overview",
    "plot_increment_vs_differential",
    "plot_gradient_and_contours",
    "plot_eigen_step",
    "plot_quadratic_paths",
    "plot_loss_curves",
    "plot_split_fractions",
]


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _example_contours(ax, extent=3.0, levels=14):
    xs = np.linspace(-extent, extent, 161)
    X, Y = np.meshgrid(xs, xs)
    Z = C.example_f(np.stack([X, Y], axis=-1))
    ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.9)
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), xlabel="x", ylabel="y", aspect="equal")


def plot_directional_derivative_overview(p=(1.2, 0.3), n_directions: int = 12):
    """Unit directions around p coloured by the sign of D_u f, next to D_u f(θ) with the same θs.

    Marks the three special directions: along ∇f (maximum ‖∇f‖), along the contour (zero) and
    against ∇f (minimum −‖∇f‖).
    """
    plt = _pyplot()
    p = np.asarray(p, float)
    g = C.example_grad(p)
    g_norm = float(np.linalg.norm(g))
    theta_g = math.atan2(g[1], g[0])
    thetas = theta_g + np.linspace(0, 2 * np.pi, n_directions, endpoint=False)
    U = C.unit_vector(thetas)
    d = U @ g
    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(9.0, 4.0), layout="constrained")
    _example_contours(ax_c)
    colors = [
        COLORS["blue"] if v > 1e-9 else COLORS["vermillion"] if v < -1e-9 else COLORS["black"] for v in d
    ]
    ax_c.quiver(
        np.full(len(U), p[0]),
        np.full(len(U), p[1]),
        U[:, 0],
        U[:, 1],
        color=colors,
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.007,
    )
    ax_c.quiver(
        [p[0]],
        [p[1]],
        [g[0]],
        [g[1]],
        color=COLORS["green"],
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.014,
        label="∇f(p)",
    )
    ax_c.plot(*p, "o", color=COLORS["black"], ms=5)
    ax_c.legend(loc="lower left")
    ax_c.set_title("unit directions u around p:\nblue uphill, red downhill, black level", fontsize=10)
    th = np.linspace(0, 360, 361)
    ax_d.plot(th, g_norm * np.cos(np.radians(th) - theta_g), color=COLORS["green"], lw=2, label="∇f·u")
    ax_d.scatter(np.degrees(thetas) % 360, d, c=colors, zorder=3, label="the arrows on the left")
    for value, text in ((g_norm, "max = ‖∇f‖: u along ∇f"), (-g_norm, "min = −‖∇f‖: u against ∇f")):
        ax_d.axhline(value, ls=":", color=COLORS["grey"])
        ax_d.annotate(
            text, (5, value), xytext=(0, 4 if value > 0 else -12), textcoords="offset points", fontsize=8
        )
    ax_d.axhline(0, color=COLORS["grey"], lw=0.8)
    ax_d.set(
        xlim=(0, 360),
        xticks=range(0, 361, 90),
        ylim=(-1.5 * g_norm, 1.5 * g_norm),
        xlabel="direction θ of u (degrees)",
        ylabel=r"$D_u f$ at p",
    )
    ax_d.set_title(
        r"$D_u f$ = ‖∇f‖ cos(angle between u and ∇f):"
        "\n"
        f"zero at θ = {math.degrees(theta_g + np.pi / 2) % 360:.0f}° and "
        f"{math.degrees(theta_g - np.pi / 2) % 360:.0f}°, along the contour",
        fontsize=10,
    )
    ax_d.legend(loc="lower right")
    return fig


def plot_increment_vs_differential(p=(1.2, 0.3), theta_deg: float = 200.0, t_show=(1.0, 0.5), ts=None):
    """The o(t) argument: Δf versus df = ∇f·u t along a line, and |Δf − df| against t (log-log)."""
    plt = _pyplot()
    p = np.asarray(p, float)
    u = C.unit_vector(math.radians(theta_deg))
    ts = np.logspace(-4, 0, 41) if ts is None else np.asarray(ts, float)
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(9.0, 3.8), layout="constrained")
    t_line = np.linspace(0, max(t_show) * 1.2, 200)
    delta_line, df_line = C.increment_and_differential(C.example_f, C.example_grad, p, u, t_line)
    f0 = float(C.example_f(p))
    ax_s.plot(t_line, f0 + delta_line, color=COLORS["blue"], lw=2, label="f(p + t u)")
    ax_s.plot(t_line, f0 + df_line, "--", color=COLORS["orange"], lw=1.5, label="tangent: f(p) + ∇f·u t")
    for t in t_show:
        dlt, dfv = C.increment_and_differential(C.example_f, C.example_grad, p, u, np.array([t]))
        ax_s.plot([t, t], [f0 + dfv[0], f0 + dlt[0]], color=COLORS["vermillion"], lw=3)
        ax_s.annotate(
            f"Δf − df = {dlt[0] - dfv[0]:.4f} at t = {t:g}",
            (t, f0 + 0.5 * (dlt[0] + dfv[0])),
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=8,
            color=COLORS["vermillion"],
        )
    ax_s.set(xlabel="distance t along u", ylabel="f", title="Δf − df (red) shrinks faster than t")
    ax_s.legend(loc="best")
    delta, df = C.increment_and_differential(C.example_f, C.example_grad, p, u, ts)
    err = np.abs(delta - df)
    ax_e.loglog(ts, np.abs(df), color=COLORS["orange"], label="|df| = |∇f·u| t  (slope 1)")
    ax_e.loglog(ts, err, color=COLORS["vermillion"], lw=2, label="|Δf − df|  (the o(t) term)")
    ax_e.loglog(ts, err[-1] * (ts / ts[-1]) ** 2, ":", color=COLORS["grey"], label="slope 2 guide")
    ax_e.set(xlabel="t", ylabel="size of the term", title="the error term falls like t², df like t")
    ax_e.legend(loc="upper left")
    return fig


def plot_gradient_and_contours(p0=(2.4, 2.2), lr: float = 0.4, steps: int = 12, levels=(0.3, 1.0, 2.0, 3.5)):
    """Left: gradient arrows on a few contours of f (drawn darker), each at right angles to its contour.
    Right: gradient descent from ``p0`` — each step walks along −∇f, across the contours."""
    plt = _pyplot()
    fig, (ax_g, ax_w) = plt.subplots(1, 2, figsize=(9.0, 4.0), layout="constrained")
    _example_contours(ax_g)
    for level in levels:
        for line in C.contour_lines(C.example_f, level):
            ax_g.plot(line[:, 0], line[:, 1], color=COLORS["black"], lw=1.6)
            idx = np.linspace(0, len(line) - 2, 10).astype(int)
            pts = line[idx]
            g = C.example_grad(pts)
            g = g / np.linalg.norm(g, axis=1, keepdims=True) * 0.45
            ax_g.quiver(
                pts[:, 0],
                pts[:, 1],
                g[:, 0],
                g[:, 1],
                color=COLORS["vermillion"],
                angles="xy",
                scale_units="xy",
                scale=1,
                width=0.006,
                zorder=3,
            )
    level_list = ", ".join(f"{v:g}" for v in levels)
    ax_g.set_title(f"∇f (red, direction only) is at right angles to f = {level_list}", fontsize=10)
    _example_contours(ax_w)
    path = C.gradient_descent(C.example_grad, p0, lr, steps)
    g = -C.example_grad(path[:-1])
    ax_w.quiver(
        path[:-1, 0],
        path[:-1, 1],
        lr * g[:, 0],
        lr * g[:, 1],
        color=COLORS["vermillion"],
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.008,
        label=f"steps −η∇f (η = {lr:g})",
    )
    ax_w.plot(path[0, 0], path[0, 1], "s", color=COLORS["black"], label="start")
    minimum = C.gradient_descent(C.example_grad, path[-1], 0.5, 200)[-1]
    ax_w.plot(*minimum, "*", color=COLORS["black"], ms=11, label="minimum of f")
    ax_w.legend(loc="lower left")
    ax_w.set_title(f"{steps} gradient-descent steps walk downhill, across the contours", fontsize=10)
    return fig


def _ellipses(ax, H, w_star, levels, color):
    for level in levels:
        e = C.quadratic_ellipse(H, w_star, level, 200)
        ax.plot(e[:, 0], e[:, 1], color=color, lw=1.0)


def plot_eigen_step(
    lams=(1.0, 4.0), angle_deg: float = 30.0, offset=(1.6, -0.4), lr: float = 0.3, steps: int = 6
):
    """One gradient-descent step on a 2×2 bowl, seen in the eigenbasis of its Hessian.

    Left: contours of ``L − L* = eᵀHe/2`` around the minimum, the eigen-directions ``u₁, u₂``, the offset
    ``e₀ = w₀ − w*`` split into its eigen-components ``a₁u₁ + a₂u₂`` and the step ``e₁ = e₀ − ηHe₀``.
    Right: ``|a_i|`` over ``steps`` steps on a log scale — straight lines of slope ``ln|1 − ηλ_i|``.
    The factors are printed in neither panel's title: the notebook asks the student to derive them.
    """
    plt = _pyplot()
    a = math.radians(angle_deg)
    U = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    lam = np.asarray(lams, float)
    H = U @ np.diag(lam) @ U.T
    e0 = np.asarray(offset, float)
    path = np.array([C.offset_after_steps(H, e0, lr, k) for k in range(steps + 1)])
    coef = path @ U  # eigen-coordinates a_i of every iterate
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.5, 4.2), layout="constrained")
    _ellipses(ax, H, np.zeros(2), (0.05, 0.3, 0.8, 1.6, 3.0), COLORS["sky"])
    colors = (COLORS["blue"], COLORS["orange"])
    for i in range(2):
        direction = U[:, i]
        ax.plot(*np.outer([-2.2, 2.2], direction).T, ls=":", color=colors[i], lw=1.2)
        ax.annotate(
            f"u{'₁₂'[i]} (λ{'₁₂'[i]} = {lam[i]:g})",
            xy=2.15 * direction * (1 if i == 0 else -1),
            color=colors[i],
            fontsize=9,
            ha="center",
        )
    for k, e in enumerate(path[:2]):
        coords = U.T @ e  # eigen-coordinates a_i
        corner = coords[0] * U[:, 0]
        ax.plot(
            *np.array([[0, 0], corner]).T,
            color=colors[0],
            lw=2.4 if k == 0 else 1.6,
            alpha=1 if k == 0 else 0.6,
        )
        ax.plot(
            *np.array([corner, e]).T, color=colors[1], lw=2.4 if k == 0 else 1.6, alpha=1 if k == 0 else 0.6
        )
        ax.plot(*e, "o", color=COLORS["black"] if k == 0 else COLORS["vermillion"], ms=6)
        ax.annotate(f"e{'₀₁'[k]}", xy=e, xytext=(6, 4), textcoords="offset points", fontsize=10)
    ax.annotate(
        "", xy=path[1], xytext=path[0], arrowprops=dict(arrowstyle="->", color=COLORS["vermillion"], lw=1.5)
    )
    ax.annotate(
        "−η∇L = −ηHe₀",
        xy=path[0],
        xytext=(0, -30),
        textcoords="offset points",
        color=COLORS["vermillion"],
        fontsize=9,
        ha="center",
    )
    ax.plot(0, 0, "*", color=COLORS["black"], ms=11)
    ax.set(
        xlim=(-2.3, 2.3),
        ylim=(-2.3, 2.3),
        aspect="equal",
        xlabel="offset w₁ − w₁*",
        ylabel="offset w₂ − w₂*",
        title=f"one step at η = {lr:g}: each eigen-component\n(blue along u₁, orange along u₂) is rescaled",
    )
    ks = np.arange(steps + 1)
    for i in range(2):
        ax2.semilogy(ks, np.abs(coef[:, i]), "-o", color=colors[i], label=f"|a{'₁₂'[i]}| (along u{'₁₂'[i]})")
    ax2.set(xlabel="step k", ylabel="|eigen-component of w_k − w*|", title="each component: a straight line")
    ax2.legend()
    return fig


def plot_quadratic_paths(panels, levels=(0.02, 0.1, 0.4, 1.5, 5.0, 15.0)):
    """One panel per problem: exact contour ellipses of a quadratic loss and a GD path on it.

    Parameters
    ----------
    panels : list of dict
        Keys ``H``, ``w_star``, ``path`` (k, 2), ``title``, and optionally ``xlim``, ``ylim``,
        ``xlabel``, ``ylabel``, ``aspect`` ("equal" unless given), ``note`` (a text box) and
        ``diverged`` (bool; the note is then shown in red).
    levels : excess-loss values L − L* of the contours
    """
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.5 * len(panels), 4.0), layout="constrained", squeeze=False
    )
    for ax, panel in zip(axes[0], panels):
        _ellipses(ax, panel["H"], panel["w_star"], levels, COLORS["sky"])
        path = np.asarray(panel["path"])
        ax.plot(path[:, 0], path[:, 1], "-o", color=COLORS["vermillion"], lw=1.2, ms=2.5, label="GD path")
        ax.plot(path[0, 0], path[0, 1], "s", color=COLORS["black"], ms=5, label="start")
        ax.plot(*panel["w_star"], "*", color=COLORS["black"], ms=11, label="minimum")
        ax.set(
            xlim=panel.get("xlim"),
            ylim=panel.get("ylim"),
            xlabel=panel.get("xlabel", "w₁"),
            ylabel=panel.get("ylabel", "w₂"),
            title=panel["title"],
            aspect=panel.get("aspect", "equal"),
        )
        if panel.get("note"):
            ax.text(
                0.03,
                0.97,
                panel["note"],
                transform=ax.transAxes,
                va="top",
                fontsize=8.5,
                color=COLORS["vermillion"] if panel.get("diverged") else COLORS["black"],
                bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.85),
            )
    axes[0][-1].legend(loc="lower right")
    return fig


def plot_loss_curves(curves, title: str, ylabel: str = "loss L(w) − L*"):
    """Loss against step on a log scale; a run that blew up ends with an ✕ and a note.

    Parameters
    ----------
    curves : dict of label -> (losses, diverged)
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    for (label, (losses, diverged)), color in zip(
        curves.items(), (COLORS["blue"], COLORS["vermillion"], COLORS["green"], COLORS["purple"])
    ):
        losses = np.asarray(losses, float)
        steps = np.arange(len(losses))
        ax.semilogy(steps, losses, color=color, lw=1.8, label=label)
        if diverged:
            ax.plot(steps[-1], losses[-1], "x", color=color, ms=10, mew=2.5)
            ax.annotate(
                f"stopped at step {steps[-1]}: diverged",
                (steps[-1], losses[-1]),
                xytext=(10, -2),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=8.5,
                color=color,
            )
    ax.set(xlabel="gradient-descent step", ylabel=ylabel, title=title)
    ax.legend(loc="upper right")
    return fig


def plot_split_fractions(
    ns, results, gains, title: str, ylabel: str = "fraction of random hyperplanes\nthat split the data"
):
    """Random-hyperplane test of centring: split fractions (left) and the gain from centring (right).

    Parameters
    ----------
    ns : sequence of int
        Dimensions.
    results : dict of label -> (mean, std) arrays over seeds
        Fraction of random hyperplanes that split each dataset.
    gains : dict of label -> (mean, std) arrays over seeds
        Centred fraction / raw fraction for each kind of data; compared with the blog's 2^n.
    """
    plt = _pyplot()
    ns = np.asarray(ns)
    fig, (ax_f, ax_g) = plt.subplots(1, 2, figsize=(10.0, 3.9), layout="constrained")
    colors = (COLORS["blue"], COLORS["vermillion"], COLORS["green"], COLORS["purple"], COLORS["orange"])
    styles = ("-o", "-s", "--o", "--s", ":^")
    for (label, (mean, std)), color, style in zip(results.items(), colors, styles):
        hollow = style.endswith("^")  # drawn over another series at 1.0: keep both visible
        ax_f.errorbar(
            ns,
            mean,
            yerr=std,
            fmt=style,
            color=color,
            capsize=3,
            label=label,
            ms=7 if hollow else 4,
            mfc="none" if hollow else color,
        )
    ax_f.set(
        xlabel="dimension n",
        ylabel=ylabel,
        xticks=ns,
        ylim=(0, 1.05),
        title="centring lifts the split fraction at every n",
    )
    ax_f.legend(loc="center right", bbox_to_anchor=(1.0, 0.38), fontsize=8)
    for (label, (mean, std)), color in zip(gains.items(), (COLORS["blue"], COLORS["green"])):
        ax_g.errorbar(ns, mean, yerr=std, fmt="-o", color=color, capsize=3, label=label, ms=4)
    ax_g.plot(ns, 2.0**ns, ":", color=COLORS["black"], lw=2, label="2ⁿ (the blog's claim)")
    ax_g.set_yscale("log")
    ax_g.set(
        xlabel="dimension n",
        ylabel="gain from centring\n(centred fraction / raw fraction)",
        xticks=ns,
        title=title,
    )
    ax_g.legend(loc="upper left", fontsize=8)
    return fig
