"""Checks for notebooks 01 and 02, all built on :func:`~.core.grade`.

Notebook 01: a numerical directional derivative, the gradient by central differences, the direction of
steepest descent and its rate. Notebook 02: z-scoring, one gradient-descent step seen in the eigenbasis
(``k`` steps without iterating), the largest stable learning rate, the condition number from data and a
graded prediction of the number of steps to a tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from .. import calculus as C
from ..data import standardize
from .core import Case, grade, match_mistake

__all__ = [
    "check_directional_derivative",
    "check_central_gradient",
    "check_steepest_descent",
    "check_standardize_features",
    "check_offset_after_steps",
    "check_max_stable_lr",
    "check_condition_number_from_data",
    "check_predict_steps",
]

H_STEP = 1e-5  # the finite-difference step of notebook 01's exercises


# --- test functions of several variables (a 2-D-only answer is caught) ------------------------------


def _cubic_3d(p):
    """A 3-variable test function."""
    p = np.asarray(p, float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return x * y**2 + np.exp(0.3 * z) - np.cos(x * z)


def _cubic_3d_grad(p):
    p = np.asarray(p, float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.stack([y**2 + z * np.sin(x * z), 2 * x * y, 0.3 * np.exp(0.3 * z) + x * np.sin(x * z)], -1)


def _steep_2d(p):
    """A steep, strongly curved 2-D function: the one-sided quotient is far off here (curvature ~ 50)."""
    p = np.asarray(p, float)
    x, y = p[..., 0], p[..., 1]
    return 25.0 * x**2 + np.sin(3 * y) + x * y


def _steep_2d_grad(p):
    p = np.asarray(p, float)
    x, y = p[..., 0], p[..., 1]
    return np.stack([50.0 * x + y, 3 * np.cos(3 * y) + x], -1)


_FUNCTIONS = {
    "example_f": (C.example_f, C.example_grad, 2),
    "cubic_3d": (_cubic_3d, _cubic_3d_grad, 3),
    "steep_2d": (_steep_2d, _steep_2d_grad, 2),
}
_GRADIENTS = {id(f): grad for f, grad, _ in _FUNCTIONS.values()}


def _exact_grad(f, p):
    return np.asarray(_GRADIENTS[id(f)](np.asarray(p, float)), dtype=float)


_SCALED_ERROR = "scaled error (|yours − exact| / max(1, |exact|))"


def _scaled_abs_error(answer, expected):
    """Absolute error in units of max(1, |expected|): a derivative can be 0, a relative error cannot."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return float(np.max(np.abs(answer - expected), initial=0.0)) / scale


_ANY_LENGTH = (
    "p (and u) can have any length d — the check uses d = 3: work with whole vectors (p + h * u), "
    "do not unpack x, y = p"
)
_OWN_POINT = (
    "build a new point for each evaluation (q = p + h * e_i); `p[i] += h` edits the caller's point, "
    "and `q = p` does not copy it"
)


def _unpacking_hint(exc, args, kwargs):
    """A 2-D-only answer (``x, y = p``) raises on the 3-variable case."""
    if isinstance(exc, ValueError) and "values to unpack" in str(exc):
        return _ANY_LENGTH
    if isinstance(exc, IndexError) and "out of bounds" in str(exc):
        return _ANY_LENGTH
    return None


def _truncated(exact):
    """What an integer gradient array (``np.zeros_like`` of an int array, ``dtype=int``) holds."""
    return np.trunc(exact)


_INTEGER_ARRAY = (
    "your numbers lost their decimals: the array you fill was created with an integer dtype "
    "(np.zeros_like of an integer array, or dtype=int); create it with np.zeros(d), which holds floats"
)


# --- notebook 01: directional derivative --------------------------------------------------------------


