"""Checks for notebooks 05–06: batch normalization's training-mode forward pass, γ/β and the backward pass."""

from __future__ import annotations

import copy

import numpy as np

from .. import normalization as F
from .core import Case, as_answer, call_student, check_forward, fail, grade, match_mistake

__all__ = [
    "check_batchnorm_forward_2d",
    "check_batchnorm_forward",
    "check_identity_gamma_beta",
    "check_gamma_beta_prediction",
    "check_batchnorm_backward_staged",
    "check_batchnorm_backward",
    "check_gradient_test",
    "check_layernorm_backward",
]


def _channel_axes(x):
    """BN's reduction axes: every axis but the channel axis 1."""
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, x):
    return np.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def _forward_cases(rng):
    """An ordinary (N, D) batch, an (N, C, H, W) batch, and a channel whose variance is ~ε."""
    cases = []
    for shape in [(8, 5), (4, 3, 2, 5)]:
        C = shape[1]
        cases.append((rng.normal(3.0, 2.0, size=shape), rng.uniform(0.5, 2.0, C), rng.normal(size=C)))
    x = rng.normal(1.0, 2.0, size=(6, 4))
    x[:, 2] = 5.0 + 3e-3 * rng.normal(size=6)  # variance ≈ 1e-5 = ε: a missing or misplaced ε shows here
    cases.append((x, rng.uniform(0.5, 2.0, 4), rng.normal(size=4)))
    return cases


