"""Mistake corpus of notebook 03's checkers (sigmoid slope, saturated fraction, per-layer gradient norms,
the variance-keeping initial scale)."""

import math

import numpy as np
from scipy.special import expit

from .common import Corpus, Wrong, generic_wrongs

# --- sigmoid_derivative ------------------------------------------------------------------------------


def slope_expit(z):
    s = expit(z)
    return s * (1.0 - s)


def slope_symmetric(z):
    return expit(z) * expit(-z)


def slope_of_input(z):
    return z * (1 - z)


def slope_is_sigma(z):
    return expit(z)


def slope_one_plus(z):
    s = expit(z)
    return s * (1 + s)


def slope_negative(z):
    return -slope_expit(z)


def slope_naive_exp(z):
    return np.exp(-z) / (1 + np.exp(-z)) ** 2


def slope_one_minus(z):
    return 1 - expit(z)


def slope_tanh_rule(z):
    return 1 - expit(z) ** 2


def slope_flattened(z):
    return slope_expit(z).ravel()


# --- saturated_fraction ------------------------------------------------------------------------------


def frac_mean(activations, low=0.03, high=0.97):
    a = np.asarray(activations)
    return float(np.mean((a < low) | (a > high)))


def frac_count(activations, low=0.03, high=0.97):
    flat = np.ravel(activations)
    return sum(1 for v in flat if v < low or v > high) / flat.size


def frac_percent(activations, low=0.03, high=0.97):
    return 100 * frac_mean(activations, low, high)


def frac_count_only(activations, low=0.03, high=0.97):
    return float(np.sum((activations < low) | (activations > high)))


def frac_inclusive(activations, low=0.03, high=0.97):
    return float(np.mean((activations <= low) | (activations >= high)))


def frac_upper_only(activations, low=0.03, high=0.97):
    return float(np.mean(activations > high))


def frac_fixed_thresholds(activations, low=0.03, high=0.97):
    return float(np.mean((activations < 0.03) | (activations > 0.97)))


def frac_inside(activations, low=0.03, high=0.97):
    return float(np.mean((activations >= low) & (activations <= high)))


def frac_and(activations, low=0.03, high=0.97):
    return float(np.mean((activations < low) & (activations > high)))


def frac_preactivation_threshold(activations, low=0.03, high=0.97):
    return float(np.mean(np.abs(activations) > 3.48))


# --- layer_gradient_norms ----------------------------------------------------------------------------


def norms_linalg(weight_grads):
    return np.array([np.linalg.norm(g) for g in weight_grads])


def norms_by_hand(weight_grads):
    out = []
    for g in weight_grads:
        out.append(math.sqrt(float((g * g).sum())))
    return np.array(out)


def norms_spectral(weight_grads):
    return np.array([np.linalg.norm(g, 2) for g in weight_grads])


def norms_squared(weight_grads):
    return np.array([np.sum(g**2) for g in weight_grads])


def norms_l1(weight_grads):
    return np.array([np.abs(g).sum() for g in weight_grads])


def norms_rms(weight_grads):
    return np.array([np.sqrt(np.mean(g**2)) for g in weight_grads])


def norms_reversed(weight_grads):
    return norms_linalg(weight_grads)[::-1]


def norms_one_total(weight_grads):
    return np.linalg.norm(np.concatenate([g.ravel() for g in weight_grads]))


def norms_max_entry(weight_grads):
    return np.array([np.abs(g).max() for g in weight_grads])


def norms_in_place(weight_grads):
    weight_grads[0] /= np.linalg.norm(weight_grads[0])  # normalizes the caller's gradient
    return norms_linalg(weight_grads)


def norms_as_list(weight_grads):
    return [np.linalg.norm(g) for g in weight_grads]


# --- variance_keeping_std ----------------------------------------------------------------------------

GAIN = {"linear": 1.0, "tanh": 1.0, "relu": math.sqrt(2), "sigmoid": 4.0}


def std_table(fan_in, activation):
    return GAIN[activation] / math.sqrt(fan_in)


def std_derived(fan_in, activation):
    # E[h^2] / E[z^2] for each activation in its linear regime (sigmoid: its varying part z/4)
    keep = {"linear": 1.0, "tanh": 1.0, "relu": 0.5, "sigmoid": 1 / 16}[activation]
    return np.sqrt(1.0 / (fan_in * keep))