def _derivative_cases(seed, n_per_function=3, with_u=True):
    rng = np.random.default_rng(seed)
    cases = []
    for name, (f, _, d) in _FUNCTIONS.items():
        for _ in range(n_per_function):
            p = rng.uniform(-2.0, 2.0, d)
            args = {"f": f, "p": p}
            if with_u:
                u = rng.normal(size=d)
                args["u"] = u / np.linalg.norm(u)
            cases.append(Case(args, {"h": H_STEP}, note=f"{name} at p = {np.round(p, 2)}"))
    return cases


def check_directional_derivative(fn) -> bool:
    """Grade ``fn(f, p, u, h=1e-5)`` (a numerical D_u f(p)) against the exact ``∇f(p)·u``.

    Cases: random points and unit directions on the course's example, on a function of three variables
    and on a steep one (where a one-sided quotient is visibly off). The error is scaled: |yours − exact|
    over max(1, |D_u f|) (relative for large derivatives, absolute for small ones); a central difference
    reaches ~1e-9, a one-sided one ~1e-4.
    """

    def reference(f, p, u, h):
        return float(_exact_grad(f, p) @ u)

    def diagnose(answers, args, kwargs):
        f, p, u, h = args["f"], args["p"], args["u"], kwargs["h"]
        exact = float(_exact_grad(f, p) @ u)
        ones = np.ones_like(p)
        return match_mistake(
            answers[0],
            {
                "operator precedence: `... / 2*h` divides by 2 and then MULTIPLIES by h; "
                "write `/ (2*h)` (or `/ 2 / h`)": lambda: (f(p + h * u) - f(p - h * u)) / 2 * h,
                "the two points p ± h·u are 2h apart: divide by 2h, not by h": 2 * exact,
                "that is the one-sided quotient [f(p+hu) − f(p)]/h, whose error is O(h): substitute −h for h "
                "in the expansion and combine the two quotients so that the h-term cancels": lambda: (
                    (f(p + h * u) - f(p)) / h
                ),
                "your answer is almost 0: the backward quotient steps by −h, so it is [f(p−hu) − f(p)]/(−h); "
                "divided by +h its slope has the wrong sign and cancels the forward one": lambda: (
                    (f(p + h * u) + f(p - h * u) - 2 * f(p)) / (2 * h)
                ),
                "sign: the quotient is f(p + h·u) MINUS f(p − h·u), in that order": -exact,
                "step along u: p + h*u (the whole vector u), not p + h": lambda: (
                    (f(p + h * ones) - f(p - h * ones)) / (2 * h)
                ),
            },
            rtol=1e-4,
            atol=1e-13,  # the precedence slip gives ~h²·D_u f ≈ 1e-10·D_u f, not 0
        )

    return grade(
        "directional_derivative",
        fn,
        _derivative_cases(1847),  # Cauchy's year of gradient descent
        reference,
        tol=1e-7,
        error=_scaled_abs_error,
        error_name=_SCALED_ERROR,
        diagnose=diagnose,
        on_raise=_unpacking_hint,
    )


# --- notebook 01: the gradient by central differences -------------------------------------------------


