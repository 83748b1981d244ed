"""Mistake corpus of notebook 04's checkers (percentiles over training, median drift, relative gradient
change, the full ICS measurement of the deep dive)."""

import copy

import numpy as np

import course_utils as cu

from .common import Corpus, Wrong, generic_wrongs

Q = (15, 50, 85)

# --- percentile_traces -------------------------------------------------------------------------------


def pct_right(probe, unit):
    return np.percentile(probe[:, :, unit], Q, axis=1)


def pct_quantile_loop(probe, unit):
    rows = []
    for record in probe:  # (n_probe, n_units) per record
        rows.append(np.quantile(record[:, unit], [0.15, 0.5, 0.85]))
    return np.array(rows).T


def pct_fractions(probe, unit):
    return np.percentile(probe[:, :, unit], [0.15, 0.5, 0.85], axis=1)


def pct_quantile_percents(probe, unit):
    return np.quantile(probe[:, :, unit], [15, 50, 85], axis=1)


def pct_wrong_axis(probe, unit):
    return np.percentile(probe[:, :, unit], Q, axis=0)


def pct_transposed(probe, unit):
    return np.percentile(probe[:, :, unit], Q, axis=1).T


def pct_all_units(probe, unit):
    return np.percentile(probe.reshape(probe.shape[0], -1), Q, axis=1)


def pct_mean_std(probe, unit):
    x = probe[:, :, unit]
    return np.stack([x.mean(1) - x.std(1), x.mean(1), x.mean(1) + x.std(1)])


def pct_mean_middle(probe, unit):
    x = probe[:, :, unit]
    return np.stack([np.percentile(x, 15, axis=1), x.mean(axis=1), np.percentile(x, 85, axis=1)])


def pct_reversed(probe, unit):
    return np.percentile(probe[:, :, unit], (85, 50, 15), axis=1)


def pct_no_axis(probe, unit):
    return np.percentile(probe[:, :, unit], Q)


# --- median_drift ------------------------------------------------------------------------------------


def drift_right(probe):
    return np.mean(np.abs(np.diff(np.median(probe, axis=1), axis=0)))


def drift_by_loop(probe):
    medians = [np.median(record, axis=0) for record in probe]  # one (n_units,) vector per record
    steps = [np.abs(b - a).mean() for a, b in zip(medians[:-1], medians[1:])]
    return float(np.mean(steps))


def drift_signed(probe):
    return np.mean(np.diff(np.median(probe, axis=1), axis=0))


def drift_median_over_units(probe):
    return np.mean(np.abs(np.diff(np.median(probe, axis=2), axis=0)))


def drift_diff_over_units(probe):
    return np.mean(np.abs(np.diff(np.median(probe, axis=1), axis=1)))


def drift_means(probe):
    return np.mean(np.abs(np.diff(probe.mean(axis=1), axis=0)))


def drift_from_first(probe):
    med = np.median(probe, axis=1)
    return np.mean(np.abs(med[1:] - med[0]))


def drift_sum(probe):
    return np.sum(np.abs(np.diff(np.median(probe, axis=1), axis=0)))


def drift_abs_after_mean(probe):
    medians = np.median(probe, axis=1)
    return float(abs(np.mean(np.diff(medians, axis=0))))  # the ups and downs cancel first


def drift_abs_after_record_mean(probe):
    per_unit = np.diff(np.median(probe, axis=1), axis=0).mean(axis=0)
    return float(np.mean(np.abs(per_unit)))


def drift_rms(probe):
    change = np.diff(np.median(probe, axis=1), axis=0)
    return float(np.sqrt(np.mean(change**2)))


def drift_mean_square(probe):
    change = np.diff(np.median(probe, axis=1), axis=0)
    return float((change**2).mean())


def drift_per_unit(probe):
    return np.mean(np.abs(np.diff(np.median(probe, axis=1), axis=0)), axis=0)


# --- relative_gradient_change ------------------------------------------------------------------------


