"""Exercise checks of notebook 08 (normalizations that do not depend on the batch).

* :func:`check_layernorm_forward` — LayerNorm's forward pass.
* :func:`check_groupnorm_forward` — GroupNorm's forward pass; its G = 1 case must equal LayerNorm and its
  G = C case InstanceNorm (those cases are graded against ``cu.layernorm_forward`` and
  ``cu.instancenorm_forward`` themselves).
* :func:`check_invariance_prediction` — the student's prediction of Ba et al. (2016) Table 1.
* :func:`check_weightnorm_forward` and :func:`check_weightnorm_grad_v` — Weight Norm and ∂L/∂v.
* :func:`check_renorm_r_d` — Batch Renorm's corrections r and d (Ioffe 2017, Algorithm 1).

All are built on :func:`~course_utils.exercises.core.grade` (reference first, from private copies; only
finite real arrays of the right shape pass; targeted hints for the usual mistakes).
"""

from __future__ import annotations

import numpy as np

from .. import normalization as F
from ..alternatives import BA2016_TABLE1, INVARIANCE_TRANSFORMS
from .core import Case, as_answer, call_student, fail, grade, match_mistake

__all__ = [
    "check_layernorm_forward",
    "check_groupnorm_forward",
    "INVARIANCE_ROWS",
    "check_invariance_prediction",
    "check_weightnorm_forward",
    "check_weightnorm_grad_v",
    "check_renorm_r_d",
]

EPS = 1e-5


def _broadcast_hint(exc, x, shape_hint: str):
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"a broadcasting error with x of shape {np.shape(x)}: keep the reduced axes (keepdims=True) so "
            f"the statistics broadcast against x{shape_hint}"
        )
    return None


# --- LayerNorm ---------------------------------------------------------------------------------------


def _layernorm_cases(rng):
    cases = []
    for shape in [(6, 5), (1, 7), (3, 4, 5)]:
        x = rng.normal(2.0, 3.0, size=shape)
        cases.append(
            Case({"x": x, "gamma": rng.uniform(0.5, 2.0, shape[1:]), "beta": rng.normal(size=shape[1:])})
        )
    x = rng.normal(1.0, 2.0, size=(4, 6))
    x[2] = 3.0 + 3e-3 * rng.normal(size=6)  # a sample whose variance is ~ε: a missing ε shows here
    cases.append(Case({"x": x, "gamma": rng.uniform(0.5, 2.0, 6), "beta": rng.normal(size=6)}))
    for case in cases:
        case.kwargs = {"eps": EPS}
        case.note = f"x of shape {case.args['x'].shape}"
    return cases


