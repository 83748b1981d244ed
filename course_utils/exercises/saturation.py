"""Checks for notebook 03: the sigmoid's derivative and the fraction of saturated units."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..gradcheck import rel_error
from ..saturation import SATURATION_HIGH, SATURATION_LOW, saturated_fraction, sigmoid_derivative
from .core import call_student, report

__all__ = ["check_sigmoid_derivative", "check_saturated_fraction"]


def check_sigmoid_derivative(fn) -> bool:
    """Grade ``fn(x) -> σ'(x)`` (x = the sigmoid's input) against σ(x)(1 − σ(x)).

    Tried on seeded inputs of moderate size, on ±30 and ±800 (where a naive ``exp(-x)`` overflows;
    the answer must still be finite) and on a 2-D array (the shape must be kept).
    """
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0.0, 3.0, 40), [0.0, 30.0, -30.0, 800.0, -800.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        outcome = call_student(fn, x.copy())
        if outcome.kind != "value":
            return outcome.verdict("sigmoid_derivative")
        out = outcome.value
        out = np.asarray(out, dtype=float)
        out2 = np.asarray(call_student(fn, x[:40].reshape(5, 8).copy()).value, dtype=float)
    expected = sigmoid_derivative(x)
    if out.shape != expected.shape or out2.shape != (5, 8):
        print(
            f"FAIL ✗ sigmoid_derivative: output shapes {out.shape} and {out2.shape}, expected "
            f"{expected.shape} and (5, 8) — compute elementwise"
        )
        return False
    if not np.all(np.isfinite(out)):
        print("FAIL ✗ sigmoid_derivative: NaN/inf for large |x| (e.g. x = ±800)")
        print("   hint: compute σ with scipy.special.expit (or a stable formula), then σ·(1 − σ)")
        return False
    # absolute error on the tails (σ' ≈ 0 there), relative error elsewhere
    err = max(
        rel_error(out[:41], expected[:41]),
        float(np.max(np.abs(out[41:] - expected[41:]))),
        rel_error(out2, expected[:40].reshape(5, 8)),
    )
    hint = ""
    s = expit(x)
    if np.allclose(out, x * (1 - x)):
        hint = "x is the sigmoid's *input*: first compute s = σ(x), then return s·(1 − s)"
    elif np.allclose(out, s):
        hint = "that is σ itself; its derivative is σ(x)·(1 − σ(x))"
    elif np.allclose(out, s * (1 + s)):
        hint = "the factor is (1 − σ), not (1 + σ)"
    return report("sigmoid_derivative", err, tol=1e-7, hint=hint)


def check_saturated_fraction(fn) -> bool:
    """Grade ``fn(activations, low=0.03, high=0.97) -> float`` against the reference.

    Tried on seeded sigmoid outputs of different shapes, on values exactly at the thresholds (which
    do *not* count: saturated means σ < low or σ > high) and with other thresholds.
    """
    rng = np.random.default_rng(4)
    cases = [
        (expit(rng.normal(0.0, 3.0, size=(50, 20))), SATURATION_LOW, SATURATION_HIGH),
        (expit(rng.normal(1.0, 6.0, size=(7, 3, 5))), SATURATION_LOW, SATURATION_HIGH),
        (np.array([0.0, 0.01, 0.03, 0.5, 0.97, 0.99, 1.0, 0.03, 0.97, 0.2]), SATURATION_LOW, SATURATION_HIGH),
        (expit(rng.normal(0.0, 2.0, size=200)), 0.1, 0.9),
    ]
    worst, hint = 0.0, ""
    for a, low, high in cases:
        outcome = call_student(fn, a.copy(), low=low, high=high)
        if outcome.kind != "value":
            return outcome.verdict("saturated_fraction")
        got = outcome.value
        try:
            got = float(got)
        except (TypeError, ValueError):
            print(f"FAIL ✗ saturated_fraction: expected one number, got {type(got).__name__}")
            return False
        expected = saturated_fraction(a, low, high)
        err = abs(got - expected) / max(abs(expected), 1e-12)
        if err > worst:
            worst = err
            hint = _diagnose_saturation(got, a, low, high)
    return report("saturated_fraction", worst, tol=1e-12, hint=hint)


def _diagnose_saturation(got, a, low, high):
    candidates = {
        "return a fraction in [0, 1], not a percentage": 100 * np.mean((a < low) | (a > high)),
        "return the fraction (mean), not the count": float(np.sum((a < low) | (a > high))),
        "values exactly at the thresholds are not saturated: use < low and > high": np.mean(
            (a <= low) | (a >= high)
        ),
        "count both tails: σ < low *or* σ > high": np.mean(a > high),
        "count both tails: σ < low *or* σ > high ": np.mean(a < low),
        "use the low/high arguments, not fixed 0.03/0.97": np.mean(
            (a < SATURATION_LOW) | (a > SATURATION_HIGH)
        ),
    }
    for message, wrong in candidates.items():
        if np.isclose(got, wrong):
            return message.strip()
    return "saturated = (a < low) | (a > high); the fraction is the mean of that boolean array"
