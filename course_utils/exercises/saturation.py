"""Checks for notebook 03: the sigmoid's slope, the saturation threshold, the saturated fraction, per-layer
gradient norms and their factor per layer, and the initial weight scale that keeps the signal's size. All are built on :func:`~.core.grade`."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..saturation import (
    SATURATION_HIGH,
    SATURATION_LOW,
    VARIANCE_KEEPING_GAIN,
    factor_per_layer,
    layer_gradient_norms,
    saturated_fraction,
    saturation_threshold,
    sigmoid_derivative,
    variance_keeping_std,
)
from .core import Case, grade, match_mistake

__all__ = [
    "check_sigmoid_derivative",
    "check_saturation_threshold",
    "check_saturated_fraction",
    "check_layer_gradient_norms",
    "check_factor_per_layer",
    "check_variance_keeping_std",
]


# --- sigmoid_derivative ------------------------------------------------------------------------------


def _slope_error(answer, expected):
    """Absolute error in units of the largest slope 1/4: σ′ underflows to ~0 in the tails, where a
    relative error would demand digits that σ·(1 − σ) cannot give (1 − σ cancels for z ≳ 20)."""
    return float(np.max(np.abs(answer - expected), initial=0.0)) / 0.25


def check_sigmoid_derivative(fn) -> bool:
    """Grade ``fn(z) -> σ'(z)`` (z = the sigmoid's *input*) against σ(z)(1 − σ(z)).

    Cases: seeded moderate inputs with 0, ±30 and ±800 (where a naive ``exp(-z)`` overflows; the answer
    must still be finite), a 2-D array (the shape must be kept) and a few exact points.
    """
    rng = np.random.default_rng(3)
    cases = [
        Case({"z": np.concatenate([rng.normal(0.0, 3.0, 40), [0.0, 30.0, -30.0]])}, note="1-D, |z| up to 30"),
        Case({"z": rng.normal(0.0, 2.0, size=(5, 8))}, note="a (5, 8) array"),
        Case({"z": np.array([-800.0, -40.0, -2.0, 0.5, 2.0, 40.0, 800.0])}, note="z = ±800 included"),
    ]
    return grade(
        "sigmoid_derivative",
        fn,
        cases,
        sigmoid_derivative,
        tol=1e-9,
        error=_slope_error,
        diagnose=_diagnose_slope,
    )


def _diagnose_slope(answers, args, kwargs):
    z = np.asarray(args["z"], dtype=float)
    out = np.asarray(answers[0], dtype=float)
    s = expit(z)
    if out.shape == z.shape and np.any(~np.isfinite(out) & (np.abs(z) > 100)):
        return (
            "a naive exp(-z) overflows for z = -800 (inf/inf = NaN): compute s = scipy.special.expit(z), "
            "which is stable, then return s * (1 - s)"
        )
    return match_mistake(
        out,
        {
            "z is the sigmoid's *input*: first compute s = σ(z), then return s·(1 − s)": z * (1 - z),
            "that is σ itself, not its slope: differentiate σ(z) = (1 + e^(−z))^(−1) (Hint 1)": s,
            "1 − σ² is the rule for tanh (tanh′ = 1 − tanh²); the sigmoid's slope is a different product "
            "of σ: differentiate (1 + e^(−z))^(−1) (Hint 1)": 1 - s**2,
            "the factor is (1 − σ), not (1 + σ)": s * (1 + s),
            "the sigmoid is increasing, so its slope is positive: σ(z)·(1 − σ(z)), no minus sign": -s
            * (1 - s),
            "that is 1 − σ(z) alone; multiply by σ(z)": 1 - s,
        },
        rtol=1e-6,
        atol=1e-12,
    )


# --- saturation_threshold ----------------------------------------------------------------------------


def check_saturation_threshold(fn) -> bool:
    """Grade ``fn(high=0.97) -> z*``: the input beyond which σ(z) > high, i.e. z* = ln(high / (1 − high)).

    Cases: the course's 0.97, and 0.75, 0.9, 0.999 (where the usual mistakes are far apart).
    """
    cases = [Case({}, {"high": h}, note=f"high = {h}") for h in (SATURATION_HIGH, 0.75, 0.9, 0.999)]
    return grade(
        "saturation_threshold",
        fn,
        cases,
        saturation_threshold,
        outputs=("z_star",),
        tol=1e-9,
        diagnose=_diagnose_threshold,
    )


def _diagnose_threshold(answers, args, kwargs):
    h = kwargs["high"]
    got = float(np.asarray(answers[0]))
    z = np.log(h / (1 - h))
    return match_mistake(
        got,
        {
            "σ(z) = h gives e^(−z) = 1/h − 1 = (1 − h)/h: the log of that *ratio*, not of 1 − h alone": -np.log(
                1 - h
            ),
            "z* is the positive threshold (σ(z*) = high > ½ needs z* > 0): you have −z*; check the sign "
            "after taking the log of e^(−z) = (1 − h)/h": -z,
            "you applied σ to high; invert σ instead: solve 1/(1 + e^(−z)) = high for z": float(expit(h)),
            "the tangent ½ + z/4 holds only near z = 0; solve σ(z) = high with the sigmoid itself": 4
            * (h - 0.5),
            "use the natural logarithm (np.log), not log10: σ is built from e^(−z)": np.log10(h / (1 - h)),
            "that is the slope σ′ = h(1 − h) at the threshold, not the threshold z*": h * (1 - h),
            "ln(h) is the log of σ, not of e^(−z): isolate e^(−z) = (1 − h)/h first": np.log(h),
        },
        rtol=1e-6,
        atol=0.0,
    )


# --- saturated_fraction ------------------------------------------------------------------------------


def check_saturated_fraction(fn) -> bool:
    """Grade ``fn(activations, low=0.03, high=0.97) -> float`` against the reference.

    Cases: seeded sigmoid outputs of different shapes, values exactly at the thresholds (which do *not*
    count: saturated means σ < low or σ > high), one-sided tails and other thresholds.
    """
    rng = np.random.default_rng(4)
    low, high = SATURATION_LOW, SATURATION_HIGH
    edges = np.array([0.0, 0.01, 0.03, 0.5, 0.97, 0.99, 1.0, 0.03, 0.97, 0.2, 0.6, 0.4])
    cases = [
        Case({"activations": expit(rng.normal(0.0, 3.0, size=(50, 20)))}, {"low": low, "high": high}),
        Case({"activations": expit(rng.normal(1.5, 6.0, size=(7, 3, 5)))}, {"low": low, "high": high}),
        Case({"activations": edges}, {"low": low, "high": high}, note="values exactly at the thresholds"),
        Case({"activations": expit(rng.normal(-1.0, 2.0, size=200))}, {"low": 0.1, "high": 0.8}),
    ]
    return grade(
        "saturated_fraction",
        fn,
        cases,
        saturated_fraction,
        outputs=("fraction",),
        tol=1e-12,
        diagnose=_diagnose_saturation,
    )


def _diagnose_saturation(answers, args, kwargs):
    a = np.asarray(args["activations"], dtype=float)
    low, high = kwargs["low"], kwargs["high"]
    if (
        np.asarray(answers[0]).size == 1
        and float(np.asarray(answers[0])) == 0.0
        and saturated_fraction(a, low, high) > 0
    ):
        return (
            "you counted no saturated entry, but some are: these are sigmoid *outputs* in (0, 1), so compare "
            "them with low and high (not with |z| > 3.48), and join the two tails with | (or), not & (and)"
        )
    return (
        match_mistake(
            answers[0],
            {
                "return a fraction in [0, 1], not a percentage": 100 * np.mean((a < low) | (a > high)),
                "return the fraction (mean of the mask), not the count": float(
                    np.sum((a < low) | (a > high))
                ),
                "values exactly at the thresholds are not saturated: use < low and > high": np.mean(
                    (a <= low) | (a >= high)
                ),
                "count both tails, σ < low *or* σ > high (you counted only σ > high)": np.mean(a > high),
                "count both tails, σ < low *or* σ > high (you counted only σ < low)": np.mean(a < low),
                "use the low/high arguments, not fixed 0.03/0.97": np.mean(
                    (a < SATURATION_LOW) | (a > SATURATION_HIGH)
                ),
                "saturated is outside [low, high]; you counted the units inside it": np.mean(
                    (a >= low) & (a <= high)
                ),
            },
            rtol=1e-9,
            atol=1e-12,
        )
        or "saturated = (a < low) | (a > high); the fraction is the mean of that boolean array"
    )


# --- layer_gradient_norms ----------------------------------------------------------------------------


def check_layer_gradient_norms(fn) -> bool:
    """Grade ``fn(weight_grads) -> norms``: one Frobenius norm per array of the list, in order.

    Cases: three gradient matrices of a small MLP whose sizes differ by orders of magnitude (as in a
    network with vanishing gradients), a list of one matrix, and a list of four differently shaped ones.
    """
    rng = np.random.default_rng(14)
    shapes = [(64, 20), (20, 20), (20, 10)]
    grads = [rng.normal(size=s) * scale for s, scale in zip(shapes, (1e-5, 1e-2, 0.5), strict=True)]
    cases = [
        Case({"weight_grads": grads}, note="three matrices, norms from ~1e-4 to ~7"),
        Case({"weight_grads": [rng.normal(size=(5, 3))]}, note="a list of one (5, 3) matrix"),
        Case(
            {"weight_grads": [rng.normal(size=s) for s in [(3, 4), (4, 4), (4, 2), (2, 6)]]},
            note="four matrices of different shapes",
        ),
    ]
    n_matrices = [len(c.args["weight_grads"]) for c in cases]
    return grade(
        "layer_gradient_norms",
        fn,
        cases,
        layer_gradient_norms,
        outputs=("norms",),
        diagnose=lambda answers, args, kwargs: _diagnose_norms(answers, args, n_matrices),
    )


def _diagnose_norms(answers, args, n_matrices):
    grads = [np.asarray(g, dtype=float) for g in args["weight_grads"]]
    out = answers[0]
    if np.shape(out) != (len(grads),):
        return (
            f"one norm per weight matrix: return an array of shape ({len(grads)},) for a list of {len(grads)} "
            f"arrays (you returned shape {np.shape(out)})"
        )
    return match_mistake(
        out,
        {
            "np.linalg.norm(g, 2) of a matrix is its spectral norm (largest singular value); the Frobenius "
            "norm is np.linalg.norm(g) — the square root of the sum of all squared entries": lambda: np.array(
                [np.linalg.norm(g, 2) for g in grads]
            ),
            "take the square root: the norm is sqrt(sum of squares), you returned the sum of squares": np.array(
                [np.sum(g**2) for g in grads]
            ),
            "square the entries before summing: sum of |g| is another norm (L1), not the Frobenius norm": np.array(
                [np.sum(np.abs(g)) for g in grads]
            ),
            "sum the squares, do not average them: that is the root-mean-square, not the norm": np.array(
                [np.sqrt(np.mean(g**2)) for g in grads]
            ),
            "that is the largest |entry|; the norm squares and sums every entry": np.array(
                [np.max(np.abs(g)) for g in grads]
            ),
            "keep the order of the list (input side first, output layer last)": np.array(
                [np.linalg.norm(g) for g in grads[::-1]]
            ),
        },
        rtol=1e-7,
        atol=0.0,
    )


# --- factor_per_layer --------------------------------------------------------------------------------


def _noisy_geometric(rng, n, factor, last):
    """n positive norms, output layer last, shrinking by about ``factor`` per layer towards the input."""
    return last * factor ** np.arange(n - 1, -1, -1.0) * np.exp(rng.normal(0.0, 0.4, n))


def check_factor_per_layer(fn) -> bool:
    """Grade ``fn(norms) -> f``: the constant factor per weight matrix with f**(n−1) = norms[0] / norms[-1].

    Cases: eleven noisy norms shrinking ~4× per layer (as without BN), three norms, and six that *grow*
    towards the input (f > 1, as with very large weights).
    """
    rng = np.random.default_rng(30)
    cases = [
        Case({"norms": _noisy_geometric(rng, 11, 0.25, 0.5)}, note="11 norms, about ¼ per layer"),
        Case({"norms": np.array([2e-3, 0.05, 0.4])}, note="3 norms"),
        Case({"norms": _noisy_geometric(rng, 6, 1.8, 0.1)}, note="6 norms growing towards the input"),
    ]
    return grade(
        "factor_per_layer",
        fn,
        cases,
        factor_per_layer,
        outputs=("factor",),
        diagnose=_diagnose_factor,
    )


def _diagnose_factor(answers, args, kwargs):
    g = np.asarray(args["norms"], dtype=float)
    n = g.size
    ratio = g[0] / g[-1]
    return match_mistake(
        float(np.asarray(answers[0])),
        {
            "n norms are joined by n − 1 steps (weight matrix k to k + 1): take the (n − 1)-th root, not the "
            "n-th": ratio ** (1 / n),
            "first over last: going back towards the input the gradient is multiplied by f, so "
            "f**(n − 1) = norms[0] / norms[-1], not its inverse": (1 / ratio) ** (1 / (n - 1)),
            "that is the whole change over all n − 1 steps; one layer's factor is its (n − 1)-th root": ratio,
            "the factors multiply, so divide the *exponent* by n − 1 (a root), not the ratio": ratio
            / (n - 1),
            "a plain average of the neighbour ratios does not multiply out to first/last: the constant factor "
            "is their *geometric* mean": float(np.mean(g[:-1] / g[1:])),
            "use the whole chain, first over last, not just the first step": g[0] / g[1],
        },
        rtol=1e-6,
        atol=0.0,
    )


# --- variance_keeping_std ----------------------------------------------------------------------------


def check_variance_keeping_std(fn) -> bool:
    """Grade ``fn(fan_in, activation) -> std`` for ``activation`` in "linear", "tanh", "relu", "sigmoid".

    Cases: every activation, with fan-ins 16 to 1000, so that ``1/n`` and ``1/sqrt(n)`` differ.
    """
    cases = [
        Case({"fan_in": n, "activation": act}, note=f"fan_in={n}, activation={act!r}")
        for n, act in [
            (100, "linear"),
            (64, "relu"),
            (256, "tanh"),
            (16, "sigmoid"),
            (1000, "relu"),
            (49, "sigmoid"),
        ]
    ]
    return grade(
        "variance_keeping_std",
        fn,
        cases,
        variance_keeping_std,
        outputs=("std",),
        diagnose=_diagnose_std,
    )


def _diagnose_std(answers, args, kwargs):
    n, act = args["fan_in"], args["activation"]
    got = float(np.asarray(answers[0]))
    gain = VARIANCE_KEEPING_GAIN[act]
    candidates = {
        "init_scale is a standard deviation and you returned a variance: take its square root "
        "(std = gain / sqrt(fan_in))": gain**2 / n,
        "divide by sqrt(fan_in), not by fan_in: E[z'^2] = n·s_W²·E[h²] has n, so the std has sqrt(n)": gain
        / n,
    }
    if act == "relu":
        candidates.update(
            {
                "ReLU sets about half of its inputs to 0, so E[h²] = E[z²]/2: the weights need twice the "
                "variance, sqrt(2) times the std": 1 / np.sqrt(n),
                "the factor 2 multiplies the *variance*; the std gets sqrt(2)": 2 / np.sqrt(n),
                "ReLU *halves* E[h²], so the weights need *more* variance to make up for it: multiply the "
                "std by sqrt(2), do not divide": 1 / np.sqrt(2 * n),
            }
        )
    if act == "sigmoid":
        candidates.update(
            {
                "the slope 1/4 *shrinks* the varying part of σ(z) ≈ 1/2 + z/4; the weights must make up "
                "for it: multiply the std by 4, do not divide": 0.25 / np.sqrt(n),
                "in its linear regime σ(z) ≈ 1/2 + z/4: the part that varies is z/4, so the weights need 4 "
                "times the std of a linear layer": 1 / np.sqrt(n),
                "1/16 is the ratio of the *variances* E[h²]/E[z²]; the std needs the square root of its "
                "inverse, 4, not 16": 16 / np.sqrt(n),
                "the slope 1/4 shrinks the std of z/4 by 4 (its variance by 16): the std needs a factor 4, not "
                "sqrt(4) = 2": 2 / np.sqrt(n),
            }
        )
    candidates[
        "sqrt(6 / (n_in + n_out)) is the half-width a of Glorot's *uniform* U[−a, a] (its std is a/sqrt(3)); "
        "return the std of the Gaussian N(0, s_W²)"
    ] = gain * np.sqrt(3 / n)
    if act in ("tanh", "linear"):
        candidates[
            f"{act} passes both signs of z unchanged near 0 (slope 1): no factor 2, that is ReLU's (He's) rule"
        ] = np.sqrt(2 / n)
    if act == "tanh":
        candidates["tanh'(0) = 1 (tanh z ≈ z near 0), not 1/4: the sigmoid's factor 4 does not apply"] = (
            4 / np.sqrt(n)
        )
    return match_mistake(got, candidates, rtol=1e-6, atol=0.0)