def check_layernorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.layernorm_forward`.

    Tried on an (N, D) batch with per-feature γ ≠ 1 and β ≠ 0, on a batch of one sample (LayerNorm must
    work there, unlike BatchNorm), on an (N, C, L) batch with γ, β of shape (C, L), and on a batch with
    one almost constant sample. ``fn`` may return ``out`` or ``(out, cache)``.
    """
    return grade(
        "layernorm_forward",
        fn,
        _layernorm_cases(np.random.default_rng(2016)),
        F.layernorm_forward,
        accept_extra=True,
        diagnose=_diagnose_layernorm,
        on_raise=lambda exc, args, kw: _broadcast_hint(
            exc, args["x"], " (x.mean(axis=1, keepdims=True) has shape (N, 1), without keepdims (N,))"
        ),
    )


def _diagnose_layernorm(answers, args, kwargs):
    x, gamma, beta = args["x"], args["gamma"], args["beta"]
    feat = tuple(range(1, x.ndim))
    mu, var = x.mean(axis=feat, keepdims=True), x.var(axis=feat, keepdims=True)

    def over(axes, ddof=0):
        m = x.mean(axis=axes, keepdims=True)
        return gamma * (x - m) / np.sqrt(x.var(axis=axes, ddof=ddof, keepdims=True) + EPS) + beta

    return match_mistake(
        answers[0],
        {
            "LayerNorm averages over the features of each sample (axes 1, 2, …), not over the batch "
            "(axis 0) — that is BatchNorm": lambda: over((0,)),
            "use the biased variance (divide by the number of features, ddof=0)": lambda: over(feat, ddof=1),
            "eps goes inside the square root: (x - mu) / sqrt(var + eps)": lambda: (
                gamma * (x - mu) / (np.sqrt(var) + EPS) + beta
            ),
            "eps is missing: divide by sqrt(var + eps) — look at the almost constant sample": lambda: (
                gamma * (x - mu) / np.sqrt(var) + beta
            ),
            "apply gamma and beta after normalizing: y = gamma * x_hat + beta": lambda: (
                (x - mu) / np.sqrt(var + EPS)
            ),
            "gamma scales and beta shifts: y = gamma * x_hat + beta (you swapped them)": lambda: (
                beta * (x - mu) / np.sqrt(var + EPS) + gamma
            ),
            "for an (N, C, L) input LayerNorm uses every axis except 0, not only the last one": lambda: over(
                (x.ndim - 1,)
            ),
            "axis=1 is only the first feature axis: for an (N, C, L) input a sample's features are axes 1 "
            "AND 2 — reduce over axis=tuple(range(1, x.ndim))": lambda: over((1,)) if x.ndim > 2 else None,
            "the statistics are per sample: reduce over every axis except 0, not over the whole batch": lambda: (
                over(tuple(range(x.ndim)))
            ),
        },
    )


# --- GroupNorm ---------------------------------------------------------------------------------------


def _groupnorm_reference(x, gamma, beta, num_groups, eps=EPS):
    """GroupNorm; for G = 1 the answer is LayerNorm's and for G = C InstanceNorm's (computed by them)."""
    C = x.shape[1]
    if num_groups == 1:
        shape = (C,) + (1,) * (x.ndim - 2)
        g = np.broadcast_to(gamma.reshape(shape), x.shape[1:])
        b = np.broadcast_to(beta.reshape(shape), x.shape[1:])
        return F.layernorm_forward(x, g, b, eps)[0]
    if num_groups == C and x.ndim > 2:
        return F.instancenorm_forward(x, gamma, beta, eps)[0]
    return F.groupnorm_forward(x, gamma, beta, num_groups, eps)[0]


def _groupnorm_cases(rng):
    specs = [
        ((2, 6, 3, 3), 3, "G = 3 groups of 2 channels"),
        ((3, 4, 2, 5), 1, "G = 1: must equal LayerNorm over (C, H, W)"),
        ((2, 4, 3, 2), 4, "G = C: must equal InstanceNorm"),
        ((5, 8), 2, "an (N, C) MLP layer, G = 2"),
    ]
    cases = []
    for shape, G, note in specs:
        x = rng.normal(2.0, 3.0, size=shape)
        C = shape[1]
        cases.append(
            Case(
                {"x": x, "gamma": rng.uniform(0.5, 2.0, C), "beta": rng.normal(size=C), "num_groups": G},
                {"eps": EPS},
                note=f"x of shape {shape}, {note}",
            )
        )
    x = rng.normal(1.0, 2.0, size=(2, 6, 2, 2))
    x[1, 2:4] = 4.0 + 3e-3 * rng.normal(size=(2, 2, 2))  # one group of one sample almost constant
    cases.append(
        Case(
            {"x": x, "gamma": rng.uniform(0.5, 2.0, 6), "beta": rng.normal(size=6), "num_groups": 3},
            {"eps": EPS},
            note="a group whose variance is ~eps",
        )
    )
    return cases


def check_groupnorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, num_groups, eps=1e-5)`` for ``x`` of shape (N, C, *spatial).

    γ and β have one entry per channel (shape (C,)). The cases include G = 1, graded against
    :func:`course_utils.layernorm_forward` (with γ, β broadcast over the positions), and G = C, graded
    against :func:`course_utils.instancenorm_forward`: a right GroupNorm *is* both. ``fn`` may return
    ``out`` or ``(out, cache)``.
    """
    return grade(
        "groupnorm_forward",
        fn,
        _groupnorm_cases(np.random.default_rng(2018)),
        _groupnorm_reference,
        accept_extra=True,
        diagnose=_diagnose_groupnorm,
        on_raise=_groupnorm_raised,
    )


def _groupnorm_raised(exc, args, kwargs):
    x = args["x"]
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"a broadcasting error with x of shape {x.shape}: gamma and beta have shape (C,), which lines up "
            "with the LAST axis; reshape them to (1, C, 1, 1) (in general (1, C) + (1,) * (x.ndim - 2)), "
            "and reshape the normalized groups back to x.shape before scaling"
        )
    if isinstance(exc, ValueError) and "reshape" in str(exc):
        return f"reshape x of shape {x.shape} to (N, G, C // G, *spatial) or (N, G, -1); G = num_groups"
    return None


def _diagnose_groupnorm(answers, args, kwargs):
    x, gamma, beta, G = args["x"], args["gamma"], args["beta"], args["num_groups"]
    N, C = x.shape[:2]
    shape = (1, C) + (1,) * (x.ndim - 2)
    g, b = gamma.reshape(shape), beta.reshape(shape)

    def grouped(xg, axes, ddof=0, eps=EPS, outside=False):
        m = xg.mean(axis=axes, keepdims=True)
        s = xg.std(axis=axes, ddof=ddof, keepdims=True)
        v = xg.var(axis=axes, ddof=ddof, keepdims=True)
        return (xg - m) / (s + eps) if outside else (xg - m) / np.sqrt(v + eps)

    right_hat = grouped(x.reshape(N, G, -1), (2,)).reshape(x.shape)

    def strided():  # channels c, c+G, c+2G, ... in one group
        xs = x.reshape(N, C // G, G, -1)
        return g * grouped(xs, (1, 3)).reshape(x.shape) + b

    def group_last(axes):  # x.reshape(N, -1, G): every G-th value of the flattened sample in one "group"
        return g * grouped(x.reshape(N, -1, G), axes).reshape(x.shape) + b

    def per_group_gamma(pick):  # one gamma/beta per group instead of one per channel
        xg = grouped(x.reshape(N, G, -1), (2,))
        gg, bb = gamma[pick].reshape(1, G, 1), beta[pick].reshape(1, G, 1)
        return (gg * xg + bb).reshape(x.shape)

    def channels_only():  # (N, G, C // G, *spatial) normalized over the C // G axis only
        xg = x.reshape((N, G, C // G) + x.shape[2:])
        return g * grouped(xg, (2,)).reshape(x.shape) + b

    reshape_hint = (
        "x.reshape(N, -1, G) puts the group index LAST, so a 'group' collects every G-th value of the "
        "sample (across channels and positions); reshape to (N, G, -1): the group first, then its C // G "
        "neighbouring channels with all their positions"
    )
    per_channel_hint = (
        "gamma and beta have one entry per CHANNEL (shape (C,)), not one per group: reshape x_hat back to "
        "x.shape, then scale with gamma.reshape(1, C, 1, 1)"
    )
    return match_mistake(
        answers[0],
        {
            reshape_hint: lambda: group_last((1,)),
            reshape_hint + " ": lambda: group_last((2,)),
            per_channel_hint: lambda: per_group_gamma(slice(0, G)),  # the first G entries
            per_channel_hint + " ": lambda: per_group_gamma(slice(0, C, C // G)),  # each group's first
            "a group's statistics run over its C // G channels AND every spatial position: reduce over all "
            "axes after the group axis (or reshape to (N, G, -1))": lambda: (
                channels_only() if x.ndim > 2 else None
            ),
            "a group is C // G NEIGHBOURING channels (0..C/G-1, then the next ones): reshape to "
            "(N, G, C // G, …), not (N, C // G, G, …)": strided,
            "GroupNorm's statistics are per sample: do not average over the batch axis 0": lambda: (
                g * grouped(x.reshape(N, G, -1), (0, 2)).reshape(x.shape) + b
            ),
            "use the biased variance (ddof=0)": lambda: (
                g * grouped(x.reshape(N, G, -1), (2,), ddof=1).reshape(x.shape) + b
            ),
            "eps goes inside the square root: (x - mu) / sqrt(var + eps)": lambda: (
                g * grouped(x.reshape(N, G, -1), (2,), outside=True).reshape(x.shape) + b
            ),
            "eps is missing: divide by sqrt(var + eps) — look at the almost constant group": lambda: (
                g * grouped(x.reshape(N, G, -1), (2,), eps=0.0).reshape(x.shape) + b
            ),
            "apply gamma and beta (one per channel) after normalizing": lambda: right_hat,
            "gamma scales and beta shifts: y = gamma * x_hat + beta (you swapped them)": lambda: (
                b * right_hat + g
            ),
            "num_groups is the NUMBER of groups G, each of C // G channels (you used groups of G "
            "channels)": lambda: g * grouped(x.reshape(N, C // G, -1), (2,)).reshape(x.shape) + b,
        },
    )


# --- the invariance table (Ba et al. 2016, Table 1) --------------------------------------------------

#: Row order of the prediction array (the order of Ba et al.'s Table 1).
INVARIANCE_ROWS = ("batch norm", "weight norm", "layer norm")

_QUESTIONS = {
    "weight matrix re-scaling": "if every weight is multiplied by δ, every summed input a is too — what "
    "happens to a statistic-normalized a?",
    "weight matrix re-centering": "adding the same vector s to every unit's weights adds x_n·s to every "
    "unit of sample n: is that the same number across a sample's units, or across the batch for one unit?",
    "weight vector re-scaling": "scaling ONE unit's weights scales that unit's a for every sample, but not "
    "the other units of a sample: which statistic moves with it?",
    "dataset re-scaling": "scaling every input by δ scales every a by δ; Weight Norm divides by ‖v‖, "
    "which does not see x",
    "dataset re-centering": "adding c to every input adds w_j·c to unit j of every sample: the same across "
    "the batch for one unit, different from unit to unit",
    "single case re-scaling": "scaling ONE sample scales its own a's, but also moves the batch mean and "
    "variance of every unit",
}


def _reference_table():
    return np.array([[float(v) for v in BA2016_TABLE1[row]] for row in INVARIANCE_ROWS])


def check_invariance_prediction(fn) -> bool:
    """Grade ``fn()``, which returns the student's prediction of Ba et al. (2016) Table 1.

    The answer is an array of shape (3, 6): rows :data:`INVARIANCE_ROWS` (batch, weight, layer norm),
    columns :data:`course_utils.alternatives.INVARIANCE_TRANSFORMS`, 1 = invariant, 0 = not (True/False
    are accepted too). A FAIL says how many cells are right and asks the question behind the first wrong
    cell; it never prints the answer.
    """
    name = "invariance prediction"
    expected = _reference_table()
    outcome = call_student(fn)
    verdict = outcome.verdict(name)
    if verdict is not None:
        return verdict
    value = outcome.value
    if isinstance(value, np.ndarray) and value.dtype.kind == "b":
        value = value.astype(float)
    arr, why = as_answer(value, "your table", expected.shape)
    if arr is None:
        return fail(
            name, why, "return np.array([[...6 entries...], [...], [...]]) with 1 = invariant, 0 = not"
        )
    if not np.all((arr == 0) | (arr == 1)):
        return fail(name, "every entry must be 1 (invariant) or 0 (not invariant)")
    wrong = np.argwhere(arr != expected)
    if len(wrong) == 0:
        print(f"PASS ✓ {name}: all {expected.size} cells right")
        return True
    right = expected.size - len(wrong)
    hint = _table_hint(arr, expected, wrong)
    return fail(name, f"{right} of {expected.size} cells right", hint)


def _table_hint(arr, expected, wrong):
    bn, wn, ln = (INVARIANCE_ROWS.index(r) for r in ("batch norm", "weight norm", "layer norm"))
    if np.array_equal(arr[[ln, wn, bn]], expected):
        return (
            "you swapped the BN and LN rows: BN takes its statistics over the batch for one unit, LN over "
            "the units of one sample"
        )
    if np.all(arr == 1):
        return "not every transformation cancels: each normalization divides out only what its statistic sees"
    if arr[wn, 3:].any() and not expected[wn, 3:].any():
        return (
            "Weight Norm divides by ‖v‖, a statistic of the weights only: nothing in it sees the data x, so "
            "no transformation of the data cancels"
        )
    counts = ", ".join(
        f"{row}: {int(np.sum(arr[i] != expected[i]))} wrong" for i, row in enumerate(INVARIANCE_ROWS)
    )
    i, j = wrong[0]
    return f"{counts}. Think again about {INVARIANCE_ROWS[i]}, {INVARIANCE_TRANSFORMS[j]}: {_QUESTIONS[INVARIANCE_TRANSFORMS[j]]}"


# --- Weight Norm -------------------------------------------------------------------------------------


def _weightnorm_cases(rng):
    cases = []
    for d_in, d_out in [(6, 4), (3, 5), (4, 1)]:
        v = rng.normal(size=(d_in, d_out))
        cases.append(Case({"v": v, "g": rng.uniform(0.5, 2.0, d_out)}, note=f"v of shape {(d_in, d_out)}"))
    return cases


def check_weightnorm_forward(fn) -> bool:
    """Grade ``fn(v, g) -> w`` (``w = g v / ‖v‖``, one norm per column = per output unit).

    Shapes (6, 4), (3, 5) (more units than inputs, so a norm over the wrong axis has the wrong shape or
    value) and (4, 1). ``fn`` may return ``w`` or ``(w, cache)``.
    """
    return grade(
        "weightnorm_forward",
        fn,
        _weightnorm_cases(np.random.default_rng(2016_2)),
        F.weightnorm_forward,
        accept_extra=True,
        diagnose=_diagnose_weightnorm,
        on_raise=lambda exc, args, kw: (
            "a broadcasting error: one norm per COLUMN of v (axis=0), shape (D_out,), lines up with g"
            if isinstance(exc, ValueError) and "broadcast" in str(exc)
            else None
        ),
    )


def _diagnose_weightnorm(answers, args, kwargs):
    v, g = args["v"], args["g"]
    norm = np.linalg.norm(v, axis=0)
    return match_mistake(
        answers[0],
        {
            "one norm per output unit: the norm of each COLUMN of v (axis=0), not of each row": lambda: (
                g * v / np.linalg.norm(v, axis=1, keepdims=True)
            ),
            "one norm per column, not the norm of the whole matrix": lambda: g * v / np.linalg.norm(v),
            "divide by the norm ‖v‖ = sqrt(sum v²), not by the squared norm": lambda: g * v / norm**2,
            "multiply by the length g: w = g · v / ‖v‖": lambda: v / norm,
            "w = g · v / ‖v‖: g multiplies, ‖v‖ divides": lambda: v * norm / g,
        },
    )


def _weightnorm_grad_reference(dw, v, g):
    _, cache = F.weightnorm_forward(v, g)
    return F.weightnorm_backward(dw, cache)[0]


def check_weightnorm_grad_v(fn) -> bool:
    """Grade ``fn(dw, v, g) -> dv``, the gradient of the loss with respect to ``v`` given ``dw = ∂L/∂w``.

    Random upstream gradients ``dw`` (never along ``w``, so dropping the projection shows) on the shapes
    of :func:`check_weightnorm_forward`.
    """
    rng = np.random.default_rng(2016_3)
    cases = []
    for case in _weightnorm_cases(rng):
        v = case.args["v"]
        cases.append(Case({"dw": rng.normal(size=v.shape), **case.args}, note=case.note))
    return grade(
        "weightnorm_grad_v",
        fn,
        cases,
        _weightnorm_grad_reference,
        accept_extra=True,
        diagnose=_diagnose_weightnorm_grad,
    )


def _diagnose_weightnorm_grad(answers, args, kwargs):
    dw, v, g = args["dw"], args["v"], args["g"]
    norm = np.linalg.norm(v, axis=0)
    along = (v * dw).sum(axis=0) / norm**2
    return match_mistake(
        answers[0],
        {
            "‖v‖ depends on v too: remove the component of dw along v (dw − (v·dw/‖v‖²) v) before scaling": lambda: (
                g / norm * dw
            ),
            "the projected gradient is scaled by g / ‖v‖ (chain rule through w = g v / ‖v‖)": lambda: (
                dw - v * along
            ),
            "the factor is g / ‖v‖, not 1 / ‖v‖: w = g · v / ‖v‖, so every path through w carries g": lambda: (
                (dw - v * along) / norm
            ),
            "v·dw is one number per unit (a sum over axis 0), not one sum over the whole matrix": lambda: (
                g / norm * (dw - v * (v * dw).sum() / norm**2)
            ),
            "sign: the component along v is SUBTRACTED (dv is orthogonal to w)": lambda: (
                g / norm * (dw + v * along)
            ),
            "project onto v per column: v·dw is a sum over axis 0, one number per unit": lambda: (
                g / norm * (dw - v * (v * dw).sum(axis=1, keepdims=True) / norm**2)
            ),
            "the projection divides by ‖v‖² (v·dw/‖v‖² · v), not by ‖v‖": lambda: (
                g / norm * (dw - v * (v * dw).sum(axis=0) / norm)
            ),
        },
    )


# --- Batch Renorm's r and d --------------------------------------------------------------------------


def _renorm_reference(x, running_mean, running_var, r_max, d_max, eps=EPS):
    C = x.shape[1]
    _, cache = F.batch_renorm_forward(
        x, np.ones(C), np.zeros(C), running_mean, running_var, r_max, d_max, eps
    )
    return cache.r, cache.d


def check_renorm_r_d(fn) -> bool:
    """Grade ``fn(x, running_mean, running_var, r_max, d_max, eps=1e-5) -> (r, d)`` for an (N, C) batch.

    ``r = clip(σ_B/σ_run, 1/r_max, r_max)``, ``d = clip((μ_B − μ_run)/σ_run, −d_max, d_max)`` with
    ``σ_B = sqrt(var_B + eps)`` (biased batch variance) and ``σ_run = sqrt(running_var + eps)``; both of shape
    (C,). Cases with no clip active, with both clips active, and r_max = 1, d_max = 0 (plain BN).
    """
    rng = np.random.default_rng(2017)
    cases = []
    for N, C, r_max, d_max, spread in [(8, 5, 1e3, 1e3, 1.0), (4, 6, 1.5, 0.3, 3.0), (6, 3, 1.0, 0.0, 1.0)]:
        x = rng.normal(rng.normal(size=C) * spread, rng.uniform(0.3, 3.0, C) * spread, size=(N, C))
        cases.append(
            Case(
                {
                    "x": x,
                    "running_mean": rng.normal(size=C),
                    "running_var": rng.uniform(0.5, 4.0, C),
                    "r_max": r_max,
                    "d_max": d_max,
                },
                {"eps": EPS},
                note=f"N={N}, C={C}, r_max={r_max:g}, d_max={d_max:g}",
            )
        )
    return grade(
        "renorm_r_d",
        fn,
        cases,
        _renorm_reference,
        outputs=("r", "d"),
        diagnose=_diagnose_renorm,
        on_raise=lambda exc, args, kw: (
            "the batch statistics are per channel: mean and variance over axis 0 (the batch), shape (C,) "
            "like running_mean"
            if isinstance(exc, ValueError) and "broadcast" in str(exc)
            else None
        ),
    )


def _diagnose_renorm(answers, args, kwargs):
    x, mu, var = args["x"], args["running_mean"], args["running_var"]
    r_max, d_max = args["r_max"], args["d_max"]
    mu_b, var_b = x.mean(axis=0), x.var(axis=0)
    s_b, s = np.sqrt(var_b + EPS), np.sqrt(var + EPS)
    r, d = np.clip(s_b / s, 1 / r_max, r_max), np.clip((mu_b - mu) / s, -d_max, d_max)
    return match_mistake(
        answers,
        {
            "clip r into [1/r_max, r_max] and d into [−d_max, d_max]": lambda: (s_b / s, (mu_b - mu) / s),
            "r = σ_B / σ_run (batch over running), not σ_run / σ_B": lambda: (
                np.clip(s / s_b, 1 / r_max, r_max),
                d,
            ),
            "d = (μ_B − μ_run) / σ_run: batch mean minus running mean": lambda: (
                r,
                np.clip((mu - mu_b) / s, -d_max, d_max),
            ),
            "d is measured in units of the running σ_run, not of the batch σ_B": lambda: (
                r,
                np.clip((mu_b - mu) / s_b, -d_max, d_max),
            ),
            "r compares standard deviations, not variances: sqrt(var_B + eps) / sqrt(running_var + eps)": lambda: (
                np.clip((var_b + EPS) / (var + EPS), 1 / r_max, r_max),
                d,
            ),
            "r's lower limit is 1/r_max, not 0 or −r_max": lambda: (np.clip(s_b / s, 0, r_max), d),
            "use the biased batch variance (ddof=0), as BN does": lambda: (
                np.clip(np.sqrt(x.var(axis=0, ddof=1) + EPS) / s, 1 / r_max, r_max),
                d,
            ),
            "eps goes inside BOTH square roots: σ_B = sqrt(var_B + eps), σ_run = sqrt(running_var + eps)": lambda: (
                np.clip(np.sqrt(var_b) / np.sqrt(var), 1 / r_max, r_max),
                np.clip((mu_b - mu) / np.sqrt(var), -d_max, d_max),
            ),
            "eps goes inside the square roots: sqrt(var + eps), not sqrt(var) + eps": lambda: (
                np.clip((np.sqrt(var_b) + EPS) / (np.sqrt(var) + EPS), 1 / r_max, r_max),
                np.clip((mu_b - mu) / (np.sqrt(var) + EPS), -d_max, d_max),
            ),
            "d has its own limit: clip d into [−d_max, d_max] (r_max is r's limit)": lambda: (
                r,
                np.clip((mu_b - mu) / s, -r_max, r_max),
            ),
            "clip from BOTH sides: r into [1/r_max, r_max], d into [−d_max, d_max] (np.clip(value, low, high))": lambda: (
                np.minimum(s_b / s, r_max),
                np.minimum((mu_b - mu) / s, d_max),
            ),
        },
    )