def std_variance(fan_in, activation):
    return GAIN[activation] ** 2 / fan_in


def std_over_n(fan_in, activation):
    return GAIN[activation] / fan_in


def std_relu_no_factor(fan_in, activation):
    return (1.0 if activation == "relu" else GAIN[activation]) / math.sqrt(fan_in)


def std_relu_factor_two(fan_in, activation):
    return (2.0 if activation == "relu" else GAIN[activation]) / math.sqrt(fan_in)


def std_sigmoid_quarter(fan_in, activation):
    return (0.25 if activation == "sigmoid" else GAIN[activation]) / math.sqrt(fan_in)


def std_sigmoid_linear(fan_in, activation):
    return (1.0 if activation == "sigmoid" else GAIN[activation]) / math.sqrt(fan_in)


def std_he_everywhere(fan_in, activation):
    return (4.0 if activation == "sigmoid" else math.sqrt(2)) / math.sqrt(fan_in)


def std_tanh_four(fan_in, activation):
    return (4.0 if activation == "tanh" else GAIN[activation]) / math.sqrt(fan_in)


def std_relu_divided(fan_in, activation):
    return (1 / math.sqrt(2) if activation == "relu" else GAIN[activation]) / math.sqrt(fan_in)


def std_sigmoid_sixteen(fan_in, activation):
    return (16.0 if activation == "sigmoid" else GAIN[activation]) / math.sqrt(fan_in)


def std_sigmoid_two(fan_in, activation):
    return (2.0 if activation == "sigmoid" else GAIN[activation]) / math.sqrt(fan_in)


def std_glorot_uniform_bound(fan_in, activation):
    # sqrt(6 / (n_in + n_out)) with n_out = n_in: the bound of the uniform, not a std
    return GAIN[activation] * math.sqrt(6 / (2 * fan_in))


def _scalar_wrongs(right):
    """The generic structural mistakes, minus the in-place edit (scalar arguments cannot be edited)."""
    return [w for w in generic_wrongs(right) if w.name != "in_place"]


CORPUS = {
    "check_sigmoid_derivative": Corpus(
        right=[slope_expit, slope_symmetric],
        wrong=[
            Wrong(slope_of_input, hint="the sigmoid's *input*"),
            Wrong(slope_is_sigma, hint="that is σ itself, not its slope"),
            Wrong(slope_tanh_rule, hint="the rule for tanh"),
            Wrong(slope_one_plus, hint="not (1 + σ)"),
            Wrong(slope_negative, hint="no minus sign"),
            Wrong(slope_naive_exp, hint="overflows", says="NaN"),
            Wrong(slope_one_minus, hint="multiply by σ(z)"),
            Wrong(slope_flattened, says="shape"),
            *generic_wrongs(slope_expit),
        ],
    ),
    "check_saturated_fraction": Corpus(
        right=[frac_mean, frac_count],
        wrong=[
            Wrong(frac_percent, hint="not a percentage"),
            Wrong(frac_count_only, hint="not the count"),
            Wrong(frac_inclusive, hint="exactly at the thresholds"),
            Wrong(frac_upper_only, hint="only σ > high"),
            Wrong(frac_fixed_thresholds, hint="use the low/high arguments"),
            Wrong(frac_inside, hint="inside it"),
            Wrong(frac_and, hint="not & (and)"),
            Wrong(frac_preactivation_threshold, hint="not with |z| > 3.48"),
            *generic_wrongs(frac_mean),
        ],
    ),
    "check_layer_gradient_norms": Corpus(
        right=[norms_linalg, norms_by_hand],
        wrong=[
            Wrong(norms_spectral, hint="spectral norm"),
            Wrong(norms_squared, hint="take the square root"),
            Wrong(norms_l1, hint="square the entries"),
            Wrong(norms_rms, hint="root-mean-square"),
            Wrong(norms_reversed, hint="keep the order"),
            Wrong(norms_one_total, hint="one norm per weight matrix", says="shape"),
            Wrong(norms_max_entry, hint="largest |entry|"),
            Wrong(norms_in_place, says="in place"),
            Wrong(norms_as_list, says="list"),
            *[w for w in generic_wrongs(norms_linalg) if w.name != "in_place"],
        ],
    ),
    "check_variance_keeping_std": Corpus(
        right=[std_table, std_derived],
        wrong=[
            Wrong(std_variance, hint="returned a variance"),
            Wrong(std_over_n, hint="not by fan_in"),
            Wrong(std_relu_no_factor, hint="half of its inputs to 0"),
            Wrong(std_relu_factor_two, hint="multiplies the *variance*"),
            Wrong(std_sigmoid_quarter, hint="multiply the std by 4"),
            Wrong(std_sigmoid_linear, hint="the part that varies is z/4"),
            Wrong(std_he_everywhere, hint="no factor 2"),
            Wrong(std_tanh_four, hint="tanh'(0) = 1"),
            Wrong(std_relu_divided, hint="do not divide"),
            Wrong(std_sigmoid_sixteen, hint="not 16"),
            Wrong(std_sigmoid_two, hint="not sqrt(4) = 2"),
            Wrong(std_glorot_uniform_bound, hint="half-width a of Glorot's *uniform*"),
            *_scalar_wrongs(std_table),
        ],
    ),
}


