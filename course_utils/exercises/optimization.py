"""Checks for notebook 09's exercises, built on :func:`course_utils.exercises.core.grade`.

* :func:`check_gradient_predictiveness` — Santurkar et al.'s probe ``‖∇L(θ − ηg) − ∇L(θ)‖``.
* :func:`check_paired_difference` — the capstone: mean paired difference over seeds and the
  half-width of its 95% t-interval (graded against :func:`course_utils.stats.compare`).
* :func:`check_claim_verdicts` — the closing verdict table: +1 / 0 / −1 from an interval and the
  direction a claim predicts.
"""

from __future__ import annotations

import numpy as np
from scipy.special import stdtrit  # the Student t quantile, t.ppf(q, df) = stdtrit(df, q)

from .. import optimization
from ..training import MLP
from .core import Case, grade, match_mistake

__all__ = ["check_gradient_predictiveness", "check_paired_difference", "check_claim_verdicts"]


# --- gradient predictiveness ---------------------------------------------------------------------


def _quadratic(A):
    """loss_and_grad of L(θ) = ½ θᵀAθ, whose gradient change along g is exactly −ηAg."""

    def loss_and_grad(theta):
        return 0.5 * float(theta @ A @ theta), A @ theta

    return loss_and_grad


def _quartic(theta):
    """L(θ) = ¼ Σ θ⁴ + ½‖θ‖²: not quadratic, so every usual mistake gives a different number."""
    return 0.25 * float(np.sum(theta**4)) + 0.5 * float(theta @ theta), theta**3 + theta


def _predictiveness_cases():
    rng = np.random.default_rng(2018)
    M = rng.normal(size=(6, 6))
    cases = [
        Case(
            {
                "loss_and_grad": _quadratic(M @ M.T + np.eye(6)),
                "theta": rng.normal(size=6),
                "step_sizes": np.array([0.01, 0.05, 0.2]),
            },
            note="a quadratic bowl",
        ),
        Case(
            {"loss_and_grad": _quartic, "theta": rng.normal(size=4), "step_sizes": np.array([0.1, 0.3])},
            note="L = ¼Σθ⁴ + ½‖θ‖²",
        ),
    ]
    X = rng.normal(size=(16, 5))
    y = rng.integers(0, 3, size=16)
    model = MLP([5, 8, 8, 3], activation="relu", normalization="batch", seed=3)
    cases.append(
        Case(
            {
                "loss_and_grad": optimization.model_loss_and_grad(model, X, y),
                "theta": optimization.parameter_vector(model),
                "step_sizes": np.array([0.05, 0.2, 0.8, 1.6]),
            },
            note="a small BatchNorm MLP",
        )
    )
    return cases


NO_G_NORM = (
    "no ‖g‖ anywhere: step by η·g (not η·g/‖g‖) and report the absolute change "
    "‖∇L(θ − ηg) − ∇L(θ)‖ (not divided by ‖g‖): the probe follows the raw step SGD would take"
)


def _diagnose_predictiveness(answers, args, kwargs):
    loss_and_grad, theta, etas = args["loss_and_grad"], args["theta"], args["step_sizes"]
    _, g = loss_and_grad(theta)
    g_norm = np.linalg.norm(g)

    def norms(points, minus=True):
        return np.array([np.linalg.norm(loss_and_grad(p)[1] - (g if minus else 0)) for p in points])

    right = norms([theta - eta * g for eta in etas])
    return (
        match_mistake(
            answers[0],
            {
                "subtract the gradient at θ: the probe is ‖∇L(θ − ηg) − ∇L(θ)‖, not ‖∇L(θ − ηg)‖": lambda: (
                    norms([theta - eta * g for eta in etas], minus=False)
                ),
                "step *down* the gradient: evaluate at θ − η·g, not θ + η·g": lambda: norms(
                    [theta + eta * g for eta in etas]
                ),
                "do not divide by the distance moved — that ratio is the β-smoothness probe": right
                / (etas * g_norm),
                # on a quadratic bowl these two give the same numbers, so they share one hint
                NO_G_NORM: right / g_norm,
                NO_G_NORM + " ": lambda: norms([theta - eta * g / g_norm for eta in etas]),
                "return the Euclidean norm, not its square": right**2,
                "take g = ∇L(θ) once, at the start: every η is measured against the same gradient": lambda: (
                    _chained(loss_and_grad, theta, etas)
                ),
                "the probe measures how much the *gradient* changes, not the loss: "
                "‖∇L(θ − ηg) − ∇L(θ)‖ uses the second item that loss_and_grad returns": lambda: np.array(
                    [abs(loss_and_grad(theta - eta * g)[0] - loss_and_grad(theta)[0]) for eta in etas]
                ),
            },
        )
        or "for each η: g_new = grad at (theta - eta * g); append np.linalg.norm(g_new - g)"
    )