def check_central_gradient(fn) -> bool:
    """Grade ``fn(f, p, h=1e-5)`` (the gradient by central differences) against the exact ``∇f(p)``.

    Cases in 2 and 3 dimensions, including a steep function where a one-sided difference is far off.
    ``p`` must come back unchanged (perturb a copy).
    """

    def reference(f, p, h):
        return _exact_grad(f, p)

    def diagnose(answers, args, kwargs):
        f, p, h = args["f"], args["p"], kwargs["h"]
        exact = _exact_grad(f, p)
        d = p.size
        eye = np.eye(d)
        one_sided = np.array([(f(p + h * eye[i]) - f(p)) / h for i in range(d)])
        precedence = np.array([(f(p + h * eye[i]) - f(p - h * eye[i])) / 2 * h for i in range(d)])
        all_at_once = (f(p + h) - f(p - h)) / (2 * h)
        answer = answers[0]
        if np.shape(answer) != np.shape(exact):
            if np.size(answer) == 1:
                return (
                    "return one number per coordinate (shape (d,)): move ONE coordinate at a time, "
                    "p + h·e_i with e_i the i-th basis vector"
                )
            return None
        if np.any(exact != np.trunc(exact)) and np.allclose(answer, _truncated(exact), rtol=0, atol=1e-6):
            return _INTEGER_ARRAY
        return match_mistake(
            answer,
            {
                "operator precedence: `... / 2*h` divides by 2 and then MULTIPLIES by h; write `/ (2*h)`": precedence,
                "the two points p ± h·e_i are 2h apart: divide by 2h, not by h": 2 * exact,
                "that is the one-sided difference [f(p + h e_i) − f(p)]/h; use the central one "
                "[f(p + h e_i) − f(p − h e_i)]/(2h)": one_sided,
                "sign: f(p + h e_i) MINUS f(p − h e_i)": -exact,
                "move one coordinate at a time: p + h·e_i changes only coordinate i "
                "(p + h moves all of them)": np.full(d, all_at_once),
                "the components are in the wrong order (component i belongs to coordinate i)": exact[::-1],
                "the last component is 0: your loop stops one coordinate early (range(len(p)) visits all "
                "D coordinates; range(len(p) - 1) skips the last)": np.append(exact[:-1], 0.0),
            },
            rtol=1e-4,
            atol=1e-13,
        )

    return grade(
        "central_gradient",
        fn,
        _derivative_cases(1858, with_u=False),
        reference,
        tol=1e-7,
        error=_scaled_abs_error,
        error_name=_SCALED_ERROR,
        diagnose=diagnose,
        on_raise=_unpacking_hint,
        mutation_hint=_OWN_POINT,
    )


# --- notebook 01: steepest descent --------------------------------------------------------------------


def check_steepest_descent(fn) -> bool:
    """Grade ``fn(g) -> (u, rate)``: the unit direction of steepest *descent* for the gradient ``g`` and
    the directional derivative ``D_u f = g·u`` along it (negative). Gradients in 2, 3 and 5 dimensions,
    long and short (a missing normalization shows)."""
    rng = np.random.default_rng(1901)
    cases = [
        Case({"g": np.array([0.6353686, 0.3353686])}, note="the gradient of f at p = (1.2, 0.3)"),
        Case({"g": np.array([3.0, -4.0])}, note="g = (3, -4)"),
        Case({"g": rng.normal(size=3) * 5.0}, note="a long 3-D gradient"),
        Case({"g": rng.normal(size=5) * 0.05}, note="a short 5-D gradient"),
    ]

    def reference(g):
        return C.steepest_descent(g)

    def diagnose(answers, args, kwargs):
        g = np.asarray(args["g"], float)
        norm = np.linalg.norm(g)
        u_right = -g / norm
        if len(answers) == 2 and np.ndim(answers[0]) == 0 and np.shape(answers[1]) == g.shape:
            return "return the direction first and the rate second: `return u, rate`"
        l1 = np.sum(np.abs(g))
        return match_mistake(
            tuple(answers),
            {
                "descent means DOWNHILL: u points against the gradient, u = −g/‖g‖, and D_u f = −‖g‖ < 0": (
                    g / norm,
                    norm,
                ),
                "the direction is right; the rate along it is D_u f = g·u = −‖g‖ (f decreases, so negative)": (
                    u_right,
                    norm,
                ),
                "u must be a UNIT vector: divide −g by its length ‖g‖": (-g, -(norm**2)),
                "u must be a UNIT vector (‖u‖ = 1), yours has length ‖g‖: divide −g by its length": (
                    -g,
                    -norm,
                ),
                "u must be a unit vector (‖u‖ = 1): divide by ‖g‖, not by ‖g‖²": (-g / norm**2, -1.0),
                "the rate is g·u = −‖g‖ (the length, not the squared length)": (u_right, -(norm**2)),
                "‖g‖ is the Euclidean length √(g₁² + g₂² + …) (np.linalg.norm), not the sum of |g_i|": (
                    -g / l1,
                    -(norm**2) / l1,
                ),
            },
            rtol=1e-6,
            atol=1e-12,
        )

    return grade("steepest_descent", fn, cases, reference, outputs=("u", "rate"), tol=1e-9, diagnose=diagnose)


