"""Mistake corpus of notebooks 01 and 02's checkers (directional derivative, central gradient, steepest
descent, z-scoring, k steps in the eigenbasis, largest stable learning rate, condition number from data,
predicted number of steps)."""

import math

import numpy as np

from .common import Corpus, Wrong, generic_wrongs

# --- directional_derivative --------------------------------------------------------------------------


def dd_central(f, p, u, h=1e-5):
    return (f(p + h * u) - f(p - h * u)) / (2 * h)


def dd_two_halves(f, p, u, h=1e-5):
    ahead, behind = p + h * u, p - h * u
    return float(f(ahead) - f(behind)) / 2 / h


def dd_precedence(f, p, u, h=1e-5):
    return (f(p + h * u) - f(p - h * u)) / 2 * h


def dd_divide_by_h(f, p, u, h=1e-5):
    return (f(p + h * u) - f(p - h * u)) / h


def dd_one_sided(f, p, u, h=1e-5):
    return (f(p + h * u) - f(p)) / h


def dd_sign(f, p, u, h=1e-5):
    return (f(p - h * u) - f(p + h * u)) / (2 * h)


def dd_backward_over_plus_h(f, p, u, h=1e-5):
    forward = (f(p + h * u) - f(p)) / h
    backward = (f(p - h * u) - f(p)) / h  # the step is -h: this slope has the wrong sign
    return (forward + backward) / 2


def dd_backward_flipped(f, p, u, h=1e-5):
    forward = (f(p + h * u) - f(p)) / h
    backward = (f(p) - f(p - h * u)) / (-h)  # numerator flipped and denominator -h: wrong sign again
    return 0.5 * (forward + backward)


def dd_without_u(f, p, u, h=1e-5):
    return (f(p + h) - f(p - h)) / (2 * h)


def dd_huge_step(f, p, u, h=1e-5):
    return (f(p + u) - f(p - u)) / 2


def dd_as_vector(f, p, u, h=1e-5):
    return np.full(p.shape, dd_central(f, p, u, h))


def dd_two_d_only(f, p, u, h=1e-5):
    x, y = p  # a 2-D-only answer: the check also uses a function of 3 variables
    ux, uy = u
    return (f(np.array([x + h * ux, y + h * uy])) - f(np.array([x - h * ux, y - h * uy]))) / (2 * h)


def dd_zero(f, p, u, h=1e-5):
    return 0.0  # must not be taken for the `/ 2*h` slip (whose result is tiny but not 0)


# --- central_gradient --------------------------------------------------------------------------------


def grad_loop(f, p, h=1e-5):
    g = np.zeros(len(p))
    for i in range(len(p)):
        e = np.zeros(len(p))
        e[i] = h
        g[i] = (f(p + e) - f(p - e)) / (2 * h)
    return g


def grad_identity_rows(f, p, h=1e-5):
    steps = h * np.eye(p.size)
    return np.array([f(p + s) - f(p - s) for s in steps]) / (2 * h)


def grad_precedence(f, p, h=1e-5):
    steps = h * np.eye(p.size)
    return np.array([(f(p + s) - f(p - s)) / 2 * h for s in steps])


def grad_divide_by_h(f, p, h=1e-5):
    return 2 * grad_loop(f, p, h)


def grad_one_sided(f, p, h=1e-5):
    steps = h * np.eye(p.size)
    return np.array([(f(p + s) - f(p)) / h for s in steps])


def grad_sign(f, p, h=1e-5):
    return -grad_loop(f, p, h)


def grad_all_at_once(f, p, h=1e-5):
    return (f(p + h) - f(p - h)) / (2 * h)


def grad_skips_last(f, p, h=1e-5):
    g = np.zeros(len(p))
    for i in range(len(p) - 1):  # stops one coordinate early
        e = np.eye(len(p))[i]
        g[i] = (f(p + h * e) - f(p - h * e)) / (2 * h)
    return g


