"""Checks for notebook 07: running statistics, the inference forward, momentum conventions, folding
BN into the Linear layer before it, and the student's own BatchNorm layer.

Every check is built on :mod:`course_utils.exercises.core` (reference first, from private copies; the
student gets copies; only finite real arrays of the right shape pass; a targeted hint per usual
mistake). Their contract is the mistake corpus in ``tests/mistakes/corpus_inference.py``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import inference as inf
from .. import layers as L
from .. import normalization as F
from .batchnorm import check_batchnorm_backward, check_batchnorm_forward
from .core import (
    Case,
    as_answer,
    call_student,
    changed_arguments,
    fail,
    grade,
    match_mistake,
    not_implemented,
    report,
)

__all__ = [
    "check_update_running_stats",
    "check_batchnorm_eval_forward",
    "check_to_pytorch_momentum",
    "check_fold_batchnorm",
    "check_student_batchnorm_layer",
    "BatchNormPieces",
    "PIECE_NAMES",
    "course_update_running_stats",
    "student_batchnorm_pieces",
    "pieces_layer",
]


# --- the running-average update ------------------------------------------------------------------


def course_update_running_stats(running_mean, running_var, x, momentum=0.1):
    """The course's answer to the running-average exercise: PyTorch's rule for an (N, D) batch ``x``.

    Built on the one shared EMA of the course, :func:`course_utils.layers.update_running_statistics`.
    """
    x = np.asarray(x, dtype=float)
    return L.update_running_statistics(
        running_mean, running_var, x.mean(axis=0), x.var(axis=0), x.shape[0], momentum
    )


def check_update_running_stats(fn) -> bool:
    """Grade ``fn(running_mean, running_var, x, momentum) -> (new_mean, new_var)``.

    PyTorch's rule: ``new = (1 − momentum)·running + momentum·batch`` per feature, with the batch
    mean and the **unbiased** batch variance (factor m/(m − 1)) of ``x`` (shape (N, D), m = N).
    Cases: the first step of a fresh layer (running_mean 0, running_var 1), a small batch (m = 4,
    where m/(m − 1) is large) with momentum ≠ 0.5 (so Keras' convention shows), and a wider batch.
    """
    rng = np.random.default_rng(2107)
    cases = []
    for N, D, momentum, fresh in [(8, 3, 0.1, True), (4, 5, 0.3, False), (16, 2, 0.05, False)]:
        x = rng.normal(rng.normal(0, 2, D), rng.uniform(0.5, 3.0, D), size=(N, D))
        mean0 = np.zeros(D) if fresh else rng.normal(0, 1, D)
        var0 = np.ones(D) if fresh else rng.uniform(0.5, 2.0, D)
        cases.append(
            Case(
                {"running_mean": mean0, "running_var": var0, "x": x},
                {"momentum": momentum},
                note=f"x of shape {(N, D)}, momentum={momentum}",
            )
        )
    return grade(
        "update_running_stats",
        fn,
        cases,
        course_update_running_stats,
        outputs=("new_mean", "new_var"),
        diagnose=_diagnose_update,
        on_raise=_update_raised,
        mutation_hint=_UPDATE_MUTATION_HINT,
    )


_UPDATE_MUTATION_HINT = (
    "return NEW running arrays and don't modify the ones passed in (new_mean = (1 − momentum)·running_mean "
    "+ …, not running_mean *= …): the layer stores what you return, and its caller may still hold the old ones"
)


def _update_raised(exc, args, kwargs):
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"a broadcasting error: x has shape {args['x'].shape} = (N, D) and the running statistics "
            f"{args['running_mean'].shape}: one statistic per feature, so average over the batch axis 0"
        )
    return None


_KERAS_ORDER_HINT = (
    "PyTorch's momentum weights the NEW batch statistic: running = (1 − momentum)·running + "
    "momentum·batch (momentum·running + (1 − momentum)·batch is Keras'/CS231n's convention)"
)


def _diagnose_update(answers, args, kwargs):
    mean0, var0, x = args["running_mean"], args["running_var"], args["x"]
    a = kwargs["momentum"]
    m = x.shape[0]
    mu, var_b = x.mean(axis=0), x.var(axis=0)
    var_u = var_b * m / (m - 1)
    right_mean = (1 - a) * mean0 + a * mu
    mean_ok = np.allclose(answers[0], right_mean, rtol=1e-6, atol=1e-12)
    candidates = {
        _KERAS_ORDER_HINT: (
            a * mean0 + (1 - a) * mu,
            a * var0 + (1 - a) * var_u,
        ),
        "feed the running variance the unbiased batch variance: the batch's biased variance times "
        "m/(m − 1) (np.var(..., ddof=1))": (right_mean, (1 - a) * var0 + a * var_b),
        "the correction m/(m − 1) makes the variance larger, not smaller (you multiplied by (m − 1)/m)": (
            right_mean,
            (1 - a) * var0 + a * var_b * (m - 1) / m,
        ),
        "one statistic per feature: average over the batch axis 0, not over the features of each example": (
            lambda: ((1 - a) * mean0 + a * x.mean(axis=1), (1 - a) * var0 + a * x.var(axis=1, ddof=1))
        ),
        "the running variance averages variances (squared units), not standard deviations": (
            right_mean,
            (1 - a) * var0 + a * np.sqrt(var_u),
        ),
        "the batch variance is measured around the batch's own mean, not the running mean": (
            right_mean,
            (1 - a) * var0 + a * ((x - mean0) ** 2).sum(axis=0) / (m - 1),
        ),
        "the batch variance is measured around this batch's mean, not the updated running mean": (
            right_mean,
            (1 - a) * var0 + a * ((x - right_mean) ** 2).sum(axis=0) / (m - 1),
        ),
        "one statistic per feature: pass axis=0 (x.mean() with no axis averages every number of the batch)": (
            lambda: ((1 - a) * mean0 + a * x.mean(), (1 - a) * var0 + a * x.var(ddof=1))
        ),
        "m is the number of values per feature, the batch size N = x.shape[0] (not x.size, which is N·D)": (
            lambda: (right_mean, (1 - a) * var0 + a * var_b * x.size / (x.size - 1))
        ),
    }
    hint = match_mistake(tuple(answers), candidates)
    if hint is None and np.allclose(answers[0], a * mean0 + (1 - a) * mu, rtol=1e-6, atol=1e-12):
        hint = _KERAS_ORDER_HINT  # the mean alone follows Keras' convention (whatever the variance does)
    if hint is None and not mean_ok:
        hint = "new_mean = (1 − momentum)·running_mean + momentum·(mean of x over axis 0)"
    return hint


# --- the inference forward -----------------------------------------------------------------------


def _channel(v, x):
    return np.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def check_batchnorm_eval_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, running_mean, running_var, eps=1e-5)`` against
    :func:`course_utils.batchnorm_inference`.

    Cases: an (N, D) batch, an (N, C, H, W) batch (the statistics are per channel, axis 1) and a
    channel whose running variance is far below ε (so a missing or misplaced ε shows). The running
    statistics are far from the batch's own, so normalizing with batch statistics shows too.
    """
    rng = np.random.default_rng(2170)
    cases = []
    for shape, tiny in [((6, 4), False), ((3, 3, 2, 2), False), ((5, 3), True)]:
        C = shape[1]
        x = rng.normal(1.0, 2.0, size=shape)
        mean = rng.normal(0.0, 2.0, C)
        var = rng.uniform(0.3, 3.0, C)
        if tiny:
            var[1] = 1e-7
        cases.append(
            Case(
                {
                    "x": x,
                    "gamma": rng.uniform(0.5, 2.0, C),
                    "beta": rng.normal(size=C),
                    "running_mean": mean,
                    "running_var": var,
                },
                {"eps": 1e-5},
                note=f"x of shape {shape}" + (", a running variance of 1e-7" if tiny else ""),
            )
        )
    return grade(
        "batchnorm_eval_forward",
        fn,
        cases,
        F.batchnorm_inference,
        accept_extra=True,
        diagnose=_diagnose_eval,
        on_raise=_eval_raised,
        mutation_hint="compute a new output array (x - running_mean, not x -= running_mean): the caller "
        "still needs its input x, and the running statistics belong to the layer",
    )


def _eval_raised(exc, args, kwargs):
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        x = args["x"]
        target = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        return (
            f"a broadcasting error: x has shape {x.shape} and the statistics one entry per channel "
            f"{args['running_mean'].shape}: reshape each of them to {target} so that channel c meets axis 1 "
            "(for an (N, C, H, W) input: (1, C, 1, 1))"
        )
    return None


def _diagnose_eval(answers, args, kwargs):
    x, g, b = args["x"], args["gamma"], args["beta"]
    mean, var, eps = args["running_mean"], args["running_var"], kwargs["eps"]
    G, B, M, V = (_channel(v, x) for v in (g, b, mean, var))
    axes = (0,) + tuple(range(2, x.ndim))
    m_batch, m_channel = x.shape[0], x.size // x.shape[1]  # N, or every value of a channel (N·H·W)
    as_stored = (
        "use running_var as stored: the unbiased correction m/(m − 1) was already applied when it was "
        "updated (Exercise 1), and at test time there is no batch size m to correct with"
    )
    for factor in ((m_batch - 1) / m_batch, (m_channel - 1) / m_channel, m_batch / (m_batch - 1)):
        if match_mistake(answers[0], {as_stored: lambda f=factor: G * (x - M) / np.sqrt(V * f + eps) + B}):
            return as_stored
    return match_mistake(
        answers[0],
        {
            "eval mode normalizes with the RUNNING statistics, not the batch's own mean and variance": lambda: (
                G * (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
                + B
            ),
            "eps goes inside the square root: sqrt(running_var + eps)": lambda: (
                G * (x - M) / (np.sqrt(V) + eps) + B
            ),
            "eps is missing: divide by sqrt(running_var + eps) — look at the channel whose running variance "
            "is 1e-7": lambda: G * (x - M) / np.sqrt(V) + B,
            "divide by the standard deviation sqrt(running_var + eps), not by the variance": lambda: (
                G * (x - M) / (V + eps) + B
            ),
            "gamma scales and beta shifts: y = gamma·x̂ + beta (you swapped them)": lambda: (
                B * (x - M) / np.sqrt(V + eps) + G
            ),
            "apply gamma and beta after normalizing: y = gamma·x̂ + beta": lambda: (x - M) / np.sqrt(V + eps),
            "subtract the running mean before scaling: gamma·(x − running_mean)/sqrt(running_var + eps) + beta": (
                lambda: G * x / np.sqrt(V + eps) - M + B
            ),
        },
    )


# --- momentum conventions ------------------------------------------------------------------------


def _momentum_reference(momentum, convention):
    return np.float64(inf.pytorch_momentum(momentum, convention))


_MOMENTUM_CASES = [
    (0.99, "keras"),
    (0.9, "cs231n"),
    (0.1, "pytorch"),
    (0.8, "keras"),
    (0.01, "pytorch"),
    (0.97, "cs231n"),
]


def check_to_pytorch_momentum(fn) -> bool:
    """Grade ``fn(momentum, convention) -> float``: the PyTorch momentum of the same running average.

    ``convention`` is ``"pytorch"``, ``"keras"`` or ``"cs231n"``; each is tried with two values.
    """
    cases = [
        Case({"momentum": m, "convention": c}, note=f"momentum={m}, convention={c!r}")
        for m, c in _MOMENTUM_CASES
    ]
    return grade(
        "to_pytorch_momentum",
        fn,
        cases,
        _momentum_reference,
        outputs=("momentum",),
        tol=1e-9,
        error=lambda a, e: float(np.max(np.abs(a - e))),
        diagnose=_diagnose_momentum,
    )


def _diagnose_momentum(answers, args, kwargs):
    got, m, conv = float(np.asarray(answers[0])), args["momentum"], args["convention"]
    if conv == "pytorch" and np.isclose(got, 1 - m):
        return "PyTorch's momentum is already PyTorch's: return it unchanged for convention 'pytorch'"
    if conv == "keras" and np.isclose(got, m):
        return (
            "Keras' momentum weights the OLD moving value (moving = momentum·moving + (1 − momentum)·batch): "
            "the weight on the new batch is 1 − momentum"
        )
    if conv == "cs231n" and np.isclose(got, m):
        return (
            "CS231n writes running = momentum·running + (1 − momentum)·batch, like Keras: its momentum "
            "weights the old value"
        )
    if np.isclose(got, 1 / m) or np.isclose(got, 1 / (1 - m)):
        return "the weight on the new batch is a number between 0 and 1 (1/momentum is the EMA's memory)"
    return None


# --- folding -------------------------------------------------------------------------------------


@dataclass
class _FoldBN:
    """The attributes of an eval-mode BatchNorm that folding reads (deep-copied per call)."""

    gamma: np.ndarray
    beta: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray
    eps: float


def _fold_layer(rng, D_out: int, eps: float) -> L.BatchNorm:
    """A BatchNorm with γ ≠ 1 (some negative), β ≠ 0 and running statistics far from (0, 1)."""
    bn = L.BatchNorm(D_out, eps=eps)
    bn.params["gamma"][:] = rng.uniform(0.5, 2.0, D_out) * rng.choice([-1.0, 1.0], D_out)
    bn.params["beta"][:] = rng.normal(0.0, 1.0, D_out)
    bn.running_mean = rng.normal(0.0, 2.0, D_out)
    bn.running_var = rng.uniform(0.02, 3.0, D_out)
    return bn


def check_fold_batchnorm(fn) -> bool:
    """Grade ``fn(W, b, bn) -> (W_folded, b_folded)`` against :func:`course_utils.fold_batchnorm`.

    ``W`` has shape (D_in, D_out) with D_in ≠ D_out, ``b`` is non-zero, ``bn`` is a
    :class:`course_utils.layers.BatchNorm` with γ ≠ 1 (some γ < 0), β ≠ 0, running statistics far from
    (0, 1) and, in one case, a large ``eps`` (so forgetting it shows). A function that changes ``W``,
    ``b`` or the layer in place fails, naming what it changed.
    """
    rng = np.random.default_rng(2017)
    cases = []
    for D_in, D_out, eps in [(5, 3, 0.1), (7, 4, 1e-5), (3, 6, 1e-3)]:
        cases.append(
            Case(
                {
                    "W": rng.normal(size=(D_in, D_out)),
                    "b": rng.normal(size=D_out),
                    "bn": _fold_layer(rng, D_out, eps),
                },
                note=f"W of shape {(D_in, D_out)}, eps={eps}",
            )
        )
    return grade(
        "fold_batchnorm",
        fn,
        cases,
        F.fold_batchnorm,
        outputs=("W_folded", "b_folded"),
        diagnose=_diagnose_fold,
        on_raise=_fold_raised,
        mutation_hint="return new arrays (W_folded = W * scale, not W *= scale) and leave W, b and the BN "
        "layer as they are: the unfolded model must keep working",
    )


def _fold_raised(exc, args, kwargs):
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"W has shape {args['W'].shape} = (D_in, D_out) and the per-unit scale one entry per OUTPUT unit "
            f"(D_out,): W * scale broadcasts it over the columns (scale[:, None] would scale the rows)"
        )
    return None


def _diagnose_fold(answers, args, kwargs):
    """Name the usual mistake whose result matches the student's (W_folded, b_folded)."""
    W_f, b_f = answers
    W, b, bn = args["W"], args["b"], args["bn"]
    g, beta, mu, var, eps = bn.gamma, bn.beta, bn.running_mean, bn.running_var, bn.eps
    s = g / np.sqrt(var + eps)
    W_hint = match_mistake(
        W_f,
        {
            "eps belongs inside the square root, next to running_var": W * g / (np.sqrt(var) + eps),
            "eps is missing: the scale is gamma / sqrt(running_var + eps)": W * g / np.sqrt(var),
            "divide by the standard deviation sqrt(running_var + eps), not by the variance": W
            * g
            / (var + eps),
            "the scale of output unit j includes gamma_j": W / np.sqrt(var + eps),
            "each OUTPUT unit j (column j of W) gets its own scale; you scaled the rows": lambda: (
                s[:, None] * W if W.shape[0] == W.shape[1] else None
            ),
        },
    )
    if W_hint is not None:
        return W_hint
    if not np.allclose(W_f, W * s, rtol=1e-6, atol=1e-12):
        return (
            "write one output unit: y_j = gamma_j·(z_j − mean_j)/sqrt(var_j + eps) + beta_j with "
            "z_j = Σ_i x_i W_ij + b_j, and collect what multiplies x_i"
        )
    return match_mistake(
        b_f,
        {
            "the running mean must be subtracted too (it is part of eval-mode BN)": b * s + beta,
            "the Linear layer's own bias b is still in z = xW + b: it ends up in b_folded too": beta - mu * s,
            "the shift (b − running_mean) is multiplied by the same scale as W": b - mu + beta,
            "b_j sits inside z_j = Σ_i x_i W_ij + b_j: the per-unit scale multiplies b_j as well as the running mean": (
                b - mu * s + beta
            ),
            "beta is added after the scale": (b - mu) * s,
            "subtract the running mean: z_j − mean_j contains b_j − mean_j, not b_j + mean_j": (b + mu) * s
            + beta,
            "beta is added after the scale, so it is not multiplied by gamma/sqrt(var + eps)": (b - mu + beta)
            * s,
            "the scale of the bias includes gamma as well": (b - mu) / np.sqrt(var + eps) + beta,
        },
    ) or ("collect the terms of y_j that do not multiply x: they come from b_j, the running mean and beta_j")


# --- the student's pieces and their layer --------------------------------------------------------


@dataclass
class BatchNormPieces:
    """The four functions a BatchNorm layer needs, each the student's if it passes its check.

    ``forward(x, gamma, beta, eps) -> (out, cache)``: ``out`` from the chosen training-mode forward,
    ``cache`` the course's :class:`~course_utils.normalization.BatchNormCache` (the cache the backward of
    notebook 06 is written for). ``backward(dout, cache) -> (dx, dgamma, dbeta)``;
    ``update(running_mean, running_var, x, momentum) -> (new_mean, new_var)``;
    ``eval_forward(x, gamma, beta, running_mean, running_var, eps) -> out``.
    ``sources`` maps each piece to ``"yours"`` or ``"course"``.
    """

    forward: Callable
    backward: Callable
    update: Callable
    eval_forward: Callable
    sources: dict

    @property
    def all_yours(self) -> bool:
        return all(v == "yours" for v in self.sources.values())

    @property
    def from_course(self) -> list[str]:
        """The pieces that are still the course's, named as in the table of :func:`student_batchnorm_pieces`."""
        return [PIECE_NAMES[key] for key, source in self.sources.items() if source == "course"]


#: The name of each piece, as the exercises (and the table printed by student_batchnorm_pieces) call it.
PIECE_NAMES = {
    "forward": "batchnorm_forward",
    "backward": "batchnorm_backward",
    "update": "update_running_stats",
    "eval_forward": "batchnorm_eval_forward",
}


def _first(value):
    return value[0] if isinstance(value, tuple) else value


def student_batchnorm_pieces(forward=None, backward=None, update=None, eval_forward=None, verbose=True):
    """Pick, piece by piece, the student's function when it passes its check, else the course's.

    Prints one line per piece (which one is used and, if the course's, why). The student's
    training-mode forward only provides ``out``; the cache passed to the backward is the course's, as
    in notebook 06's check.
    """
    checks = {
        "forward": (f"{PIECE_NAMES['forward']} (notebook 05)", forward, check_batchnorm_forward),
        "backward": (f"{PIECE_NAMES['backward']} (notebook 06)", backward, check_batchnorm_backward),
        "update": (f"{PIECE_NAMES['update']} (this notebook)", update, check_update_running_stats),
        "eval_forward": (
            f"{PIECE_NAMES['eval_forward']} (this notebook)",
            eval_forward,
            check_batchnorm_eval_forward,
        ),
    }
    chosen, sources = {}, {}
    for key, (label, fn, check) in checks.items():
        passed = False
        if fn is not None:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                passed = check(fn)
            reason = buffer.getvalue().strip().splitlines()[-1] if not passed and buffer.getvalue() else ""
        else:
            reason = "not given"
        sources[key] = "yours" if passed else "course"
        chosen[key] = fn if passed else None
        if verbose:
            if passed:
                print(f"  {label:40s} yours")
            else:
                short = reason.split(": ", 1)[-1] if reason else "missing"
                print(f"  {label:40s} MISSING -> the course's ({short})")
    student_forward = chosen["forward"]

    def forward_piece(x, gamma, beta, eps=1e-5):
        out_ref, cache = F.batchnorm_forward(x, gamma, beta, eps)
        if student_forward is None:
            return out_ref, cache
        return np.asarray(_first(student_forward(x, gamma, beta, eps=eps)), dtype=float), cache

    return BatchNormPieces(
        forward=forward_piece,
        backward=chosen["backward"] or F.batchnorm_backward,
        update=chosen["update"] or course_update_running_stats,
        eval_forward=chosen["eval_forward"] or F.batchnorm_inference,
        sources=sources,
    )


_LAYER_C, _LAYER_MOMENTUM, _LAYER_EPS = 4, 0.2, 1e-3


def _layer_data():
    rng = np.random.default_rng(2071)
    C = _LAYER_C
    shift, spread = rng.normal(0, 3, C), rng.uniform(0.3, 3.0, C)
    batches = [rng.normal(shift, spread, size=(n, C)) for n in (6, 4, 8)]
    return {
        "batches": batches,
        "dout": rng.normal(size=(8, C)),
        "x_eval": rng.normal(shift, spread, size=(5, C)),
        "gamma": rng.uniform(0.5, 2.0, C),
        "beta": rng.normal(size=C),
    }


class _ChangedInPlace(Exception):
    """Raised by :func:`_exercise_layer` when the layer edited an array it was given."""

    def __init__(self, method: str, changed: list, when: str):
        super().__init__(f"{method} changed {changed} in place ({when})")
        self.method, self.changed, self.when = method, changed, when


def _checked_call(method, arg_name: str, value, when: str, **kwargs):
    """``method(copy of value, **kwargs)``; raise :class:`_ChangedInPlace` if the copy was edited."""
    original, passed = np.copy(value), np.copy(value)
    result = method(passed, **kwargs)
    changed = changed_arguments({arg_name: original}, {arg_name: passed})
    if changed:
        raise _ChangedInPlace(getattr(method, "__name__", "forward"), changed, when)
    return result


_PIECE_KEYS = ("forward", "update", "backward", "eval_forward")
_PIECE_LABELS = {
    "forward": "pieces.forward (the training-mode forward)",
    "update": "pieces.update (the running-average update)",
    "backward": "pieces.backward (the backward)",
    "eval_forward": "pieces.eval_forward (the inference forward)",
}


class _PieceProbe:
    """Counts the calls to each function of a :class:`BatchNormPieces` and checks that the layer's
    results are what those calls returned (used as a context manager: the pieces are wrapped inside
    the ``with`` block and restored after it)."""

    def __init__(self, pieces: BatchNormPieces):
        self.pieces = pieces
        self.calls = dict.fromkeys(_PIECE_KEYS, 0)
        self.last = {}
        self.problems = []
        self._saved = {}

    def __enter__(self):
        for key in _PIECE_KEYS:
            self._saved[key] = fn = getattr(self.pieces, key)
            setattr(self.pieces, key, self._counting(key, fn))
        return self

    def __exit__(self, *exc):
        for key, fn in self._saved.items():
            setattr(self.pieces, key, fn)
        return False

    def _counting(self, key, fn):
        def wrapper(*args, **kwargs):
            self.calls[key] += 1
            result = fn(*args, **kwargs)
            self.last[key] = result
            return result

        wrapper.__name__ = getattr(fn, "__name__", key)
        return wrapper

    def step(self, when: str, needs: dict, before: dict):
        """After one call of the layer: each piece in ``needs`` (key -> [(label, the layer's value, index
        into the piece's result or None)]) must have been called since ``before`` (the call counts then),
        and the layer must have returned or stored what it returned."""
        for key, pairs in needs.items():
            if self.calls[key] == before[key]:
                self.problems.append(f"in {when} your layer did not call {_PIECE_LABELS[key]}")
                continue
            result = self.last[key]
            for label, value, index in pairs:
                try:
                    piece_value = result if index is None else result[index]
                    same = np.shape(value) == np.shape(piece_value) and np.array_equal(
                        np.asarray(value, dtype=float), np.asarray(piece_value, dtype=float), equal_nan=True
                    )
                except Exception:  # a malformed value is reported by the numeric check, never a crash
                    same = False
                if not same:
                    self.problems.append(f"in {when}, {label} is not what {_PIECE_LABELS[key]} returned")


def _exercise_layer(layer_cls, data, probe: _PieceProbe | None = None):
    """Run one layer through three training steps, a backward and an eval forward; return what to grade.

    Returns (train_out_1, train_out_3, running_mean, running_var, dx, dgamma, dbeta, eval_out,
    running_mean_after_eval). Every array passed to the layer is a fresh copy that is compared with the
    original after the call (:class:`_ChangedInPlace` if the layer edited it). With a ``probe``, each
    call of the layer must call its pieces and return or store what they returned.
    """
    layer = layer_cls(_LAYER_C, momentum=_LAYER_MOMENTUM, eps=_LAYER_EPS)
    layer.params["gamma"][:] = data["gamma"]
    layer.params["beta"][:] = data["beta"]
    batches = data["batches"]
    outs = []
    for i, x in enumerate(batches):
        when = f"training batch {i + 1} of {len(batches)} ({len(x)} rows)"
        before = dict(probe.calls) if probe is not None else None
        outs.append(_checked_call(layer.forward, "x", x, when, training=True))
        if probe is not None:
            needs = {
                "forward": [("the output", _first(outs[-1]), 0)],
                "update": [("self.running_mean", layer.running_mean, 0)],
            }
            probe.step(when, needs, before)
    running_mean, running_var = np.copy(layer.running_mean), np.copy(layer.running_var)
    before = dict(probe.calls) if probe is not None else None
    when = "the backward after the 3rd training batch"
    dx = _checked_call(layer.backward, "dout", data["dout"], when)
    dgamma, dbeta = layer.grads.get("gamma"), layer.grads.get("beta")
    if probe is not None:
        needs = {"backward": [("dx", dx, 0), ("grads['gamma']", dgamma, 1), ("grads['beta']", dbeta, 2)]}
        probe.step(when, needs, before)
    before = dict(probe.calls) if probe is not None else None
    when = "the eval-mode forward"
    eval_out = _checked_call(layer.forward, "x", data["x_eval"], when, training=False)
    if probe is not None:
        probe.step(when, {"eval_forward": [("the output", eval_out, None)]}, before)
    after = np.copy(layer.running_mean)
    return (outs[0], outs[2], running_mean, running_var, dx, dgamma, dbeta, eval_out, after)


_COURSE_LAYER_METHODS = ("forward", "backward", "_eval_forward", "_update_running", "_eval_backward")


@contextlib.contextmanager
def _course_layer_calls():
    """Record, inside the block, every call of the course layer's own methods (``super().forward`` …).

    The methods are wrapped on :class:`course_utils.layers.BatchNorm` for the duration of the block
    and restored after it, even when the student's code raised.
    """
    called: list[str] = []
    saved = {m: vars(L.BatchNorm).get(m) for m in _COURSE_LAYER_METHODS}

    def recording(method, fn):
        def wrapper(self, *args, **kwargs):
            called.append(method)
            return fn(self, *args, **kwargs)

        return wrapper

    for method in _COURSE_LAYER_METHODS:
        setattr(L.BatchNorm, method, recording(method, getattr(L.BatchNorm, method)))
    try:
        yield called
    finally:
        for method, fn in saved.items():
            if fn is None:
                delattr(L.BatchNorm, method)
            else:
                setattr(L.BatchNorm, method, fn)


_LAYER_OUTPUTS = (
    "training output (1st batch)",
    "training output (3rd batch)",
    "running_mean after 3 batches",
    "running_var after 3 batches",
    "dx (backward)",
    "grads['gamma']",
    "grads['beta']",
    "eval-mode output",
    "running_mean after an eval forward",
)


def check_student_batchnorm_layer(layer_cls, pieces: BatchNormPieces | None = None) -> bool:
    """Grade a BatchNorm layer class (a subclass of :class:`course_utils.layers.BatchNorm`).

    The class is built as ``layer_cls(4, momentum=0.2, eps=1e-3)``, given γ ≠ 1, β ≠ 0, run through three
    training batches of sizes 6, 4, 8 (outputs and running statistics checked), a backward on the last
    batch (``dx`` returned, ``grads["gamma"]``/``grads["beta"]`` stored) and an eval-mode forward (which
    must use, and not change, the running statistics). The reference is the course's layer.

    A layer that edits its input ``x`` or ``dout`` in place fails (naming the argument and the batch),
    and so does one that runs the course's layer itself (``super().forward(...)``, ``super().backward``).
    With ``pieces`` (the :class:`BatchNormPieces` the layer is meant to be built from), every call of the
    layer must also call its piece — ``pieces.forward`` and ``pieces.update`` in each training forward,
    ``pieces.backward`` in the backward, ``pieces.eval_forward`` in eval mode — and return or store what
    the piece returned; so a PASS with the student's pieces means the student's code did the work.
    """
    name = "student BatchNorm layer"
    if not isinstance(layer_cls, type) or not issubclass(layer_cls, L.Layer):
        return fail(
            name,
            f"pass the class itself (e.g. MyBatchNorm), got {type(layer_cls).__name__}",
            "class MyBatchNorm(cu.layers.BatchNorm): ... then check_student_batchnorm_layer(MyBatchNorm)",
        )
    if pieces is not None and not isinstance(pieces, BatchNormPieces):
        return fail(
            name,
            f"pieces should be what cu.exercises.student_batchnorm_pieces returned, got {type(pieces).__name__}",
        )
    data = _layer_data()
    expected = _exercise_layer(L.BatchNorm, data)

    own = [m for m in ("forward", "backward") if _defined_below_batchnorm(layer_cls, m)]
    if len(own) < 2:
        missing = sorted({"forward", "backward"} - set(own))
        return fail(
            name,
            f"{layer_cls.__name__} does not define its own {' and '.join(missing)}",
            "write forward(self, x, training=True) and backward(self, dout) with your pieces",
        )
    probe = _PieceProbe(pieces) if pieces is not None else contextlib.nullcontext()
    with probe, _course_layer_calls() as course_calls:
        outcome = call_student(_exercise_layer, layer_cls, data, probe if pieces is not None else None)
    if outcome.kind == "raised" and isinstance(outcome.error, _ChangedInPlace):
        e = outcome.error
        return fail(
            name,
            f"your {e.method} changed its argument {', '.join(f'`{c}`' for c in e.changed)} in place, "
            f"in {e.when}",
            "build new arrays instead (x_c = x - mu, not x -= mu; dx = dout * ..., not dout *= ...): "
            "in a network the caller still needs the array it passed",
        )
    if outcome.kind == "raised" and _raised_by_stub(outcome.error, layer_cls):
        return not_implemented(name)
    verdict = outcome.verdict(name)
    if verdict is not None:
        return verdict
    got = outcome.value
    worst, worst_label, arrays = 0.0, "", []
    for label, value, ref in zip(_LAYER_OUTPUTS, got, expected):
        if value is None and label.startswith("grads"):
            return fail(name, f"{label} was never set", _layer_structure_hint(label, value))
        arr, why = as_answer(value, label, np.shape(ref))
        if arr is None:
            hint = _layer_structure_hint(label, value)
            return fail(name, why, hint)
        arrays.append(arr)
        err = float(np.max(np.abs(arr - ref)) / max(1.0, float(np.max(np.abs(ref)))))
        if not np.isfinite(err):
            err = np.inf
        if err > worst:
            worst, worst_label = err, label
    if worst >= 1e-7:
        return report(name, worst, hint=_diagnose_layer(arrays, expected, data, worst_label))
    if course_calls:
        called = list(dict.fromkeys(course_calls))
        public = [m for m in called if not m.startswith("_")]
        methods = ", ".join(f"`BatchNorm.{m}`" for m in (public or called))
        return fail(
            name,
            f"your layer ran the course's own layer ({methods} of cu.layers, e.g. through "
            "super().forward(...) or super().backward(...)), so its numbers say nothing about your code",
            "write forward and backward with the pieces: pieces.forward, pieces.update, pieces.eval_forward "
            "and pieces.backward (super().__init__ is fine; super().forward/backward is not)",
        )
    if pieces is not None and probe.problems:
        return fail(
            name,
            probe.problems[0],
            "build the layer from the four pieces chosen above and return (or store) what they return: "
            "out, self.running_mean/self.running_var, dx and the grads come from pieces.forward, "
            "pieces.update, pieces.backward and pieces.eval_forward",
        )
    return report(name, worst)


def _defined_below_batchnorm(cls, method: str) -> bool:
    """True if ``cls`` (or a class between it and BatchNorm) defines ``method`` itself."""
    for klass in cls.__mro__:
        if klass is L.BatchNorm or klass is L.Layer:
            return False
        if method in vars(klass):
            return True
    return False


def _raised_by_stub(exc, cls) -> bool:
    """A NotImplementedError raised directly in one of the class's own methods (the exercise stub)."""
    if not isinstance(exc, NotImplementedError):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    codes = {getattr(vars(k).get(m), "__code__", None) for k in cls.__mro__ for m in ("forward", "backward")}
    return tb.tb_frame.f_code in codes


def _layer_structure_hint(label, value):
    if isinstance(value, tuple) and "output" in label:
        return (
            "forward(x, training) returns only the output array; keep the cache on the layer "
            "(self.cache = cache) for backward"
        )
    if value is None and label.startswith("grads"):
        return "backward must store the parameter gradients: self.grads['gamma'], self.grads['beta'] = ..."
    if value is None and label.startswith("dx"):
        return "backward must return dx"
    if value is None and "output" in label:
        return "forward must return the output array"
    return ""


def _diagnose_layer(arrays, expected, data, worst_label) -> str:
    got = dict(zip(_LAYER_OUTPUTS, arrays))
    ref = dict(zip(_LAYER_OUTPUTS, expected))

    def same(label, value=None):
        return np.allclose(got[label], ref[label] if value is None else value, rtol=1e-6, atol=1e-10)

    if not same("training output (1st batch)"):
        batch = data["batches"][0]
        default_eps = F.batchnorm_forward(batch, data["gamma"], data["beta"], 1e-5)[0]
        if np.allclose(got["training output (1st batch)"], default_eps, rtol=1e-6, atol=1e-10):
            return (
                f"pass the layer's own eps to the forward piece: forward(x, gamma, beta, self.eps) "
                f"(this layer has eps={_LAYER_EPS:g}, not the default 1e-5)"
            )
        return "in training mode normalize with the batch's own statistics (your forward piece), not the running ones"
    if not same("running_mean after 3 batches") or not same("running_var after 3 batches"):
        if np.allclose(got["running_mean after 3 batches"], 0) and np.allclose(
            got["running_var after 3 batches"], 1
        ):
            return "the running statistics never moved: in training mode update them with your update piece"
        default = _exercise_layer(lambda C, momentum, eps: L.BatchNorm(C, momentum=0.1, eps=eps), data)
        if np.allclose(got["running_mean after 3 batches"], default[2], rtol=1e-6, atol=1e-10):
            return (
                f"pass the layer's own momentum to the update piece: update(..., x, self.momentum) "
                f"(this layer has momentum={_LAYER_MOMENTUM:g}, not the default 0.1)"
            )
        return (
            "update the running statistics once per training forward, from the batch x itself, and store "
            "the result back: self.running_mean, self.running_var = update(...)"
        )
    if not same("running_mean after an eval forward", ref["running_mean after 3 batches"]):
        return "an eval-mode forward must not change the running statistics (update only when training)"
    if not same("eval-mode output"):
        x = data["x_eval"]
        batch_stats = F.batchnorm_forward(x, data["gamma"], data["beta"], _LAYER_EPS)[0]
        if np.allclose(got["eval-mode output"], batch_stats, rtol=1e-6):
            return "eval mode (training=False) must normalize with the running statistics, not the batch's"
        return (
            "eval mode: eval_forward(x, gamma, beta, running_mean, running_var, eps) with the layer's own eps"
        )
    if same("grads['gamma']", ref["grads['beta']"]) and same("grads['beta']", ref["grads['gamma']"]):
        return "dgamma and dbeta are swapped: the backward returns (dx, dgamma, dbeta) in that order"
    if not same("dx (backward)"):
        return (
            "backward must use the cache of the LAST training forward (store it in the forward, "
            "e.g. self._cache = cache) and return dx"
        )
    return "store the parameter gradients in self.grads['gamma'] and self.grads['beta'] in backward"


def pieces_layer(pieces: BatchNormPieces) -> type:
    """The course's layer class built from ``pieces`` (used when the student's own class is not ready).

    Training mode: ``pieces.forward`` for the output, ``pieces.update`` for the running statistics;
    eval mode: ``pieces.eval_forward`` with the running statistics; backward: ``pieces.backward``.
    """

    class PiecesBatchNorm(L.BatchNorm):
        def forward(self, x, training: bool = True):
            if not training:
                return pieces.eval_forward(
                    x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps
                )
            out, self._cache = pieces.forward(x, self.gamma, self.beta, self.eps)
            self.running_mean, self.running_var = pieces.update(
                self.running_mean, self.running_var, x, self.momentum
            )
            return out

        def backward(self, dout):
            dx, self.grads["gamma"], self.grads["beta"] = pieces.backward(dout, self._cache)
            return dx

    return PiecesBatchNorm
