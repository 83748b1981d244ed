"""Replication of notebook 08's comparative claims (small batches: BN, LN, GN, Batch Renorm) on held-out seeds.

Each test re-runs the notebook's experiment function from ``course_utils/alternatives.py`` with the
notebook's settings (digits split seed 0, ReLU MLP 64-32-32-10, 1,344 examples per run, lr 0.0125 per
example) on ``HELD_OUT_SEEDS`` and asserts the verdict the notebook states.
"""

from __future__ import annotations

import pytest

from course_utils import alternatives as alt
from course_utils.data import load_digits_split
from course_utils.stats import compare

from .conftest import HELD_OUT_SEEDS, assert_verdict


@pytest.fixture(scope="module")
def data():
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def sweep(data):
    X_train, X_test, y_train, y_test = data
    return alt.batch_size_sweep(
        X_train,
        y_train,
        X_test,
        y_test,
        methods=("batch", "group"),
        batch_sizes=(2, 4, 8, 32),
        seeds=HELD_OUT_SEEDS,
    )


@pytest.fixture(scope="module")
def layer32(data):
    X_train, X_test, y_train, y_test = data
    return alt.batch_size_sweep(
        X_train, y_train, X_test, y_test, methods=("layer",), batch_sizes=(32,), seeds=HELD_OUT_SEEDS
    )


def test_gn_is_far_ahead_of_bn_at_batch_2(sweep):
    """08 §5: "at batch 2 GN is ahead of BN by tens of points" (printed verdict, 20 seeds)."""
    c = compare(sweep.accuracy("group", 2), sweep.accuracy("batch", 2), names=("GN", "BN"))
    assert_verdict(c, "ahead:GN")
    assert c.low > 20, c.verdict


def test_bn_loses_accuracy_from_batch_32_to_4(sweep):
    """08 §5: "BN at batch 4 is already behind BN at batch 32"."""
    c = compare(sweep.accuracy("batch", 32), sweep.accuracy("batch", 4), names=("BN at 32", "BN at 4"))
    assert_verdict(c, "ahead:BN at 32")


def test_gn_does_not_lose_accuracy_at_batch_2(sweep):
    """08 §5: GN at batch 2 is "not worse" than GN at batch 32 (the notebook's 20 seeds put it barely ahead;
    on the held-out seeds there is no clear difference, hence the wording)."""
    c = compare(sweep.accuracy("group", 2), sweep.accuracy("group", 32), names=("GN at 2", "GN at 32"))
    assert c.leader != "GN at 32", c.verdict


def test_bn_is_ahead_of_gn_at_batch_32(sweep):
    """08 §5: "at batch 32 BN is ahead of GN by a point or two" (Wu & He's Fig. 1 / Table 2: 0.5 points);
    Deep dive 5: "BN's lead over GN shows on both halves" (subsets of 10 seeds, as here)."""
    c = compare(sweep.accuracy("batch", 32), sweep.accuracy("group", 32), names=("BN", "GN"))
    assert_verdict(c, "ahead:BN")
    assert c.mean_diff < 3, c.verdict


def test_gn_is_ahead_of_bn_at_batch_4_and_level_at_batch_8(sweep):
    """08 §5: "BN is about 5 points behind GN at batch 4; at batch 8 the two show no clear difference"."""
    c = compare(sweep.accuracy("group", 4), sweep.accuracy("batch", 4), names=("GN", "BN"))
    assert_verdict(c, "ahead:GN")
    assert 2 < c.mean_diff < 8, c.verdict
    c = compare(sweep.accuracy("batch", 8), sweep.accuracy("group", 8), names=("BN", "GN"))
    assert_verdict(c, "no clear difference")


def test_ln_is_within_a_point_or_two_of_bn_at_batch_32(sweep, layer32):
    """08 Deep dive 5: "On all 20 seeds BN is ahead of LN by about a point, the direction of Wu & He's
    Table 1, but that edge does not show on every subset of 10 seeds ... the course claims no order between
    BN and LN at batch 32 beyond 'LN is within a point or two of BN here'".

    Ten held-out seeds are such a subset, so "ahead" is not asserted: only that LN is not ahead and that the
    mean difference is within a point or two (below 2.5 points either way)."""
    c = compare(sweep.accuracy("batch", 32), layer32.accuracy("layer", 32), names=("BN", "LN"))
    assert c.leader != "LN", c.verdict
    assert abs(c.mean_diff) < 2.5, c.verdict


def test_bn_eval_mode_beats_batch_statistics_at_batch_4(sweep, data):
    """08 Deep dive 3: "at batch 4 the same test images are classified worse with mini-batch statistics"."""
    _, X_test, _, y_test = data
    train_mode = sweep.batch_stat_accuracy("batch", 4, X_test, y_test)
    c = compare(sweep.accuracy("batch", 4), train_mode, names=("eval mode", "training mode"))
    assert_verdict(c, "ahead:eval mode")


@pytest.fixture(scope="module")
def renorm(data):
    X_train, X_test, y_train, y_test = data
    return alt.batch_size_sweep(  # with Ioffe's warm-up of r_max, d_max, as in the notebook
        X_train, y_train, X_test, y_test, methods=("renorm",), batch_sizes=(2,), seeds=HELD_OUT_SEEDS
    )


def test_batch_renorm_helps_at_batch_2_but_stays_behind_gn(renorm, sweep):
    """08 Deep dive 3: "at batch 2 Batch Renorm is ahead of BN, and GN is ahead of Batch Renorm"."""
    r = renorm.accuracy("renorm", 2)
    assert_verdict(compare(r, sweep.accuracy("batch", 2), names=("Batch Renorm", "BN")), "ahead:Batch Renorm")
    assert_verdict(compare(sweep.accuracy("group", 2), r, names=("GN", "Batch Renorm")), "ahead:GN")
