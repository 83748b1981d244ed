"""Check for notebook 07's exercise: folding an eval-mode BatchNorm into the Linear layer before it."""

from __future__ import annotations

import numpy as np

from .. import layers as L
from .. import normalization as F
from ..gradcheck import rel_error
from .core import not_implemented, report

__all__ = ["check_fold_batchnorm"]


def _test_layer(rng, D_out: int, eps: float) -> L.BatchNorm:
    """A BatchNorm with γ ≠ 1, β ≠ 0 and running statistics far from (0, 1), so every term matters."""
    bn = L.BatchNorm(D_out, eps=eps)
    bn.params["gamma"][:] = rng.uniform(0.5, 2.0, D_out) * rng.choice([-1.0, 1.0], D_out)
    bn.params["beta"][:] = rng.normal(0.0, 1.0, D_out)
    bn.running_mean = rng.normal(0.0, 2.0, D_out)
    bn.running_var = rng.uniform(0.02, 3.0, D_out)
    return bn


def check_fold_batchnorm(fn) -> bool:
    """Grade ``fn(W, b, bn) -> (W_folded, b_folded)`` against :func:`course_utils.fold_batchnorm`.

    ``W`` has shape (D_in, D_out) with D_in ≠ D_out, ``b`` is non-zero, ``bn`` is a
    :class:`course_utils.layers.BatchNorm` with γ ≠ 1, β ≠ 0, non-trivial running statistics and a
    large ``eps`` (so forgetting it shows). Also checks that ``x @ W′ + b′`` equals eval-mode
    ``BN(x @ W + b)`` and that the inputs were not modified in place.
    """
    name = "fold_batchnorm"
    rng = np.random.default_rng(2017)
    worst, hint = 0.0, ""
    for D_in, D_out, eps in [(5, 3, 0.1), (7, 4, 1e-5)]:
        W = rng.normal(size=(D_in, D_out))
        b = rng.normal(size=D_out)
        bn = _test_layer(rng, D_out, eps)
        W_in, b_in = W.copy(), b.copy()
        mean_in, var_in = bn.running_mean.copy(), bn.running_var.copy()
        try:
            result = fn(W_in, b_in, bn)
        except NotImplementedError:
            return not_implemented(name)
        except Exception as exc:  # a broadcasting error is the typical mistake here
            print(f"FAIL ✗ {name}: raised {type(exc).__name__}: {exc}")
            print(
                "   hint: W has shape (D_in, D_out) and the scale one entry per output unit (D_out,): "
                "W * scale broadcasts it over the columns; scale[:, None] would need D_in == D_out"
            )
            return False
        if (
            not np.array_equal(W_in, W)
            or not np.array_equal(b_in, b)
            or not (np.array_equal(bn.running_mean, mean_in) and np.array_equal(bn.running_var, var_in))
        ):
            print(f"FAIL ✗ {name}: your function changed its inputs in place (W, b or bn's statistics)")
            print(
                "   hint: build new arrays (W * scale, not W *= scale): the unfolded model must keep working"
            )
            return False
        if not isinstance(result, tuple) or len(result) != 2:
            print(f"FAIL ✗ {name}: return a pair (W_folded, b_folded), got {type(result).__name__}")
            return False
        W_f, b_f = (np.asarray(r, dtype=float) for r in result)
        W_ref, b_ref = F.fold_batchnorm(W, b, bn)
        if W_f.shape != W_ref.shape or b_f.shape != b_ref.shape:
            print(f"FAIL ✗ {name}: shapes {W_f.shape}, {b_f.shape}; expected {W_ref.shape}, {b_ref.shape}")
            return False
        x = rng.normal(size=(6, D_in))
        out_ref = F.batchnorm_inference(x @ W + b, bn.gamma, bn.beta, bn.running_mean, bn.running_var, eps)
        err = max(rel_error(W_f, W_ref), rel_error(b_f, b_ref), rel_error(x @ W_f + b_f, out_ref))
        if err > worst:
            worst = err
            hint = _diagnose_fold(W_f, b_f, W, b, bn)
    return report(name, worst, hint=hint)


def _diagnose_fold(W_f, b_f, W, b, bn) -> str:
    """Name the usual mistake whose result matches the student's."""
    g, beta, mu, var, eps = bn.gamma, bn.beta, bn.running_mean, bn.running_var, bn.eps
    s = g / np.sqrt(var + eps)
    W_candidates = {
        "eps belongs inside the square root, next to running_var: gamma / sqrt(running_var + eps)": [
            W * g / np.sqrt(var),
            W * g / (np.sqrt(var) + eps),
        ],
        "divide by the standard deviation sqrt(running_var + eps), not by the variance": [
            W * g / (var + eps)
        ],
        "the scale includes gamma: s = gamma / sqrt(running_var + eps)": [W / np.sqrt(var + eps)],
    }
    for message, wrongs in W_candidates.items():
        if any(np.allclose(W_f, w, rtol=1e-6, atol=1e-12) for w in wrongs):
            return message
    if not np.allclose(W_f, W * s, rtol=1e-6, atol=1e-12):
        return "W′ = W * s scales column j (output unit j) by s_j = gamma_j / sqrt(running_var_j + eps)"
    b_candidates = {
        "b′ must subtract the running mean before scaling: b′ = (b − running_mean)·s + beta": b * s + beta,
        "b′ must keep the Linear layer's own bias: b′ = (b − running_mean)·s + beta, not "
        "beta − running_mean·s (the source blog's formula, right only when b = 0)": beta - mu * s,
        "the shift (b − running_mean) is scaled by s too: b′ = (b − running_mean)·s + beta": b - mu + beta,
        "add beta at the end: b′ = (b − running_mean)·s + beta": (b - mu) * s,
        "the bias is shifted by the *running* mean and scaled by s = gamma/sqrt(running_var + eps)": (b - mu)
        / np.sqrt(var + eps)
        + beta,
    }
    for message, wrong in b_candidates.items():
        if np.allclose(b_f, wrong, rtol=1e-6, atol=1e-12):
            return message
    return "write y = gamma·(xW + b − mean)/sqrt(var + eps) + beta and collect the terms that multiply x"