# --- notebook 02: z-scoring ---------------------------------------------------------------------------


def check_standardize_features(fn) -> bool:
    """Grade ``fn(X)`` (z-score each column of X, shape (n, D)) against :func:`course_utils.data.standardize`
    on data with very different column scales and means, including a wide and a short matrix."""
    rng = np.random.default_rng(1998)
    cases = [
        Case(
            {
                "X": rng.normal(size=(40, 4)) * np.array([1.0, 100.0, 0.01, 7.0])
                + np.array([2.0, 300.0, -1.0, 0.0])
            },
            note="X of shape (40, 4), scales 0.01 to 100",
        ),
        Case(
            {"X": rng.uniform(1.0, 3.0, size=(6, 9)) * 50.0}, note="X of shape (6, 9): more columns than rows"
        ),
        Case({"X": rng.normal(5.0, 2.0, size=(200, 2))}, note="X of shape (200, 2)"),
    ]

    def diagnose(answers, args, kwargs):
        X = np.asarray(args["X"], float)
        mu, sd = X.mean(axis=0), X.std(axis=0)
        return match_mistake(
            answers[0],
            {
                "use the biased std (ddof=0, NumPy's default), as BN does": (X - mu) / X.std(axis=0, ddof=1),
                "divide by the standard deviation, not the variance": (X - mu) / X.var(axis=0),
                "subtract the mean first: z = (x − mean) / std": X / sd,
                "divide by the standard deviation too (centring alone leaves the scales unequal)": X - mu,
                "statistics are per column (feature): use axis=0": lambda: (
                    (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
                ),
                "one mean and std per column (axis=0), not one for the whole matrix": (X - X.mean())
                / X.std(),
                "that is min-max scaling to [0, 1]; z-scoring subtracts the MEAN and divides by the "
                "STANDARD DEVIATION": (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0)),
                **{
                    f"no ε here: divide by the standard deviation itself (an ε of {eps:g}{form} shows on "
                    "the column whose std is 0.01)": wrong
                    for eps in (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
                    for form, wrong in (
                        ("", (X - mu) / (sd + eps)),
                        (" under the square root", (X - mu) / np.sqrt(sd**2 + eps)),
                    )
                },
            },
            rtol=1e-9,
            atol=1e-12,
        )

    return grade(
        "standardize_features",
        fn,
        cases,
        standardize,
        diagnose=diagnose,
        mutation_hint="build a new array (Z = (X - mu) / sd, not X -= mu): the caller still needs its data",
        on_raise=_row_statistics_hint,
    )


def _row_statistics_hint(exc, args, kwargs):
    """``X - X.mean(axis=1)``: one mean per ROW, shape (n,), does not broadcast against (n, D)."""
    n = np.shape(args["X"])[0]
    if isinstance(exc, ValueError) and "broadcast" in str(exc) and f"({n},)" in str(exc):
        return (
            "a statistic of shape (n,) is one number per ROW (axis=1); z-scoring needs one per COLUMN: "
            "X.mean(axis=0) has shape (D,) and broadcasts against X"
        )
    return None


# --- notebook 02: one step in the eigenbasis ----------------------------------------------------------


def _rotated(lams, angle_deg):
    a = math.radians(angle_deg)
    U = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return U @ np.diag(lams) @ U.T


def check_offset_after_steps(fn) -> bool:
    """Grade ``fn(H, offset, lr, k)``: the offset ``w_k − w*`` after ``k`` gradient-descent steps on a
    quadratic with Hessian ``H``, starting from ``offset = w_0 − w*``.

    Cases: a diagonal and a rotated 2×2 bowl, a 3×3 one, a step size where a factor is negative
    (``η λ > 1``), ``k = 0`` and a long run (``k = 5000``).
    """
    rng = np.random.default_rng(1964)
    A = rng.normal(size=(3, 3))
    cases = [
        Case(
            {"H": np.diag([4.0, 1.0]), "offset": np.array([1.0, 1.0]), "lr": 0.2, "k": 2}, note="diagonal H"
        ),
        Case(
            {"H": _rotated([1.0, 4.0], 30.0), "offset": np.array([1.5, -0.5]), "lr": 0.3, "k": 3},
            note="H with eigenvectors at 30°",
        ),
        Case(
            {"H": A @ A.T + 0.5 * np.eye(3), "offset": rng.normal(size=3), "lr": 0.05, "k": 7}, note="3×3 H"
        ),
        Case(
            {"H": _rotated([0.5, 9.0], -50.0), "offset": np.array([-1.0, 2.0]), "lr": 0.2, "k": 4},
            note="η λ_max = 1.8: one factor is negative",
        ),
        Case(
            {"H": _rotated([2.0, 3.0], 10.0), "offset": np.array([0.3, 0.7]), "lr": 0.1, "k": 0}, note="k = 0"
        ),
        Case(
            {"H": _rotated([0.001, 1.0], 70.0), "offset": np.array([2.0, 1.0]), "lr": 1.0, "k": 5000},
            note="k = 5000 steps",
        ),
    ]

    def diagnose(answers, args, kwargs):
        H, e, lr, k = args["H"], np.asarray(args["offset"], float), args["lr"], args["k"]
        lam, U = np.linalg.eigh(H)
        c = U.T @ e

        def back(factors):
            return U @ (factors * c)

        return match_mistake(
            answers[0],
            {
                "a step SUBTRACTS η∇L = ηH·e: the factor is (1 − ηλ), not (1 + ηλ)": back(
                    (1 + lr * lam) ** k
                ),
                "after k steps the factor is applied k times: (1 − ηλ)^k, not 1 − kηλ": back(
                    1 - k * lr * lam
                ),
                "(1 − ηλ)^(2k) is the factor of the LOSS (a square); the offset gets (1 − ηλ)^k": back(
                    (1 - lr * lam) ** (2 * k)
                ),
                "rotate back: you returned the eigen-coordinates c_k = Uᵀe_k; the offset is U·c_k": (
                    1 - lr * lam
                )
                ** k
                * c,
                "project with Uᵀ (the eigenvectors are the COLUMNS of U): c = Uᵀe, then e_k = U·c_k": U.T
                @ ((1 - lr * lam) ** k * (U @ e)),
                "count the steps: k steps apply the factor k times (check k = 0 returns the offset itself)": back(
                    (1 - lr * lam) ** (k + 1)
                ),
                "count the steps: k steps apply the factor exactly k times": back(
                    (1 - lr * lam) ** max(k - 1, 0)
                ),
                "`A ** k` raises every ENTRY of A to the power k; the matrix power is "
                "np.linalg.matrix_power(A, k) — or, as asked, scale the eigen-coordinates": lambda: (
                    (np.eye(len(e)) - lr * H) ** k @ e
                ),
            },
        )

    return grade("offset_after_steps", fn, cases, C.offset_after_steps, tol=1e-8, diagnose=diagnose)


# --- notebook 02: stability and conditioning from data ------------------------------------------------


def _design_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        Case(
            {"X": rng.uniform(1.0, 3.0, size=(50, 2)) * np.array([1.0, 100.0])},
            note="X (50, 2), scales 1 and 100",
        ),
        Case({"X": rng.uniform(1.0, 3.0, size=(80, 3)) * np.array([1.0, 1.0, 10.0])}, note="X (80, 3)"),
        Case({"X": rng.normal(0.0, 1.0, size=(30, 2)) * np.array([0.1, 3.0])}, note="X (30, 2), centred-ish"),
        Case({"X": rng.uniform(0.0, 1.0, size=(12, 4)) + 2.0}, note="X (12, 4), shared mean 2.5"),
    ]