def rel_right(G, G_new):
    return np.linalg.norm(G_new - G) / np.linalg.norm(G)


def rel_by_hand(G, G_new):
    return float(np.sqrt(((G - G_new) ** 2).sum() / (G**2).sum()))


def rel_diff_of_norms(G, G_new):
    return abs(np.linalg.norm(G_new) - np.linalg.norm(G)) / np.linalg.norm(G)


def rel_absolute(G, G_new):
    return np.linalg.norm(G_new - G)


def rel_by_new(G, G_new):
    return np.linalg.norm(G_new - G) / np.linalg.norm(G_new)


def rel_by_sum(G, G_new):
    return np.linalg.norm(G_new - G) / (np.linalg.norm(G) + np.linalg.norm(G_new))


def rel_by_mean_norm(G, G_new):
    return np.linalg.norm(G_new - G) / ((np.linalg.norm(G) + np.linalg.norm(G_new)) / 2)


def rel_spectral(G, G_new):
    return np.linalg.norm(G_new - G, 2) / np.linalg.norm(G, 2)


def rel_l1(G, G_new):
    return np.abs(G_new - G).sum() / np.abs(G).sum()


def rel_squared(G, G_new):
    return (np.linalg.norm(G_new - G) / np.linalg.norm(G)) ** 2


def rel_entrywise(G, G_new):
    return np.mean(np.abs(G_new - G) / np.abs(G))


def rel_per_entry(G, G_new):
    return np.abs(G_new - G) / np.linalg.norm(G)


# --- ics_measurement (deep dive) ---------------------------------------------------------------------


def ics_right(model, x, y, layer, lr):
    return cu.covariate_shift.ics_measurement(model, x, y, layer, lr)


def _ics_by_hand(model, x, y, layer, lr, stop=None, sign=1.0, diff_of_norms=False, in_place=False):
    net = model if in_place else copy.deepcopy(model)
    logits = net.forward(x, training=True)
    _, dlogits = cu.training.softmax_cross_entropy(logits, y)
    net.backward(dlogits)
    G = net.linears[layer].grads["W"].copy()
    stop = net.linear_indices[layer] if stop is None else stop(net)
    for earlier in net.layers[:stop]:
        for name, param in earlier.params.items():
            param -= sign * lr * earlier.grads[name]
    G_new = cu.covariate_shift.weight_gradient(net, x, y, layer)
    if diff_of_norms:
        l2 = abs(np.linalg.norm(G) - np.linalg.norm(G_new))
    else:
        l2 = np.linalg.norm(G - G_new)
    return l2, np.vdot(G, G_new) / (np.linalg.norm(G) * np.linalg.norm(G_new))


def ics_by_hand(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr)


def ics_one_too_many(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr, stop=lambda net: net.linear_indices[layer] + 1)


def ics_every_layer(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr, stop=lambda net: len(net.layers))


def ics_uphill(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr, sign=-1.0)


def ics_diff_of_norms(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr, diff_of_norms=True)


def ics_no_step(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr, stop=lambda net: 0)


def ics_edits_model(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr, in_place=True)


def ics_only_l2(model, x, y, layer, lr):
    return _ics_by_hand(model, x, y, layer, lr)[0]


def pct_unit_on_axis_1(probe, unit):
    return np.percentile(probe[:, unit, :], Q, axis=1)


