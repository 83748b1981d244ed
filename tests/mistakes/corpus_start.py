"""Mistake corpus of notebook 00's checker (check_standardize)."""

import numpy as np

from .common import Corpus, Wrong, generic_wrongs


def right_numpy(x, eps=1e-5):
    return (x - x.mean()) / np.sqrt(x.var() + eps)


def right_by_hand(x, eps=1e-5):
    n = len(x)
    mu = sum(x) / n
    var = sum((xi - mu) ** 2 for xi in x) / n
    return np.array([(xi - mu) / (var + eps) ** 0.5 for xi in x])


def unbiased(x, eps=1e-5):
    return (x - x.mean()) / np.sqrt(x.var(ddof=1) + eps)


def eps_outside(x, eps=1e-5):
    return (x - x.mean()) / (x.std() + eps)


def no_eps(x, eps=1e-5):
    return (x - x.mean()) / x.std()


def eps_split_sqrt(x, eps=1e-5):
    return (x - x.mean()) / (np.sqrt(x.var()) + np.sqrt(eps))


def eps_hard_coded(x, eps=1e-5):
    return (x - x.mean()) / np.sqrt(x.var() + 1e-8)


def eps_default_hard_coded(x, eps=1e-5):
    return (x - x.mean()) / np.sqrt(x.var() + 1e-5)


def no_centering(x, eps=1e-5):
    return x / np.sqrt(x.var() + eps)


def divides_by_variance(x, eps=1e-5):
    return (x - x.mean()) / (x.var() + eps)


CORPUS = {
    "check_standardize": Corpus(
        right=[right_numpy, right_by_hand],
        wrong=[
            Wrong(unbiased, hint="biased variance"),
            Wrong(eps_outside, hint="inside the square root"),
            Wrong(no_eps, hint="eps is missing"),
            Wrong(eps_split_sqrt, hint="not sqrt(var) + sqrt(eps)"),
            Wrong(eps_hard_coded, hint="not a fixed 1e-08"),
            Wrong(eps_default_hard_coded, hint="not a fixed 1e-05"),
            Wrong(no_centering, hint="subtract the mean"),
            Wrong(divides_by_variance, hint="not by the variance"),
            *generic_wrongs(right_numpy),
        ],
    )
}