def grad_reversed(f, p, h=1e-5):
    return grad_loop(f, p, h)[::-1]


def grad_integer_array(f, p, h=1e-5):
    g = np.zeros(len(p), dtype=int)  # every component is truncated to a whole number
    for i, e in enumerate(np.eye(len(p))):
        g[i] = (f(p + h * e) - f(p - h * e)) / (2 * h)
    return g


def grad_two_d_only(f, p, h=1e-5):
    x, y = p
    return np.array(
        [
            (f(np.array([x + h, y])) - f(np.array([x - h, y]))) / (2 * h),
            (f(np.array([x, y + h])) - f(np.array([x, y - h]))) / (2 * h),
        ]
    )


def grad_alias(f, p, h=1e-5):
    g = np.zeros(len(p))
    for i in range(len(p)):
        q = p  # not a copy
        q[i] += h
        up = f(q)
        q[i] -= 2 * h
        g[i] = (up - f(q)) / (2 * h)
    return g


def grad_no_copy(f, p, h=1e-5):
    g = np.zeros(len(p))
    for i in range(len(p)):
        p[i] += h  # edits the caller's point
        up = f(p)
        p[i] -= 2 * h
        down = f(p)
        g[i] = (up - down) / (2 * h)
    return g


# --- steepest_descent --------------------------------------------------------------------------------


def steep_right(g):
    u = -g / np.linalg.norm(g)
    return u, float(g @ u)


def steep_sqrt(g):
    length = math.sqrt(float(np.sum(g**2)))
    return -g / length, -length


def steep_ascent(g):
    return g / np.linalg.norm(g), float(np.linalg.norm(g))


def steep_positive_rate(g):
    return -g / np.linalg.norm(g), float(np.linalg.norm(g))


def steep_not_normalized(g):
    return -g, float(g @ -g)


def steep_not_unit(g):
    return -g, -float(np.linalg.norm(g))  # the rate is right for a unit u, but u is not one


def steep_over_squared(g):
    return -g / np.sum(g**2), -1.0


def steep_rate_squared(g):
    return -g / np.linalg.norm(g), -float(g @ g)


def steep_one_value(g):
    return -g / np.linalg.norm(g)


def steep_l1(g):
    u = -g / np.sum(np.abs(g))
    return u, float(g @ u)


def steep_swapped(g):
    return -float(np.linalg.norm(g)), -g / np.linalg.norm(g)


# --- standardize_features ----------------------------------------------------------------------------


def std_axis0(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def std_by_hand(X):
    n = X.shape[0]
    mean = X.sum(axis=0) / n
    centred = X - mean
    return centred / np.sqrt((centred**2).sum(axis=0) / n)


def std_ddof1(X):
    return (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)


def std_by_var(X):
    return (X - X.mean(axis=0)) / X.var(axis=0)


def std_no_centre(X):
    return X / X.std(axis=0)


def std_centre_only(X):
    return X - X.mean(axis=0)


def std_rows(X):
    return (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)


def std_global(X):
    return (X - X.mean()) / X.std()


def std_rows_no_keepdims(X):
    return (X - X.mean(axis=1)) / X.std(axis=1)  # (n, D) - (n,): does not broadcast


def std_min_max(X):
    return (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))


def std_plus_eps(X):
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)


def std_eps_in_sqrt(X):
    return (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + 1e-5)


def std_in_place(X):
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    return X


# --- offset_after_steps ------------------------------------------------------------------------------


