"""Checks for the exercises of notebooks 01 and 02: directional derivative, standardization, and
the largest stable learning rate of least squares."""

from __future__ import annotations

import math

import numpy as np

from .. import calculus as C
from ..data import standardize
from ..gradcheck import rel_error
from .core import call_student, report

__all__ = ["check_directional_derivative", "check_standardize_features", "check_max_stable_lr"]


def _cubic_3d(p):
    """A 3-variable test function (so a 2-D-only answer is caught)."""
    p = np.asarray(p, float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return x * y**2 + np.exp(0.3 * z) - np.cos(x * z)


def _cubic_3d_grad(p):
    p = np.asarray(p, float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.stack([y**2 + z * np.sin(x * z), 2 * x * y, 0.3 * np.exp(0.3 * z) + x * np.sin(x * z)], -1)


def check_directional_derivative(fn, n_trials: int = 50) -> bool:
    """Grade ``fn(f, p, u, h=1e-5)`` (a numerical D_u f(p)) against the exact ``∇f(p)·u``.

    Tried at ``n_trials`` random points and directions on the course's 2-D example function and on
    a 3-D function. The error is measured relative to ``‖∇f(p)‖`` (D_u f itself can be 0).
    A central difference reaches about 1e-10; a one-sided difference only about 1e-5.
    """
    rng = np.random.default_rng(1847)  # Cauchy's year of gradient descent
    worst, worst_case = 0.0, None
    cases = [(C.example_f, C.example_grad, 2), (_cubic_3d, _cubic_3d_grad, 3)]
    for trial in range(n_trials):
        f, grad, d = cases[trial % 2]
        p = rng.uniform(-2.0, 2.0, d)
        u = rng.normal(size=d)
        u /= np.linalg.norm(u)
        outcome = call_student(fn, f, p.copy(), u.copy(), h=1e-5)
        if outcome.kind != "value":
            return outcome.verdict("directional_derivative")
        result = outcome.value
        g = grad(p)
        exact = float(g @ u)
        err = abs(float(result) - exact) / (np.linalg.norm(g) + 1e-12)
        if not math.isfinite(err) or err > worst:
            worst, worst_case = (math.inf if not math.isfinite(err) else err), (f, grad, p, u, float(result))
    hint = ""
    if worst > 1e-6 and worst_case is not None:
        f, grad, p, u, got = worst_case
        h = 1e-5
        exact = float(grad(p) @ u)
        forward = float((f(p + h * u) - f(p)) / h)
        if np.isclose(got, 2 * exact, rtol=1e-4):
            hint = "a central difference divides by 2h (the two points are 2h apart), not by h"
        elif np.isclose(got, forward, rtol=1e-9, atol=1e-12):
            hint = (
                "that is the one-sided quotient [f(p+hu) - f(p)]/h (error O(h)); "
                "use [f(p+hu) - f(p-hu)]/(2h), whose error is O(h^2)"
            )
        elif np.isclose(got, -exact, rtol=1e-4):
            hint = "sign: the quotient is f(p + h u) minus f(p - h u)"
        else:
            hint = "step from p along u: f(p + h*u) and f(p - h*u) — both points, the whole vector u"
    return report("directional_derivative", worst, tol=1e-6, hint=hint)


def check_standardize_features(fn) -> bool:
    """Grade ``fn(X)`` (z-score each column of X, shape (n, D)) against
    :func:`course_utils.data.standardize` on data with very different column scales and means."""
    rng = np.random.default_rng(1998)
    X = rng.normal(size=(40, 4)) * np.array([1.0, 100.0, 0.01, 7.0]) + np.array([2.0, 300.0, -1.0, 0.0])
    outcome = call_student(fn, X.copy())
    if outcome.kind != "value":
        return outcome.verdict("standardize_features")
    result = outcome.value
    out = np.asarray(result, dtype=float)
    expected = standardize(X)
    if out.shape != expected.shape:
        print(f"FAIL ✗ standardize_features: output shape {out.shape}, expected {expected.shape} (same as X)")
        return False
    err = rel_error(out, expected)
    hint = ""
    if not err < 1e-7:
        mu, sd = X.mean(axis=0), X.std(axis=0)
        candidates = {
            "use the biased std (ddof=0, NumPy's default), as BN does": (X - mu) / X.std(axis=0, ddof=1),
            "divide by the standard deviation, not the variance": (X - mu) / X.var(axis=0),
            "subtract the mean first: z = (x - mean) / std": X / sd,
            "statistics are per column (feature): use axis=0": (X - X.mean(axis=1, keepdims=True))
            / X.std(axis=1, keepdims=True),
        }
        hint = "each column should end with mean 0 and std 1: check out.mean(axis=0), out.std(axis=0)"
        for message, wrong in candidates.items():
            if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-9):
                hint = message
                break
    return report("standardize_features", err, hint=hint)


def check_max_stable_lr(fn) -> bool:
    """Grade ``fn(X)`` — the largest stable learning rate of gradient descent on
    ``L(w) = ||X w - y||^2 / (2 n)`` — against ``2 / lambda_max(X^T X / n)`` on several datasets."""
    rng = np.random.default_rng(1951)
    worst, hint = 0.0, ""
    for n, scales in ((50, (1.0, 100.0)), (80, (1.0, 1.0, 10.0)), (30, (0.1, 3.0))):
        X = rng.uniform(1.0, 3.0, size=(n, len(scales))) * np.array(scales)
        outcome = call_student(fn, X.copy())
        if outcome.kind != "value":
            return outcome.verdict("max_stable_lr")
        result = outcome.value
        got = float(result)
        expected = C.max_stable_lr(X)
        err = abs(got - expected) / expected
        if not math.isfinite(err) or err > worst:
            worst = math.inf if not math.isfinite(err) else err
            eig = np.linalg.eigvalsh(X.T @ X / n)
            cov_eig = np.linalg.eigvalsh(np.cov(X.T, bias=True))
            sv = np.linalg.svd(X, compute_uv=False)
            candidates = {
                "the Hessian is X^T X / n: divide by the number of samples n": 2 / (n * eig[-1]),
                "the limit is 2 / lambda_max, not 1 / lambda_max": 1 / eig[-1],
                "use the largest eigenvalue (lambda_max), not the smallest": 2 / eig[0],
                "use X^T X / n itself, not the covariance of X (the model has no intercept, "
                "so the mean is part of the curvature)": 2 / cov_eig[-1],
                "eigenvalues of X^T X / n are the squared singular values of X over n": 2 / (sv[0] / n),
            }
            hint = "stability needs |1 - lr * lambda| < 1 for every eigenvalue of H = X^T X / n"
            for message, wrong in candidates.items():
                if np.isclose(got, wrong, rtol=1e-6):
                    hint = message
                    break
    return report("max_stable_lr", worst, tol=1e-6, hint=hint)
