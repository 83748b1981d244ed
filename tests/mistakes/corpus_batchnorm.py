"""Mistake corpus of notebooks 05–06's checkers (batch normalization forward and backward)."""

import numpy as np

import course_utils as cu

from .common import Corpus, Wrong, generic_wrongs


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _col(v, x):
    return np.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


# --- forward -----------------------------------------------------------------------------------------


def fwd_right_with_cache(x, gamma, beta, eps=1e-5):
    return cu.batchnorm_forward(x, gamma, beta, eps)


def fwd_right_by_hand(x, gamma, beta, eps=1e-5):
    axes = _axes(x)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return _col(gamma, x) * (x - mu) / np.sqrt(var + eps) + _col(beta, x)


def _bn(x, gamma, beta, mu, var, eps):
    return _col(gamma, x) * (x - mu) / np.sqrt(var + eps) + _col(beta, x)


def fwd_unbiased(x, gamma, beta, eps=1e-5):
    a = _axes(x)
    return _bn(x, gamma, beta, x.mean(axis=a, keepdims=True), x.var(axis=a, ddof=1, keepdims=True), eps)


def fwd_eps_outside(x, gamma, beta, eps=1e-5):
    a = _axes(x)
    mu = x.mean(axis=a, keepdims=True)
    return _col(gamma, x) * (x - mu) / (x.std(axis=a, keepdims=True) + eps) + _col(beta, x)


def fwd_no_eps(x, gamma, beta, eps=1e-5):
    return fwd_right_by_hand(x, gamma, beta, eps=0.0)


def fwd_per_example(x, gamma, beta, eps=1e-5):
    a = tuple(range(1, x.ndim))
    return _bn(x, gamma, beta, x.mean(axis=a, keepdims=True), x.var(axis=a, keepdims=True), eps)


def fwd_axis0_only(x, gamma, beta, eps=1e-5):
    return _bn(x, gamma, beta, x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True), eps)


def fwd_whole_tensor(x, gamma, beta, eps=1e-5):
    return _bn(x, gamma, beta, x.mean(), x.var(), eps)


def fwd_instance_norm(x, gamma, beta, eps=1e-5):
    a = tuple(range(2, x.ndim)) or (0,)  # per image and channel on 4-D input (ordinary BN on 2-D)
    return _bn(x, gamma, beta, x.mean(axis=a, keepdims=True), x.var(axis=a, keepdims=True), eps)