# --- saturation_threshold ----------------------------------------------------------------------------


def threshold_logit(high=0.97):
    return float(np.log(high / (1 - high)))


def threshold_scipy(high=0.97):
    from scipy.special import logit

    return float(logit(high))


def threshold_log_one_minus(high=0.97):
    return float(-np.log(1 - high))


def threshold_negative(high=0.97):
    return float(np.log((1 - high) / high))


def threshold_sigma_of_high(high=0.97):
    return float(expit(high))


def threshold_tangent(high=0.97):
    return 4 * (high - 0.5)


def threshold_log10(high=0.97):
    return float(np.log10(high / (1 - high)))


def threshold_slope(high=0.97):
    return high * (1 - high)


def threshold_log_high(high=0.97):
    return float(np.log(high))


def threshold_fixed(high=0.97):
    return 3.476


# --- factor_per_layer --------------------------------------------------------------------------------


def factor_root(norms):
    return float((norms[0] / norms[-1]) ** (1 / (len(norms) - 1)))


def factor_geometric_mean(norms):
    g = np.asarray(norms)
    return float(np.exp(np.mean(np.log(g[:-1] / g[1:]))))


def factor_nth_root(norms):
    return float((norms[0] / norms[-1]) ** (1 / len(norms)))


def factor_inverse(norms):
    return float((norms[-1] / norms[0]) ** (1 / (len(norms) - 1)))


def factor_no_root(norms):
    return float(norms[0] / norms[-1])


def factor_divided(norms):
    return float(norms[0] / norms[-1] / (len(norms) - 1))


def factor_mean_ratio(norms):
    g = np.asarray(norms)
    return float(np.mean(g[:-1] / g[1:]))


def factor_first_step(norms):
    return float(norms[0] / norms[1])


def factor_fixed_ten(norms):
    return float((norms[0] / norms[-1]) ** (1 / 10))


CORPUS["check_saturation_threshold"] = Corpus(
    right=[threshold_logit, threshold_scipy],
    wrong=[
        Wrong(threshold_log_one_minus, hint="not of 1 − h alone"),
        Wrong(threshold_negative, hint="check the sign"),
        Wrong(threshold_sigma_of_high, hint="you applied σ to high"),
        Wrong(threshold_tangent, hint="the tangent ½ + z/4 holds only near z = 0"),
        Wrong(threshold_log10, hint="not log10"),
        Wrong(threshold_slope, hint="not the threshold z*"),
        Wrong(threshold_log_high, hint="ln(h) is the log of σ"),
        Wrong(threshold_fixed, says="high = 0.75"),
        *_scalar_wrongs(threshold_logit),
    ],
)

CORPUS["check_factor_per_layer"] = Corpus(
    right=[factor_root, factor_geometric_mean],
    wrong=[
        Wrong(factor_nth_root, hint="not the n-th"),
        Wrong(factor_inverse, hint="not its inverse"),
        Wrong(factor_no_root, hint="the whole change over all n − 1 steps"),
        Wrong(factor_divided, hint="divide the *exponent*"),
        Wrong(factor_mean_ratio, hint="*geometric* mean"),
        Wrong(factor_first_step, hint="not just the first step"),
        Wrong(factor_fixed_ten, says="3 norms"),
        *generic_wrongs(factor_root),
    ],
)
