"""Mistake corpus of notebook 09's checkers (gradient predictiveness, paired difference, verdicts)."""

import numpy as np
from scipy import stats

from .common import Corpus, Wrong, generic_wrongs

# --- gradient predictiveness ---------------------------------------------------------------------


def gp_loop(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    changes = []
    for eta in step_sizes:
        _, g_eta = loss_and_grad(theta - eta * g)
        changes.append(np.linalg.norm(g_eta - g))
    return np.array(changes)


def gp_comprehension(loss_and_grad, theta, step_sizes):
    g = loss_and_grad(theta)[1]
    return np.array([np.sqrt(np.sum((loss_and_grad(theta - s * g)[1] - g) ** 2)) for s in step_sizes])


def gp_no_subtract(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    return np.array([np.linalg.norm(loss_and_grad(theta - eta * g)[1]) for eta in step_sizes])


def gp_uphill(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    return np.array([np.linalg.norm(loss_and_grad(theta + eta * g)[1] - g) for eta in step_sizes])


def gp_ratio(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    return gp_loop(loss_and_grad, theta, step_sizes) / (np.asarray(step_sizes) * np.linalg.norm(g))


def gp_unit_step(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    u = g / np.linalg.norm(g)
    return np.array([np.linalg.norm(loss_and_grad(theta - eta * u)[1] - g) for eta in step_sizes])


def gp_relative_change(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    return gp_loop(loss_and_grad, theta, step_sizes) / np.linalg.norm(g)


def gp_loss_change(loss_and_grad, theta, step_sizes):
    loss, g = loss_and_grad(theta)
    return np.array([abs(loss_and_grad(theta - eta * g)[0] - loss) for eta in step_sizes])


def gp_squared(loss_and_grad, theta, step_sizes):
    return gp_loop(loss_and_grad, theta, step_sizes) ** 2


def gp_chained(loss_and_grad, theta, step_sizes):
    out = []
    for eta in step_sizes:
        _, g = loss_and_grad(theta)
        theta = theta - eta * g
        out.append(np.linalg.norm(loss_and_grad(theta)[1] - g))
    return np.array(out)


def gp_theta_in_place(loss_and_grad, theta, step_sizes):
    _, g = loss_and_grad(theta)
    out = []
    for eta in step_sizes:
        theta -= eta * g  # moves θ for good: later step sizes start from the wrong point
        out.append(np.linalg.norm(loss_and_grad(theta)[1] - g))
        theta += eta * g
    return np.array(out)


def gp_one_value(loss_and_grad, theta, step_sizes):
    return gp_loop(loss_and_grad, theta, step_sizes).max()


# --- paired difference ----------------------------------------------------------------------------


def pd_numpy(a, b):
    d = np.asarray(a) - np.asarray(b)
    n = d.size
    return d.mean(), stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)


def pd_scipy_interval(a, b):
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    low, high = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
    return float(d.mean()), float((high - low) / 2)


def pd_welch(a, b):
    a, b = np.asarray(a), np.asarray(b)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    return a.mean() - b.mean(), (ci.high - ci.low) / 2


def pd_pooled(a, b):
    a, b = np.asarray(a), np.asarray(b)
    ci = stats.ttest_ind(a, b).confidence_interval(0.95)
    return a.mean() - b.mean(), (ci.high - ci.low) / 2


def pd_unpaired_se(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = a.size
    se = np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
    return (a - b).mean(), stats.t.ppf(0.975, n - 1) * se


def pd_unpaired_z(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.mean() - b.mean(), 1.96 * np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)


def pd_interval_ends(a, b):
    m, h = pd_numpy(a, b)
    return m - h, m + h


def pd_z(a, b):
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), 1.96 * d.std(ddof=1) / np.sqrt(d.size)


def pd_ddof0(a, b):
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), stats.t.ppf(0.975, d.size - 1) * d.std() / np.sqrt(d.size)


def pd_no_sqrt_n(a, b):
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1)


def pd_b_minus_a(a, b):
    m, h = pd_numpy(a, b)
    return -m, h


def pd_one_sided(a, b):
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), stats.t.ppf(0.95, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)


def pd_dof_n(a, b):
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), stats.t.ppf(0.975, d.size) * d.std(ddof=1) / np.sqrt(d.size)


def pd_full_width(a, b):
    m, h = pd_numpy(a, b)
    return m, 2 * h


def pd_array(a, b):
    return np.array(pd_numpy(a, b))


# --- verdicts -------------------------------------------------------------------------------------


def cv_where(low, high, predicted_sign):
    lo = np.where(predicted_sign > 0, low, -high)
    hi = np.where(predicted_sign > 0, high, -low)
    return np.where(lo > 0, 1, np.where(hi < 0, -1, 0))


def cv_loop(low, high, predicted_sign):
    out = []
    for lo, hi, s in zip(low, high, predicted_sign):
        if lo > 0 or hi < 0:  # the interval excludes 0
            out.append(1.0 if np.sign(lo) == s else -1.0)
        else:
            out.append(0.0)
    return np.array(out)


def cv_no_direction(low, high, predicted_sign):
    return np.where((low > 0) | (high < 0), 1.0, 0.0)


def cv_mean(low, high, predicted_sign):
    return np.sign((low + high) / 2) * predicted_sign


def cv_non_strict(low, high, predicted_sign):
    lo = np.where(predicted_sign > 0, low, -high)
    hi = np.where(predicted_sign > 0, high, -low)
    return np.where(lo >= 0, 1.0, np.where(hi <= 0, -1.0, 0.0))


def cv_sign_ignored(low, high, predicted_sign):
    return np.where(low > 0, 1, np.where(high < 0, -1, 0))


def cv_flip_without_swap(low, high, predicted_sign):
    lo, hi = predicted_sign * low, predicted_sign * high
    return np.where(lo > 0, 1, np.where(hi < 0, -1, 0))


def cv_flipped(low, high, predicted_sign):
    return -cv_where(low, high, predicted_sign)


def cv_never_contradicted(low, high, predicted_sign):
    lo = np.where(predicted_sign > 0, low, -high)
    return np.where(lo > 0, 1.0, 0.0)


def cv_strings(low, high, predicted_sign):
    return np.array(["supported" if v > 0 else "no" for v in cv_where(low, high, predicted_sign)])


CORPUS = {
    "check_gradient_predictiveness": Corpus(
        right=[gp_loop, gp_comprehension],
        wrong=[
            Wrong(gp_no_subtract, hint="subtract the gradient at θ"),
            Wrong(gp_uphill, hint="step *down* the gradient"),
            Wrong(gp_ratio, hint="β-smoothness probe"),
            Wrong(gp_unit_step, hint="no ‖g‖ anywhere"),
            Wrong(gp_relative_change, hint="no ‖g‖ anywhere"),
            Wrong(gp_loss_change, hint="not the loss"),
            Wrong(gp_squared, hint="not its square"),
            Wrong(gp_chained, hint="once, at the start"),
            Wrong(gp_theta_in_place, says="in place"),
            Wrong(gp_one_value, says="shape"),
            *generic_wrongs(gp_loop),
        ],
    ),
    "check_paired_difference": Corpus(
        right=[pd_numpy, pd_scipy_interval],
        wrong=[
            Wrong(pd_welch, hint="pair the runs"),
            Wrong(pd_pooled, hint="pair the runs"),
            Wrong(pd_unpaired_se, hint="unpaired standard error"),
            Wrong(pd_unpaired_z, hint="unpaired standard error; and use t"),
            Wrong(pd_interval_ends, hint="not the interval's ends"),
            Wrong(pd_z, hint="z = 1.96"),
            Wrong(pd_ddof0, hint="ddof=1"),
            Wrong(pd_no_sqrt_n, hint="divide the standard deviation by √n"),
            Wrong(pd_b_minus_a, hint="a − b"),
            Wrong(pd_one_sided, hint="0.975 quantile"),
            Wrong(pd_dof_n, hint="n − 1 degrees of freedom"),
            Wrong(pd_full_width, hint="half-width"),
            Wrong(pd_array, says="return a tuple"),
            *generic_wrongs(pd_numpy),
        ],
    ),
    "check_claim_verdicts": Corpus(
        right=[cv_where, cv_loop],
        wrong=[
            Wrong(cv_no_direction, hint="mind the direction"),
            Wrong(cv_mean, hint="not with the mean"),
            Wrong(cv_sign_ignored, hint="use predicted_sign"),
            Wrong(cv_flip_without_swap, hint="swaps its ends"),
            Wrong(cv_non_strict, hint="touches 0"),
            Wrong(cv_flipped, hint="sign is flipped"),
            Wrong(cv_never_contradicted, hint="use both ends"),
            Wrong(cv_strings, says="real numbers"),
            *generic_wrongs(cv_where),
        ],
    ),
}