def off_eigen(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return U @ ((1 - lr * lam) ** k * (U.T @ offset))


def off_matrix_power(H, offset, lr, k):
    step = np.eye(len(offset)) - lr * H
    return np.linalg.matrix_power(step, k) @ offset


def off_plus(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return U @ ((1 + lr * lam) ** k * (U.T @ offset))


def off_linear_in_k(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return U @ ((1 - k * lr * lam) * (U.T @ offset))


def off_loss_factor(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return U @ ((1 - lr * lam) ** (2 * k) * (U.T @ offset))


def off_not_rotated_back(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return (1 - lr * lam) ** k * (U.T @ offset)


def off_wrong_projection(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return U.T @ ((1 - lr * lam) ** k * (U @ offset))


def off_one_extra(H, offset, lr, k):
    lam, U = np.linalg.eigh(H)
    return U @ ((1 - lr * lam) ** (k + 1) * (U.T @ offset))


def off_elementwise_power(H, offset, lr, k):
    return ((np.eye(len(offset)) - lr * H) ** k) @ offset  # ** is elementwise


def off_loop_edits(H, offset, lr, k):
    for _ in range(k):
        offset -= lr * H @ offset  # edits the caller's offset
    return offset.copy()


# --- max_stable_lr -----------------------------------------------------------------------------------


def lr_eigvalsh(X):
    return 2.0 / np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1]


def lr_svd(X):
    sigma_max = np.linalg.svd(X, compute_uv=False)[0]
    return 2.0 * X.shape[0] / sigma_max**2


def lr_no_n(X):
    return 2.0 / np.linalg.eigvalsh(X.T @ X)[-1]


def lr_one_over(X):
    return 1.0 / np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1]


def lr_smallest(X):
    return 2.0 / np.linalg.eigvalsh(X.T @ X / X.shape[0])[0]


def lr_covariance(X):
    return 2.0 / np.linalg.eigvalsh(np.cov(X.T, bias=True))[-1]


def lr_singular_not_squared(X):
    return 2.0 * X.shape[0] / np.linalg.svd(X, compute_uv=False)[0]


def lr_columns_as_n(X):
    return 2.0 / np.linalg.eigvalsh(X.T @ X / X.shape[1])[-1]


def lr_eigenvalues_of_X(X):
    return 2.0 / np.max(np.linalg.eigvals(X).real)


# --- condition_number_from_data ----------------------------------------------------------------------


def kappa_eig(X):
    lam = np.linalg.eigvalsh(X.T @ X / len(X))
    return lam[-1] / lam[0]


def kappa_cond_squared(X):
    return np.linalg.cond(X) ** 2


def kappa_sqrt(X):
    return np.linalg.cond(X)


def kappa_inverse(X):
    lam = np.linalg.eigvalsh(X.T @ X / len(X))
    return lam[0] / lam[-1]


def kappa_covariance(X):
    return np.linalg.cond(np.cov(X.T))


def kappa_difference(X):
    lam = np.linalg.eigvalsh(X.T @ X / len(X))
    return lam[-1] - lam[0]


def kappa_diagonal(X):
    d = np.diag(X.T @ X / len(X))
    return d.max() / d.min()


def kappa_eigenvalues_of_X(X):
    lam = np.linalg.eigvals(X).real
    return lam.max() / lam.min()


def kappa_gram(X):
    lam = np.linalg.eigvalsh(X @ X.T / len(X))  # n x n: rank <= d, so lambda_min ~ 0
    return lam[-1] / lam[0]


# --- predict_steps -----------------------------------------------------------------------------------


def steps_right(H, lr, rel_tol):
    r = np.max(np.abs(1 - lr * np.linalg.eigvalsh(H)))
    return math.ceil(np.log(rel_tol) / (2 * np.log(r)))


def steps_loop(H, lr, rel_tol):
    r = max(abs(1 - lr * lam) for lam in np.linalg.eigvalsh(H))
    k, share = 0, 1.0
    while share > rel_tol:
        share *= r**2
        k += 1
    return k


def steps_no_square(H, lr, rel_tol):
    r = np.max(np.abs(1 - lr * np.linalg.eigvalsh(H)))
    return math.ceil(np.log(rel_tol) / np.log(r))


def steps_floor(H, lr, rel_tol):
    r = np.max(np.abs(1 - lr * np.linalg.eigvalsh(H)))
    return math.floor(np.log(rel_tol) / (2 * np.log(r)))


def steps_flattest(H, lr, rel_tol):
    lam_min = np.linalg.eigvalsh(H)[0]
    return math.ceil(np.log(rel_tol) / (2 * np.log(abs(1 - lr * lam_min))))


def steps_log10(H, lr, rel_tol):
    r = np.max(np.abs(1 - lr * np.linalg.eigvalsh(H)))
    return math.ceil(np.log10(rel_tol) / (2 * np.log(r)))


def steps_kappa_shortcut(H, lr, rel_tol):
    lam = np.linalg.eigvalsh(H)
    return math.ceil(lam[-1] / lam[0] * np.log(1 / rel_tol) / 2)


def steps_one_too_many(H, lr, rel_tol):
    return steps_right(H, lr, rel_tol) + 1


def steps_nan_log(H, lr, rel_tol):
    k = np.log(rel_tol) / (2 * np.log(1 - lr * np.linalg.eigvalsh(H)))  # NaN where the factor < 0
    return int(np.ceil(np.max(k)))


def steps_no_abs(H, lr, rel_tol):
    r = np.max(1 - lr * np.linalg.eigvalsh(H))
    r_min = np.min(1 - lr * np.linalg.eigvalsh(H))
    r = r if abs(r) >= abs(r_min) else r_min  # keeps the sign: log of a negative number
    return math.ceil(math.log(rel_tol) / (2 * math.log(r)))


def _scalar_wrongs(right):
    """The generic structural mistakes, minus the in-place edit (scalar/matrix-only arguments)."""
    return [w for w in generic_wrongs(right) if w.name != "in_place"]


CORPUS = {
    "check_directional_derivative": Corpus(
        right=[dd_central, dd_two_halves],
        wrong=[
            Wrong(dd_precedence, hint="operator precedence"),
            Wrong(dd_divide_by_h, hint="divide by 2h, not by h"),
            Wrong(dd_one_sided, hint="so that the h-term cancels"),
            Wrong(dd_backward_over_plus_h, hint="the backward quotient steps by −h"),
            Wrong(dd_backward_flipped, hint="the backward quotient steps by −h"),
            Wrong(dd_sign, hint="MINUS f(p − h·u)"),
            Wrong(dd_without_u, hint="the whole vector u"),
            Wrong(dd_huge_step, says="max scaled error"),
            Wrong(dd_as_vector, says="shape"),
            Wrong(dd_two_d_only, hint="any length d"),
            Wrong(dd_zero, says="max scaled error"),
            *generic_wrongs(dd_central),
        ],
    ),
    "check_central_gradient": Corpus(
        right=[grad_loop, grad_identity_rows],
        wrong=[
            Wrong(grad_precedence, hint="operator precedence"),
            Wrong(grad_divide_by_h, hint="divide by 2h, not by h"),
            Wrong(grad_one_sided, hint="one-sided difference"),
            Wrong(grad_sign, hint="MINUS f(p − h e_i)"),
            Wrong(grad_all_at_once, hint="move ONE coordinate at a time"),
            Wrong(grad_reversed, hint="wrong order"),
            Wrong(grad_skips_last, hint="stops one coordinate early"),
            Wrong(grad_no_copy, says="in place"),
            Wrong(grad_alias, hint="`q = p` does not copy"),
            Wrong(grad_integer_array, hint="integer dtype"),
            Wrong(grad_two_d_only, hint="any length d"),
            *generic_wrongs(grad_loop),
        ],
    ),
    "check_steepest_descent": Corpus(
        right=[steep_right, steep_sqrt],
        wrong=[
            Wrong(steep_ascent, hint="DOWNHILL"),
            Wrong(steep_positive_rate, hint="negative"),
            Wrong(steep_not_normalized, hint="UNIT vector"),
            Wrong(steep_not_unit, hint="yours has length ‖g‖"),
            Wrong(steep_over_squared, hint="not by ‖g‖²"),
            Wrong(steep_rate_squared, hint="not the squared length"),
            Wrong(steep_one_value, says="return a tuple"),
            Wrong(steep_l1, hint="Euclidean length"),
            Wrong(steep_swapped, hint="direction first"),
            *generic_wrongs(steep_right),
        ],
    ),
    "check_standardize_features": Corpus(
        right=[std_axis0, std_by_hand],
        wrong=[
            Wrong(std_ddof1, hint="ddof=0"),
            Wrong(std_by_var, hint="not the variance"),
            Wrong(std_no_centre, hint="subtract the mean first"),
            Wrong(std_centre_only, hint="divide by the standard deviation too"),
            Wrong(std_rows, hint="use axis=0"),
            Wrong(std_global, hint="not one for the whole matrix"),
            Wrong(std_min_max, hint="min-max scaling"),
            Wrong(std_rows_no_keepdims, hint="one number per ROW"),
            Wrong(std_plus_eps, hint="no ε here"),
            Wrong(std_eps_in_sqrt, hint="under the square root"),
            Wrong(std_in_place, hint="Z = (X - mu) / sd"),
            *generic_wrongs(std_axis0),
        ],
    ),
    "check_offset_after_steps": Corpus(
        right=[off_eigen, off_matrix_power],
        wrong=[
            Wrong(off_plus, hint="not (1 + ηλ)"),
            Wrong(off_linear_in_k, hint="not 1 − kηλ"),
            Wrong(off_loss_factor, hint="factor of the LOSS"),
            Wrong(off_not_rotated_back, hint="rotate back"),
            Wrong(off_wrong_projection, hint="project with Uᵀ"),
            Wrong(off_one_extra, hint="count the steps"),
            Wrong(off_elementwise_power, hint="np.linalg.matrix_power"),
            Wrong(off_loop_edits, says="in place"),
            *_scalar_wrongs(off_eigen),
        ],
    ),
    "check_max_stable_lr": Corpus(
        right=[lr_eigvalsh, lr_svd],
        wrong=[
            Wrong(lr_no_n, hint="divide by the number of samples n"),
            Wrong(lr_one_over, hint="not 1 / λ_max"),
            Wrong(lr_smallest, hint="not the smallest"),
            Wrong(lr_covariance, hint="not the covariance"),
            Wrong(lr_singular_not_squared, hint="SQUARED singular values"),
            Wrong(lr_columns_as_n, hint="number of ROWS"),
            Wrong(lr_eigenvalues_of_X, hint="not square"),
            *_scalar_wrongs(lr_eigvalsh),
        ],
    ),
    "check_condition_number_from_data": Corpus(
        right=[kappa_eig, kappa_cond_squared],
        wrong=[
            Wrong(kappa_sqrt, hint="SQUARE of σ_max/σ_min"),
            Wrong(kappa_inverse, hint="not λ_min / λ_max"),
            Wrong(kappa_covariance, hint="not the covariance"),
            Wrong(kappa_difference, hint="not their difference"),
            Wrong(kappa_diagonal, hint="not its diagonal entries"),
            Wrong(kappa_gram, says="FAIL"),
            Wrong(kappa_eigenvalues_of_X, hint="not square"),
            *_scalar_wrongs(kappa_eig),
        ],
    ),
    "check_predict_steps": Corpus(
        right=[steps_right, steps_loop],
        wrong=[
            Wrong(steps_no_square, hint="a factor 2 in the log"),
            Wrong(steps_floor, hint="round UP"),
            Wrong(steps_flattest, hint="LARGEST |1 − ηλ|"),
            Wrong(steps_log10, hint="same logarithm"),
            Wrong(steps_kappa_shortcut, hint="large-κ shortcut"),
            Wrong(steps_no_abs, hint="absolute value"),
            Wrong(steps_one_too_many, hint="one step too many"),
            Wrong(steps_nan_log, hint="NaN"),
            *_scalar_wrongs(steps_right),
        ],
    ),
}