def fwd_axes_hard_coded(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return gamma[None, :, None, None] * (x - mu) / np.sqrt(var + eps) + beta[None, :, None, None]


def fwd_swapped_gamma_beta(x, gamma, beta, eps=1e-5):
    return fwd_right_by_hand(x, beta, gamma, eps)


def fwd_no_affine(x, gamma, beta, eps=1e-5):
    return fwd_right_by_hand(x, np.ones_like(gamma), np.zeros_like(beta), eps)


def fwd_no_keepdims(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


# --- backward ----------------------------------------------------------------------------------------


def bwd_right(dout, cache):
    return cu.batchnorm_backward(dout, cache)


def bwd_right_staged(dout, cache):
    return cu.batchnorm_backward_staged(dout, cache)


def _parts(dout, cache):
    m = dout.shape[0]
    g, s, xh = cache.gamma, cache.inv_std, cache.x_hat
    return m, g, s, xh, dout.sum(axis=0, keepdims=True), (dout * xh).sum(axis=0, keepdims=True)


def _with_dx(dx, dout, cache):
    return dx, (dout * cache.x_hat).sum(axis=0), dout.sum(axis=0)


def bwd_constants(dout, cache):
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(g * s * dout, dout, cache)


def bwd_no_mean_term(dout, cache):
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(g * s / m * (m * dout - xh * sdyx), dout, cache)


def bwd_no_var_term(dout, cache):
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(g * s / m * (m * dout - sdy), dout, cache)


def bwd_no_gamma(dout, cache):
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(s / m * (m * dout - sdy - xh * sdyx), dout, cache)


def bwd_sign(dout, cache):
    dx, dg, db = cu.batchnorm_backward(dout, cache)
    return -dx, dg, db


def bwd_keepdims(dout, cache):
    dx, dg, db = cu.batchnorm_backward(dout, cache)
    return dx, dg[None, :], db[None, :]


def bwd_dgamma_raw_x(dout, cache):
    dx, dg, db = cu.batchnorm_backward(dout, cache)
    return dx, (dout * cache.x).sum(axis=0), db


def bwd_zeroes_cache(dout, cache):
    cache.x_hat[...] = 0.0
    cache.inv_std[...] = 0.0
    return cu.batchnorm_backward(dout, cache)


def bwd_no_eps(dout, cache):
    """1/σ_B rebuilt from cache.var without ε: invisible unless a feature's variance is close to ε."""
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(g / np.sqrt(cache.var) / m * (m * dout - sdy - xh * sdyx), dout, cache)


def bwd_eps_outside(dout, cache):
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(g / (np.sqrt(cache.var) + cache.eps) / m * (m * dout - sdy - xh * sdyx), dout, cache)


def bwd_unbiased(dout, cache):
    m, g, s, xh, sdy, sdyx = _parts(dout, cache)
    return _with_dx(g * s / (m - 1) * ((m - 1) * dout - sdy - xh * sdyx), dout, cache)


def bwd_list(dout, cache):
    return list(cu.batchnorm_backward(dout, cache))


def bwd_sums_without_keepdims_transposed(dout, cache):
    """(N, D) minus a (D,) sum broadcasts; a (D, 1) column does not: the student's reshape slip."""
    m = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), (dout * cache.x_hat).sum(axis=0)
    dx = (cache.gamma * cache.inv_std / m) * (m * dout - dbeta[:, None] - cache.x_hat * dgamma[:, None])
    return dx, dgamma, dbeta


CORPUS = {
    "check_batchnorm_forward": Corpus(
        right=[fwd_right_with_cache, fwd_right_by_hand],
        wrong=[
            Wrong(fwd_unbiased, hint="biased variance"),
            Wrong(fwd_eps_outside, hint="inside the square root"),
            Wrong(fwd_no_eps, hint="eps is missing"),
            Wrong(fwd_per_example, hint="per channel"),
            Wrong(fwd_axis0_only, hint="N·H·W"),
            Wrong(fwd_whole_tensor, hint="one mean for the whole tensor"),
            Wrong(fwd_instance_norm, hint="InstanceNorm"),
            Wrong(fwd_axes_hard_coded, hint="build the axes from x.ndim", says="raised AxisError"),
            Wrong(fwd_swapped_gamma_beta, hint="swapped"),
            Wrong(fwd_no_affine, hint="apply gamma and beta"),
            Wrong(fwd_no_keepdims, hint="keepdims=True", says="raised ValueError"),
            *generic_wrongs(fwd_right_by_hand),
        ],
    ),
    "check_batchnorm_backward": Corpus(
        right=[bwd_right, bwd_right_staged],
        wrong=[
            Wrong(bwd_constants, hint="as constants"),
            Wrong(bwd_no_mean_term, hint="mean term is missing"),
            Wrong(bwd_no_var_term, hint="variance term is missing"),
            Wrong(bwd_no_gamma, hint="γ is missing"),
            Wrong(bwd_sign, hint="sign"),
            Wrong(bwd_keepdims, hint="without keepdims", says="shape (1, 5)"),
            Wrong(bwd_dgamma_raw_x, hint="normalized x̂"),
            Wrong(bwd_no_eps, hint="ε is missing", says="close to eps"),
            Wrong(bwd_eps_outside, hint="inside the square root", says="close to eps"),
            Wrong(bwd_unbiased, hint="not m − 1"),
            Wrong(bwd_zeroes_cache, says="`cache.x_hat`"),
            Wrong(bwd_list, says="list"),
            Wrong(bwd_sums_without_keepdims_transposed, hint="keepdims=True", says="raised ValueError"),
            *generic_wrongs(bwd_right),
        ],
    ),
}


def _only(wrongs, names):
    """The generic structural mistakes that apply to a checker (by name)."""
    return [w for w in wrongs if w.name in names]


# --- notebook 05: (N, D) forward, identity γ/β, the prediction ---------------------------------------


def ident_right(x, eps=1e-5):
    axes = _axes(x)
    return np.sqrt(x.var(axis=axes) + eps), x.mean(axis=axes)


def ident_right_via_cache(x, eps=1e-5):
    _, cache = cu.batchnorm_forward(x, np.ones(x.shape[1]), np.zeros(x.shape[1]), eps)
    return (1.0 / cache.inv_std).ravel(), cache.mu.ravel()


def ident_plain_std(x, eps=1e-5):
    return x.std(axis=_axes(x)), x.mean(axis=_axes(x))


def ident_swapped(x, eps=1e-5):
    g, b = ident_right(x, eps)
    return b, g


def ident_inverse(x, eps=1e-5):
    g, b = ident_right(x, eps)
    return 1.0 / g, b


def ident_minus_mu(x, eps=1e-5):
    g, b = ident_right(x, eps)
    return g, -b


def ident_variance(x, eps=1e-5):
    return x.var(axis=_axes(x)) + eps, x.mean(axis=_axes(x))


def ident_defaults(x, eps=1e-5):
    return np.ones(x.shape[1]), np.zeros(x.shape[1])


def ident_per_position(x, eps=1e-5):
    return np.sqrt(x.var(axis=0) + eps), x.mean(axis=0)


PREDICTION_CHANNEL = np.random.default_rng(5).normal(-3.0, 1.6, size=1152)


def pred_gaussian():
    return 0.5, 0.38


def pred_rounded():
    return 0.45, 0.45


def pred_as_list():
    from scipy.stats import norm

    return [0.5, float(2 * norm.sf(3.48 / 4))]


def pred_lists_tuple():
    return (0.5, 0.38, 0.0)


def pred_raw_channel():
    return 0.0, 0.38


def pred_percent():
    return 50, 38


def pred_threshold_not_scaled():
    return 0.5, 0.0


def pred_one_tail():
    return 0.5, 0.19


def _grade_prediction(check, fn):
    return check(fn, PREDICTION_CHANNEL)


# --- notebook 06: staged backward, gradient test, LayerNorm backward ---------------------------------


def staged_right(dout, cache):
    m = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * cache.x_hat).sum(axis=0)
    dx_hat = dout * cache.gamma
    dinv_std = (dx_hat * cache.xmu).sum(axis=0, keepdims=True)
    dvar = -0.5 * (cache.var + cache.eps) ** -1.5 * dinv_std
    dxmu = dx_hat * cache.inv_std + (2 / m) * cache.xmu * dvar
    dmu = -dxmu.sum(axis=0, keepdims=True)
    return dxmu + dmu / m, dgamma, dbeta


