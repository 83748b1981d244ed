"""Checks for notebook 04: percentiles of a unit's input over training (Ioffe & Szegedy's Fig. 1), the
drift of a layer's medians, the relative gradient change (Santurkar et al.'s ICS), and the full ICS
measurement through the course's MLP API (a deep dive)."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np

from .. import covariate_shift as cs
from ..training import MLP
from .core import Case, call_student, grade, match_mistake

__all__ = [
    "check_percentile_traces",
    "check_median_drift",
    "check_relative_gradient_change",
    "check_ics_measurement",
]


# --- percentiles over training ------------------------------------------------------------------------


def _probe_cases():
    """Probe recordings (n_records, n_probe, n_units): drifting medians, a widening band, skewed units.

    Sizes differ on every axis (a transposed or wrongly reduced answer never has the right shape), and
    the units are different from each other (averaging over units is visible).
    """
    rng = np.random.default_rng(1502)
    cases = []
    for n_records, n_probe, n_units, unit in [(7, 40, 5, 2), (12, 25, 3, 0), (5, 60, 9, 8)]:
        t = np.linspace(0.0, 1.0, n_records)[:, None, None]
        centre = rng.normal(size=(1, 1, n_units)) - 1.5 * t * rng.uniform(0.5, 1.5, size=(1, 1, n_units))
        spread = 0.1 + t * rng.uniform(0.5, 2.0, size=(1, 1, n_units))
        noise = rng.standard_normal((n_records, n_probe, n_units)) ** 3  # skewed: mean ≠ median
        probe = centre + spread * noise
        cases.append(Case({"probe": probe, "unit": unit}, note=f"probe of shape {probe.shape}, unit {unit}"))
    return cases


_READ_ONLY = (
    "a measurement only reads its input: no in-place edits such as `probe -= ...`, `probe.sort(axis=1)` "
    "or `G_new -= G`; build new arrays (np.sort(probe, axis=1), G_new - G)"
)


def check_percentile_traces(fn) -> bool:
    """Grade ``fn(probe, unit) -> (3, n_records)``: the 15th, 50th and 85th percentiles of unit ``unit``'s
    input over the probe images, at every record (:func:`course_utils.covariate_shift.percentile_traces`,
    NumPy's default linear interpolation)."""
    return grade(
        "percentile_traces",
        fn,
        _probe_cases(),
        lambda probe, unit: cs.percentile_traces(probe, unit=unit),
        diagnose=_diagnose_percentiles,
        on_raise=_percentiles_raised,
        mutation_hint=_READ_ONLY,
    )


def _percentiles_raised(exc, args, kwargs):
    if isinstance(exc, ValueError) and "[0, 1]" in str(exc):
        return (
            "np.quantile wants fractions (0.15, 0.5, 0.85); np.percentile wants percents (15, 50, 85) — "
            "pick one and give it the numbers it expects"
        )
    return None


def _diagnose_percentiles(answers, args, kwargs):
    (got,) = answers
    probe, unit = np.asarray(args["probe"], dtype=np.float64), args["unit"]
    x = probe[:, :, unit]
    q = (15, 50, 85)
    n_records, n_probe = x.shape
    if np.shape(got) == (n_records, 3):
        return "one row per percentile: the answer has shape (3, n_records) — transpose yours (or stack the rows)"
    if np.shape(got) == (3, n_probe):
        return (
            "percentiles over the wrong axis: at each record, take them over the probe images (axis 1 of "
            "probe[:, :, unit]), not over the records (axis 0)"
        )
    if np.shape(got) in ((3,), (3, 1)):
        return "one triple per record: reduce over the probe images only (axis=1), not over everything"
    if np.shape(got) == (3, probe.shape[2]) or np.shape(got) == (3, n_records, probe.shape[2]):
        return "the percentiles of ONE unit: select probe[:, :, unit] first"
    return match_mistake(
        got,
        {
            "np.percentile takes percents from 0 to 100 (15, 50, 85); 0.15 means the 0.15th percentile, "
            "almost the minimum": lambda: np.percentile(x, [0.15, 0.50, 0.85], axis=1),
            "the percentiles of ONE unit: select probe[:, :, unit] first, not an average over units": lambda: (
                np.percentile(probe, q, axis=1).mean(axis=2)
            ),
            "the percentiles of ONE unit: select probe[:, :, unit] first, not the pool of all units": lambda: (
                np.percentile(probe.reshape(n_records, -1), q, axis=1)
            ),
            "percentiles are not mean ± std (that is only true for a normal distribution): use "
            "np.percentile": lambda: np.stack([x.mean(1) - x.std(1), x.mean(1), x.mean(1) + x.std(1)]),
            "the middle row is the median (50th percentile), not the mean": lambda: np.stack(
                [np.percentile(x, 15, axis=1), x.mean(axis=1), np.percentile(x, 85, axis=1)]
            ),
            "the order is 15th, 50th, 85th (lowest first)": lambda: np.percentile(x, (85, 50, 15), axis=1),
            "probe's axes are (records, probe images, units): the unit is the LAST index, "
            "probe[:, :, unit], not probe[:, unit, :]": lambda: np.percentile(probe[:, unit, :], q, axis=1),
        },
    )


# --- median drift -------------------------------------------------------------------------------------


def check_median_drift(fn) -> bool:
    """Grade ``fn(probe) -> float``: the mean absolute change of the medians, i.e. the mean over records and
    units of |Δ median| between consecutive records (:func:`course_utils.covariate_shift.median_drift`)."""
    return grade(
        "median_drift",
        fn,
        [Case({"probe": c.args["probe"]}, note=c.note.rsplit(", unit", 1)[0]) for c in _probe_cases()],
        cs.median_drift,
        diagnose=_diagnose_drift,
        mutation_hint=_READ_ONLY,
    )


def _diagnose_drift(answers, args, kwargs):
    (got,) = answers
    probe = np.asarray(args["probe"], dtype=np.float64)
    med = np.median(probe, axis=1)  # (n_records, n_units)
    change = np.diff(med, axis=0)
    if np.ndim(got) > 0:
        return "one number for the whole layer: average |Δ median| over records and units (a scalar)"
    return match_mistake(
        got,
        {
            "take the absolute value of each change before averaging: up and down moves must not cancel": lambda: (
                np.mean(change)
            ),
            "abs() after a mean comes too late: inside the mean the ups and downs have already cancelled. "
            "Take the absolute value of each change, then average": lambda: abs(np.mean(change)),
            "abs() after a mean over the records comes too late: inside the mean the ups and downs have "
            "already cancelled. Take the absolute value of each change, then average": lambda: np.mean(
                np.abs(np.mean(change, axis=0))
            ),
            "that is the root-mean-square change (square, mean, square root); the task asks for the mean "
            "ABSOLUTE change: average |Δ median| itself, no squares": lambda: np.sqrt(np.mean(change**2)),
            "that is a root-mean-square change per unit; the task asks for the mean ABSOLUTE change: "
            "average |Δ median| itself, no squares": lambda: np.mean(np.sqrt(np.mean(change**2, axis=0))),
            "that is the mean SQUARED change; the task asks for the mean absolute change: average "
            "|Δ median| itself, no squares": lambda: np.mean(change**2),
            "the median of each unit at each record runs over the probe images (axis 1), not over the "
            "units": lambda: np.mean(np.abs(np.diff(np.median(probe, axis=2), axis=0))),
            "the change is between consecutive records (np.diff over axis 0), not between units": lambda: (
                np.mean(np.abs(np.diff(med, axis=1)))
            ),
            "medians, not means: the drift of a unit's median (np.median over the probe images)": lambda: (
                np.mean(np.abs(np.diff(probe.mean(axis=1), axis=0)))
            ),
            "consecutive records (record t+1 minus record t), not every record against the first": lambda: (
                np.mean(np.abs(med[1:] - med[0]))
            ),
            "the mean of |Δ median| over records and units, not the sum": lambda: np.sum(
                np.abs(np.diff(med, axis=0))
            ),
            "from first to last record in one jump is not the drift per record: average the "
            "consecutive changes": lambda: np.mean(np.abs(med[-1] - med[0])),
        },
    )


# --- relative gradient change -------------------------------------------------------------------------


#: The task's calibration cases: (what happened, G_new from G, the value the measure must give).
_CALIBRATION = (
    ("the gradient did not change (G_new = G)", lambda G: G.copy(), 0.0),
    ("the gradient doubled (G_new = 2*G)", lambda G: 2.0 * G, 1.0),
    ("the gradient reversed (G_new = -G)", lambda G: -G, 2.0),
    ("the gradient vanished (G_new = 0)", np.zeros_like, 1.0),
)


def _gradient_cases():
    """The calibration cases, then gradient pairs: a small change, a rotation that keeps the norm, a large
    change, and a vector."""
    rng = np.random.default_rng(2018)
    G = rng.normal(size=(4, 5))
    cases = [Case({"G": G, "G_new": make(G)}, note=label) for label, make, _ in _CALIBRATION[1:]]
    G = rng.normal(size=(6, 4))
    cases.append(Case({"G": G, "G_new": G + 0.1 * rng.normal(size=G.shape)}, note="a small change"))
    G = rng.normal(size=(5, 7))
    G_new = -G[::-1] * 1.0  # same norm, different direction: a difference of norms says 0
    cases.append(Case({"G": G, "G_new": G_new}, note="same norm, other direction"))
    G = rng.normal(size=(3, 8))
    cases.append(Case({"G": G, "G_new": 3.0 * G + rng.normal(size=G.shape)}, note="a large change"))
    G = rng.normal(size=(9,))
    cases.append(Case({"G": G, "G_new": 0.5 * G + 0.3 * rng.normal(size=9)}, note="a 1-D gradient"))
    return cases


def check_relative_gradient_change(fn) -> bool:
    """Grade ``fn(G, G_new) -> float``: ``‖G_new − G‖ / ‖G‖`` with the Frobenius norm
    (:func:`course_utils.covariate_shift.relative_gradient_change`).

    The exercise asks the student to *design* the measure from calibration cases, so a wrong answer is
    told which calibration case it fails (and what it gives there), never the formula.
    """
    return grade(
        "relative_gradient_change",
        fn,
        _gradient_cases(),
        cs.relative_gradient_change,
        diagnose=functools.partial(_diagnose_relative, fn=fn),
        mutation_hint=_READ_ONLY,
    )


def _student_value(fn, G, G_new) -> float | None:
    """The student's answer for one pair as a float (nan/inf kept), or None if it is not one number."""
    outcome = call_student(fn, G.copy(), G_new.copy())
    if outcome.kind != "value":
        return None
    try:
        value = np.asarray(outcome.value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(value) if value.size == 1 else None


def _calibration_failures(fn, G) -> str:
    """The calibration cases of the task that ``fn`` gets wrong (on the gradient ``G``), in words."""
    failures = []
    for label, make, expected in _CALIBRATION:
        value = _student_value(fn, G, make(G))
        if value is not None and not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            failures.append(f"{label} should give {expected:g}, your function gives {value:.3g}")
    value = _student_value(fn, G, -G[::-1] if G.ndim else -G)
    scaled = _student_value(fn, 1000.0 * G, -1000.0 * G[::-1] if G.ndim else -1000.0 * G)
    if not failures and value is not None and scaled is not None:
        if not math.isclose(value, scaled, rel_tol=1e-6, abs_tol=1e-12):
            failures.append(
                f"multiplying G and G_new by 1000 changed your answer from {value:.3g} to {scaled:.3g} "
                "(it must not change)"
            )
    return "; ".join(failures)


def _diagnose_relative(answers, args, kwargs, fn=None):
    (got,) = answers
    G, G_new = np.asarray(args["G"], dtype=np.float64), np.asarray(args["G_new"], dtype=np.float64)
    if np.ndim(got) > 0:
        return "one number per pair: the norm of the whole difference (np.linalg.norm of the array), not per entry"
    calibration = _calibration_failures(fn, G) if fn is not None else ""
    nG, nD = np.linalg.norm(G), np.linalg.norm(G_new - G)
    targeted = match_mistake(
        got,
        {
            "the norm of the difference, not the difference of the norms: two gradients of equal size "
            "that point different ways differ a lot": lambda: abs(np.linalg.norm(G_new) - nG) / nG,
            "the Frobenius norm counts every entry once (np.linalg.norm(D) with no ord); ord=2 of a matrix "
            "is its largest singular value": lambda: np.linalg.norm(G_new - G, 2) / np.linalg.norm(G, 2),
            "a norm is the square root of the sum of squares, not the sum of absolute values": lambda: (
                np.abs(G_new - G).sum() / np.abs(G).sum()
            ),
            "take the square root: ‖D‖ = sqrt(Σ D²), so the ratio is not of squared norms": lambda: (
                nD**2 / nG**2
            ),
            "not entry by entry: the norm of the whole difference over the norm of the whole gradient": lambda: (
                np.mean(np.abs(G_new - G) / np.abs(G))
            ),
            "1 − cos(G, G_new) sees only the change of direction, not a change of size": lambda: (
                1 - np.vdot(G, G_new) / (nG * np.linalg.norm(G_new))
            ),
        },
    )
    if calibration:
        return "calibration: " + calibration + (f" ({targeted})" if targeted else "")
    return targeted


# --- the full measurement through the MLP API (deep dive) --------------------------------------------


def _ics_cases():
    rng = np.random.default_rng(2018)
    x = rng.normal(size=(32, 12))
    y = rng.integers(0, 5, size=32)
    cases = []
    for norm in ("none", "batch"):
        model = MLP([12, 16, 16, 16, 5], "sigmoid", norm, seed=7)
        for layer, lr in ((2, 0.5), (3, 1.0)):
            cases.append(
                Case(
                    {"model": model, "x": x, "y": y, "layer": layer, "lr": lr},
                    note=f"normalization {norm!r}, layer {layer}",
                )
            )
    return cases


def check_ics_measurement(fn) -> bool:
    """Grade ``fn(model, x, y, layer, lr) -> (l2, cosine)`` against
    :func:`course_utils.covariate_shift.ics_measurement`.

    Tried on small seeded sigmoid MLPs with and without BatchNorm, for a middle layer and the output
    layer. The model passed in must not be changed by ``fn`` (work on ``copy.deepcopy(model)``).
    """
    return grade(
        "ics_measurement",
        fn,
        _ics_cases(),
        cs.ics_measurement,
        outputs=("l2", "cosine"),
        tol=1e-6,
        diagnose=_diagnose_ics,
        mutation_hint=_ics_mutation_hint,
    )


def _ics_mutation_hint(changed):
    if any(c.startswith("model") for c in changed):
        return (
            "take the SGD step on a copy: net = copy.deepcopy(model), then update and measure net "
            "(the caller's model must come back as it was given)"
        )
    return None  # x or y edited: the default hint (build new arrays)


def _variant(model, x, y, layer, lr, stop_offset=0, sign=1.0):
    """The measurement with a typical mistake: update up to linear_indices[layer] + stop_offset."""
    net = cs.with_gradients(copy.deepcopy(model), x, y)
    G = net.linears[layer].grads["W"].copy()
    stop = net.linear_indices[layer] + stop_offset if stop_offset is not None else len(net.layers)
    for earlier in net.layers[:stop]:
        for name, param in earlier.params.items():
            param -= sign * lr * earlier.grads[name]
    G_new = cs.weight_gradient(net, x, y, layer)
    cos = float(np.vdot(G, G_new) / (np.linalg.norm(G) * np.linalg.norm(G_new)))
    return float(np.linalg.norm(G - G_new)), cos


def _diagnose_ics(answers, args, kwargs):
    l2, cos = (float(a) for a in answers)
    model, x, y, layer, lr = (args[k] for k in ("model", "x", "y", "layer", "lr"))
    if l2 == 0.0:
        return "G' must be computed *after* the earlier layers took their SGD step (θ ← θ − lr·∂L/∂θ)"
    G, G_new = cs.gradient_pair(model, x, y, layer, lr)
    got = (np.float64(l2), np.float64(cos))
    return match_mistake(
        got,
        {
            "update only the layers *before* the measured one (model.layers[:model.linear_indices[layer]])": lambda: (
                _variant(model, x, y, layer, lr, stop_offset=1)
            ),
            "update only the earlier layers, not every layer of the network": lambda: _variant(
                model, x, y, layer, lr, stop_offset=None
            ),
            "an SGD step goes *down* the gradient: θ ← θ − lr·∂L/∂θ": lambda: _variant(
                model, x, y, layer, lr, sign=-1.0
            ),
            "l2 is the norm of the difference ‖G − G'‖, not the difference of the norms": lambda: (
                abs(np.linalg.norm(G) - np.linalg.norm(G_new)),
                float(np.vdot(G, G_new) / (np.linalg.norm(G) * np.linalg.norm(G_new))),
            ),
        },
        rtol=1e-6,
        atol=1e-9,
    ) or (
        "G = ∂L/∂W_layer at the current parameters; G' = the same gradient on the same batch after "
        "the earlier layers' step; return (‖G − G'‖, ⟨G, G'⟩ / (‖G‖‖G'‖))"
    )
