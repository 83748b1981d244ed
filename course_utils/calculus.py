"""The mathematics behind notebooks 01 and 02: directional derivatives, quadratic bowls and gradient
descent on them, the random-hyperplane argument for centring, and the cost of whitening.

Notebook 01 uses a smooth, non-quadratic example function of two variables
(:func:`example_f`, :func:`example_grad`), the difference quotient that defines the directional
derivative and its central-difference approximation. Notebook 02 studies least squares
``L(w) = ||X w - y||^2 / (2 n)``, a quadratic bowl whose Hessian ``H = X^T X / n`` does not depend on
``w``: its eigenvalues decide the largest stable learning rate (``2 / lambda_max``) and how many
steps gradient descent needs (through the condition number ``kappa = lambda_max / lambda_min``).

Points are arrays whose *last* axis holds the coordinates, so every function of a point also
accepts a grid of points (shape ``(..., d)``).
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import as_real_array, check_in_range, check_positive, check_positive_int, check_X_y
from .training import single_blas_thread

__all__ = [
    "example_f",
    "example_grad",
    "example_hessian",
    "unit_vector",
    "difference_quotient",
    "directional_derivative",
    "increment_and_differential",
    "central_gradient",
    "steepest_descent",
    "difference_errors",
    "gradient_descent",
    "contour_lines",
    "gradient_contour_cosines",
    "make_scaled_regression",
    "least_squares_loss",
    "least_squares_gradient",
    "least_squares_hessian",
    "least_squares_solution",
    "condition_number",
    "max_stable_lr",
    "gd_least_squares",
    "gd_quadratic",
    "optimal_lr",
    "offset_after_steps",
    "condition_number_from_data",
    "predict_steps",
    "steps_to_tolerance",
    "scaling_steps_experiment",
    "centring_scaling_kappas",
    "CENTRING_SCALING_VARIANTS",
    "best_steps_to_tolerance",
    "empirical_max_stable_lr",
    "quadratic_ellipse",
    "hyperplane_split_fraction",
    "orthant_filling_cloud",
    "narrow_cloud",
    "split_fraction_table",
]


# ---------------------------------------------------------------------------------------------
# Notebook 01: a smooth non-quadratic function, directional derivatives
# ---------------------------------------------------------------------------------------------


def _point(p, where, d=None):
    p = as_real_array(p, "p", where).astype(np.float64, copy=False)
    if p.ndim == 0 or (d is not None and p.shape[-1] != d):
        raise ValueError(
            f"{where}: p must have shape (..., {d or 'd'}) (coordinates on the last axis), got {p.shape}"
        )
    return p


def example_f(p):
    r"""The course's example surface :math:`f(x, y) = x^2/4 + y^2/2 + \tfrac12\sin(x + y)`.

    Smooth, with one minimum near (-0.61, -0.30) and contours that are visibly not ellipses,
    so the directional derivative is not a property of quadratics only.

    Parameters
    ----------
    p : array_like, shape (..., 2)
        Points (x, y) on the last axis.

    Returns
    -------
    ndarray, shape (...)
    """
    p = _point(p, "example_f", 2)
    x, y = p[..., 0], p[..., 1]
    return x**2 / 4 + y**2 / 2 + 0.5 * np.sin(x + y)


def example_grad(p):
    r"""Gradient of :func:`example_f`: :math:`(x/2 + \tfrac12\cos(x+y),\; y + \tfrac12\cos(x+y))`.

    Returns
    -------
    ndarray, shape (..., 2)
    """
    p = _point(p, "example_grad", 2)
    x, y = p[..., 0], p[..., 1]
    c = 0.5 * np.cos(x + y)
    return np.stack([x / 2 + c, y + c], axis=-1)


def example_hessian(p):
    """Hessian of :func:`example_f` at the points ``p`` (shape (..., 2)); returns shape (..., 2, 2)."""
    p = _point(p, "example_hessian", 2)
    s = 0.5 * np.sin(p[..., 0] + p[..., 1])
    return np.stack([np.stack([0.5 - s, -s], -1), np.stack([-s, 1.0 - s], -1)], -2)


def unit_vector(theta):
    """The unit vector ``u = (cos theta, sin theta)`` (theta in radians; arrays give shape (..., 2))."""
    theta = as_real_array(theta, "theta", "unit_vector").astype(np.float64, copy=False)
    return np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def _unit(u, d, where):
    u = as_real_array(u, "u", where).astype(np.float64, copy=False)
    if u.shape != (d,):
        raise ValueError(f"{where}: u must have shape ({d},) like p, got {u.shape}")
    norm = float(np.linalg.norm(u))
    if not math.isclose(norm, 1.0, rel_tol=1e-9):
        raise ValueError(f"{where}: u must be a unit vector (|u| = 1), got |u| = {norm:.6g}")
    return u


def difference_quotient(f, p, u, t):
    """The quotient ``[f(p + t u) - f(p)] / t`` whose limit as t -> 0 defines ``D_u f(p)``.

    Parameters
    ----------
    f : callable taking points of shape (..., d)
    p : array_like, shape (d,)
    u : array_like, shape (d,), unit length
    t : float or array of nonzero floats

    Returns
    -------
    float or ndarray shaped like ``t``
    """
    p = _point(p, "difference_quotient")
    u = _unit(u, p.shape[-1], "difference_quotient")
    t = as_real_array(t, "t", "difference_quotient").astype(np.float64, copy=False)
    if np.any(t == 0):
        raise ValueError("difference_quotient: t must be nonzero (the quotient is a limit as t -> 0)")
    points = p + t[..., None] * u
    return (np.asarray(f(points)) - f(p)) / t


def directional_derivative(f, p, u, h: float = 1e-5):
    """Central-difference estimate of ``D_u f(p)``: ``[f(p + h u) - f(p - h u)] / (2 h)``.

    The symmetric quotient cancels the second-order term, so its error is O(h^2) instead of the
    one-sided quotient's O(h); ``h = 1e-5`` balances that against rounding error (about eps / h).

    Parameters
    ----------
    f : callable taking a point of shape (d,) and returning a float
    p : array_like, shape (d,)
    u : array_like, shape (d,), unit length
    h : float > 0

    Returns
    -------
    float
    """
    p = _point(p, "directional_derivative")
    u = _unit(u, p.shape[-1], "directional_derivative")
    h = check_positive(h, "h", "directional_derivative")
    return float((f(p + h * u) - f(p - h * u)) / (2 * h))


def central_gradient(f, p, h: float = 1e-5):
    """The gradient of ``f`` at ``p`` by central differences, one coordinate axis at a time.

    Component ``i`` is ``[f(p + h e_i) - f(p - h e_i)] / (2 h)``: the directional derivative along the
    ``i``-th basis vector (error O(h^2)). Costs ``2 d`` calls of ``f``; ``p`` is not modified.

    Returns
    -------
    ndarray, shape (d,)
    """
    p = _point(p, "central_gradient")
    h = check_positive(h, "h", "central_gradient")
    grad = np.empty(p.shape[-1])
    for i in range(p.shape[-1]):
        step = np.zeros_like(p)
        step[i] = h
        grad[i] = (f(p + step) - f(p - step)) / (2 * h)
    return grad


def steepest_descent(g):
    """The unit direction of steepest descent for a gradient ``g`` and the rate of change along it.

    ``u = -g / |g|`` and ``D_u f = g·u = -|g|`` (negative: f decreases). Raises for ``g = 0``, where
    no direction is steepest.

    Returns
    -------
    u : ndarray, shape (d,)
    rate : float
    """
    g = as_real_array(g, "g", "steepest_descent").astype(np.float64, copy=False)
    if g.ndim != 1:
        raise ValueError(f"steepest_descent: g must be a vector, got shape {g.shape}")
    norm = float(np.linalg.norm(g))
    if norm == 0:
        raise ValueError("steepest_descent: g = 0 (a stationary point): every direction has rate 0")
    return -g / norm, -norm


def difference_errors(seed: int, n_points: int = 200, h: float = 1e-5):
    """Errors of the one-sided and the central difference quotient at ``n_points`` random points.

    Points uniform in ``[-2, 2]^2`` and random unit directions (from ``seed``) on :func:`example_f`;
    each error is ``|quotient - ∇f·u|`` at step ``h``.

    Returns
    -------
    one_sided, central : ndarrays, shape (n_points,)
    """
    rng = np.random.default_rng(seed)
    one_sided, central = np.empty(n_points), np.empty(n_points)
    for i in range(n_points):
        q = rng.uniform(-2, 2, 2)
        v = unit_vector(rng.uniform(0, 2 * np.pi))
        exact = float(example_grad(q) @ v)
        one_sided[i] = abs(float(difference_quotient(example_f, q, v, h)) - exact)
        central[i] = abs(directional_derivative(example_f, q, v, h) - exact)
    return one_sided, central


def increment_and_differential(f, grad, p, u, t):
    """The increment ``Δf = f(p + t u) - f(p)`` and the differential ``df = ∇f(p)·u t`` for each t.

    Their difference is the o(t) term of the source's argument: it vanishes faster than t.

    Returns
    -------
    delta_f, df : ndarrays shaped like ``t``
    """
    p = _point(p, "increment_and_differential")
    u = _unit(u, p.shape[-1], "increment_and_differential")
    t = as_real_array(t, "t", "increment_and_differential").astype(np.float64, copy=False)
    delta_f = np.asarray(f(p + t[..., None] * u)) - f(p)
    df = float(np.dot(grad(p), u)) * t
    return delta_f, df


def gradient_descent(grad, p0, lr: float, steps: int):
    """Plain gradient descent ``p <- p - lr * grad(p)``; returns the path, shape (steps + 1, d)."""
    p = _point(p0, "gradient_descent").copy()
    lr = check_positive(lr, "lr", "gradient_descent")
    steps = check_positive_int(steps, "steps", "gradient_descent")
    path = np.empty((steps + 1, p.shape[-1]))
    path[0] = p
    for k in range(steps):
        p = p - lr * np.asarray(grad(p))
        path[k + 1] = p
    return path


def contour_lines(f, level: float, extent: float = 3.0, n_grid: int = 301):
    """The contour ``f = level`` of a function of two variables, as a list of polylines (k_i, 2).

    Traced by ``contourpy`` (matplotlib's own contouring engine) on an ``n_grid`` x ``n_grid`` grid
    over ``[-extent, extent]^2``.
    """
    import contourpy

    xs = np.linspace(-extent, extent, n_grid)
    X, Y = np.meshgrid(xs, xs)
    Z = np.asarray(f(np.stack([X, Y], axis=-1)))
    return [np.asarray(line) for line in contourpy.contour_generator(X, Y, Z).lines(level)]


def gradient_contour_cosines(grad, line):
    """``|cos|`` of the angle between ``∇f`` and the contour's direction, at each segment of ``line``.

    0 means perpendicular. ``line`` is a polyline (k, 2) along a contour of ``f``; the gradient is
    evaluated at the midpoints of its segments.
    """
    line = np.asarray(line, float)
    seg = np.diff(line, axis=0)
    keep = np.linalg.norm(seg, axis=1) > 0
    seg, mid = seg[keep], 0.5 * (line[1:] + line[:-1])[keep]
    g = np.asarray(grad(mid))
    return np.abs(np.sum(g * seg, axis=1)) / (np.linalg.norm(g, axis=1) * np.linalg.norm(seg, axis=1))


# ---------------------------------------------------------------------------------------------
# Notebook 02: least squares, conditioning, gradient descent on a quadratic bowl
# ---------------------------------------------------------------------------------------------


def make_scaled_regression(
    n: int = 200, scale: float = 100.0, weights=(2.0, 1.5), noise: float = 0.1, seed: int = 0
):
    """Two-feature regression data whose second feature is ``scale`` times larger than the first.

    ``x1 ~ U[1, 3]`` and ``x2 = scale * v`` with ``v ~ U[1, 3]`` independent of ``x1``, so
    ``scale = 100`` gives the source's "x1 in {1, 2, 3}, x2 in {100, 200, 300}". The target is
    ``y = weights[0] * x1 + weights[1] * v + noise``: the relation is fixed in units of ``v``, so the
    best raw weight on ``x2`` is about ``weights[1] / scale`` and the fitted curve is the same for
    every scale. The same seed gives the same ``x1``, ``v`` and noise for every scale.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
    """
    n = check_positive_int(n, "n", "make_scaled_regression")
    scale = check_positive(scale, "scale", "make_scaled_regression")
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(1.0, 3.0, n)
    v = rng.uniform(1.0, 3.0, n)
    y = weights[0] * x1 + weights[1] * v + noise * rng.normal(size=n)
    return np.column_stack([x1, scale * v]), y


def _design(X, y, where):
    """Design matrix (n, d) and targets (n,) as float64; ``y=None`` checks only X."""
    if y is None:
        X = as_real_array(X, "X", where, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"{where}: X must have shape (n, d), got {X.shape}")
        return X, None
    X, y = check_X_y(X, y, where, y_numeric=True)
    return X.astype(np.float64, copy=False), y.astype(np.float64, copy=False)


def least_squares_loss(w, X, y):
    """``L(w) = ||X w - y||^2 / (2 n)``; ``w`` may hold many weight vectors, shape (..., d)."""
    X, y = _design(X, y, "least_squares_loss")
    w = as_real_array(w, "w", "least_squares_loss")
    if w.shape[-1:] != (X.shape[1],):
        raise ValueError(f"least_squares_loss: w must have shape (..., {X.shape[1]}), got {w.shape}")
    residual = w @ X.T - y
    return 0.5 * np.mean(residual**2, axis=-1)


def least_squares_gradient(w, X, y):
    """``∇L(w) = X^T (X w - y) / n`` for ``w`` of shape (d,) or (..., d)."""
    X, y = _design(X, y, "least_squares_gradient")
    w = as_real_array(w, "w", "least_squares_gradient")
    return (w @ X.T - y) @ X / X.shape[0]


def least_squares_hessian(X):
    """``H = X^T X / n`` — the Hessian of :func:`least_squares_loss`, the same at every ``w``."""
    X, _ = _design(X, None, "least_squares_hessian")
    return X.T @ X / X.shape[0]


def least_squares_solution(X, y):
    """The minimiser ``w*`` (by :func:`numpy.linalg.lstsq`) and the minimum loss ``L(w*)``."""
    X, y = _design(X, y, "least_squares_solution")
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    return w_star, float(least_squares_loss(w_star, X, y))


def condition_number(H):
    """``kappa = lambda_max / lambda_min`` of a symmetric positive-definite matrix (by ``eigvalsh``)."""
    H = as_real_array(H, "H", "condition_number")
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"condition_number: H must be a square matrix, got shape {H.shape}")
    eig = np.linalg.eigvalsh(H)
    if eig[0] <= 0:
        return math.inf
    return float(eig[-1] / eig[0])


def max_stable_lr(X):
    """Largest learning rate for which gradient descent on ``||X w - y||^2 / (2 n)`` converges.

    Each eigen-direction of ``H = X^T X / n`` is multiplied by ``1 - lr * lambda`` per step, so the
    iteration converges iff ``|1 - lr * lambda_max| < 1``, i.e. ``lr < 2 / lambda_max``.
    """
    eig = np.linalg.eigvalsh(least_squares_hessian(X))
    return float(2.0 / eig[-1])


def gd_least_squares(X, y, lr, steps: int, w0=None, blowup: float = 1e6):
    """Gradient descent on :func:`least_squares_loss`, stopped early if it blows up.

    Parameters
    ----------
    X, y : data, shapes (n, d) and (n,)
    lr : float > 0
    steps : int
    w0 : array_like, shape (d,), default zeros
    blowup : float
        Stop when the loss exceeds ``blowup`` times its starting value (plus one), so a divergent
        run ends with finite numbers instead of overflow warnings.

    Returns
    -------
    path : ndarray, shape (k + 1, d)
        The iterates actually computed (``k = steps`` unless the run blew up).
    losses : ndarray, shape (k + 1,)
    diverged : bool
    """
    X, y = _design(X, y, "gd_least_squares")
    lr = check_positive(lr, "lr", "gd_least_squares")
    steps = check_positive_int(steps, "steps", "gd_least_squares")
    d = X.shape[1]
    w = np.zeros(d) if w0 is None else as_real_array(w0, "w0", "gd_least_squares").astype(float).copy()
    if w.shape != (d,):
        raise ValueError(f"gd_least_squares: w0 must have shape ({d},), got {w.shape}")
    # the loss is quadratic: L(w) = w^T H w / 2 - b^T w + c, so each step costs O(d^2), not O(n d)
    H, b, c = X.T @ X / len(y), X.T @ y / len(y), 0.5 * float(y @ y) / len(y)
    path, losses = [w.copy()], [float(0.5 * w @ H @ w - b @ w + c)]
    limit = blowup * (losses[0] + 1.0)
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            w = w - lr * (H @ w - b)
            loss = float(0.5 * w @ H @ w - b @ w + c)
            path.append(w.copy())
            losses.append(loss)
            if not (loss <= limit):
                diverged = True
                break
    return np.array(path), np.array(losses), diverged


def gd_quadratic(H, w_star, w0, lr: float, steps: int, blowup: float = 1e6):
    """Gradient descent on a quadratic bowl in closed form, without iterating.

    On ``L(w) = L* + (w - w*)^T H (w - w*) / 2`` one step multiplies the offset from ``w*`` along
    eigenvector ``i`` of ``H`` by ``r_i = 1 - lr * lambda_i``, so after ``k`` steps
    ``w_k = w* + U diag(r^k) U^T (w0 - w*)`` and ``L(w_k) - L* = sum_i lambda_i c_i^2 r_i^(2k) / 2``.
    All ``steps + 1`` iterates are computed at once (the same numbers as iterating, up to rounding),
    which is what lets a slider redraw a path in well under a millisecond.

    Parameters
    ----------
    H : ndarray, shape (d, d), symmetric positive semi-definite
    w_star : array_like, shape (d,)
    w0 : array_like, shape (d,)
    lr : float > 0
    steps : int
    blowup : float
        A run that diverges is cut after the first iterate whose excess loss exceeds ``blowup`` times
        the starting excess, so its numbers stay finite.

    Returns
    -------
    path : ndarray, shape (k + 1, d)
    excess : ndarray, shape (k + 1,)
        ``L(w_k) - L*`` for each iterate.
    diverged : bool
    """
    where = "gd_quadratic"
    H = as_real_array(H, "H", where).astype(np.float64, copy=False)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"{where}: H must be a square matrix, got shape {H.shape}")
    d = H.shape[0]
    w_star = as_real_array(w_star, "w_star", where).astype(np.float64, copy=False)
    w0 = as_real_array(w0, "w0", where).astype(np.float64, copy=False)
    for name, vec in (("w_star", w_star), ("w0", w0)):
        if vec.shape != (d,):
            raise ValueError(f"{where}: {name} must have shape ({d},) to match H {H.shape}, got {vec.shape}")
    lr = check_positive(lr, "lr", where)
    steps = check_positive_int(steps, "steps", where)
    eig, U = np.linalg.eigh(H)
    coef = U.T @ (w0 - w_star)
    r = 1.0 - lr * eig
    k = np.arange(steps + 1)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        # log of each direction's share of the excess loss; -inf where it is exactly zero
        log_a = np.log(0.5 * np.maximum(eig, 0.0) * coef**2)
        log_r2k = 2.0 * k[:, None] * np.log(np.abs(r))[None, :]
        log_r2k[0] = 0.0  # r^0 = 1, also where r = 0 (0 * log 0 would be nan)
        log_terms = log_a[None, :] + log_r2k
        top = np.max(log_terms, axis=1)
        finite_top = np.where(np.isfinite(top), top, 0.0)
        log_excess = finite_top + np.log(np.sum(np.exp(log_terms - finite_top[:, None]), axis=1))
    log_excess = np.where(np.isfinite(top), log_excess, -np.inf)
    too_big = log_excess > log_excess[0] + math.log(blowup)
    diverged = bool(too_big.any())
    if diverged:
        k = k[: int(np.argmax(too_big)) + 1]
    with np.errstate(over="ignore", invalid="ignore"):
        powers = r[None, :] ** k[:, None]  # r^k, sign included (r < 0 flips every step)
    path = w_star + (powers * coef) @ U.T
    excess = np.exp(log_excess[: len(k)])
    return path, excess, diverged


def optimal_lr(H):
    """The fixed learning rate ``2 / (lambda_min + lambda_max)`` that is best for the worst direction.

    At this rate the steepest and the flattest directions shrink by the same factor
    ``(kappa - 1) / (kappa + 1)`` per step; any other rate makes one of them slower.
    """
    H = as_real_array(H, "H", "optimal_lr")
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"optimal_lr: H must be a square matrix, got shape {H.shape}")
    eig = np.linalg.eigvalsh(H)
    return float(2.0 / (eig[0] + eig[-1]))


def offset_after_steps(H, offset, lr: float, k: int):
    """The offset ``w_k - w*`` after ``k`` gradient-descent steps on a quadratic, without iterating.

    One step maps the offset ``e`` to ``(I - lr H) e``. In the eigenbasis of ``H = U diag(lambda) U^T``
    that matrix is diagonal, so ``e_k = U diag((1 - lr lambda)^k) U^T e_0``.

    Parameters
    ----------
    H : ndarray, shape (d, d), symmetric
    offset : array_like, shape (d,)
        The starting offset ``w_0 - w*``.
    lr : float
    k : int >= 0

    Returns
    -------
    ndarray, shape (d,)
    """
    H = as_real_array(H, "H", "offset_after_steps").astype(np.float64, copy=False)
    offset = as_real_array(offset, "offset", "offset_after_steps").astype(np.float64, copy=False)
    eig, U = np.linalg.eigh(H)
    return U @ ((1.0 - lr * eig) ** int(k) * (U.T @ offset))


def condition_number_from_data(X):
    """``kappa`` of the least-squares Hessian ``X^T X / n`` (the raw, uncentred second moments)."""
    return condition_number(least_squares_hessian(X))


def predict_steps(H, lr: float, rel_tol: float = 1e-6):
    """Steps until the *slowest* direction's share of the excess loss falls by ``rel_tol``.

    The excess loss along eigen-direction ``i`` is multiplied by ``(1 - lr lambda_i)^2`` per step. The
    slowest direction has the largest ``r = |1 - lr lambda_i|``; it needs the smallest ``k`` with
    ``r^(2k) <= rel_tol``, i.e. ``ceil(ln(rel_tol) / (2 ln r))``. Every other direction is done by
    then, so this bounds the exact count of :func:`steps_to_tolerance` from above (``inf`` if r >= 1).
    """
    eig = np.linalg.eigvalsh(as_real_array(H, "H", "predict_steps").astype(np.float64, copy=False))
    r = float(np.max(np.abs(1.0 - lr * eig)))
    if r >= 1.0:
        return math.inf
    if r == 0.0:
        return 1
    return math.ceil(math.log(rel_tol) / (2.0 * math.log(r)))


def _excess_terms(H, w0, w_star):
    eig, U = np.linalg.eigh(H)
    coef = U.T @ (np.asarray(w0, float) - w_star)
    return eig, 0.5 * eig * coef**2


def steps_to_tolerance(H, w0, w_star, lr: float, rel_tol: float = 1e-6, max_steps: float = 1e15):
    """Exact number of gradient-descent steps until ``L - L*`` falls to ``rel_tol * (L(w0) - L*)``.

    On a quadratic the excess loss after k steps is ``sum_i a_i (1 - lr*lambda_i)^(2k)`` with
    ``a_i = lambda_i c_i^2 / 2`` (``c`` = start offset in the eigenbasis of ``H``), which decreases
    with k, so the first k below the target is found by bisection — the same count as iterating,
    without running millions of steps. Returns ``math.inf`` if the run diverges or stalls
    (``|1 - lr*lambda| >= 1`` in a direction the start actually has a component along) or if the
    count exceeds ``max_steps``.
    """
    lr = check_positive(lr, "lr", "steps_to_tolerance")
    rel_tol = check_positive(rel_tol, "rel_tol", "steps_to_tolerance")
    eig, a = _excess_terms(np.asarray(H, float), w0, np.asarray(w_star, float))
    keep = a > a.sum() * 1e-300
    if not keep.any():
        return 0
    eig, a = eig[keep], a[keep]
    r = np.abs(1.0 - lr * eig)
    if np.any(r >= 1.0):
        return math.inf
    # plain floats: d is tiny here and the ~60 evaluations below cost microseconds instead of milliseconds
    log_a = [math.log(v) for v in a.tolist()]
    log_r2 = [2.0 * math.log(max(v, 1e-300)) for v in r.tolist()]
    log_target = math.log(rel_tol) + math.log(float(a.sum()))

    def log_excess(k):
        z = [la + k * lr2 for la, lr2 in zip(log_a, log_r2)]
        zmax = max(z)
        return zmax + math.log(sum(math.exp(v - zmax) for v in z))

    if log_excess(0) <= log_target:
        return 0
    hi = 1
    while log_excess(hi) > log_target:
        hi *= 2
        if hi > max_steps:
            return math.inf
    lo = hi // 2  # log_excess(lo) > target
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if log_excess(mid) > log_target:
            lo = mid
        else:
            hi = mid
    return hi


def best_steps_to_tolerance(H, w0, w_star, rel_tol: float = 1e-6, n_grid: int = 400):
    """Fewest steps to tolerance over a grid of learning rates in (0, 2/lambda_max).

    Returns
    -------
    steps : int
    lr : float
        The learning rate that achieved it.
    """
    lam_max = float(np.linalg.eigvalsh(np.asarray(H, float))[-1])
    best = (math.inf, math.nan)
    for frac in np.linspace(0.0, 1.0, n_grid + 2)[1:-1]:
        lr = 2.0 * frac / lam_max
        k = steps_to_tolerance(H, w0, w_star, lr, rel_tol)
        if k < best[0]:
            best = (k, lr)
    return best


def scaling_steps_experiment(seeds, scale: float = 100.0, rel_tol: float = 1e-6, n_grid: int = 200):
    """Best steps to tolerance, raw against z-scored features, for several data seeds.

    For each seed: :func:`make_scaled_regression` (``scale``), the fewest steps over a grid of
    learning rates (:func:`best_steps_to_tolerance`) for the raw features and for the z-scored ones
    (with ``y`` centred), from ``w = 0``.

    Returns
    -------
    raw, zscored : ndarrays of int, shape (len(seeds),)
    """
    from .data import standardize

    raw, zscored = [], []
    for seed in seeds:
        X, y = make_scaled_regression(n=200, scale=scale, seed=int(seed))
        w0 = np.zeros(X.shape[1])
        w_star, _ = least_squares_solution(X, y)
        raw.append(best_steps_to_tolerance(least_squares_hessian(X), w0, w_star, rel_tol, n_grid)[0])
        Z = standardize(X)
        v_star, _ = least_squares_solution(Z, y - y.mean())
        zscored.append(best_steps_to_tolerance(least_squares_hessian(Z), w0, v_star, rel_tol, n_grid)[0])
    return np.array(raw, dtype=float), np.array(zscored, dtype=float)


CENTRING_SCALING_VARIANTS = ("raw", "centre only", "scale only", "z-score")


def centring_scaling_kappas(seeds, scales=(1.0, 100.0)):
    """κ of ``XᵀX/n`` for each half of z-scoring, for several data seeds (notebook 02, §5).

    For each scale and seed: :func:`make_scaled_regression` (``n = 200``), then κ of the raw features,
    of the centred ones (mean subtracted), of the scaled ones (divided by the std) and of the z-scored
    ones (both).

    Returns
    -------
    dict mapping ``(scale, variant)`` (variant in :data:`CENTRING_SCALING_VARIANTS`) to an ndarray of
    shape ``(len(seeds),)``.
    """
    from .data import standardize

    transforms = {
        "raw": lambda X: X,
        "centre only": lambda X: X - X.mean(axis=0),
        "scale only": lambda X: X / X.std(axis=0),
        "z-score": standardize,
    }
    kappas = {}
    for scale in scales:
        data = [make_scaled_regression(n=200, scale=float(scale), seed=int(seed))[0] for seed in seeds]
        for name, transform in transforms.items():
            kappas[(scale, name)] = np.array(
                [condition_number(least_squares_hessian(transform(X))) for X in data]
            )
    return kappas


def empirical_max_stable_lr(X, y, lrs, steps: int = 2000):
    """Measure the stability edge by running gradient descent at every learning rate in ``lrs``.

    A run counts as stable if its loss after ``steps`` steps is below the starting loss (from
    ``w = 0``). All learning rates are iterated together, so a few thousand steps cost milliseconds.

    Returns
    -------
    stable : ndarray of bool, shape (len(lrs),)
    largest_stable : float
        The largest learning rate in ``lrs`` that was stable (nan if none).
    """
    X, y = _design(X, y, "empirical_max_stable_lr")
    lrs = as_real_array(lrs, "lrs", "empirical_max_stable_lr").astype(float).ravel()
    H, b, c = X.T @ X / len(y), X.T @ y / len(y), 0.5 * float(y @ y) / len(y)
    W = np.zeros((lrs.size, X.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            W = W - lrs[:, None] * (W @ H - b)
            W = np.clip(W, -1e100, 1e100)  # a divergent run stays finite (and clearly unstable)
        losses = 0.5 * np.einsum("ki,ij,kj->k", W, H, W) - W @ b + c
    stable = np.isfinite(losses) & (losses < c)
    largest = float(lrs[stable].max()) if stable.any() else math.nan
    return stable, largest


def quadratic_ellipse(H, w_star, excess: float, n_points: int = 120):
    """Points of the contour ``{w : (w - w*)^T H (w - w*) / 2 = excess}`` — an ellipse.

    Every contour of a quadratic bowl is an ellipse with semi-axes ``sqrt(2 excess / lambda_i)``
    along the eigenvectors of ``H``, so contours can be redrawn as plain lines in microseconds.

    Returns
    -------
    ndarray, shape (n_points, 2), closed (first point repeated at the end)
    """
    H = np.asarray(H, float)
    eig, U = np.linalg.eigh(H)
    phi = np.linspace(0.0, 2 * np.pi, n_points)
    circle = np.stack([np.cos(phi), np.sin(phi)], axis=-1)
    radii = np.sqrt(2.0 * excess / np.maximum(eig, 1e-300))
    return np.asarray(w_star, float) + (circle * radii) @ U.T


# ---------------------------------------------------------------------------------------------
# Notebook 02: why centre? random hyperplanes; the cost of whitening
# ---------------------------------------------------------------------------------------------


def hyperplane_split_fraction(
    X, n_planes: int = 2000, bias_scale: float = 0.1, seed: int = 0, min_side: float = 0.0
):
    """Fraction of random hyperplanes ``w·x + b = 0`` that split the data points ``X``.

    ``w`` is standard normal (a uniformly random direction) and ``b ~ N(0, (bias_scale |w|)^2)``, so
    the plane passes within about ``bias_scale`` (in the units of ``X``) of the origin — what a freshly
    initialised unit ``relu(w·x + b)`` with a small bias looks like.

    Parameters
    ----------
    X : ndarray, shape (m, n)
    n_planes : int
    bias_scale : float >= 0
        0 puts every plane through the origin.
    seed : int
    min_side : float in [0, 0.5]
        A plane counts as a split if the smaller of its two sides holds at least ``min_side`` of the
        points, and at least one point (``min_side = 0``: one point on each side is enough). A plane
        that cuts off one outlier is not a useful split; ``min_side = 0.05`` asks for 5 % on each side.

    Returns
    -------
    float in [0, 1]
    """
    where = "hyperplane_split_fraction"
    X, _ = _design(X, None, where)
    n_planes = check_positive_int(n_planes, "n_planes", where)
    if not bias_scale >= 0:
        raise ValueError(f"{where}: bias_scale must be >= 0, got {bias_scale}")
    min_side = check_in_range(min_side, "min_side", where, 0.0, 0.5)
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n_planes, X.shape[1]))
    b = bias_scale * np.linalg.norm(W, axis=1) * rng.normal(size=n_planes)
    with single_blas_thread():  # a tiny product: BLAS threads only spin on a busy machine (10x slower)
        # points on the positive side; w·x > −b is w·x + b > 0 (rounding never flips a sum's sign) without
        # a second (planes, points) array: 5x faster on a busy machine
        positive = np.count_nonzero(W @ X.T > -b[:, None], axis=1)
    smaller = np.minimum(positive, X.shape[0] - positive)
    needed = max(1, math.ceil(min_side * X.shape[0] - 1e-9))  # whole points; 1e-9 absorbs 0.05 * 200
    return float(np.mean(smaller >= needed))


def orthant_filling_cloud(gen, n: int, m: int = 200):
    """``m`` points uniform in the cube ``[0, 1]^n``: non-negative data that fill the orthant's corner."""
    return gen.uniform(0.0, 1.0, size=(m, n))


def narrow_cloud(gen, n: int, m: int = 200):
    """``m`` pixel-like points ``0.5 + 0.15 c + 0.05 eps_j`` (one shared ``c`` per point): a thin
    cigar along the diagonal of the positive orthant, away from the origin."""
    return 0.5 + 0.15 * gen.normal(size=(m, 1)) + 0.05 * gen.normal(size=(m, n))


def split_fraction_table(make, transform, ns, seeds, min_side: float = 0.05, n_planes: int = 1000):
    """Useful-split fraction of random near-origin hyperplanes for each seed (rows) and dimension (columns).

    ``make(gen, n)`` draws the data from ``np.random.default_rng(seed)`` (the same data for every
    ``transform``), ``transform`` maps it (identity, centring, whitening); planes come from seed
    ``100 + seed`` with ``bias_scale = 0.1`` (:func:`hyperplane_split_fraction`).
    """
    out = np.zeros((len(seeds), len(ns)))
    for row, seed in enumerate(seeds):
        gen = np.random.default_rng(seed)
        for col, n in enumerate(ns):
            out[row, col] = hyperplane_split_fraction(
                transform(make(gen, int(n))),
                n_planes=n_planes,
                bias_scale=0.1,
                seed=100 + seed,
                min_side=min_side,
            )
    return out