def _square_hint(exc, args, kwargs):
    """Eigenvalues of the data matrix X itself (n × D, not square)."""
    if isinstance(exc, np.linalg.LinAlgError) and "square" in str(exc):
        return (
            "X has shape (n, D): it is not square and has no eigenvalues; the eigenvalues you need are "
            "those of the D × D Hessian H = XᵀX / n"
        )
    return None


def _relative_error(answer, expected):
    return float(np.max(np.abs(answer - expected) / np.abs(expected)))


def check_max_stable_lr(fn) -> bool:
    """Grade ``fn(X)`` — the largest stable learning rate of gradient descent on
    ``L(w) = ||X w − y||² / (2 n)`` — against ``2 / λ_max(Xᵀ X / n)`` on several datasets."""

    def diagnose(answers, args, kwargs):
        X = np.asarray(args["X"], float)
        n = X.shape[0]
        eig = np.linalg.eigvalsh(X.T @ X / n)
        sv = np.linalg.svd(X, compute_uv=False)
        return match_mistake(
            answers[0],
            {
                "the Hessian is XᵀX / n: divide by the number of samples n": 2 / (n * eig[-1]),
                "the limit is 2 / λ_max, not 1 / λ_max (|1 − ηλ| < 1 allows ηλ up to 2)": 1 / eig[-1],
                "use the largest eigenvalue (λ_max), not the smallest": 2 / eig[0],
                "use XᵀX / n itself, not the covariance of X (the model has no intercept, "
                "so the mean is part of the curvature)": lambda: (
                    2 / np.linalg.eigvalsh(np.cov(X.T, bias=True))[-1]
                ),
                "eigenvalues of XᵀX / n are the SQUARED singular values of X over n": 2 / (sv[0] / n),
                "n is the number of samples, the number of ROWS of X (X.shape[0]), not X.shape[1]": (
                    2 / np.linalg.eigvalsh(X.T @ X / X.shape[1])[-1]
                ),
            },
            rtol=1e-6,
        )

    return grade(
        "max_stable_lr",
        fn,
        _design_cases(1951),
        C.max_stable_lr,
        tol=1e-6,
        error=_relative_error,
        diagnose=diagnose,
        on_raise=_square_hint,
    )


