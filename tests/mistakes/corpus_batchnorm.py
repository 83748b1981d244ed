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


def bwd_list(dout, cache):
    return list(cu.batchnorm_backward(dout, cache))


CORPUS = {
    "check_batchnorm_forward": Corpus(
        right=[fwd_right_with_cache, fwd_right_by_hand],
        wrong=[
            Wrong(fwd_unbiased, hint="biased variance"),
            Wrong(fwd_eps_outside, hint="inside the square root"),
            Wrong(fwd_no_eps, hint="eps is missing"),
            Wrong(fwd_per_example, hint="per channel"),
            Wrong(fwd_axis0_only, hint="N·H·W"),
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
            Wrong(bwd_zeroes_cache, says="`cache.x_hat`"),
            Wrong(bwd_list, says="list"),
            *generic_wrongs(bwd_right),
        ],
    ),
}
