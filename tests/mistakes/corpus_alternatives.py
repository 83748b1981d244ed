"""Mistake corpus of notebook 08's checkers (LayerNorm, GroupNorm, the invariance table, Weight Norm,
Batch Renorm's r and d)."""

import numpy as np

import course_utils as cu

from .common import Corpus, Wrong, generic_wrongs

EPS = 1e-5


# --- LayerNorm ---------------------------------------------------------------------------------------


def ln_right_course(x, gamma, beta, eps=1e-5):
    return cu.layernorm_forward(x, gamma, beta, eps)


def ln_right_by_hand(x, gamma, beta, eps=1e-5):
    axes = tuple(range(1, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def _ln(x, gamma, beta, axes, ddof=0, eps=1e-5):
    mu = x.mean(axis=axes, keepdims=True)
    return gamma * (x - mu) / np.sqrt(x.var(axis=axes, ddof=ddof, keepdims=True) + eps) + beta


def ln_axis0(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, (0,))


def ln_unbiased(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, tuple(range(1, x.ndim)), ddof=1)


def ln_eps_outside(x, gamma, beta, eps=1e-5):
    axes = tuple(range(1, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    return gamma * (x - mu) / (x.std(axis=axes, keepdims=True) + eps) + beta


def ln_no_eps(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, tuple(range(1, x.ndim)), eps=0.0)


def ln_last_axis(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, (x.ndim - 1,))


def ln_axis1_only(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)  # right for (N, D), wrong for (N, C, L)
    return gamma * (x - mu) / np.sqrt(x.var(axis=1, keepdims=True) + eps) + beta


def ln_swapped(x, gamma, beta, eps=1e-5):
    return ln_right_by_hand(x, beta, gamma, eps)


def ln_no_affine(x, gamma, beta, eps=1e-5):
    return ln_right_by_hand(x, np.ones_like(gamma), np.zeros_like(beta), eps)


def ln_no_keepdims(x, gamma, beta, eps=1e-5):
    axes = tuple(range(1, x.ndim))
    return gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + eps) + beta


# --- GroupNorm ---------------------------------------------------------------------------------------


def _col(v, x):
    return v.reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))


def gn_right_course(x, gamma, beta, num_groups, eps=1e-5):
    return cu.groupnorm_forward(x, gamma, beta, num_groups, eps)


def gn_right_five_d(x, gamma, beta, num_groups, eps=1e-5):
    N, C = x.shape[:2]
    xg = x.reshape((N, num_groups, C // num_groups) + x.shape[2:])
    axes = tuple(range(2, xg.ndim))
    mu = xg.mean(axis=axes, keepdims=True)
    var = xg.var(axis=axes, keepdims=True)
    x_hat = ((xg - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _col(gamma, x) * x_hat + _col(beta, x)


def _gn(x, gamma, beta, G, axes=(2,), ddof=0, eps=1e-5, split=None):
    N, C = x.shape[:2]
    xg = x.reshape(split if split is not None else (N, G, -1))
    mu = xg.mean(axis=axes, keepdims=True)
    var = xg.var(axis=axes, ddof=ddof, keepdims=True)
    return _col(gamma, x) * ((xg - mu) / np.sqrt(var + eps)).reshape(x.shape) + _col(beta, x)


def gn_strided_groups(x, gamma, beta, num_groups, eps=1e-5):
    N, C = x.shape[:2]
    return _gn(x, gamma, beta, num_groups, axes=(1, 3), split=(N, C // num_groups, num_groups, -1))


def gn_over_batch(x, gamma, beta, num_groups, eps=1e-5):
    return _gn(x, gamma, beta, num_groups, axes=(0, 2))


def gn_unbiased(x, gamma, beta, num_groups, eps=1e-5):
    return _gn(x, gamma, beta, num_groups, ddof=1)


def gn_no_eps(x, gamma, beta, num_groups, eps=1e-5):
    return _gn(x, gamma, beta, num_groups, eps=0.0)


def gn_groups_of_g(x, gamma, beta, num_groups, eps=1e-5):
    N, C = x.shape[:2]
    return _gn(x, gamma, beta, num_groups, split=(N, C // num_groups, -1))


def gn_group_axis_last(x, gamma, beta, num_groups, eps=1e-5):
    N = x.shape[0]
    return _gn(x, gamma, beta, num_groups, axes=(1,), split=(N, -1, num_groups))


def gn_group_axis_last_normalize_rows(x, gamma, beta, num_groups, eps=1e-5):
    N = x.shape[0]
    return _gn(x, gamma, beta, num_groups, axes=(2,), split=(N, -1, num_groups))


def gn_first_g_gammas(x, gamma, beta, num_groups, eps=1e-5):
    N, G = x.shape[0], num_groups
    xg = x.reshape(N, G, -1)
    x_hat = (xg - xg.mean(axis=2, keepdims=True)) / np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    return (gamma[:G].reshape(1, G, 1) * x_hat + beta[:G].reshape(1, G, 1)).reshape(x.shape)


def gn_one_gamma_per_group(x, gamma, beta, num_groups, eps=1e-5):
    N, C, G = x.shape[0], x.shape[1], num_groups
    xg = x.reshape(N, G, -1)
    x_hat = (xg - xg.mean(axis=2, keepdims=True)) / np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    g, b = gamma.reshape(G, C // G)[:, :1], beta.reshape(G, C // G)[:, :1]
    return (g[None] * x_hat + b[None]).reshape(x.shape)


def gn_channels_only(x, gamma, beta, num_groups, eps=1e-5):
    N, C = x.shape[:2]
    return _gn(x, gamma, beta, num_groups, axes=(2,), split=(N, num_groups, C // num_groups, *x.shape[2:]))


def gn_no_affine(x, gamma, beta, num_groups, eps=1e-5):
    return _gn(x, np.ones_like(gamma), np.zeros_like(beta), num_groups)


def gn_gamma_last_axis(x, gamma, beta, num_groups, eps=1e-5):
    N = x.shape[0]
    xg = x.reshape(N, num_groups, -1)
    x_hat = ((xg - xg.mean(axis=2, keepdims=True)) / np.sqrt(xg.var(axis=2, keepdims=True) + eps)).reshape(
        x.shape
    )
    return gamma * x_hat + beta


# --- the invariance table ----------------------------------------------------------------------------


def table_right_ints():
    return np.array([[1, 0, 1, 1, 1, 0], [1, 0, 1, 0, 0, 0], [1, 1, 0, 1, 0, 1]], dtype=float)


def table_right_bools():
    rows = cu.exercises.INVARIANCE_ROWS
    return np.array([cu.alternatives.BA2016_TABLE1[r] for r in rows])


def table_swapped_bn_ln():
    t = table_right_ints()
    return t[[2, 1, 0]]


def table_all_invariant():
    return np.ones((3, 6))


def table_wn_ignores_data():
    t = table_right_ints()
    t[1, 3:5] = 1  # "Weight Norm is invariant to dataset re-scaling and re-centering"
    return t


def table_bn_single_case():
    t = table_right_ints()
    t[0, 5] = 1  # BN "invariant" to re-scaling one sample
    return t


def table_ln_data_recenter():
    t = table_right_ints()
    t[2, 4] = 1  # LN "invariant" to dataset re-centering
    return t


def table_transposed():
    return table_right_ints().T


def table_not_binary():
    return table_right_ints() * 0.5


def table_as_list():
    return table_right_ints().tolist()


# --- Weight Norm -------------------------------------------------------------------------------------


def wn_right_course(v, g):
    return cu.weightnorm_forward(v, g)


def wn_right_by_hand(v, g):
    return g * v / np.sqrt((v**2).sum(axis=0, keepdims=True))


def wn_row_norm(v, g):
    return g * v / np.linalg.norm(v, axis=1, keepdims=True)


def wn_matrix_norm(v, g):
    return g * v / np.linalg.norm(v)


def wn_squared_norm(v, g):
    return g * v / (v**2).sum(axis=0)


def wn_no_g(v, g):
    return v / np.linalg.norm(v, axis=0)


def wn_in_place(v, g):
    v /= np.linalg.norm(v, axis=0)
    return g * v


def dv_right_course(dw, v, g):
    _, cache = cu.weightnorm_forward(v, g)
    return cu.weightnorm_backward(dw, cache)[0]


def dv_right_via_w(dw, v, g):
    norm = np.linalg.norm(v, axis=0)
    w_dir = v / norm
    return g / norm * (dw - w_dir * (w_dir * dw).sum(axis=0))


def _dv_parts(dw, v, g):
    norm = np.linalg.norm(v, axis=0)
    return norm, (v * dw).sum(axis=0) / norm**2


def dv_no_projection(dw, v, g):
    norm, _ = _dv_parts(dw, v, g)
    return g / norm * dw


def dv_no_scale(dw, v, g):
    _, along = _dv_parts(dw, v, g)
    return dw - v * along


def dv_no_g(dw, v, g):
    norm, along = _dv_parts(dw, v, g)
    return (dw - v * along) / norm


def dv_whole_sum(dw, v, g):
    norm, _ = _dv_parts(dw, v, g)
    return g / norm * (dw - v * (v * dw).sum() / norm**2)


def dv_plus(dw, v, g):
    norm, along = _dv_parts(dw, v, g)
    return g / norm * (dw + v * along)


def dv_rows(dw, v, g):
    norm, _ = _dv_parts(dw, v, g)
    return g / norm * (dw - v * (v * dw).sum(axis=1, keepdims=True) / norm**2)


def dv_norm_once(dw, v, g):
    norm, _ = _dv_parts(dw, v, g)
    return g / norm * (dw - v * (v * dw).sum(axis=0) / norm)


# --- Batch Renorm's r and d --------------------------------------------------------------------------


def rd_right_course(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    C = x.shape[1]
    _, cache = cu.batch_renorm_forward(
        x, np.ones(C), np.zeros(C), running_mean, running_var, r_max, d_max, eps
    )
    return cache.r, cache.d


def rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    sigma_b = np.sqrt(x.var(axis=0) + eps)
    sigma = np.sqrt(running_var + eps)
    r = np.minimum(np.maximum(sigma_b / sigma, 1 / r_max), r_max)
    d = np.minimum(np.maximum((x.mean(axis=0) - running_mean) / sigma, -d_max), d_max)
    return r, d


def _rd_parts(x, running_mean, running_var, eps=1e-5):
    return x.mean(axis=0), np.sqrt(x.var(axis=0) + eps), np.sqrt(running_var + eps)


def rd_no_clip(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    mu_b, s_b, s = _rd_parts(x, running_mean, running_var)
    return s_b / s, (mu_b - running_mean) / s


def rd_r_inverted(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    r, d = rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)
    mu_b, s_b, s = _rd_parts(x, running_mean, running_var)
    return np.clip(s / s_b, 1 / r_max, r_max), d


def rd_d_sign(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    r, d = rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)
    mu_b, s_b, s = _rd_parts(x, running_mean, running_var)
    return r, np.clip((running_mean - mu_b) / s, -d_max, d_max)


def rd_d_batch_sigma(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    r, d = rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)
    mu_b, s_b, s = _rd_parts(x, running_mean, running_var)
    return r, np.clip((mu_b - running_mean) / s_b, -d_max, d_max)


def rd_variances(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    r, d = rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)
    return np.clip((x.var(axis=0) + eps) / (running_var + eps), 1 / r_max, r_max), d


def rd_unbiased(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    r, d = rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)
    s = np.sqrt(running_var + eps)
    return np.clip(np.sqrt(x.var(axis=0, ddof=1) + eps) / s, 1 / r_max, r_max), d


def rd_no_eps(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    s_b, s = x.std(axis=0), np.sqrt(running_var)
    return np.clip(s_b / s, 1 / r_max, r_max), np.clip((x.mean(axis=0) - running_mean) / s, -d_max, d_max)


def rd_eps_outside(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    s_b, s = x.std(axis=0) + eps, np.sqrt(running_var) + eps
    return np.clip(s_b / s, 1 / r_max, r_max), np.clip((x.mean(axis=0) - running_mean) / s, -d_max, d_max)


def rd_d_clipped_by_r_max(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    r, _ = rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)
    mu_b, s_b, s = _rd_parts(x, running_mean, running_var)
    return r, np.clip((mu_b - running_mean) / s, -r_max, r_max)


def rd_upper_clip_only(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    mu_b, s_b, s = _rd_parts(x, running_mean, running_var)
    return np.minimum(s_b / s, r_max), np.minimum((mu_b - running_mean) / s, d_max)


def rd_per_sample(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    s_b, s = np.sqrt(x.var(axis=1) + eps), np.sqrt(running_var + eps)  # axis 1: broadcasting error
    return np.clip(s_b / s, 1 / r_max, r_max), np.clip((x.mean(axis=1) - running_mean) / s, -d_max, d_max)


def rd_only_r(x, running_mean, running_var, r_max, d_max, eps=1e-5):
    return rd_right_by_hand(x, running_mean, running_var, r_max, d_max, eps)[0]


def _structural(right, names):
    return [w for w in generic_wrongs(right) if w.name in names]


TABLE_GENERIC = {
    "stub",
    "forgot_return",
    "crashes",
    "one_nan",
    "all_inf",
    "as_complex",
    "as_string",
    "as_dict",
}


CORPUS = {
    "check_layernorm_forward": Corpus(
        right=[ln_right_course, ln_right_by_hand],
        wrong=[
            Wrong(ln_axis0, hint="not over the batch"),
            Wrong(ln_unbiased, hint="biased variance"),
            Wrong(ln_eps_outside, hint="inside the square root"),
            Wrong(ln_no_eps, hint="eps is missing"),
            Wrong(ln_last_axis, hint="not only the last one"),
            Wrong(ln_axis1_only, hint="axes 1 AND 2"),
            Wrong(ln_swapped, hint="swapped"),
            Wrong(ln_no_affine, hint="apply gamma and beta"),
            Wrong(ln_no_keepdims, hint="keepdims=True", says="raised ValueError"),
            *generic_wrongs(ln_right_by_hand),
        ],
    ),
    "check_groupnorm_forward": Corpus(
        right=[gn_right_course, gn_right_five_d],
        wrong=[
            Wrong(gn_strided_groups, hint="NEIGHBOURING channels"),
            Wrong(gn_over_batch, hint="do not average over the batch"),
            Wrong(gn_unbiased, hint="biased variance"),
            Wrong(gn_no_eps, hint="eps is missing"),
            Wrong(gn_groups_of_g, hint="NUMBER of groups"),
            Wrong(gn_group_axis_last, hint="puts the group index LAST"),
            Wrong(gn_group_axis_last_normalize_rows, hint="puts the group index LAST"),
            Wrong(gn_first_g_gammas, hint="one entry per CHANNEL"),
            Wrong(gn_one_gamma_per_group, hint="one entry per CHANNEL"),
            Wrong(gn_channels_only, hint="AND every spatial position"),
            Wrong(gn_no_affine, hint="apply gamma and beta"),
            Wrong(gn_gamma_last_axis, hint="(1, C, 1, 1)", says="raised ValueError"),
            *generic_wrongs(gn_right_five_d),
        ],
    ),
    "check_invariance_prediction": Corpus(
        right=[table_right_ints, table_right_bools],
        wrong=[
            Wrong(table_swapped_bn_ln, hint="swapped the BN and LN rows"),
            Wrong(table_all_invariant, hint="not every transformation cancels"),
            Wrong(table_wn_ignores_data, hint="nothing in it sees the data"),
            Wrong(table_bn_single_case, hint="scaling ONE sample"),
            Wrong(table_ln_data_recenter, hint="adding c to every input"),
            Wrong(table_transposed, says="shape (6, 3)"),
            Wrong(table_not_binary, says="1 (invariant) or 0"),
            Wrong(table_as_list, says="list"),
            *_structural(table_right_ints, TABLE_GENERIC),
        ],
    ),
    "check_weightnorm_forward": Corpus(
        right=[wn_right_course, wn_right_by_hand],
        wrong=[
            Wrong(wn_row_norm, hint="COLUMN of v"),
            Wrong(wn_matrix_norm, hint="not the norm of the whole matrix"),
            Wrong(wn_squared_norm, hint="not by the squared norm"),
            Wrong(wn_no_g, hint="multiply by the length g"),
            Wrong(wn_in_place, says="in place"),
            *generic_wrongs(wn_right_by_hand),
        ],
    ),
    "check_weightnorm_grad_v": Corpus(
        right=[dv_right_course, dv_right_via_w],
        wrong=[
            Wrong(dv_no_projection, hint="remove the component of dw along v"),
            Wrong(dv_no_scale, hint="scaled by g / ‖v‖"),
            Wrong(dv_plus, hint="SUBTRACTED"),
            Wrong(dv_no_g, hint="not 1 / ‖v‖"),
            Wrong(dv_whole_sum, hint="not one sum over the whole matrix"),
            Wrong(dv_rows, hint="sum over axis 0"),
            Wrong(dv_norm_once, hint="divides by ‖v‖²"),
            *generic_wrongs(dv_right_via_w),
        ],
    ),
    "check_renorm_r_d": Corpus(
        right=[rd_right_course, rd_right_by_hand],
        wrong=[
            Wrong(rd_no_clip, hint="clip r into"),
            Wrong(rd_r_inverted, hint="not σ_run / σ_B"),
            Wrong(rd_d_sign, hint="batch mean minus running mean"),
            Wrong(rd_d_batch_sigma, hint="units of the running σ_run"),
            Wrong(rd_variances, hint="not variances"),
            Wrong(rd_unbiased, hint="biased batch variance"),
            Wrong(rd_no_eps, hint="inside BOTH square roots"),
            Wrong(rd_eps_outside, hint="not sqrt(var) + eps"),
            Wrong(rd_d_clipped_by_r_max, hint="d has its own limit"),
            Wrong(rd_upper_clip_only, hint="clip from BOTH sides"),
            Wrong(rd_per_sample, hint="per channel: mean and variance over axis 0", says="raised ValueError"),
            Wrong(rd_only_r, says="return a tuple"),
            *generic_wrongs(rd_right_by_hand),
        ],
    ),
}