def check_condition_number_from_data(fn) -> bool:
    """Grade ``fn(X)`` — the condition number κ = λ_max / λ_min of the least-squares Hessian ``Xᵀ X / n``
    — on several datasets (one with a shared mean, where centring would change κ a lot)."""

    def diagnose(answers, args, kwargs):
        X = np.asarray(args["X"], float)
        n = X.shape[0]
        eig = np.linalg.eigvalsh(X.T @ X / n)
        kappa = eig[-1] / eig[0]
        H = X.T @ X / n
        return match_mistake(
            answers[0],
            {
                "κ of XᵀX/n is the SQUARE of σ_max/σ_min of X (np.linalg.cond(X) is √κ)": math.sqrt(kappa),
                "κ is λ_max / λ_min (≥ 1), not λ_min / λ_max": 1 / kappa,
                "use XᵀX / n itself, not the covariance (np.cov centres the data; this model has no "
                "intercept, so the means are part of the curvature)": lambda: np.linalg.cond(np.cov(X.T)),
                "κ is a ratio of eigenvalues, not their difference": eig[-1] - eig[0],
                "κ uses the eigenvalues of H, not its diagonal entries": np.max(np.diag(H))
                / np.min(np.diag(H)),
            },
            rtol=1e-6,
        )

    return grade(
        "condition_number_from_data",
        fn,
        _design_cases(1983),
        C.condition_number_from_data,
        tol=1e-6,
        error=_relative_error,
        diagnose=diagnose,
        on_raise=_square_hint,
    )


