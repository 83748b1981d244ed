"""Replication of notebook 09's comparative claims (why does BN work?) on held-out seeds.

The example to copy: the notebook's settings, all seeds at once with train_seeds, compare(), assert_verdict.
"""

from __future__ import annotations

import pytest

from course_utils.batched import train_seeds
from course_utils.data import load_digits_split
from course_utils.stats import compare

from .conftest import HELD_OUT_SEEDS, assert_verdict

# Notebook 09, §2 (cells "data = ..." and "SWEEP_SIZES = ..."): run_training's defaults are ReLU, batch 32.
SWEEP_SIZES = [64, 32, 32, 32, 10]
SWEEP_STEPS = 150


@pytest.fixture(scope="module")
def data():
    return load_digits_split(test_fraction=0.25, seed=0)


@pytest.mark.parametrize("lr", [0.01, 0.03])
def test_bn_trains_faster_at_the_same_small_learning_rate(data, lr):
    """09 §2, "Reading the sweep": "At small learning rates the BN net is clearly ahead after 150 steps
    (0.62 vs 0.34 at lr 0.01, 0.87 vs 0.71 at 0.03): at the *same* learning rate it trains faster."
    """
    X_train, X_test, y_train, y_test = data
    accuracy = {}
    for label, norm in (("BN", "batch"), ("plain", "none")):
        runs = train_seeds(
            SWEEP_SIZES,
            HELD_OUT_SEEDS,
            X_train,
            y_train,
            steps=SWEEP_STEPS,
            batch_size=32,
            lr=lr,
            activation="relu",
            normalization=norm,
            X_test=X_test,
            y_test=y_test,
        )
        accuracy[label] = runs.final_test_accuracy
    c = compare(accuracy["BN"], accuracy["plain"], names=("BN", "plain"))
    assert_verdict(c, "ahead:BN")