def _chained(loss_and_grad, theta, etas):
    """The mistake of updating θ and g in a loop (a training run) instead of probing from one θ."""
    out, th = [], theta.copy()
    for eta in etas:
        _, g = loss_and_grad(th)
        th = th - eta * g
        out.append(np.linalg.norm(loss_and_grad(th)[1] - g))
    return np.array(out)


def check_gradient_predictiveness(fn) -> bool:
    """Grade ``fn(loss_and_grad, theta, step_sizes) -> array`` of ``‖∇L(θ − ηg) − ∇L(θ)‖``, g = ∇L(θ).

    Cases: a quadratic bowl (answer ``η‖Ag‖`` exactly), a quartic (not quadratic) and a small
    BatchNorm MLP through :func:`course_utils.optimization.model_loss_and_grad`.
    """
    return grade(
        "gradient_predictiveness",
        fn,
        _predictiveness_cases(),
        optimization.gradient_predictiveness,
        tol=1e-8,
        diagnose=_diagnose_predictiveness,
    )


# --- the capstone: a paired comparison over seeds -------------------------------------------------


def _paired_cases():
    rng = np.random.default_rng(909)
    shared = rng.normal(0.9, 0.03, size=10)  # seed luck shared by both conditions
    return [
        Case({"a": np.array([0.93, 0.95, 0.94]), "b": np.array([0.90, 0.94, 0.90])}, note="3 seeds"),
        Case(
            {"a": shared + 0.01 + rng.normal(0, 0.004, 10), "b": shared + rng.normal(0, 0.004, 10)},
            note="10 seeds sharing most of their luck",
        ),
        Case({"a": rng.normal(0.95, 0.01, 5), "b": rng.normal(0.94, 0.01, 5)}, note="5 seeds"),
        Case({"a": rng.normal(0.5, 0.2, 24), "b": rng.normal(0.6, 0.2, 24)}, note="24 seeds, b ahead"),
    ]


def _diagnose_paired(answers, args, kwargs):
    a, b = np.asarray(args["a"], float), np.asarray(args["b"], float)
    d, n = a - b, a.size
    t = stdtrit(n - 1, 0.975)
    sd = d.std(ddof=1)

    def welch():
        va, vb = a.var(ddof=1) / n, b.var(ddof=1) / n
        df = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (n - 1))
        return d.mean(), stdtrit(df, 0.975) * np.sqrt(va + vb)

    def pooled():
        sp = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        return d.mean(), stdtrit(2 * n - 2, 0.975) * sp * np.sqrt(2 / n)

    unpaired = "pair the runs: take the difference per seed, d = a − b, and use the spread of d — not two separate groups"
    se_unpaired = np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
    return match_mistake(
        tuple(answers),
        {
            "subtract in the order a − b (positive when a is ahead)": (-d.mean(), t * sd / np.sqrt(n)),
            unpaired: welch,
            unpaired + " (a pooled two-sample t-interval is unpaired too)": pooled,
            unpaired + " (√(s_a²/n + s_b²/n) is the unpaired standard error)": (d.mean(), t * se_unpaired),
            unpaired + " (√(s_a²/n + s_b²/n) is the unpaired standard error; and use t, not 1.96)": (
                d.mean(),
                1.96 * se_unpaired,
            ),
            "return (mean_diff, half_width), not the interval's ends (mean − h, mean + h)": (
                d.mean() - t * sd / np.sqrt(n),
                d.mean() + t * sd / np.sqrt(n),
            ),
            "with a handful of seeds use Student's t quantile (t_{0.975, n−1}), not the normal's z = 1.96": (
                d.mean(),
                1.96 * sd / np.sqrt(n),
            ),
            "use the sample standard deviation (ddof=1): the mean was estimated from the same seeds": (
                d.mean(),
                t * d.std(ddof=0) / np.sqrt(n),
            ),
            "the interval is for the mean: divide the standard deviation by √n": (d.mean(), t * sd),
            "a 95% two-sided interval uses the 0.975 quantile, not 0.95": (
                d.mean(),
                stdtrit(n - 1, 0.95) * sd / np.sqrt(n),
            ),
            "the t distribution has n − 1 degrees of freedom here, not n": (
                d.mean(),
                stdtrit(n, 0.975) * sd / np.sqrt(n),
            ),
            "return the half-width h (the interval is mean ± h), not the whole width": (
                d.mean(),
                2 * t * sd / np.sqrt(n),
            ),
        },
    )


