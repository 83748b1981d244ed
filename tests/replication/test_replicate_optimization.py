"""Replication of notebook 09's comparative claims (why does BN work?) on held-out seeds.

Each test re-runs the notebook's experiment function from ``course_utils/optimization.py`` with the
notebook's settings on :data:`HELD_OUT_SEEDS` and asserts the verdict the notebook states. Claims the
notebook words as "within about a point" / "not established" are asserted as such (the interval stays
inside a band, or contains 0); a claim that fails here is reworded in the notebook, never tuned.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import optimization as optim
from course_utils.data import load_digits_split
from course_utils.stats import compare
from course_utils.training import softmax_cross_entropy

from .conftest import HELD_OUT_SEEDS, assert_verdict

# Notebook 09's settings (§2 cell "SWEEP_SIZES, SWEEP_STEPS = ...", §1 cell "LANDSCAPE_SEEDS, ...": 10 seeds).
SWEEP_SIZES, SWEEP_STEPS = [64, 32, 32, 32, 10], 150
LEARNING_RATES = [0.01, 0.1, 0.3, 1.0, 3.0, 10.0]
NORMS = {"plain": "none", "BN": "batch"}


def accuracies(runs):
    return np.array([r.test_accuracy for r in runs])


@pytest.fixture(scope="module")
def data():
    return load_digits_split(test_fraction=0.25, seed=0)


@pytest.fixture(scope="module")
def sweep(data):
    return {
        label: optim.learning_rate_sweep(
            data,
            LEARNING_RATES,
            HELD_OUT_SEEDS,
            layer_sizes=SWEEP_SIZES,
            normalization=norm,
            steps=SWEEP_STEPS,
        )
        for label, norm in NORMS.items()
    }


def at(sweep, label, lr):
    return accuracies(sweep[label][LEARNING_RATES.index(lr)])


def test_tuned_learning_rates_bn_edge_under_two_points(sweep):
    """09 §2 "Reading the sweep": "Tuned against tuned … BN ends ahead on these ten seeds, but by under two
    points" (the direction is the notebook seeds' printed verdict; the claim that must replicate is the
    bound). Each net at its best learning rate of the grid (picked on these seeds)."""
    best = {label: optim.best_learning_rate(sweep[label], LEARNING_RATES) for label in NORMS}
    c = compare(at(sweep, "BN", best["BN"]), at(sweep, "plain", best["plain"]), names=("BN", "plain"))
    assert -1.5 < c.low and c.high < 2.0, c.verdict


@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0, 3.0])
def test_bn_ahead_at_the_same_nominal_learning_rate(sweep, lr):
    """09 §2: "At equal nominal lr BN is ahead by … at lr 0.01 and … at 0.1 … at lr 1 … BN ahead by …;
    at lr 3 …" (printed verdicts "equal lr 0.01 / 0.1 / 1 / 3: BN is ahead of plain")."""
    c = compare(at(sweep, "BN", lr), at(sweep, "plain", lr), names=("BN", "plain"))
    assert_verdict(c, "ahead:BN")


def test_plain_net_is_erratic_at_lr_1(sweep):
    """09 §2: "at lr 1 the plain net is erratic (0.58 ± 0.21 …)": most runs stay finite, and their final
    accuracies spread far more than BN's at the same rate."""
    k1 = LEARNING_RATES.index(1.0)
    plain1 = [r for r in sweep["plain"][k1] if not r.diverged]
    assert len(plain1) > len(sweep["plain"][k1]) / 2
    spread_plain = np.std([r.test_accuracy for r in plain1], ddof=1)
    spread_bn = np.std([r.test_accuracy for r in sweep["BN"][k1]], ddof=1)
    assert spread_plain > 0.1 and spread_plain > 3 * spread_bn, (spread_plain, spread_bn)


def test_plain_net_fails_at_lr_3_and_bn_fails_without_diverging_at_10(sweep):
    """09 §2: "at lr 3 most plain runs diverge and the rest end at chance without diverging. At 10 BN fails
    too, without diverging." """
    k3, k10 = LEARNING_RATES.index(3.0), LEARNING_RATES.index(10.0)
    plain3 = sweep["plain"][k3]
    assert sum(r.diverged for r in plain3) > len(plain3) / 2
    assert all(r.test_accuracy < 0.15 for r in plain3)
    bn10 = sweep["BN"][k10]
    assert not any(r.diverged for r in bn10)
    assert all(r.test_accuracy < 0.2 for r in bn10)


