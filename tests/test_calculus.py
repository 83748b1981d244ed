"""Tests for course_utils.calculus and the calculus topic's plots, widgets and exercise checks."""

import math
import warnings

import matplotlib
import numpy as np
import pytest

import course_utils as cu
from course_utils import calculus as C

matplotlib.use("Agg")


# --------------------------------------------------------------------------- notebook 01 maths


def test_example_grad_matches_central_differences():
    rng = np.random.default_rng(0)
    for p in rng.uniform(-3, 3, size=(20, 2)):
        num = cu.numerical_gradient_array(lambda q: C.example_f(q), p.copy(), np.array(1.0))
        assert np.allclose(num, C.example_grad(p), atol=1e-7)


def test_example_hessian_matches_gradient_differences():
    p, h = np.array([0.7, -1.3]), 1e-6
    H = C.example_hessian(p)
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        assert np.allclose((C.example_grad(p + e) - C.example_grad(p - e)) / (2 * h), H[:, j], atol=1e-6)
    assert np.allclose(H, H.T)


def test_example_functions_accept_grids():
    grid = np.zeros((4, 5, 2))
    assert C.example_f(grid).shape == (4, 5)
    assert C.example_grad(grid).shape == (4, 5, 2)
    with pytest.raises(ValueError, match="p must have shape"):
        C.example_f(np.zeros(3))


def test_difference_quotient_converges_linearly_to_gradient_dot_u():
    p, u = np.array([1.2, 0.3]), C.unit_vector(0.4)
    exact = C.example_grad(p) @ u
    errors = np.abs(C.difference_quotient(C.example_f, p, u, np.array([1e-1, 1e-2, 1e-3])) - exact)
    assert errors[2] < errors[1] < errors[0]
    # first-order method: error shrinks ~10x per decade of t
    assert 5 < errors[0] / errors[1] < 20 and 5 < errors[1] / errors[2] < 20


def test_directional_derivative_is_gradient_dot_u_everywhere():
    rng = np.random.default_rng(1)
    for _ in range(30):
        p = rng.uniform(-2, 2, 2)
        u = C.unit_vector(rng.uniform(0, 2 * np.pi))
        assert abs(C.directional_derivative(C.example_f, p, u) - C.example_grad(p) @ u) < 1e-9


def test_directional_derivative_extremes_along_gradient():
    p = np.array([1.0, 0.5])
    g = C.example_grad(p)
    thetas = np.linspace(0, 2 * np.pi, 3601)
    values = C.unit_vector(thetas) @ g
    assert np.isclose(values.max(), np.linalg.norm(g), rtol=1e-6)
    assert np.isclose(values.min(), -np.linalg.norm(g), rtol=1e-6)
    tangent = np.array([-g[1], g[0]]) / np.linalg.norm(g)
    assert abs(C.directional_derivative(C.example_f, p, tangent)) < 1e-9


