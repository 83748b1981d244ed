"""Tests of course_utils.stats: t-intervals with known answers and the fixed words of the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as ss

from course_utils.stats import Comparison, compare, format_estimate, wins

T_975_4 = 2.7764451051977934  # Student t, 97.5 % quantile, 4 degrees of freedom (tables: 2.776)


def test_paired_interval_by_hand():
    # differences 1..5 points: mean 3, sd sqrt(2.5), se sqrt(0.5), h = 2.776 * 0.7071 = 1.963
    b = np.array([0.90, 0.80, 0.85, 0.70, 0.95])
    a = b + np.arange(1, 6) / 100
    c = compare(a, b, names=("BN", "plain"))
    assert isinstance(c, Comparison) and c.paired and c.n == 5 and c.df == 4
    assert c.mean_diff == pytest.approx(3.0, abs=1e-12)
    assert c.half_width == pytest.approx(T_975_4 * math.sqrt(0.5), rel=1e-12)
    assert c.half_width == pytest.approx(1.9632431614775572, rel=1e-12)
    assert (c.low, c.high) == pytest.approx((3 - 1.9632431614775572, 3 + 1.9632431614775572), rel=1e-12)
    assert c.verdict == "BN is ahead of plain by 3.0 ± 2.0 points (5 seeds)"
    assert str(c) == c.verdict and c.leader == "BN" and c.clear


def test_the_leader_is_named_first_whichever_argument_it_is():
    b = np.array([0.90, 0.80, 0.85, 0.70, 0.95])
    a = b + np.arange(1, 6) / 100
    c = compare(b, a, names=("plain", "BN"))
    assert c.mean_diff == pytest.approx(-3.0) and c.leader == "BN"
    assert c.verdict == "BN is ahead of plain by 3.0 ± 2.0 points (5 seeds)"


def test_no_clear_difference_when_the_interval_contains_zero():
    a = np.array([0.90, 0.91, 0.92, 0.93, 0.94])
    # differences +1, -1, +2, -2, +0.5 points: mean 0.1, sd 1.597, h = 2.776 * 0.714 = 1.98
    c = compare(a + np.array([0.01, -0.01, 0.02, -0.02, 0.005]), a, names=("after", "before"))
    assert c.low < 0 < c.high and c.leader is None and not c.clear
    d, h = format_estimate(c.mean_diff, c.half_width)
    assert c.verdict == f"no clear difference between after and before (+{d} ± {h} points, 5 seeds)"
    assert c.verdict == "no clear difference between after and before (+0.1 ± 2.0 points, 5 seeds)"
    neg = compare(a - np.array([0.01, -0.01, 0.02, -0.02, 0.005]), a, names=("after", "before"))
    assert neg.verdict == "no clear difference between after and before (-0.1 ± 2.0 points, 5 seeds)"


def test_lower_is_better_wording():
    plain = np.array([0.52, 0.61, 0.48, 0.55])
    bn = plain - np.array([0.20, 0.25, 0.22, 0.18])
    c = compare(bn, plain, names=("BN", "plain"), unit="nats", scale=1.0, higher_is_better=False)
    assert c.leader == "BN" and c.mean_diff == pytest.approx(-0.2125)
    # differences 0.20, 0.25, 0.22, 0.18: sd 0.02986, h = t(0.975, 3) * sd / 2 = 3.182 * 0.01493 = 0.0475
    assert c.half_width == pytest.approx(ss.t.ppf(0.975, 3) * np.std([0.20, 0.25, 0.22, 0.18], ddof=1) / 2)
    assert c.verdict == "BN is lower than plain by 0.212 ± 0.048 nats (4 seeds)"
    # the same data read as "higher is better" names the other condition
    assert compare(bn, plain, names=("BN", "plain"), scale=1.0, higher_is_better=True).leader == "plain"


def test_zero_variance_gives_a_zero_width_interval():
    c = compare([0.9, 0.9, 0.9], [0.8, 0.8, 0.8])
    assert c.half_width == 0 and c.low == c.high == pytest.approx(10.0)
    assert c.verdict == "A is ahead of B by 10 ± 0 points (3 seeds)"
    same = compare([0.5, 0.7], [0.5, 0.7])
    assert same.half_width == 0 and same.leader is None
    assert same.verdict == "no clear difference between A and B (+0 ± 0 points, 2 seeds)"
    welch = compare([0.9, 0.9], [0.8, 0.8, 0.8], paired=False)
    assert welch.half_width == 0 and welch.verdict == "A is ahead of B by 10 ± 0 points (2 and 3 seeds)"


@pytest.mark.parametrize("seed", range(20))
def test_paired_agrees_with_scipy_ttest_rel(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 15))
    b = rng.uniform(0.8, 0.95, n)
    a = b + rng.normal(rng.normal(0, 0.01), 0.02, n)
    c = compare(a, b, scale=1.0)
    res = ss.ttest_rel(a, b)
    ci = res.confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high), rel=1e-10, abs=1e-14)
    assert c.clear == (res.pvalue < 0.05)  # interval excludes 0  <=>  two-sided p < 1 − confidence
    c99 = compare(a, b, scale=1.0, confidence=0.99)
    ci99 = res.confidence_interval(0.99)
    assert (c99.low, c99.high) == pytest.approx((ci99.low, ci99.high), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("seed", range(10))
def test_unpaired_is_welch(seed):
    rng = np.random.default_rng(100 + seed)
    a = rng.normal(0.9, 0.02, int(rng.integers(3, 12)))
    b = rng.normal(0.89, 0.05, int(rng.integers(3, 12)))
    c = compare(a, b, paired=False, scale=1.0)
    res = ss.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert c.df == pytest.approx(res.df, rel=1e-12)
    assert c.clear == (res.pvalue < 0.05)
    assert not c.paired and (c.n_a, c.n_b) == (a.size, b.size) and c.n == min(a.size, b.size)


def test_scale_and_unit():
    a, b = np.array([0.91, 0.93, 0.92]), np.array([0.90, 0.91, 0.905])
    points = compare(a, b)
    fraction = compare(a, b, scale=1.0, unit="")
    assert points.mean_diff == pytest.approx(100 * fraction.mean_diff)
    assert points.half_width == pytest.approx(100 * fraction.half_width)


@pytest.mark.parametrize(
    "d, h, expected",
    [
        (3.0, 1.9632, ("3.0", "2.0")),
        (3.14159, 0.5234, ("3.14", "0.52")),
        (12.34, 4.04, ("12.3", "4.0")),
        (12.34, 14.04, ("12", "14")),
        (-0.01234, 0.00456, ("-0.0123", "0.0046")),
        (123.4, 56.7, ("123", "57")),
        (0.0123, 0.0, ("0.0123", "0")),
    ],
)
def test_format_estimate(d, h, expected):
    assert format_estimate(d, h) == expected


@pytest.mark.parametrize(
    "a, b, kwargs, error, match",
    [
        ([0.9], [0.8], {}, ValueError, "a needs at least 2 seeds"),
        ([0.9, np.nan], [0.8, 0.7], {}, ValueError, r"a holds NaN or inf at positions \[1\]"),
        ([0.9, 0.8], [0.8, np.inf], {}, ValueError, "b holds NaN or inf"),
        ([0.9, 0.8, 0.7], [0.8, 0.7], {}, ValueError, "paired=True needs a and b of the same length"),
        ([0.9, 0.8], [0.8, 0.7], dict(confidence=1.0), ValueError, "confidence"),
        ([0.9, 0.8], [0.8, 0.7], dict(confidence=0.0), ValueError, "confidence"),
        ([0.9, 0.8], [0.8, 0.7], dict(names="AB"), TypeError, "names"),
        ([0.9, 0.8], [0.8, 0.7], dict(scale=-1.0), ValueError, "scale"),
        (["x", "y"], [0.8, 0.7], {}, TypeError, "a must be numeric"),
        (np.ones((2, 2)), [0.8, 0.7], {}, ValueError, "1-D"),
    ],
)
def test_bad_input_names_the_argument(a, b, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare(a, b, **kwargs)


def test_wins():
    a = np.array([0.9, 0.8, 0.7, 0.6])
    b = np.array([0.8, 0.8, 0.75, 0.5])
    w = wins(a, b, names=("BN", "plain"))
    assert (w.a_wins, w.b_wins, w.ties, w.n) == (2, 1, 1, 4)
    assert str(w) == "BN ahead on 2 of 4 seeds (plain on 1, 1 ties)"
    lower = wins(a, b, higher_is_better=False)
    assert (lower.a_wins, lower.b_wins) == (1, 2)
    with pytest.raises(ValueError, match="same length"):
        wins(a, b[:3])


def test_empty_unit_leaves_no_double_space():
    c = compare([1.0, 2.0, 3.0], [0.0, 1.0, 2.5], unit="", scale=1.0)
    assert "  " not in c.verdict and "±" in c.verdict