@pytest.fixture(scope="module")
def init_runs(data):
    return {
        (label, a): accuracies(
            optim.run_training_seeds(
                data,
                HELD_OUT_SEEDS,
                layer_sizes=SWEEP_SIZES,
                normalization=norm,
                init_scale=a,
                lr=0.1,
                steps=SWEEP_STEPS,
            )
        )
        for label, norm in NORMS.items()
        for a in (0.01, 0.3, 1.0)
    }


@pytest.mark.parametrize("a, expected", [(0.01, "ahead:BN"), (0.3, "no clear difference"), (1.0, "ahead:BN")])
def test_initialization_scale(init_runs, a, expected):
    """09 §3: "without BN only a = 0.3 trains, with BN every scale does" (printed: a = 0.01 and 1: BN ahead;
    a = 0.3: no clear difference between BN and plain)."""
    c = compare(init_runs["BN", a], init_runs["plain", a], names=("BN", "plain"))
    assert_verdict(c, expected)


def test_bn_at_large_init_scale_is_behind_its_default_scale(init_runs):
    """09 §3 verdict: "the scale has become a learning-rate setting: BN at a = 1 is clearly behind BN at a = 0.3"."""
    c = compare(init_runs["BN", 1.0], init_runs["BN", 0.3], names=("BN a=1", "BN a=0.3"))
    assert_verdict(c, "ahead:BN a=0.3")


@pytest.fixture(scope="module")
def placement(data):
    return {
        (act, where): accuracies(
            optim.run_training_seeds(
                data,
                HELD_OUT_SEEDS,
                layer_sizes=SWEEP_SIZES,
                activation=act,
                normalization="batch",
                placement=where,
                lr=0.1,
                steps=SWEEP_STEPS,
            )
        )
        for act in ("sigmoid", "relu")
        for where in ("before", "after")
    }


def test_sigmoid_after_is_ahead_at_lr_01(placement):
    """09 §4 verdict: "Sigmoid: 'after' is clearly ahead at lr 0.1"."""
    c = compare(placement["sigmoid", "after"], placement["sigmoid", "before"], names=("after", "before"))
    assert_verdict(c, "ahead:after")


def test_relu_placement_edge_is_not_established(placement):
    """09 §4 verdict: "ReLU: "after" is ahead on seeds 0–9 (0.62 ± 0.52 points) but not on seeds 10–19
    (−0.16 ± 0.71): not replicated, so no placement rule for ReLU" (§7's table: "not replicated"). The
    held-out seeds must not establish the edge either: no clear difference."""
    c = compare(placement["relu", "after"], placement["relu", "before"], names=("after", "before"))
    assert_verdict(c, "no clear difference")


def test_before_plus_recovers_the_gain_of_after_for_sigmoid(data, placement):
    """09 Deep dive 4: "recovers nearly all of the gain of "after": "before+" is ahead of "before" … and
    "after" keeps an edge of under a point over "before+" on these seeds"."""
    plus = accuracies(
        [
            optim.run_training(
                data,
                layer_sizes=SWEEP_SIZES,
                activation="sigmoid",
                normalization="batch",
                placement="before",
                classifier_input_norm=True,
                lr=0.1,
                steps=SWEEP_STEPS,
                seed=s,
            )
            for s in HELD_OUT_SEEDS
        ]
    )
    assert_verdict(
        compare(plus, placement["sigmoid", "before"], names=("before+", "before")), "ahead:before+"
    )
    c = compare(placement["sigmoid", "after"], plus, names=("after", "before+"))
    assert c.high < 1.0 and c.leader != "before+", c.verdict