def check_paired_difference(fn) -> bool:
    """Grade ``fn(a, b) -> (mean_diff, half_width)``: the mean of ``a − b`` over seeds and the
    half-width of its 95% t-interval, exactly what :func:`course_utils.stats.compare` computes
    (paired, no scaling). Cases: 3, 5, 10 and 24 seeds; one where pairing matters a lot.
    """
    return grade(
        "paired_difference",
        fn,
        _paired_cases(),
        optimization.paired_difference,
        outputs=("mean_diff", "half_width"),
        tol=1e-6,
        diagnose=_diagnose_paired,
    )


# --- the verdict table ----------------------------------------------------------------------------


def _verdict_cases():
    return [
        Case(
            {
                "low": np.array([0.5, -0.2, -3.0, 0.1, -2.0]),
                "high": np.array([1.5, 0.4, -1.0, 9.0, 0.3]),
                "predicted_sign": np.array([1, 1, 1, 1, 1]),
            },
            note="claims that predict a positive difference",
        ),
        Case(
            {
                "low": np.array([-4.0, -4.0, 0.2, -0.1, 2.0, -0.5]),
                "high": np.array([-1.0, 0.5, 0.9, 0.1, 3.0, -0.2]),
                "predicted_sign": np.array([-1, -1, -1, 1, -1, 1]),
            },
            note="mixed directions",
        ),
        Case(
            {
                "low": np.array([0.0, -1.0, 0.0, -2.0]),
                "high": np.array([1.0, 0.0, 0.0, -0.0]),
                "predicted_sign": np.array([1, -1, 1, -1]),
            },
            note="intervals that touch 0",
        ),
    ]


def _diagnose_verdicts(answers, args, kwargs):
    low, high, sign = (np.asarray(args[k], float) for k in ("low", "high", "predicted_sign"))
    right = optimization.claim_verdicts(low, high, sign)
    return match_mistake(
        answers[0],
        {
            "mind the direction: an interval entirely on the *other* side of 0 contradicts the claim (−1)": (
                np.where((low > 0) | (high < 0), 1.0, 0.0)
            ),
            "use predicted_sign: a claim that predicts −1 is supported by an interval *below* 0, so flip "
            "its interval first": np.where(low > 0, 1.0, np.where(high < 0, -1.0, 0.0)),
            "flipping an interval swaps its ends: the interval of −d is [−high, −low], not [−low, −high]": (
                np.where(sign * low > 0, 1.0, np.where(sign * high < 0, -1.0, 0.0))
            ),
            "decide with the whole interval, not with the mean: the mean can be positive while the interval contains 0": (
                np.sign((low + high) / 2) * sign
            ),
            "an interval that touches 0 contains it: use strict inequalities (low > 0, high < 0)": (
                np.where(
                    np.where(sign > 0, low, -high) >= 0,
                    1.0,
                    np.where(np.where(sign > 0, high, -low) <= 0, -1.0, 0.0),
                )
            ),
            "the sign is flipped: +1 when the interval lies on the side the claim predicts": -right,
            "use both ends: 'supported' needs the whole interval beyond 0, 'contradicted' the whole interval on the other side": (
                np.where(np.where(sign > 0, low, -high) > 0, 1.0, 0.0)
            ),
        },
    )


def check_claim_verdicts(fn) -> bool:
    """Grade ``fn(low, high, predicted_sign) -> array`` of +1 (supported), −1 (contradicted), 0 (not
    established) per claim, from the 95% interval ``[low, high]`` of a measured difference and the sign
    the claim predicts for it. Cases include intervals that touch 0 (they contain it)."""
    return grade(
        "claim_verdicts",
        fn,
        _verdict_cases(),
        optimization.claim_verdicts,
        tol=1e-12,
        diagnose=_diagnose_verdicts,
    )