NOTEBOOK_GAMMA = np.array([1.5, 0.5, 2.0])  # the `gamma` of notebook 06's first cell, shape (3,)


def staged_global_gamma(dout, cache):
    """Uses the notebook's global `gamma` instead of cache.gamma: breaks on the checker's (8, 5) case."""
    m = dout.shape[0]
    dx_hat = dout * NOTEBOOK_GAMMA
    dinv_std = (dx_hat * cache.xmu).sum(axis=0, keepdims=True)
    dvar = -0.5 * (cache.var + cache.eps) ** -1.5 * dinv_std
    dxmu = dx_hat * cache.inv_std + (2 / m) * cache.xmu * dvar
    dx = dxmu - dxmu.sum(axis=0, keepdims=True) / m
    return dx, (dout * cache.x_hat).sum(axis=0), dout.sum(axis=0)


def ln_sums_without_keepdims(dout, cache):
    D = dout.shape[1]
    dxh, xh = dout * cache.gamma, cache.x_hat
    dx = cache.inv_std / D * (D * dxh - dxh.sum(axis=1) - xh * (dxh * xh).sum(axis=1))
    return dx, (dout * xh).sum(axis=0), dout.sum(axis=0)


def _staged_with(**slip):
    from course_utils.exercises.batchnorm import staged_backward_with_slips

    def wrong(dout, cache):
        return (
            staged_backward_with_slips(dout, cache, **slip),
            (dout * cache.x_hat).sum(axis=0),
            dout.sum(axis=0),
        )

    wrong.__name__ = "staged_" + "_".join(f"{k}" for k in slip)
    return wrong


