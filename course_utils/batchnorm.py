"""Batch normalization's forward pass and γ/β seen from the activation (notebooks 05–06).

The normalizations themselves live in :mod:`course_utils.normalization`; this module holds the
measurements notebooks 05–06 make on top of them (figures in ``plotting/batchnorm.py``, sliders in
``widgets/batchnorm.py``, exercise checks in ``exercises/batchnorm.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._validate import as_real_array
from .saturation import SATURATED_Z

__all__ = ["NEAR_LINEAR_Z", "SATURATED_Z", "activation_stats"]

#: The sigmoid's "near-linear" band used by the course: σ(z) ∈ [0.2, 0.8] ⇔ |z| ≤ ln 4 ≈ 1.386
#: (the source blog's [0.2, 0.8] claim, read on the output axis).
NEAR_LINEAR_Z = float(np.log(4.0))


def activation_stats(y) -> dict:
    """How a batch of pre-activations ``y`` sits on a sigmoid and on a ReLU.

    Parameters
    ----------
    y : array_like of real numbers (any shape)
        Pre-activations, e.g. one channel's BN output.

    Returns
    -------
    dict with
        ``near_linear`` : fraction of values with σ(y) in [0.2, 0.8] (|y| ≤ ln 4);
        ``mean_sigmoid_grad`` : mean of σ′(y) = σ(y)(1 − σ(y)) (at most 0.25);
        ``saturated`` : fraction of saturated units by the course's one rule (σ(y) < 0.03 or > 0.97,
        i.e. |y| > :data:`~course_utils.saturation.SATURATED_Z` ≈ 3.48);
        ``relu_active`` : fraction of values > 0 (ReLU units that pass a gradient).
    """
    y = as_real_array(y, "y", "activation_stats")
    if y.size == 0:
        raise ValueError("activation_stats: y must not be empty")
    s = expit(y)
    grad = s * (1.0 - s)
    return {
        "near_linear": float(np.mean(np.abs(y) <= NEAR_LINEAR_Z)),
        "mean_sigmoid_grad": float(grad.mean()),
        "saturated": float(np.mean(np.abs(y) > SATURATED_Z)),
        "relu_active": float(np.mean(y > 0)),
    }