# --- notebook 02: predict the number of steps ---------------------------------------------------------


def check_predict_steps(fn) -> bool:
    """Grade ``fn(H, lr, rel_tol)`` — the predicted number of steps until the slowest direction's share
    of the excess loss falls by ``rel_tol`` — exactly (it is an integer).

    Cases: a well- and a badly-conditioned bowl, one where the *steep* direction is the slowest (η close
    to 2/λ_max, factor near −1) and a 3×3 one.
    """
    cases = [
        Case({"H": np.diag([1.0, 2.0]), "lr": 0.5, "rel_tol": 1e-6}, note="λ = 1, 2 at η = 0.5"),
        Case({"H": _rotated([0.01, 1.0], 20.0), "lr": 1.0, "rel_tol": 1e-6}, note="κ = 100 at η = 1/λ_max"),
        Case(
            {"H": np.diag([1.0, 1.5]), "lr": 1.3, "rel_tol": 1e-4},
            note="η λ_max = 1.95: the steep direction flips sign and is the slowest",
        ),
        Case({"H": np.diag([0.2, 0.5, 3.0]), "lr": 0.3, "rel_tol": 1e-8}, note="3×3, rel_tol = 1e-8"),
    ]

    def reference(H, lr, rel_tol):
        return float(C.predict_steps(H, lr, rel_tol))

    def diagnose(answers, args, kwargs):
        H, lr, tol = args["H"], args["lr"], args["rel_tol"]
        if not np.all(np.isfinite(np.asarray(answers[0], dtype=float))):
            return "the log of a negative factor is NaN: take the absolute value r = |1 − ηλ| first"
        lam = np.linalg.eigvalsh(H)
        r = np.abs(1 - lr * lam)
        slow = float(r.max())
        x = math.log(tol) / (2 * math.log(slow))
        return match_mistake(
            answers[0],
            {
                "the LOSS shrinks by r² per step (r = |1 − ηλ|), so r^(2k) ≤ rel_tol: a factor 2 in the log": float(
                    math.ceil(2 * x)
                ),
                "round UP: k must be a whole number of steps with r^(2k) ≤ rel_tol": float(math.floor(x)),
                "the slowest direction has the LARGEST |1 − ηλ| — that can be the steep one when ηλ_max is near 2": float(
                    math.ceil(math.log(tol) / (2 * math.log(abs(1 - lr * lam[0]))))
                ),
                "the slowest direction has the largest |1 − ηλ| over ALL directions, here not λ_max's": lambda: (
                    float(math.ceil(math.log(tol) / (2 * math.log(abs(1 - lr * lam[-1])))))
                ),
                "use the same logarithm on both sides (np.log with np.log, or log10 with log10)": float(
                    math.ceil(math.log10(tol) / (2 * math.log(slow)))
                ),
                "that is the large-κ shortcut k ≈ κ·ln(1/rel_tol)/2; use the exact factor r = |1 − ηλ|": float(
                    math.ceil(lam[-1] / lam[0] * math.log(1 / tol) / 2)
                ),
                "one step too many: the smallest k with r^(2k) ≤ rel_tol is math.ceil(...) itself (no + 1)": float(
                    math.ceil(x) + 1
                ),
            },
            rtol=1e-9,
            atol=1e-9,
        )

    def on_raise(exc, args, kwargs):
        if isinstance(exc, ValueError) and "math domain" in str(exc):
            return "math.log of a negative number: take the absolute value |1 − ηλ| (a negative factor flips sign)"
        if isinstance(exc, ValueError) and "NaN" in str(exc):
            return "np.log of a negative factor is NaN: take the absolute value r = |1 − ηλ| first"
        return None

    return grade(
        "predict_steps",
        fn,
        cases,
        reference,
        tol=1e-9,
        error=_relative_error,
        diagnose=diagnose,
        on_raise=on_raise,
    )