def _test_with(
    dout_kind="random", gamma_one=False, compare=("dx", "dgamma", "dbeta"), tol=1e-6, n=6, atol=None
):
    """A student's gradient test, with switches for the usual slips (defaults: a right test)."""

    def test(backward):
        rng = np.random.default_rng(0)
        x = rng.normal(1.0, 2.0, size=(n, 3))
        gamma = np.ones(3) if gamma_one else rng.uniform(0.5, 2.0, 3)
        beta = rng.normal(size=3)
        dout = np.ones((n, 3)) if dout_kind == "ones" else rng.normal(size=(n, 3))
        _, cache = cu.batchnorm_forward(x, gamma, beta)
        got = dict(zip(("dx", "dgamma", "dbeta"), backward(dout, cache)))
        num = {
            "dx": cu.numerical_gradient_array(
                lambda v: cu.batchnorm_forward(v, gamma, beta)[0], x.copy(), dout
            ),
            "dgamma": cu.numerical_gradient_array(
                lambda v: cu.batchnorm_forward(x, v, beta)[0], gamma.copy(), dout
            ),
            "dbeta": cu.numerical_gradient_array(
                lambda v: cu.batchnorm_forward(x, gamma, v)[0], beta.copy(), dout
            ),
        }
        if atol is not None:  # np.allclose with only an absolute tolerance
            return all(np.allclose(got[k], num[k], rtol=0.0, atol=atol) for k in compare)
        return all(cu.rel_error(got[k], num[k]) < tol for k in compare)

    return test


def test_right_allclose(backward):
    rng = np.random.default_rng(42)
    x, gamma, beta = rng.normal(size=(5, 4)), rng.uniform(0.5, 2, 4), rng.normal(size=4)
    dout = rng.normal(size=(5, 4))
    _, cache = cu.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = backward(dout, cache)

    def f_x(v):
        return cu.batchnorm_forward(v, gamma, beta)[0]

    ok = np.allclose(dx, cu.numerical_gradient_array(f_x, x.copy(), dout), rtol=1e-5, atol=1e-7)
    ok &= np.allclose(dgamma, (dout * cache.x_hat).sum(0), rtol=1e-6)  # y is linear in γ and β
    ok &= np.allclose(dbeta, dout.sum(0), rtol=1e-6)
    return bool(ok)


def test_always_true(backward):
    return True


def test_shapes_only(backward):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3))
    _, cache = cu.batchnorm_forward(x, rng.uniform(0.5, 2, 3), rng.normal(size=3))
    dx, dgamma, dbeta = backward(rng.normal(size=(6, 3)), cache)
    return dx.shape == x.shape and dgamma.shape == (3,)


def test_always_false(backward):
    return False


def test_batch_of_one(backward):
    return _test_with(n=1)(backward)


def test_returns_string(backward):
    return "passed"


def test_returns_error(backward):
    return cu.rel_error(np.zeros(2), np.ones(2))


def ln_right(dout, cache):
    return cu.layernorm_backward(dout, cache)