def drift_sorts_in_place(probe):
    probe.sort(axis=1)  # sorts the caller's array
    return float(np.mean(np.abs(np.diff(probe[:, probe.shape[1] // 2, :], axis=0))))


def rel_one_minus_cosine(G, G_new):
    return 1 - np.vdot(G, G_new) / (np.linalg.norm(G) * np.linalg.norm(G_new))


def rel_in_place(G, G_new):
    G_new -= G
    return np.linalg.norm(G_new) / np.linalg.norm(G)


CORPUS = {
    "check_percentile_traces": Corpus(
        right=[pct_right, pct_quantile_loop],
        wrong=[
            Wrong(pct_fractions, hint="percents from 0 to 100"),
            Wrong(pct_quantile_percents, hint="np.quantile wants fractions"),
            Wrong(pct_wrong_axis, hint="percentiles over the wrong axis"),
            Wrong(pct_transposed, hint="transpose yours"),
            Wrong(pct_all_units, hint="ONE unit"),
            Wrong(pct_mean_std, hint="not mean ± std"),
            Wrong(pct_mean_middle, hint="the median (50th percentile), not the mean"),
            Wrong(pct_reversed, hint="lowest first"),
            Wrong(pct_no_axis, hint="reduce over the probe images only"),
            Wrong(pct_unit_on_axis_1, hint="the unit is the LAST index"),
            *generic_wrongs(pct_right),
        ],
    ),
    "check_median_drift": Corpus(
        right=[drift_right, drift_by_loop],
        wrong=[
            Wrong(drift_signed, hint="absolute value"),
            Wrong(drift_median_over_units, hint="not over the units"),
            Wrong(drift_diff_over_units, hint="not between units"),
            Wrong(drift_means, hint="medians, not means"),
            Wrong(drift_from_first, hint="not every record against the first"),
            Wrong(drift_sum, hint="not the sum"),
            Wrong(drift_abs_after_mean, hint="comes too late: inside the mean the ups and downs"),
            Wrong(drift_abs_after_record_mean, hint="comes too late: inside the mean the ups and downs"),
            Wrong(drift_rms, hint="root-mean-square change"),
            Wrong(drift_mean_square, hint="mean SQUARED change"),
            Wrong(drift_per_unit, hint="one number for the whole layer"),
            Wrong(drift_sorts_in_place, says="in place", hint="only reads its input"),
            *generic_wrongs(drift_right),
        ],
    ),
    "check_relative_gradient_change": Corpus(
        right=[rel_right, rel_by_hand],
        wrong=[
            Wrong(
                rel_diff_of_norms,
                hint="the gradient reversed (G_new = -G) should give 2, your function gives 0",
            ),
            Wrong(rel_absolute, hint="the gradient doubled (G_new = 2*G) should give 1, your function gives"),
            Wrong(
                rel_by_new, hint="the gradient doubled (G_new = 2*G) should give 1, your function gives 0.5;"
            ),
            Wrong(
                rel_by_sum, hint="the gradient doubled (G_new = 2*G) should give 1, your function gives 0.333"
            ),
            Wrong(
                rel_by_mean_norm,
                hint="the gradient vanished (G_new = 0) should give 1, your function gives 2",
            ),
            Wrong(rel_spectral, hint="largest singular value"),
            Wrong(rel_l1, hint="not the sum of absolute values"),
            Wrong(rel_squared, hint="reversed (G_new = -G) should give 2, your function gives 4"),
            Wrong(rel_entrywise, hint="not entry by entry"),
            Wrong(rel_per_entry, hint="one number per pair"),
            Wrong(rel_one_minus_cosine, hint="doubled (G_new = 2*G) should give 1, your function gives 0;"),
            Wrong(
                rel_one_minus_cosine,
                hint="sees only the change of direction",
                name="rel_one_minus_cosine_why",
            ),
            Wrong(rel_in_place, says="in place", hint="only reads its input"),
            *generic_wrongs(rel_right),
        ],
    ),
    "check_ics_measurement": Corpus(
        right=[ics_right, ics_by_hand],
        wrong=[
            Wrong(ics_one_too_many, hint="*before* the measured one"),
            Wrong(ics_every_layer, hint="not every layer"),
            Wrong(ics_uphill, hint="goes *down* the gradient"),
            Wrong(ics_diff_of_norms, hint="not the difference of the norms"),
            Wrong(ics_no_step, hint="*after* the earlier layers"),
            Wrong(ics_edits_model, says="params['W']`, ", hint="copy.deepcopy(model)"),
            Wrong(ics_only_l2, says="return a tuple"),
            *generic_wrongs(ics_right),
        ],
    ),
}
