"""Check for notebook 04: Santurkar et al.'s internal-covariate-shift measurement for one layer."""

from __future__ import annotations

import copy

import numpy as np

from ..covariate_shift import ics_measurement, weight_gradient
from ..training import MLP
from .core import call_student, report

__all__ = ["check_ics_measurement"]


def _variant(model, x, y, layer, lr, stop_offset=0, sign=1.0):
    """The measurement with a typical mistake: update up to linear_indices[layer] + stop_offset."""
    net = copy.deepcopy(model)
    from ..covariate_shift import _with_gradients

    net = _with_gradients(net, x, y)
    G = net.linears[layer].grads["W"].copy()
    stop = net.linear_indices[layer] + stop_offset if stop_offset is not None else len(net.layers)
    for earlier in net.layers[:stop]:
        for name, param in earlier.params.items():
            param -= sign * lr * earlier.grads[name]
    G_new = weight_gradient(net, x, y, layer)
    cos = float(np.vdot(G, G_new) / (np.linalg.norm(G) * np.linalg.norm(G_new)))
    return float(np.linalg.norm(G - G_new)), cos


def check_ics_measurement(fn) -> bool:
    """Grade ``fn(model, x, y, layer, lr) -> (l2, cosine)`` against
    :func:`course_utils.covariate_shift.ics_measurement`.

    Tried on small seeded sigmoid MLPs with and without BatchNorm, for a middle layer and the output
    layer. The model passed in must not be changed by ``fn``.
    """
    rng = np.random.default_rng(2018)
    x = rng.normal(size=(32, 12))
    y = rng.integers(0, 5, size=32)
    worst, hint = 0.0, ""
    for norm in ("none", "batch"):
        model = MLP([12, 16, 16, 16, 5], "sigmoid", norm, seed=7)
        for layer, lr in ((2, 0.5), (3, 1.0)):
            snapshot = [p.copy() for lay in model.layers for p in lay.params.values()]
            outcome = call_student(fn, model, x.copy(), y.copy(), layer, lr)
            if outcome.kind != "value":
                return outcome.verdict("ics_measurement")
            got = outcome.value
            after = [p for lay in model.layers for p in lay.params.values()]
            if any(not np.array_equal(a, b) for a, b in zip(snapshot, after, strict=True)):
                print("FAIL ✗ ics_measurement: your function changed the model's parameters")
                print("   hint: work on a copy (copy.deepcopy(model)) so the training run is not disturbed")
                return False
            try:
                l2, cos = (float(v) for v in got)
            except (TypeError, ValueError):
                print(f"FAIL ✗ ics_measurement: return the pair (l2, cosine), got {got!r}")
                return False
            ref_l2, ref_cos = ics_measurement(model, x, y, layer, lr)
            err = max(abs(l2 - ref_l2) / max(ref_l2, 1e-300), abs(cos - ref_cos))
            if err > worst:
                worst = err
                hint = _diagnose(model, x, y, layer, lr, l2, cos)
    return report("ics_measurement", worst, tol=1e-6, hint=hint)


def _diagnose(model, x, y, layer, lr, l2, cos):
    if l2 == 0.0:
        return "G' must be computed *after* the earlier layers took their SGD step (θ ← θ − lr·∂L/∂θ)"
    candidates = {
        "update only the layers *before* the measured one (model.layers[:model.linear_indices[layer]])": dict(
            stop_offset=1
        ),
        "update only the earlier layers, not every layer of the network": dict(stop_offset=None),
        "an SGD step goes *down* the gradient: θ ← θ − lr·∂L/∂θ": dict(sign=-1.0),
    }
    for message, kwargs in candidates.items():
        wrong_l2, wrong_cos = _variant(model, x, y, layer, lr, **kwargs)
        if np.isclose(l2, wrong_l2, rtol=1e-6) and np.isclose(cos, wrong_cos, atol=1e-9):
            return message
    return (
        "G = ∂L/∂W_layer at the current parameters; G' = the same gradient on the same batch after "
        "the earlier layers' step; return (‖G − G'‖, ⟨G, G'⟩ / (‖G‖‖G'‖))"
    )