def ln_right_by_hand(dout, cache):
    D = dout.shape[1]
    dxh = dout * cache.gamma
    xh = cache.x_hat
    dx = (
        cache.inv_std
        / D
        * (D * dxh - dxh.sum(axis=1, keepdims=True) - xh * (dxh * xh).sum(axis=1, keepdims=True))
    )
    return dx, (dout * xh).sum(axis=0), dout.sum(axis=0)


def _ln_dx(fn):
    def wrong(dout, cache):
        return fn(dout, cache), (dout * cache.x_hat).sum(axis=0), dout.sum(axis=0)

    wrong.__name__ = fn.__name__
    return wrong


@_ln_dx
def ln_bn_axes(dout, cache):
    N = dout.shape[0]
    dxh, xh = dout * cache.gamma, cache.x_hat
    return (
        cache.inv_std
        / N
        * (N * dxh - dxh.sum(axis=0, keepdims=True) - xh * (dxh * xh).sum(axis=0, keepdims=True))
    )


@_ln_dx
def ln_constants(dout, cache):
    return cache.gamma * cache.inv_std * dout


@_ln_dx
def ln_no_mean(dout, cache):
    D = dout.shape[1]
    dxh, xh = dout * cache.gamma, cache.x_hat
    return cache.inv_std / D * (D * dxh - xh * (dxh * xh).sum(axis=1, keepdims=True))


@_ln_dx
def ln_no_var(dout, cache):
    D = dout.shape[1]
    dxh = dout * cache.gamma
    return cache.inv_std / D * (D * dxh - dxh.sum(axis=1, keepdims=True))


@_ln_dx
def ln_no_gamma(dout, cache):
    D = dout.shape[1]
    xh = cache.x_hat
    return (
        cache.inv_std
        / D
        * (D * dout - dout.sum(axis=1, keepdims=True) - xh * (dout * xh).sum(axis=1, keepdims=True))
    )


@_ln_dx
def ln_m_is_batch(dout, cache):
    N = dout.shape[0]
    dxh, xh = dout * cache.gamma, cache.x_hat
    return (
        cache.inv_std
        / N
        * (N * dxh - dxh.sum(axis=1, keepdims=True) - xh * (dxh * xh).sum(axis=1, keepdims=True))
    )


def ln_dgamma_axis1(dout, cache):
    dx, _, _ = cu.layernorm_backward(dout, cache)
    return dx, (dout * cache.x_hat).sum(axis=1), dout.sum(axis=1)


_NO_ARRAYS = {"stub", "forgot_return", "crashes", "as_string", "as_list", "as_dict"}

