"""Replication of notebook 04's comparative claims (internal covariate shift) on held-out seeds.

Every test re-runs :func:`course_utils.covariate_shift.run_seeds` with the notebook's settings (the
training cell of §2, "STEPS, SEEDS, LR, BATCH = 300, range(5), 0.5, 60"; §5 adds seeds 5-9 of BN and
noisy BN, so its noisy-BN-against-BN verdicts use 10 seeds) on the ten :data:`HELD_OUT_SEEDS` and asserts
the verdict the notebook prints and words. The runs are seed-batched by ``run_seeds`` (one module-scoped
fixture shares them between the tests).
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import covariate_shift as cs
from course_utils.data import load_digits_split
from course_utils.stats import compare

from .conftest import HELD_OUT_SEEDS, assert_verdict

SETTINGS = dict(
    hidden=(100, 100, 100),
    steps=300,
    batch_size=60,
    lr=0.5,
    eval_every=25,
    probe_every=25,
    ics_layers=(1, 2, 3),
    ics_every=50,
    shift_max=1.0,
    scale_max=2.0,
)


@pytest.fixture(scope="module")
def data():
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def summary(data):
    records = cs.run_seeds(("plain", "batchnorm", "noisy"), HELD_OUT_SEEDS, data=data, **SETTINGS)
    out = {kind: cs.seed_summary(runs, at_steps=(50, 150)) for kind, runs in records.items()}
    for kind, runs in records.items():  # the notebook's drift: records from step 50 on
        out[kind]["drift"] = np.array([cs.median_drift(r.probe[2:]) for r in runs])
    return out


@pytest.fixture(scope="module")
def per_example(data):
    settings = dict(SETTINGS, steps=150, probe_every=0, ics_layers=(), per_example_std=1.0)  # Deep dive 2
    return cs.seed_summary(cs.run_seeds(("noisy",), HELD_OUT_SEEDS, data=data, **settings)["noisy"])


def test_bn_ahead_after_50_and_300_steps(summary):
    """04 §2 "What reproduces": "BN is far ahead after 50 steps and still ahead after 300"."""
    bn, plain = summary["batchnorm"], summary["plain"]
    assert_verdict(compare(bn["acc@50"], plain["acc@50"], names=("BN", "no BN")), "ahead:BN")
    assert_verdict(compare(bn["acc_final"], plain["acc_final"], names=("BN", "no BN")), "ahead:BN")


def test_median_drifts_less_with_bn(summary):
    """04 §2: "Over all 100 units a unit's median moves less with BN (third verdict), about 2.7× less"."""
    bn, plain = summary["batchnorm"]["drift"], summary["plain"]["drift"]
    c = compare(bn, plain, names=("BN", "no BN"), higher_is_better=False, scale=1, unit="per record")
    assert_verdict(c, "ahead:BN")
    assert 2.0 < np.mean(plain / bn) < 4.0


@pytest.mark.parametrize("layer", [0, 1, 2], ids=["W2", "W3", "W_out"])
def test_relative_ics_is_lower_without_bn(summary, layer):
    """04 §4 "Result": "for every measured layer the plain network's relative gradient change is lower than
    BN's"."""
    c = compare(
        summary["plain"]["rel_ics"][:, layer],
        summary["batchnorm"]["rel_ics"][:, layer],
        names=("no BN", "BN"),
        higher_is_better=False,
        scale=1,
        unit="of ‖G‖",
    )
    assert_verdict(c, "ahead:no BN")


def test_noisy_bn_level_with_bn_in_test_accuracy_and_ahead_of_plain(summary):
    """04 §5 "Result": "its test accuracy after 300 steps shows no clear difference from BN's (10 seeds: a
    small difference needs more than 5), and it is far ahead of the plain network" (10 seeds here too)."""
    noisy = summary["noisy"]
    c = compare(noisy["acc_final"], summary["batchnorm"]["acc_final"], names=("noisy BN", "BN"))
    assert_verdict(c, "no clear difference")
    c = compare(noisy["acc_final"], summary["plain"]["acc_final"], names=("noisy BN", "no BN"))
    assert_verdict(c, "ahead:noisy BN")


def test_noisy_bn_ends_with_a_lower_training_loss(summary):
    """04 §5 "Result": "Its training loss even ends lower than BN's, on the noisy pass and in eval mode on the
    whole training set"."""
    noisy, bn = summary["noisy"], summary["batchnorm"]
    for key in ("loss_last50", "train_loss_eval"):
        c = compare(
            noisy[key], bn[key], names=("noisy BN", "BN"), higher_is_better=False, scale=1, unit="nats"
        )
        assert_verdict(c, "ahead:noisy BN")


def test_noisy_bn_drifts_many_times_more(summary):
    """04 §5 "Result": "The noisy-BN network's sigmoid inputs move many times more from record to record
    than BN's"."""
    noisy, bn = summary["noisy"]["drift"], summary["batchnorm"]["drift"]
    assert_verdict(compare(noisy, bn, names=("noisy BN", "BN"), scale=1, unit="per record"), "ahead:noisy BN")
    assert np.mean(noisy / bn) > 5


def test_per_example_noise(summary, per_example):
    """04 Deep dive 2 (150 steps): per-example noise shows no clear difference from BN after 150 steps and
    is far ahead of the plain network after 50 and 150 steps (the BN and plain runs at the same step)."""
    c = compare(per_example["acc_final"], summary["batchnorm"]["acc@150"], names=("per-example noise", "BN"))
    assert_verdict(c, "no clear difference")
    for mine, theirs in (("acc@50", "acc@50"), ("acc_final", "acc@150")):
        c = compare(per_example[mine], summary["plain"][theirs], names=("per-example noise", "no BN"))
        assert_verdict(c, "ahead:per-example noise")