def check_batchnorm_forward(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` against :func:`course_utils.batchnorm_forward`.

    Tried on an (N, D) batch, an (N, C, H, W) batch and a batch with a near-constant channel, all
    with γ ≠ 1 and β ≠ 0. ``fn`` may return ``out`` or ``(out, cache)``.
    """
    rng = np.random.default_rng(2015)
    return check_forward(
        "batchnorm_forward",
        fn,
        F.batchnorm_forward,
        _forward_cases(rng),
        _diagnose_batchnorm,
        on_raise=_batchnorm_raised,
    )


def _batchnorm_raised(exc, x, gamma, beta):
    if type(exc).__name__ == "AxisError" and x.ndim == 2:
        return (
            f"the same function must also work for an (N, C) input (here x has shape {x.shape}): build "
            "the axes from x.ndim instead of writing (0, 2, 3)"
        )
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"a broadcasting error: x has shape {x.shape} and gamma {gamma.shape}. Keep the reduced axes "
            "(keepdims=True) so mu and var broadcast against x, and reshape gamma/beta to (1, C, 1, …) "
            "for a 4-D input"
        )
    return None


def _diagnose_batchnorm(out, x, gamma, beta):
    """Compare the wrong answer with the usual mistakes and name the one that matches."""
    eps = 1e-5
    axes = _channel_axes(x)
    g, b = _per_channel(gamma, x), _per_channel(beta, x)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)

    def normalized_over(reduce_axes):
        m = x.mean(axis=reduce_axes, keepdims=True)
        v = x.var(axis=reduce_axes, keepdims=True)
        return g * (x - m) / np.sqrt(v + eps) + b

    return match_mistake(
        out,
        {
            "use the biased variance (divide by m, ddof=0), as in training-mode BN": lambda: (
                g * (x - mu) / np.sqrt(x.var(axis=axes, ddof=1, keepdims=True) + eps) + b
            ),
            "eps goes inside the square root: (x - mu) / sqrt(var + eps)": lambda: (
                g * (x - mu) / (np.sqrt(var) + eps) + b
            ),
            "eps is missing: divide by sqrt(var + eps), not sqrt(var) — it matters for a channel whose "
            "variance is tiny (look at the channel that is almost constant)": lambda: (
                g * (x - mu) / np.sqrt(var) + b
            ),
            "statistics are per channel: reduce over every axis except the channel axis 1 "
            "(for (N, D): axis 0), not over the features of each example": lambda: normalized_over(
                tuple(range(1, x.ndim))
            ),
            "for an (N, C, H, W) input each channel's statistics run over N·H·W values (axes (0, 2, 3)), "
            "not over the batch axis 0 alone (that gives one mean per position)": lambda: normalized_over(
                (0,)
            ),
            "one mean for the whole tensor mixes the channels: every channel needs its own μ_B and σ_B²": lambda: (
                normalized_over(tuple(range(x.ndim)))
            ),
            "statistics per image and channel (over H·W only) are InstanceNorm: BN also pools over the "
            "batch axis 0": lambda: normalized_over(tuple(range(2, x.ndim))) if x.ndim > 2 else None,
            "gamma scales and beta shifts: y = gamma * x_hat + beta (you swapped them)": lambda: (
                b * (x - mu) / np.sqrt(var + eps) + g
            ),
            "apply gamma and beta after normalizing: y = gamma * x_hat + beta": lambda: (
                (x - mu) / np.sqrt(var + eps)
            ),
            "divide by the standard deviation sqrt(var + eps), not by the variance": lambda: (
                g * (x - mu) / (var + eps) + b
            ),
        },
    )


# --- backward ---------------------------------------------------------------------------------------


def _backward_reference(dout, cache):
    return F.batchnorm_backward(dout, cache)


def check_batchnorm_backward(fn) -> bool:
    """Grade ``fn(dout, cache) -> (dx, dgamma, dbeta)`` against :func:`course_utils.batchnorm_backward`.

    The test cannot pass by accident: float64, batches of N = 8 and N = 16 rows of (N, D) data, γ ≠ 1,
    β ≠ 0 and a *random* upstream gradient (an all-ones ``dout`` would make the true ``dx`` identically
    zero). A third batch is wider than it is tall (N = 4 < D = 6, so m − 1 vs m shows strongly), with one
    feature whose variance is about ε: a backward that rebuilds 1/σ_B from ``cache.var`` without ε (or
    with ε outside the square root) is visibly wrong there. ``cache`` is the :class:`~course_utils.normalization.BatchNormCache` from
    :func:`course_utils.batchnorm_forward` (``cache.x_hat``, ``cache.gamma`` of shape (1, D),
    ``cache.inv_std`` of shape (1, D), …); the reference is computed from a private copy first, and a
    function that edits the cache fails. ``dgamma`` and ``dbeta`` have shape (D,), like γ and β.
    """
    rng = np.random.default_rng(1502)
    cases = []
    for N, D in [(8, 5), (16, 3)]:
        x = rng.normal(2.0, 3.0, size=(N, D))
        gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
        _, cache = F.batchnorm_forward(x, gamma, beta, eps=1e-5)
        cases.append(Case({"dout": rng.normal(size=(N, D)), "cache": cache}, note=f"N={N}, D={D}"))
    N, D = 4, 6
    x = rng.normal(-1.0, 2.0, size=(N, D))
    x[:, 2] = 5.0 + 3e-3 * rng.normal(size=N)  # variance ≈ 1e-5 = ε: a missing or misplaced ε shows here
    gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
    _, cache = F.batchnorm_forward(x, gamma, beta, eps=1e-5)
    note = f"N={N}, D={D}, feature 2 with a variance close to eps"
    cases.append(Case({"dout": rng.normal(size=(N, D)), "cache": cache}, note=note))
    return grade(
        "batchnorm_backward",
        fn,
        cases,
        _backward_reference,
        outputs=("dx", "dgamma", "dbeta"),
        diagnose=_diagnose_backward,
        on_raise=_backward_raised,
    )


def _backward_raised(exc, args, kwargs):
    """A broadcasting error in a backward: usually a variable of the notebook used instead of the cache."""
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return (
            f"a broadcasting error: here dout has shape {np.shape(args['dout'])} (the check uses other "
            "shapes than the notebook's example). Take γ and the statistics from the cache (cache.gamma, "
            "cache.inv_std, cache.x_hat, …), not from variables of the notebook, and keep per-feature sums "
            "that are combined with (N, D) arrays as (1, D) (keepdims=True)"
        )
    return None


def _diagnose_backward(answers, args, kwargs):
    """Name the usual mistake whose result matches the student's (dx, dgamma, dbeta)."""
    dout, cache = args["dout"], args["cache"]
    dx, dgamma, dbeta = (np.asarray(a) for a in answers)
    _, dgamma_ref, dbeta_ref = F.batchnorm_backward(dout, cache)
    if np.shape(dgamma) != dgamma_ref.shape or np.shape(dbeta) != dbeta_ref.shape:
        return "dgamma and dbeta have one entry per feature, shape (D,) like gamma: sum over axis 0 without keepdims"
    if not np.allclose(dbeta, dbeta_ref, rtol=1e-6, atol=1e-10):
        return "dbeta = Σ over the batch of dy (axis 0): β is added to every row"
    if not np.allclose(dgamma, dgamma_ref, rtol=1e-6, atol=1e-10):
        return (
            match_mistake(
                dgamma,
                {
                    "dgamma = Σ dy·x̂ uses the normalized x̂, not the raw x": lambda: (dout * cache.x).sum(
                        axis=0
                    )
                },
            )
            or "dgamma = Σ over the batch of dy·x̂ (axis 0)"
        )
    m = dout.shape[0]
    g, inv_std, x_hat = cache.gamma, cache.inv_std, cache.x_hat
    sum_dy = dout.sum(axis=0, keepdims=True)
    sum_dy_xhat = (dout * x_hat).sum(axis=0, keepdims=True)
    right = m * dout - sum_dy - x_hat * sum_dy_xhat
    return match_mistake(
        dx,
        {
            "you treated μ_B and σ_B as constants (dx = γ·inv_std·dy): the batch statistics depend on x too": g
            * inv_std
            * dout,
            "the mean term is missing: subtract Σ dy (the path through μ_B)": (g * inv_std / m)
            * (m * dout - x_hat * sum_dy_xhat),
            "the variance term is missing: subtract x̂·Σ(dy·x̂) (the path through σ_B²)": (g * inv_std / m)
            * (m * dout - sum_dy),
            "γ is missing: the upstream gradient reaching x̂ is γ·dy": (inv_std / m) * right,
            "divide by m (the biased variance), not m − 1": (g * inv_std / (m - 1))
            * ((m - 1) * dout - sum_dy - x_hat * sum_dy_xhat),
            "sign: dx = (γ·inv_std/m)·(m·dy − Σdy − x̂·Σ(dy·x̂))": -(g * inv_std / m) * right,
            "ε is missing: 1/σ_B is 1/sqrt(var + eps) — use cache.inv_std (look at the feature whose "
            "variance is close to eps)": lambda: (g / np.sqrt(cache.var) / m) * right,
            "eps goes inside the square root: 1/sqrt(var + eps) — use cache.inv_std": lambda: (
                (g / (np.sqrt(cache.var) + cache.eps) / m) * right
            ),
            "the sums run over the batch (axis=0, keepdims=True), one per feature": lambda: (
                (g * inv_std / m)
                * (
                    m * dout
                    - dout.sum(axis=1, keepdims=True)
                    - x_hat * (dout * x_hat).sum(axis=1, keepdims=True)
                )
            ),
        },
    ) or (
        "compare with the staged version: print dx from cu.batchnorm_backward_staged(dout, cache) next to "
        "yours for a tiny batch"
    )


# --- notebook 05: the (N, D) forward, the identity, a prediction -------------------------------------


def check_batchnorm_forward_2d(fn) -> bool:
    """Grade ``fn(x, gamma, beta, eps=1e-5)`` for fully connected inputs of shape (N, D) only.

    The first exercise of notebook 05: three (N, D) batches (one with a near-constant feature, so a
    missing ε shows), γ ≠ 1 and β ≠ 0. :func:`check_batchnorm_forward` adds the (N, C, H, W) case.
    """
    rng = np.random.default_rng(2005)
    cases = [(rng.normal(3.0, 2.0, size=(8, 5)), rng.uniform(0.5, 2.0, 5), rng.normal(size=5))]
    cases.append((rng.normal(-1.0, 0.5, size=(3, 2)), rng.uniform(0.5, 2.0, 2), rng.normal(size=2)))
    x = rng.normal(1.0, 2.0, size=(6, 4))
    x[:, 2] = 5.0 + 3e-3 * rng.normal(size=6)  # variance ≈ 1e-5 = ε
    cases.append((x, rng.uniform(0.5, 2.0, 4), rng.normal(size=4)))
    return check_forward(
        "batchnorm_forward (N, D)",
        fn,
        F.batchnorm_forward,
        cases,
        _diagnose_batchnorm,
        on_raise=_batchnorm_raised,
    )


def _identity_reference(x, eps=1e-5):
    axes = _channel_axes(x)
    mu = x.mean(axis=axes)
    var = ((x - x.mean(axis=axes, keepdims=True)) ** 2).mean(axis=axes)
    return np.sqrt(var + eps), mu


def check_identity_gamma_beta(fn) -> bool:
    """Grade ``fn(x, eps=1e-5) -> (gamma, beta)``: the γ, β (shape (C,)) with BN(x; γ, β) = x.

    Cases: an (N, D) batch, an (N, C, H, W) batch (statistics per channel over N·H·W) and a batch with a
    small-variance feature, where leaving ε out of γ makes a visible difference.
    """
    rng = np.random.default_rng(2051)
    x_small = rng.normal(2.0, 3.0, size=(12, 3))
    x_small[:, 1] = -4.0 + 0.01 * rng.normal(size=12)  # variance ≈ 1e-4: ε/var ≈ 0.1
    cases = [
        Case({"x": rng.normal(3.0, 2.0, size=(10, 4))}, {"eps": 1e-5}, note="x of shape (10, 4)"),
        Case({"x": rng.normal(-1.0, 1.5, size=(4, 3, 5, 5))}, {"eps": 1e-5}, note="x of shape (4, 3, 5, 5)"),
        Case({"x": x_small}, {"eps": 1e-5}, note="a feature with variance ≈ 1e-4"),
    ]
    return grade(
        "identity_gamma_beta",
        fn,
        cases,
        _identity_reference,
        outputs=("gamma", "beta"),
        diagnose=_diagnose_identity,
    )


def _diagnose_identity(answers, args, kwargs):
    x, eps = args["x"], kwargs.get("eps", 1e-5)
    gamma, beta = (np.asarray(a, dtype=float) for a in answers)
    C = x.shape[1]
    if gamma.shape != (C,) or beta.shape != (C,):
        if x.ndim > 2 and (gamma.shape == x.shape[1:] or beta.shape == x.shape[1:]):
            return (
                "one γ and one β per channel, shape (C,): reduce over every axis except 1 "
                "(N, H and W for an (N, C, H, W) input)"
            )
        return f"γ and β have one entry per channel: shape ({C},)"
    axes = _channel_axes(x)
    mu = x.mean(axis=axes)
    var = x.var(axis=axes)
    std = np.sqrt(var + eps)
    return match_mistake(
        (gamma, beta),
        {
            "γ must undo the division by sqrt(var + eps), so it includes ε: γ = sqrt(var + eps), not the "
            "plain standard deviation (look at the feature with a tiny variance)": (np.sqrt(var), mu),
            "use the biased variance (ddof=0), the one BN divides by": (
                np.sqrt(x.var(axis=axes, ddof=1) + eps),
                mu,
            ),
            "γ scales and β shifts: γ gives back the spread (σ_B), β the mean (μ_B) — you swapped them": (
                mu,
                std,
            ),
            "γ multiplies x̂, so it must put the scale back: γ = sqrt(var + eps), not its inverse": (
                1.0 / std,
                mu,
            ),
            "β adds the mean back: β = +μ_B": (std, -mu),
            "γ is a standard deviation (a square root), not the variance": (var + eps, mu),
            "γ = 1, β = 0 only leave x̂ as it is; to get x back, γ must undo the division and β the "
            "subtraction of the mean": (np.ones(C), np.zeros(C)),
        },
        rtol=1e-6,
    )


def _kind(value) -> str:
    """A short description of what a function returned (for FAIL messages)."""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, float) and not np.isfinite(value):
        return f"a non-finite float ({value})"
    return f"a {type(value).__name__}"


def check_gamma_beta_prediction(fn, x) -> bool:
    """Grade a prediction ``fn() -> (relu_on, saturated)`` made before moving the γ/β sliders.

    ``relu_on`` is the predicted fraction of ReLUs that are on at γ = 1, β = 0 and ``saturated`` the
    predicted fraction of saturated sigmoids (σ < 0.03 or > 0.97) at γ = 4, β = 0, both for the channel
    ``x`` after BN. Both must be fractions within 0.1 of the measured values (a Gaussian guess passes);
    only a PASS prints the measured values (a FAIL says which prediction is off and why, not the answer).
    A tuple, a list or an array of two numbers is accepted.
    """
    from ..batchnorm import activation_stats

    name = "gamma_beta_prediction"
    x = np.asarray(x, dtype=float).ravel()
    x_hat = (x - x.mean()) / np.sqrt(x.var() + 1e-5)
    truth = np.array([activation_stats(x_hat)["relu_active"], activation_stats(4.0 * x_hat)["saturated"]])
    outcome = call_student(fn)
    verdict = outcome.verdict(name)
    if verdict is not None:
        return verdict
    value = outcome.value
    if isinstance(value, list | np.ndarray) and np.shape(value) == (2,):
        value = tuple(value)  # a list or an array of two numbers is as good as a tuple
    if not isinstance(value, tuple) or len(value) != 2:
        return fail(name, f"return two numbers (relu_on, saturated), got {_kind(value)}")
    got = []
    for label, item in zip(("relu_on", "saturated"), value):
        arr, why = as_answer(item, label, ())
        if arr is None:
            return fail(name, why)
        got.append(float(arr))
    measured = f"measured: {truth[0]:.0%} of ReLUs on at β = 0, {truth[1]:.0%} saturated at γ = 4"
    off = np.abs(np.array(got) - truth)
    if np.all(off <= 0.1):
        print(f"PASS ✓ {name}: your {got[0]:.2f} and {got[1]:.2f} are within 0.1 ({measured})")
        return True
    # The measured values are printed only with a PASS: they are what the student is predicting.
    verdicts = ", ".join(
        f"{label} {'within 0.1' if d <= 0.1 else 'off by more than 0.1'}"
        for label, d in zip(("relu_on", "saturated"), off)
    )
    return fail(name, f"your ({got[0]:.2g}, {got[1]:.2g}): {verdicts}", _diagnose_prediction(got, truth))


def _diagnose_prediction(got, truth):
    relu, sat = got
    if relu > 1 or sat > 1:
        return "give fractions between 0 and 1 (0.5, not 50)"
    if abs(relu - truth[0]) > 0.1:
        if relu < 0.2:
            return (
                "after BN the channel has mean 0 whatever it was before: at β = 0 the ReLU threshold sits "
                "at the batch mean, so about half of the values are above it"
            )
        return "at β = 0 the ReLU is on for the values above the batch mean: about half of them"
    if sat < 0.05:
        return (
            "with γ = 4, y = 4·x̂ is saturated when |y| > 3.48, i.e. when |x̂| > 3.48 / 4 ≈ 0.87 — "
            "a standard normal is beyond ±0.87 quite often"
        )
    if abs(sat - truth[1] / 2) < 0.06:
        return "saturation happens in both tails: |y| > 3.48 (σ < 0.03 or σ > 0.97)"
    return "count both tails: P(|x̂| > 3.48 / 4) for a standard normal x̂ (about 0.38), then adjust"


# --- notebook 06: the staged backward, the gradient test, LayerNorm's backward -------------------------


def _backward_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    for N, D in [(8, 5), (16, 3)]:
        x = rng.normal(2.0, 3.0, size=(N, D))
        gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
        _, cache = F.batchnorm_forward(x, gamma, beta, eps=1e-5)
        cases.append(Case({"dout": rng.normal(size=(N, D)), "cache": cache}, note=f"N={N}, D={D}"))
    return cases


def staged_backward_with_slips(
    dout,
    cache,
    *,
    path2_xmu=True,
    path2_x=True,
    half=-0.5,
    power=-1.5,
    sum_dinv=True,
    two=2.0,
    gamma=True,
    mean_not_sum=False,
):
    """dx of the staged backward, with switches for its usual slips (all defaults: the right dx).

    Public so that the mistake corpus (tests/mistakes/corpus_batchnorm.py) builds its wrong answers
    from the same switches the checker's hints are matched against.
    """
    m = dout.shape[0]
    total = (
        (lambda a: a.mean(axis=0, keepdims=True))
        if mean_not_sum
        else (lambda a: a.sum(axis=0, keepdims=True))
    )
    dx_hat = dout * cache.gamma if gamma else dout
    dinv_std = total(dx_hat * cache.xmu) if sum_dinv else dx_hat * cache.xmu
    dvar = half * (cache.var + cache.eps) ** power * dinv_std
    dxmu = dx_hat * cache.inv_std + ((two / m) * cache.xmu * dvar if path2_xmu else 0.0)
    dmu = -total(dxmu)
    dx = dxmu + (dmu / m if path2_x else 0.0)
    return dx


def check_batchnorm_backward_staged(fn) -> bool:
    """Grade the staged backward ``fn(dout, cache) -> (dx, dgamma, dbeta)`` for (N, D) inputs.

    Same cases and reference as :func:`check_batchnorm_backward` (float64, random ``dout``, γ ≠ 1),
    with hints that name the node of the graph where the usual slips happen.
    """
    return grade(
        "batchnorm_backward_staged",
        fn,
        _backward_cases(1506),
        _backward_reference,
        outputs=("dx", "dgamma", "dbeta"),
        diagnose=_diagnose_staged,
        on_raise=_backward_raised,
    )


def _diagnose_staged(answers, args, kwargs):
    dout, cache = args["dout"], args["cache"]

    def slip(**switches):
        return staged_backward_with_slips(dout, cache, **switches)

    dx = np.asarray(answers[0])
    _, dgamma_ref, dbeta_ref = F.batchnorm_backward(dout, cache)
    if np.shape(answers[1]) != dgamma_ref.shape or np.shape(answers[2]) != dbeta_ref.shape:
        return "dgamma and dbeta have one entry per feature, shape (D,) like gamma: sum over the batch"
    if not np.allclose(answers[2], dbeta_ref) or not np.allclose(answers[1], dgamma_ref):
        return "y = γ·x̂ + β: dbeta = Σ_batch dy, dgamma = Σ_batch dy·x̂ (sums over axis 0)"
    return match_mistake(
        dx,
        {
            "xmu feeds two nodes (x_hat and var): dxmu needs the second path, (2/m)·xmu·dvar": lambda: slip(
                path2_xmu=False
            ),
            "x feeds two nodes (xmu and mu): dx needs the second path, dmu / m": lambda: slip(path2_x=False),
            "inv_std = (var + eps)^(-1/2): its derivative is -1/2·(var + eps)^(-3/2)": lambda: slip(
                power=-0.5
            ),
            "the factor -1/2 of d/dv v^(-1/2) is missing in dvar": lambda: slip(half=1.0),
            "sign of dvar: d/dv (v + eps)^(-1/2) = -1/2·(v + eps)^(-3/2), with a minus": lambda: slip(
                half=0.5
            ),
            "γ is missing: the gradient reaching x_hat is dx_hat = γ·dout (y = γ·x_hat + β)": lambda: slip(
                gamma=False
            ),
            "a gradient into a per-feature node is a SUM over the batch (every row used it), not a mean: "
            "dinv_std and dmu use .sum(axis=0)": lambda: slip(mean_not_sum=True),
            "inv_std is one number per feature, so dinv_std sums dx_hat·xmu over the batch": lambda: slip(
                sum_dinv=False
            ),
            "var = (1/m)·Σ xmu²: its derivative with respect to xmu is (2/m)·xmu": lambda: slip(two=1.0),
            "you treated μ_B and σ_B as constants (dx = γ·inv_std·dy): walk every node of the graph": (
                cache.gamma * cache.inv_std * dout
            ),
        },
    ) or (
        "check your lines one by one against the backward rule on each edge of the graph figure below "
        "the check cell, and the shapes: (1, D) for dinv_std, dvar, dmu; (N, D) for dx_hat, dxmu, dx"
    )


def _backward_missing_variance_path(dout, cache):
    m = dout.shape[0]
    dx = (cache.gamma * cache.inv_std / m) * (m * dout - dout.sum(axis=0, keepdims=True))
    return dx, (dout * cache.x_hat).sum(axis=0), dout.sum(axis=0)


def _backward_without_gamma(dout, cache):
    dx, dgamma, dbeta = F.batchnorm_backward(dout, cache)
    return dx / cache.gamma, dgamma, dbeta


def _backward_wrong_dgamma(dout, cache):
    dx, _, dbeta = F.batchnorm_backward(dout, cache)
    return dx, (dout * cache.x).sum(axis=0), dbeta


def _backward_unbiased_std(dout, cache):
    """A backward that recomputes the std with the unbiased variance (m − 1): dx off by about 1/(2m)."""
    m = cache.x.size // cache.mu.size
    s = 1.0 / np.sqrt(cache.var * (m / (m - 1)) + cache.eps)
    x_hat = cache.xmu * s
    dgamma = (dout * cache.x_hat).sum(axis=cache.axes)
    dbeta = dout.sum(axis=cache.axes)
    sum_dy = dout.sum(axis=cache.axes, keepdims=True)
    sum_dy_xhat = (dout * x_hat).sum(axis=cache.axes, keepdims=True)
    dx = (cache.gamma * s / m) * (m * dout - sum_dy - x_hat * sum_dy_xhat)
    return dx, dgamma, dbeta


def _backward_staged_right(dout, cache):
    return F.batchnorm_backward_staged(dout, cache)


_GRADIENT_TEST_CASES = [
    # (backward given to the student's test, the verdict it must give, the hint if it gives the other one)
    (
        F.batchnorm_backward,
        True,
        "a correct backward must pass your test: use float64, h ≈ 1e-5 and a tolerance such as "
        "relative error < 1e-6 (a right backward gives ~1e-9)",
    ),
    (
        _backward_missing_variance_path,
        False,
        "your test accepts the backward with the variance path missing: compare dx with a numerical "
        "gradient under a random upstream gradient (with all ones the true dx is zero and the bug hides)",
    ),
    (
        _backward_without_gamma,
        False,
        "your test accepts a backward that forgets γ in dx: use gamma ≠ 1 in your test",
    ),
    (
        _backward_wrong_dgamma,
        False,
        "your test accepts a wrong dgamma: compare dgamma and dbeta with their numerical gradients too",
    ),
    (
        _backward_unbiased_std,
        False,
        "your test accepts a backward whose dx is only slightly off (it uses the unbiased variance, m − 1): "
        "your tolerance is too loose — a right backward agrees with the numerical gradient to about 1e-9 "
        "in float64, so use relative error < 1e-6",
    ),
    (
        _backward_staged_right,
        True,
        "a correct backward (the staged one) must pass your test: loosen the tolerance to ~1e-6",
    ),
]


def check_gradient_test(fn) -> bool:
    """Grade a gradient *test* ``fn(backward) -> bool``: True when ``backward`` is right.

    ``backward(dout, cache) -> (dx, dgamma, dbeta)`` has the signature of
    :func:`course_utils.batchnorm_backward`. The test must accept two right backward passes (compact
    and staged) and reject four wrong ones: one missing the variance path (invisible with an
    all-ones ``dout``), one without γ in ``dx`` (invisible with γ = 1), one with a wrong ``dgamma``
    (invisible if only ``dx`` is compared) and one whose ``dx`` is off by about 1/(2m) (the unbiased
    variance; invisible with a loose tolerance). When a wrong backward passes although the test's own
    inputs show it (random ``dout``, γ ≠ 1), the hint says how far off it was there: the comparison or
    its tolerance is the slip.
    """
    name = "gradient_test"
    for backward, expected, hint in _GRADIENT_TEST_CASES:
        seen = []  # what the student's test passed to the backward (to name a vacuous test's slip)

        def recorded(dout, cache, _backward=backward, _seen=seen):
            _seen.append(
                (
                    np.array(dout, dtype=float, copy=True),
                    np.array(cache.gamma, dtype=float, copy=True),
                    copy.deepcopy(cache),
                )
            )
            return _backward(dout, cache)

        recorded.__name__ = getattr(backward, "__name__", "backward")
        outcome = call_student(fn, recorded)
        if outcome.kind == "raised" and "one value per channel" in str(outcome.error):
            outcome.hint = "a batch of one cannot test BN (x̂ ≡ 0): use N ≥ 4 rows"
        verdict = outcome.verdict(name)
        if verdict is not None:
            return verdict
        value = outcome.value
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if not isinstance(value, (bool, np.bool_)):
            return fail(name, f"your test should return True or False, got {_kind(value)}")
        if bool(value) != expected:
            said = "passed" if value else "rejected"
            return fail(
                name,
                f"your test {said} a backward that is {'right' if expected else 'wrong'}",
                _vacuous_test_hint(seen) or (not expected and _visible_slip_hint(backward, seen)) or hint,
            )
    print(f"PASS ✓ {name}: accepts both right backward passes and rejects all four wrong ones")
    return True


def _visible_slip_hint(backward, seen):
    """For a wrong backward the test passed: how far off it was on the test's own inputs, if clearly."""
    worst = (0.0, "")
    for dout, _, cache in seen:
        try:
            got = backward(dout, cache)
            right = F.batchnorm_backward(dout, cache)
        except Exception:  # the test passed something the reference refuses: leave it to the case hint
            return None
        for label, a, b in zip(("dx", "dgamma", "dbeta"), got, right):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            err = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))
            if err > worst[0]:
                worst = (err, label)
    err, label = worst
    if err < 1e-4:
        return None
    return (
        f"on your test's own inputs this backward's {label} is off by {100 * err:.2g}% of its largest entry, yet "
        f"your test accepted it: either {label} is not compared or the tolerance is too loose — compare "
        f"{label} with its numerical gradient at relative error < 1e-6 (a right backward agrees to about "
        "1e-9 in float64)"
    )


def _vacuous_test_hint(seen):
    """The targeted hint when the upstream gradient or γ the test used makes it blind."""
    if not seen:
        return "your test never called the backward it was given: call backward(dout, cache) inside it"
    for dout, gamma, _ in seen:
        if dout.shape[0] < 2:
            return "a batch of one cannot test BN (x̂ ≡ 0): use N ≥ 4 rows"
        if np.ptp(dout, axis=0).max() == 0:
            return (
                "your upstream gradient is the same for every row (e.g. all ones): then the true dx is "
                "exactly zero and the check compares rounding noise — use a random dout"
            )
        if np.all(gamma == 1.0):
            return "with gamma = 1 a backward that forgets γ looks right: use gamma ≠ 1 in your test"
    return None


def _layernorm_backward_reference(dout, cache):
    return F.layernorm_backward(dout, cache)


def check_layernorm_backward(fn) -> bool:
    """Grade ``fn(dout, cache) -> (dx, dgamma, dbeta)`` against :func:`course_utils.layernorm_backward`.

    Inputs of shape (N, D) with per-feature γ ≠ 1, a random ``dout`` (float64), including a batch of one
    sample (LayerNorm works there). ``cache`` is the :class:`~course_utils.normalization.LayerNormCache`
    (``cache.x_hat`` (N, D), ``cache.inv_std`` (N, 1), ``cache.gamma`` (D,)).
    """
    rng = np.random.default_rng(1508)
    cases = []
    for N, D in [(6, 5), (4, 9), (1, 7)]:
        x = rng.normal(2.0, 3.0, size=(N, D))
        _, cache = F.layernorm_forward(x, rng.uniform(0.5, 2.0, D), rng.normal(size=D))
        cases.append(Case({"dout": rng.normal(size=(N, D)), "cache": cache}, note=f"N={N}, D={D}"))
    return grade(
        "layernorm_backward",
        fn,
        cases,
        _layernorm_backward_reference,
        outputs=("dx", "dgamma", "dbeta"),
        diagnose=_diagnose_layernorm_backward,
        on_raise=_backward_raised,
    )


def _diagnose_layernorm_backward(answers, args, kwargs):
    dout, cache = args["dout"], args["cache"]
    dx, dgamma, dbeta = (np.asarray(a) for a in answers)
    _, dgamma_ref, dbeta_ref = F.layernorm_backward(dout, cache)
    if np.shape(dgamma) != dgamma_ref.shape or np.shape(dbeta) != dbeta_ref.shape:
        return (
            "γ and β are per feature, shared by every example: dgamma and dbeta sum over the batch "
            f"(axis 0), shape {dgamma_ref.shape}"
        )
    if not np.allclose(dbeta, dbeta_ref) or not np.allclose(dgamma, dgamma_ref):
        return "dbeta = Σ over the batch of dy, dgamma = Σ over the batch of dy·x̂ (axis 0)"
    D = dout.shape[1]
    g, s, xh = cache.gamma, cache.inv_std, cache.x_hat
    dxh = dout * g

    def formula(axis, m, gamma_in=True, mean=True, var=True):
        d = dxh if gamma_in else dout
        out = m * d
        if mean:
            out = out - d.sum(axis=axis, keepdims=True)
        if var:
            out = out - xh * (d * xh).sum(axis=axis, keepdims=True)
        return s / m * out

    return (
        match_mistake(
            dx,
            {
                "LayerNorm's statistics are per example: the sums in dx run over the features (axis 1, "
                "keepdims=True), not over the batch": lambda: formula(0, dout.shape[0]),
                "μ and σ of each example depend on all its D features: dx is not γ·inv_std·dy": g * s * dout,
                "the mean term is missing: subtract Σ_features dx̂": lambda: formula(1, D, mean=False),
                "the variance term is missing: subtract x̂·Σ_features(dx̂·x̂)": lambda: formula(1, D, var=False),
                "γ is per feature and multiplies dy before the sums: dx̂ = γ·dy": lambda: formula(
                    1, D, gamma_in=False
                ),
                "m is the number of features D here, not the batch size N (the sums run over the "
                "features, so the 1/m and the m·dx̂ count features)": lambda: (
                    s
                    / dout.shape[0]
                    * (
                        dout.shape[0] * dxh
                        - dxh.sum(1, keepdims=True)
                        - xh * (dxh * xh).sum(1, keepdims=True)
                    )
                ),
                "m is the number of features D here, not the batch size N": lambda: (
                    s
                    / dout.shape[0]
                    * (D * dxh - dxh.sum(1, keepdims=True) - xh * (dxh * xh).sum(1, keepdims=True))
                ),
            },
        )
        or "start from the BN formula and ask, for each sum, which axis the statistics were taken over"
    )