@pytest.mark.parametrize("act", ["sigmoid", "relu"])
def test_before_plus_gradient_at_init_matches_after(data, act):
    """09 Deep dive 4 (cell "INIT_SEEDS = range(5)", "PLACEMENTS = ..."): at initialization the whole weight gradient
    of "before+" is longer than in "before" and shows no clear difference from "after" (log10, 5 seeds,
    one batch of 32 drawn as the notebook draws it: the second draw of default_rng(9))."""
    X_train, _, y_train, _ = data
    rng = np.random.default_rng(9)
    rng.choice(len(X_train), size=32, replace=False)  # §1's batch
    batch = rng.choice(len(X_train), size=32, replace=False)  # Deep dive 3's batch, reused in Deep dive 4
    log_norm = {}
    placements = {  # the notebook's PLACEMENTS
        "before": dict(placement="before"),
        "before+": dict(placement="before", classifier_input_norm=True),
        "after": dict(placement="after"),
    }
    for where, options in placements.items():
        values = []
        for s in HELD_OUT_SEEDS[:5]:
            net = optim.build_model(SWEEP_SIZES, activation=act, normalization="batch", seed=s, **options)
            _, dlogits = softmax_cross_entropy(net.forward(X_train[batch]), y_train[batch])
            net.backward(dlogits)
            values.append(
                np.log10(np.linalg.norm([np.linalg.norm(layer.grads["W"]) for layer in net.linears]))
            )
        log_norm[where] = np.array(values)

    def lower(other):
        return compare(
            log_norm[other],
            log_norm["before+"],
            names=(other, "before+"),
            unit="log10",
            scale=1.0,
            higher_is_better=False,
        )

    assert_verdict(lower("before"), "ahead:before")
    assert_verdict(lower("after"), "no clear difference")


def test_bn_regularizes_little_if_at_all(data):
    """09 §5 verdict: "Both nets over-fit by nearly the same amount. The interval … rules out an effect of more
    than about two points, but not a one-point edge for BN": the accuracy-gap difference BN − plain stays
    within (−3, +2) points, and the loss gaps show no clear difference."""
    runs = {
        label: optim.run_training_seeds(
            data, HELD_OUT_SEEDS, layer_sizes=SWEEP_SIZES, normalization=norm, lr=0.1, steps=200, n_train=200
        )
        for label, norm in NORMS.items()
    }
    bn, plain = ([r.accuracy_gap for r in runs[label]] for label in ("BN", "plain"))
    c = compare(bn, plain, names=("BN", "plain"), higher_is_better=False)
    assert -3.0 < c.low and c.high < 2.0, c.verdict
    bn, plain = ([r.loss_gap for r in runs[label]] for label in ("BN", "plain"))
    c = compare(bn, plain, names=("BN", "plain"), unit="nats", scale=1.0, higher_is_better=False)
    assert_verdict(c, "no clear difference")


@pytest.fixture(scope="module")
def landscape(data):
    traces = optim.landscape_experiment(
        data, HELD_OUT_SEEDS, layer_sizes=[64] + [32] * 7 + [10], lr=0.3, steps=200, probe_every=20
    )
    return {label: [optim.probe_summary(t) for t in ts] for label, ts in traces.items()}


@pytest.mark.parametrize(
    "key, expected",
    [
        ("loss range", "ahead:BN"),
        ("max gradient change", "ahead:BN"),
        ("β, reading B", "ahead:BN"),
        ("gradient norm", "ahead:plain"),
    ],
)
def test_landscape_probes(landscape, key, expected):
    """09 §1 "What we see" (10 seeds): BN's loss range and gradient change along the SGD step are smaller,
    and so is its effective β under reading B, "with somewhat longer gradients" ("ahead" = lower here;
    compared in log10, paired by seed)."""
    bn, plain = (np.log10([s[key] for s in landscape[label]]) for label in ("BN", "plain"))
    c = compare(bn, plain, names=("BN", "plain"), unit="log10", scale=1.0, higher_is_better=False)
    assert_verdict(c, expected)


def test_beta_reading_a_is_not_smaller_for_bn(landscape):
    """09 §1 "What we see": "under reading A it is *not* smaller (on these ten seeds the plain net's is the
    lower one)", and §7's table row "smoother: β, reading A" says contradicted: plain's is lower."""
    bn, plain = (np.log10([s["β, reading A"] for s in landscape[label]]) for label in ("BN", "plain"))
    c = compare(bn, plain, names=("BN", "plain"), unit="log10", scale=1.0, higher_is_better=False)
    assert_verdict(c, "ahead:plain")