def test_directional_derivative_rejects_bad_inputs():
    with pytest.raises(ValueError, match="unit vector"):
        C.directional_derivative(C.example_f, [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="u must have shape"):
        C.directional_derivative(C.example_f, [0.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="h must be"):
        C.directional_derivative(C.example_f, [0.0, 0.0], [1.0, 0.0], h=0.0)
    with pytest.raises(ValueError, match="t must be nonzero"):
        C.difference_quotient(C.example_f, [0.0, 0.0], [1.0, 0.0], [0.1, 0.0])


def test_increment_minus_differential_is_second_order():
    p, u = np.array([1.0, 0.5]), C.unit_vector(3.5)
    ts = np.array([1e-2, 1e-3])
    delta, df = C.increment_and_differential(C.example_f, C.example_grad, p, u, ts)
    ratio = (delta - df) / ts**2
    expected = 0.5 * u @ C.example_hessian(p) @ u
    assert np.allclose(ratio, expected, rtol=2e-2)


def test_gradient_descent_decreases_f_and_contours_are_perpendicular():
    path = C.gradient_descent(C.example_grad, [2.4, 2.2], 0.4, 30)
    values = C.example_f(path)
    assert np.all(np.diff(values) < 0)
    assert np.linalg.norm(C.example_grad(path[-1])) < 1e-3
    lines = C.contour_lines(C.example_f, 1.0)
    assert lines and np.all(np.abs(C.example_f(lines[0]) - 1.0) < 1e-3)
    assert C.gradient_contour_cosines(C.example_grad, lines[0]).max() < 0.02


# --------------------------------------------------------------------------- notebook 02 maths


def test_least_squares_gradient_and_hessian_are_correct():
    X, y = C.make_scaled_regression(n=30, scale=5.0, seed=3)
    w = np.array([0.3, -0.2])
    num = cu.numerical_gradient_array(lambda v: C.least_squares_loss(v, X, y), w.copy(), np.array(1.0))
    assert np.allclose(num, C.least_squares_gradient(w, X, y), rtol=1e-6)
    H = C.least_squares_hessian(X)
    g1, g0 = C.least_squares_gradient(w + np.array([1.0, 0.0]), X, y), C.least_squares_gradient(w, X, y)
    assert np.allclose(g1 - g0, H[:, 0])  # quadratic: the gradient is exactly affine
    w_star, L_star = C.least_squares_solution(X, y)
    assert np.allclose(C.least_squares_gradient(w_star, X, y), 0, atol=1e-9)
    assert L_star <= C.least_squares_loss(w_star + 1e-3, X, y)


def test_scaled_regression_is_the_same_problem_at_every_scale():
    X1, y1 = C.make_scaled_regression(scale=1.0)
    X2, y2 = C.make_scaled_regression(scale=100.0)
    assert np.array_equal(y1, y2) and np.allclose(X2[:, 1], 100 * X1[:, 1])
    assert np.allclose(C.least_squares_solution(X2, y2)[0][1] * 100, C.least_squares_solution(X1, y1)[0][1])
    assert 100 <= X2[:, 1].min() and X2[:, 1].max() <= 300


def test_condition_number_and_max_stable_lr():
    H = np.diag([2.0, 0.5])
    assert C.condition_number(H) == pytest.approx(4.0)
    assert C.condition_number(np.diag([1.0, 0.0])) == math.inf
    X = np.array([[2.0, 0.0], [0.0, 1.0]])  # H = diag(2, 0.5)
    assert C.max_stable_lr(X) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square"):
        C.condition_number(np.ones((2, 3)))


def test_gd_converges_below_and_diverges_above_the_edge():
    X, y = C.make_scaled_regression(scale=10.0)
    edge = C.max_stable_lr(X)
    w_star, L_star = C.least_squares_solution(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, below, div_below = C.gd_least_squares(X, y, 0.98 * edge, 3000)
        _, above, div_above = C.gd_least_squares(X, y, 1.02 * edge, 3000)
        _, huge, div_huge = C.gd_least_squares(X, y, 1e6 * edge, 3000)
    assert not div_below and below[-1] < below[0]
    assert div_above and div_huge and np.all(np.isfinite(huge))
    stable, largest = C.empirical_max_stable_lr(X, y, edge * np.linspace(0.9, 1.1, 201), steps=3000)
    assert largest == pytest.approx(edge, rel=2e-3)
    assert stable[:50].all() and not stable[-50:].any()


def test_steps_to_tolerance_matches_brute_force_iteration():
    X, y = C.make_scaled_regression(scale=3.0)
    H = C.least_squares_hessian(X)
    w_star, L_star = C.least_squares_solution(X, y)
    for frac in (0.3, 0.9, 0.99):
        lr = frac * C.max_stable_lr(X)
        k = C.steps_to_tolerance(H, np.zeros(2), w_star, lr, rel_tol=1e-4)
        _, losses, _ = C.gd_least_squares(X, y, lr, int(k) + 5)
        excess = (losses - L_star) / (losses[0] - L_star)
        first = int(np.argmax(excess <= 1e-4))
        assert abs(first - k) <= 1, (frac, first, k)  # ±1 for rounding in the loss difference
    assert C.steps_to_tolerance(H, np.zeros(2), w_star, 1.01 * C.max_stable_lr(X)) == math.inf
    assert C.steps_to_tolerance(H, w_star, w_star, 0.1) == 0


def test_standardizing_fixes_the_conditioning():
    X, y = C.make_scaled_regression(scale=100.0)
    raw = C.condition_number(C.least_squares_hessian(X))
    z = C.condition_number(C.least_squares_hessian(cu.data.standardize(X)))
    white = C.condition_number(C.least_squares_hessian(cu.data.zca_whiten(X)))
    assert raw > 1e4 and z < 1.5 and white == pytest.approx(1.0, abs=1e-8)
    H = C.least_squares_hessian(cu.data.standardize(X))
    w_s = C.least_squares_solution(cu.data.standardize(X), y - y.mean())[0]
    steps, lr = C.best_steps_to_tolerance(H, np.zeros(2), w_s, n_grid=50)
    assert steps <= 10 and 0 < lr < C.max_stable_lr(cu.data.standardize(X))


def test_quadratic_ellipse_lies_on_its_level():
    X, y = C.make_scaled_regression(scale=20.0)
    H = C.least_squares_hessian(X)
    w_star, L_star = C.least_squares_solution(X, y)
    pts = C.quadratic_ellipse(H, w_star, 0.5, 50)
    assert np.allclose(C.least_squares_loss(pts, X, y) - L_star, 0.5, rtol=1e-6)


def test_hyperplane_split_fraction():
    rng = np.random.default_rng(0)
    X = rng.uniform(1.0, 2.0, size=(100, 3))
    centred = C.hyperplane_split_fraction(X - X.mean(axis=0), seed=1)
    raw = C.hyperplane_split_fraction(X, seed=1)
    assert centred > 0.95 and raw < 0.5
    # 1-D data on one side of the origin: a plane x = -b/w with small b never splits it
    assert C.hyperplane_split_fraction(rng.uniform(1, 2, size=(50, 1)), bias_scale=0.1) == 0.0
    with pytest.raises(ValueError, match="bias_scale"):
        C.hyperplane_split_fraction(X, bias_scale=-1.0)
    with pytest.raises(ValueError, match="min_side"):
        C.hyperplane_split_fraction(X, min_side=0.7)


def test_central_planes_cross_the_positive_orthant_with_probability_1_minus_2_to_the_1_minus_n():
    # the orthant's corners e_1..e_n: a plane through 0 separates two of them iff w has mixed signs
    for n in (1, 2, 3, 6):
        frac = C.hyperplane_split_fraction(np.eye(n), n_planes=40_000, bias_scale=0.0, seed=n)
        assert frac == pytest.approx(1 - 2.0 ** (1 - n), abs=0.01)


def test_min_side_counts_whole_points():
    # 20 points on a line, the plane x = c with c uniform-ish: exact counts by construction
    X = np.arange(1.0, 21.0)[:, None] - 10.5  # -9.5 ... 9.5, centred
    one = C.hyperplane_split_fraction(X, n_planes=20_000, bias_scale=2.0, seed=3, min_side=0.0)
    quarter = C.hyperplane_split_fraction(X, n_planes=20_000, bias_scale=2.0, seed=3, min_side=0.25)
    half = C.hyperplane_split_fraction(X, n_planes=20_000, bias_scale=2.0, seed=3, min_side=0.5)
    # offsets -b/w ~ N(0, 2^2): "at least 5 of 20 on each side" needs |offset| < 5, "10 of 20" < 0.5
    assert one == pytest.approx(math.erf(9.5 / (2 * math.sqrt(2))), abs=0.02)
    assert quarter == pytest.approx(math.erf(5 / (2 * math.sqrt(2))), abs=0.02)
    assert half == pytest.approx(math.erf(0.5 / (2 * math.sqrt(2))), abs=0.02)


def test_gd_quadratic_matches_iteration_and_cuts_divergent_runs():
    X, y = C.make_scaled_regression(scale=30.0, seed=2)
    H = C.least_squares_hessian(X)
    w_star, L_star = C.least_squares_solution(X, y)
    for frac in (0.3, 0.5, 0.9, 0.999):  # 0.5: lr = 1/lambda_max, a factor r = 0 exactly
        lr = frac * C.max_stable_lr(X)
        path_it, losses_it, div_it = C.gd_least_squares(X, y, lr, 300)
        path, excess, diverged = C.gd_quadratic(H, w_star, np.zeros(2), lr, 300)
        assert not div_it and not diverged and path.shape == (301, 2)
        assert np.allclose(path, path_it, rtol=1e-9, atol=1e-12)
        assert np.allclose(excess, losses_it - L_star, rtol=1e-6, atol=1e-9 * (losses_it[0] - L_star))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for lr in (1.05 * C.max_stable_lr(X), 1.0, 1e6):
            path, excess, diverged = C.gd_quadratic(H, w_star, np.zeros(2), lr, 1000)
            assert diverged and np.all(np.isfinite(path)) and np.all(np.isfinite(excess))
            assert excess[-1] > 1e6 * excess[0] and np.all(excess[:-1] <= 1e6 * excess[0])
    with pytest.raises(ValueError, match="w0 must have shape"):
        C.gd_quadratic(H, w_star, np.zeros(3), 0.1, 10)
    # lr = 1/lambda exactly: that direction is solved in one step (r = 0, no 0 * log 0 = nan)
    path, excess, diverged = C.gd_quadratic(np.diag([1.0, 4.0]), [1.0, 1.0], [0.0, 0.0], 0.25, 3)
    assert not diverged and np.allclose(path[:, 1], [0.0, 1.0, 1.0, 1.0])
    assert np.allclose(excess, 0.5 * 0.75 ** (2 * np.arange(4)) + np.array([2.0, 0, 0, 0]))


def test_optimal_lr_balances_the_extreme_directions():
    H = np.diag([1.0, 9.0])
    lr = C.optimal_lr(H)
    assert lr == pytest.approx(0.2)
    assert abs(1 - lr * 1.0) == pytest.approx(abs(1 - lr * 9.0))
    with pytest.raises(ValueError, match="square"):
        C.optimal_lr(np.ones(3))


# --------------------------------------------------------------------------- widgets


def _no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def test_directional_derivative_demo_updates_in_place():
    fig, update = cu.widgets.directional_derivative_demo()
    n_artists = sum(len(ax.get_children()) for ax in fig.axes)
    for theta in (0.0, 90.0, 359.0):
        for px, py in ((-2.5, -2.5), (2.5, 2.5), (-0.66, -0.23)):
            text = _no_warnings(update, theta=theta, px=px, py=py)
            assert "∇f·u" in text and "nan" not in text
    assert sum(len(ax.get_children()) for ax in fig.axes) == n_artists  # nothing added
    update(theta=45.0, px=1.0, py=0.5)
    # the marker on the cosine panel sits at ∇f·u
    current = fig.axes[1].lines[-1]
    g = C.example_grad(np.array([1.0, 0.5]))
    assert np.isclose(current.get_ydata()[0], g @ C.unit_vector(np.pi / 4))
    cu.plotting.figure_to_png(fig)


def test_feature_scaling_demo_extremes_show_divergence_without_warnings():
    fig, update = cu.widgets.feature_scaling_demo()
    n_artists = sum(len(ax.get_children()) for ax in fig.axes)
    for scale in (1.0, 1000.0):
        for lr in (1e-7, 1.0):
            text = _no_warnings(update, scale=scale, lr=lr)
            assert "nan" not in text.lower() and "κ" in text
            _no_warnings(cu.plotting.figure_to_png, fig)
    assert sum(len(ax.get_children()) for ax in fig.axes) == n_artists  # nothing added
    text = update(scale=1000.0, lr=1.0)
    assert "DIVERGES" in text.split("z-scored")[0] and "DIVERGES" not in text.split("z-scored")[1]
    status = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "DIVERGES" in status
    text = update(scale=1.0, lr=0.1)
    assert "DIVERGES" not in text
    assert all(t.get_text() != "DIVERGES" for ax in fig.axes for t in ax.texts)


def test_feature_scaling_demo_draws_w2_zoomed_by_the_scale():
    fig, update = cu.widgets.feature_scaling_demo(steps=100)
    ax_raw, ax_std, ax_loss = fig.axes
    X1, y = C.make_scaled_regression(scale=1.0)
    w1_star, _ = C.least_squares_solution(X1, y)
    for scale in (1.0, 50.0):
        X = X1 * np.array([1.0, scale])
        lr = 0.5 * C.max_stable_lr(X)
        update(scale=scale, lr=lr)
        path = C.gd_least_squares(X, y, lr, 100)[0]
        drawn = ax_raw.lines[-1]
        assert np.allclose(drawn.get_xdata(), path[:, 0])
        assert np.allclose(drawn.get_ydata(), scale * path[:, 1])  # the axis shows s * w2
        curve = [line for line in ax_loss.lines if len(line.get_xdata()) > 2][0]
        assert curve.get_ydata()[0] == pytest.approx(1.0)  # loss relative to its start
    # at scale 1 and a good rate the raw path ends near the minimum
    update(scale=1.0, lr=0.9 * C.max_stable_lr(X1))
    end = np.array([ax_raw.lines[-1].get_xdata()[-1], ax_raw.lines[-1].get_ydata()[-1]])
    assert np.linalg.norm(end - w1_star) < 0.1


# --------------------------------------------------------------------------- the exercises' course answers
# (the checkers themselves are tested by tests/mistakes/corpus_calculus.py)


def test_central_gradient_matches_the_exact_gradient_and_leaves_p_alone():
    p = np.array([1.2, 0.3])
    before = p.copy()
    assert np.allclose(C.central_gradient(C.example_f, p), C.example_grad(p), atol=1e-9)
    assert np.array_equal(p, before)


def test_steepest_descent_is_the_minimum_of_the_directional_derivative():
    g = C.example_grad([1.2, 0.3])
    u, rate = C.steepest_descent(g)
    assert math.isclose(np.linalg.norm(u), 1.0) and math.isclose(rate, -np.linalg.norm(g))
    thetas = np.radians(np.arange(0, 360, 0.5))
    values = C.unit_vector(thetas) @ g
    assert rate <= values.min() + 1e-12
    with pytest.raises(ValueError, match="stationary"):
        C.steepest_descent(np.zeros(2))


def test_difference_errors_central_beats_one_sided():
    one_sided, central = C.difference_errors(seed=3, n_points=50)
    assert np.median(one_sided) > 100 * np.median(central)


def test_offset_after_steps_matches_iteration():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 3))
    H = A @ A.T + np.eye(3)
    e = rng.normal(size=3)
    lr = 1.0 / np.linalg.eigvalsh(H)[-1]
    it = e.copy()
    for _ in range(25):
        it = it - lr * H @ it
    assert np.allclose(C.offset_after_steps(H, e, lr, 25), it, rtol=1e-10, atol=1e-14)
    assert np.allclose(C.offset_after_steps(H, e, lr, 0), e)


def test_predict_steps_bounds_the_exact_count_from_above():
    X, y = C.make_scaled_regression(scale=1.0)
    H = C.least_squares_hessian(X)
    w_star, _ = C.least_squares_solution(X, y)
    for frac in (0.3, 0.5, 0.9, 0.99):
        lr = frac * C.max_stable_lr(X)
        exact = C.steps_to_tolerance(H, np.zeros(2), w_star, lr)
        assert exact <= C.predict_steps(H, lr)
    assert C.predict_steps(H, 1.01 * C.max_stable_lr(X)) == math.inf
    assert math.isclose(C.condition_number_from_data(X), C.condition_number(H))


def test_scaling_steps_experiment_and_split_table_shapes():
    raw, z = C.scaling_steps_experiment([0, 1], scale=10.0, n_grid=50)
    assert raw.shape == z.shape == (2,) and np.all(raw > 10 * z)
    table = C.split_fraction_table(C.narrow_cloud, lambda D: D - D.mean(axis=0), [1, 3], [0], n_planes=200)
    assert table.shape == (1, 2) and np.all((table >= 0) & (table <= 1))


def test_centring_scaling_kappas_match_a_direct_computation():
    kappas = C.centring_scaling_kappas([3, 4], scales=(1.0, 100.0))
    assert set(kappas) == {(s, v) for s in (1.0, 100.0) for v in C.CENTRING_SCALING_VARIANTS}
    X, _ = C.make_scaled_regression(n=200, scale=100.0, seed=4)
    centred = X - X.mean(axis=0)
    assert math.isclose(
        kappas[(100.0, "centre only")][1], C.condition_number(C.least_squares_hessian(centred))
    )
    assert math.isclose(kappas[(100.0, "z-score")][1], C.condition_number_from_data(cu.data.standardize(X)))
    # dividing by the std removes the scale: "scale only" does not depend on s
    np.testing.assert_allclose(kappas[(1.0, "scale only")], kappas[(100.0, "scale only")], rtol=1e-9)


# --------------------------------------------------------------------------- static plots


def test_static_plots_return_figures():
    import matplotlib.pyplot as plt

    X, y = C.make_scaled_regression(scale=10.0)
    H = C.least_squares_hessian(X)
    w_star, _ = C.least_squares_solution(X, y)
    path, losses, div = C.gd_least_squares(X, y, 0.5 * C.max_stable_lr(X), 20)
    figs = [
        cu.plotting.plot_directional_derivative_overview(),
        cu.plotting.plot_increment_vs_differential(),
        cu.plotting.plot_gradient_and_contours(),
        cu.plotting.plot_quadratic_paths([dict(H=H, w_star=w_star, path=path, title="t", note="n")]),
        cu.plotting.plot_loss_curves({"a": (losses, div)}, "t"),
        cu.plotting.plot_split_fractions(
            [1, 2],
            {"a": (np.array([0.5, 0.6]), np.array([0.0, 0.1]))},
            {"a": (np.array([2.0, 1.5]), np.array([0.1, 0.1]))},
            "t",
        ),
        cu.plotting.plot_eigen_step(),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    plt.close("all")