CORPUS.update(
    {
        "check_batchnorm_forward_2d": Corpus(
            right=[fwd_right_with_cache, fwd_right_by_hand],
            wrong=[
                Wrong(fwd_unbiased, hint="biased variance"),
                Wrong(fwd_eps_outside, hint="inside the square root"),
                Wrong(fwd_no_eps, hint="eps is missing"),
                Wrong(fwd_per_example, hint="per channel"),
                Wrong(fwd_whole_tensor, hint="one mean for the whole tensor"),
                Wrong(fwd_swapped_gamma_beta, hint="swapped"),
                Wrong(fwd_no_affine, hint="apply gamma and beta"),
                *generic_wrongs(fwd_right_by_hand),
            ],
        ),
        "check_identity_gamma_beta": Corpus(
            right=[ident_right, ident_right_via_cache],
            wrong=[
                Wrong(ident_plain_std, hint="includes ε"),
                Wrong(ident_swapped, hint="swapped"),
                Wrong(ident_inverse, hint="not its inverse"),
                Wrong(ident_minus_mu, hint="+μ_B"),
                Wrong(ident_variance, hint="not the variance"),
                Wrong(ident_per_position, hint="one γ and one β per channel"),
                Wrong(ident_defaults, hint="only leave x̂ as it is"),
                *generic_wrongs(ident_right),
            ],
        ),
        "check_gamma_beta_prediction": Corpus(
            right=[pred_gaussian, pred_rounded, pred_as_list],
            wrong=[
                Wrong(pred_raw_channel, hint="mean 0 whatever it was before"),
                Wrong(pred_percent, hint="fractions"),
                Wrong(pred_threshold_not_scaled, hint="3.48 / 4"),
                Wrong(pred_one_tail, hint="both tails"),
                Wrong(pred_lists_tuple, says="two numbers"),
                *[w for w in generic_wrongs(pred_gaussian) if w.name not in ("in_place", "as_list")],
            ],
            grade=_grade_prediction,
        ),
        "check_batchnorm_backward_staged": Corpus(
            right=[staged_right, bwd_right_staged],
            wrong=[
                Wrong(_staged_with(path2_xmu=False), hint="second path, (2/m)"),
                Wrong(_staged_with(path2_x=False), hint="dmu / m"),
                Wrong(_staged_with(power=-0.5), hint="-3/2"),
                Wrong(_staged_with(half=1.0), hint="factor -1/2"),
                Wrong(_staged_with(sum_dinv=False), hint="dinv_std sums"),
                Wrong(_staged_with(two=1.0), hint="(2/m)·xmu"),
                Wrong(_staged_with(half=0.5), hint="sign of dvar"),
                Wrong(_staged_with(gamma=False), hint="dx_hat = γ·dout"),
                Wrong(_staged_with(mean_not_sum=True), hint="SUM over the batch"),
                Wrong(staged_global_gamma, hint="from the cache", says="raised ValueError"),
                Wrong(bwd_constants, hint="as constants"),
                Wrong(bwd_keepdims, hint="shape (D,)"),
                Wrong(bwd_zeroes_cache, says="`cache.x_hat`"),
                *generic_wrongs(staged_right),
            ],
        ),
        "check_gradient_test": Corpus(
            right=[_test_with(), test_right_allclose],
            wrong=[
                Wrong(_test_with(dout_kind="ones"), hint="same for every row", name="test_all_ones_dout"),
                Wrong(_test_with(gamma_one=True), hint="gamma ≠ 1", name="test_gamma_one"),
                Wrong(_test_with(compare=("dx",)), hint="compare dgamma", name="test_dx_only"),
                Wrong(_test_with(tol=0.5), hint="yet your test accepted it", name="test_tolerance_half"),
                Wrong(
                    _test_with(atol=0.05, n=64), hint="tolerance is too loose", name="test_allclose_atol_005"
                ),
                Wrong(_test_with(tol=1e-12), hint="must pass your test", name="test_too_strict"),
                Wrong(test_always_true, hint="never called the backward"),
                Wrong(test_always_false, hint="never called the backward"),
                Wrong(test_shapes_only, hint="compare dx with its numerical gradient"),
                Wrong(test_batch_of_one, hint="batch of one"),
                Wrong(test_returns_string, says="True or False"),
                Wrong(test_returns_error, says="True or False"),
                *_only(generic_wrongs(_test_with()), _NO_ARRAYS),
            ],
        ),
        "check_layernorm_backward": Corpus(
            right=[ln_right, ln_right_by_hand],
            wrong=[
                Wrong(ln_bn_axes, hint="per example"),
                Wrong(ln_constants, hint="not γ·inv_std·dy"),
                Wrong(ln_no_mean, hint="mean term is missing"),
                Wrong(ln_no_var, hint="variance term is missing"),
                Wrong(ln_no_gamma, hint="dx̂ = γ·dy"),
                Wrong(ln_dgamma_axis1, hint="sum over the batch"),
                Wrong(ln_m_is_batch, hint="count features"),
                Wrong(ln_sums_without_keepdims, hint="keepdims=True", says="raised ValueError"),
                *generic_wrongs(ln_right),
            ],
        ),
    }
)
