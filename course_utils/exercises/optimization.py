"""Check for notebook 09's exercise: implement Santurkar et al.'s gradient-predictiveness probe."""

from __future__ import annotations

import numpy as np

from .. import optimization
from ..training import MLP
from .core import call_student, report

__all__ = ["check_gradient_predictiveness"]


def _quadratic(A):
    """loss_and_grad of L(θ) = ½ θᵀAθ, whose gradient change along g is exactly −ηAg."""

    def loss_and_grad(theta):
        return 0.5 * float(theta @ A @ theta), A @ theta

    return loss_and_grad


def check_gradient_predictiveness(fn) -> bool:
    """Grade ``fn(loss_and_grad, theta, step_sizes) -> array`` of ``‖∇L(θ − ηg) − ∇L(θ)‖``, g = ∇L(θ).

    Tried on a quadratic bowl (where the answer is ``η‖A g‖`` exactly) and on a small BatchNorm
    MLP through :func:`course_utils.optimization.model_loss_and_grad`.
    """
    rng = np.random.default_rng(2018)
    name = "gradient_predictiveness"
    cases = []
    M = rng.normal(size=(6, 6))
    cases.append((_quadratic(M @ M.T + np.eye(6)), rng.normal(size=6), np.array([0.01, 0.05, 0.2])))
    X = rng.normal(size=(16, 5))
    y = rng.integers(0, 3, size=16)
    model = MLP([5, 8, 8, 3], activation="relu", normalization="batch", seed=3)
    f = optimization.model_loss_and_grad(model, X, y)
    cases.append((f, optimization.parameter_vector(model), np.array([0.05, 0.2, 0.8])))
    worst, hint = 0.0, ""
    for loss_and_grad, theta, etas in cases:
        outcome = call_student(fn, loss_and_grad, theta.copy(), etas.copy())
        if outcome.kind != "value":
            return outcome.verdict(name)
        result = outcome.value
        out = np.asarray(result, dtype=float).ravel()
        expected = optimization.gradient_predictiveness(loss_and_grad, theta, etas)
        if out.shape != expected.shape:
            print(
                f"FAIL ✗ {name}: returned shape {out.shape}, expected {expected.shape} "
                "(one number per step size)"
            )
            return False
        err = float(np.max(np.abs(out - expected) / np.maximum(np.abs(expected), 1e-12)))
        if not np.isfinite(err) or err > worst:
            worst = err if np.isfinite(err) else np.inf
            hint = _diagnose(out, loss_and_grad, theta, etas)
    return report(name, worst, tol=1e-8, hint=hint)


def _diagnose(out, loss_and_grad, theta, etas):
    """Name the usual mistake that reproduces the wrong answer, if one does."""
    _, g = loss_and_grad(theta)
    g_norm = np.linalg.norm(g)
    at = {}
    for sign in (+1, -1):
        at[sign] = [loss_and_grad(theta - sign * eta * g)[1] for eta in etas]
    unit = [loss_and_grad(theta - eta * g / g_norm)[1] for eta in etas]
    right = np.array([np.linalg.norm(gk - g) for gk in at[+1]])
    candidates = {
        "subtract the gradient at θ: the probe is ‖∇L(θ − ηg) − ∇L(θ)‖, not ‖∇L(θ − ηg)‖": np.array(
            [np.linalg.norm(gk) for gk in at[+1]]
        ),
        "step *down* the gradient: evaluate at θ − η·g, not θ + η·g": np.array(
            [np.linalg.norm(gk - g) for gk in at[-1]]
        ),
        "do not divide by the distance moved — that ratio is the β-smoothness probe": right / (etas * g_norm),
        "move by η·g, not by η·g/‖g‖ (the probe uses the raw gradient step SGD would take)": np.array(
            [np.linalg.norm(gk - g) for gk in unit]
        ),
        "return the Euclidean norm, not its square": right**2,
    }
    for message, wrong in candidates.items():
        if wrong.shape == out.shape and np.allclose(out, wrong, rtol=1e-6, atol=1e-12):
            return message
    return "for each η: g_new = grad at (theta - eta * g); append np.linalg.norm(g_new - g)"
