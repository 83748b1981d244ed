"""Batch normalization's forward pass and γ/β seen from the activation (notebooks 05–06).

The normalizations themselves live in :mod:`course_utils.normalization`; this module holds the
measurements and experiments notebooks 05–06 make on top of them (figures in ``plotting/batchnorm.py``,
sliders in ``widgets/batchnorm.py``, exercise checks in ``exercises/batchnorm.py``):

* :func:`activation_stats` — how a batch of pre-activations sits on a sigmoid and a ReLU (05);
* :func:`gamma_init_experiment` — learned vs frozen γ, started at 1 or 2, in a sigmoid MLP (05);
* :func:`ignore_stats_experiment` — training with a BN backward that treats μ_B, σ_B as constants (06).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from . import layers as L
from ._validate import as_real_array
from .batched import train_seeds
from .data import load_digits_split
from .saturation import SATURATED_Z
from .training import MLP

__all__ = [
    "NEAR_LINEAR_Z",
    "SATURATED_Z",
    "activation_stats",
    "identity_gamma_beta",
    "FixedAffineBatchNorm",
    "GAMMA_VARIANTS",
    "gamma_init_experiment",
    "BatchNormIgnoringStats",
    "running_mean_error",
    "ignore_stats_experiment",
]

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


def identity_gamma_beta(x, eps: float = 1e-5):
    """The γ, β (each of shape (C,)) with which training-mode BN returns the batch ``x`` itself.

    γ = sqrt(σ_B² + ε) and β = μ_B, per channel (axis 1) over every other axis. They undo the
    normalization of *this* batch only: another batch has other μ_B, σ_B.
    """
    x = as_real_array(x, "x", "identity_gamma_beta")
    if x.ndim < 2:
        raise ValueError(f"identity_gamma_beta: x must have shape (N, C, ...), got {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    return np.sqrt(x.var(axis=axes) + eps), x.mean(axis=axes)


# ----------------------------------------------------------------------------------------------
# Notebook 05: is learning γ worth it? (learned vs frozen, started at 1 or 2)
# ----------------------------------------------------------------------------------------------
class FixedAffineBatchNorm(L.BatchNorm):
    """BatchNorm whose γ starts at ``gamma0``; with ``learn=False`` γ and β never change.

    Uses the course's layer API (:mod:`course_utils.layers`): ``params`` holds the trainable arrays,
    ``backward`` fills ``grads`` with the same keys and returns dL/dx; the optimizer then updates
    ``params`` from ``grads``. Freezing is done by zeroing the gradients the parent's backward computed.
    """

    def __init__(self, num_features: int, gamma0: float = 1.0, learn: bool = True):
        super().__init__(num_features)
        self.params["gamma"][:] = gamma0
        self.learn = bool(learn)

    def backward(self, dout):
        dx = super().backward(dout)
        if not self.learn:
            self.grads["gamma"] = np.zeros_like(self.grads["gamma"])
            self.grads["beta"] = np.zeros_like(self.grads["beta"])
        return dx

    def batched_backward(self, dout, cache, params, backward):
        """The same rule on the seed-stacked arrays of :func:`course_utils.batched.train_seeds`."""
        dx, grads = backward(dout)
        if not self.learn:
            grads = {name: np.zeros_like(g) for name, g in grads.items()}
        return dx, grads


#: The four versions compared in notebook 05: name -> (γ at the start, learned?)
GAMMA_VARIANTS = {
    "learned, from γ = 1": (1.0, True),
    "frozen γ = 1, β = 0": (1.0, False),
    "frozen γ = 2, β = 0": (2.0, False),
    "learned, from γ = 2": (2.0, True),
}


def _swap_norm_layers(factory):
    """A ``customize`` hook for :func:`~course_utils.batched.train_seeds`: every BN layer of the MLP
    is replaced by ``factory(num_features)``."""

    def customize(model):
        for i in model.norm_indices:
            model.layers[i] = factory(model.layers[i].num_features)

    return customize


def gamma_init_experiment(
    seeds, steps: int = 200, batch_size: int = 64, lr: float = 1.0, hidden: int = 64
) -> dict:
    """Train a 64-H-H-10 sigmoid MLP (H = ``hidden``, BN before each sigmoid) on the digits in the four
    :data:`GAMMA_VARIANTS`, once per seed (same initial weights and batches for every variant of a seed).

    All seeds of a variant train at once (:func:`~course_utils.batched.train_seeds`, equal to separate
    ``train()`` runs of the model with :class:`FixedAffineBatchNorm` layers).

    Returns
    -------
    dict
        variant name -> {"loss": mean training loss of the last 30 steps, "acc": final test accuracy
        (eval mode), "gamma": mean γ over the BN units at the end}, each an array with one entry per seed.
    """
    X, X_test, y, y_test = load_digits_split(seed=0)
    sizes = [64, hidden, hidden, 10]
    norm_indices = MLP(sizes, activation="sigmoid", normalization="batch", seed=0).norm_indices
    results = {}
    for name, (gamma0, learn) in GAMMA_VARIANTS.items():
        runs = train_seeds(
            sizes,
            list(seeds),
            X,
            y,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            activation="sigmoid",
            normalization="batch",
            X_test=X_test,
            y_test=y_test,
            customize=_swap_norm_layers(lambda c, g=gamma0, learn=learn: FixedAffineBatchNorm(c, g, learn)),
        )
        gammas = np.concatenate([runs.params[i]["gamma"] for i in norm_indices], axis=1)
        results[name] = {
            "loss": runs.loss[:, -30:].mean(axis=1),
            "acc": runs.final_test_accuracy,
            "gamma": gammas.mean(axis=1),
        }
    return results


# ----------------------------------------------------------------------------------------------
# Notebook 06: a backward pass that ignores that μ_B and σ_B depend on x (Ioffe & Szegedy §2)
# ----------------------------------------------------------------------------------------------
class BatchNormIgnoringStats(L.BatchNorm):
    """BatchNorm whose backward treats μ_B and σ_B as constants: dx = γ·dy / sqrt(σ_B² + ε).

    The forward pass (and the running statistics) are those of :class:`~course_utils.layers.BatchNorm`;
    the backward reads the :class:`~course_utils.normalization.BatchNormCache` that the parent's forward
    stored (``self._cache``, the layer's own state) and skips the two paths through μ_B and σ_B.
    """

    def backward(self, dout):
        mode, cache = self._need_cache()
        if mode == "eval":
            return super().backward(dout)
        self.grads["gamma"] = (dout * cache.x_hat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        return dout * cache.gamma * cache.inv_std

    def batched_backward(self, dout, cache, params, backward):
        """The same rule on the seed-stacked arrays of :func:`course_utils.batched.train_seeds`:
        ``dout`` (S, N, C), ``cache = (x_hat, inv_std)``, ``params["gamma"]`` (S, C)."""
        x_hat, inv_std = cache
        grads = {"gamma": (dout * x_hat).sum(axis=1), "beta": dout.sum(axis=1)}
        return dout * params["gamma"][:, None, :] * inv_std, grads


def running_mean_error(model, X) -> float:
    """Largest |running mean − mean over X| of any unit of any BN layer, in units of that unit's std.

    ``X`` is propagated in eval mode (running statistics), so nothing in the model changes.
    """
    errors, h = [], np.asarray(X, dtype=float)
    for k, layer in enumerate(model.layers):
        if k in model.norm_indices:
            errors.append(np.max(np.abs(layer.running_mean - h.mean(axis=0)) / h.std(axis=0)))
        h = layer.forward(h, training=False)
    return float(max(errors))


def _probe(model, probe, X, X_test, y_test) -> dict:
    """What a trained model of :func:`ignore_stats_experiment` is measured on, in this order.

    ``probe`` is a second, identical copy of ``model``: the batch-statistics accuracy runs a training-mode
    forward on it, which would update the running statistics of the model it runs on.
    """
    rm_error = running_mean_error(model, X)  # first, before any training-mode forward
    batch_stats_acc = float(np.mean(probe.forward(X_test, training=True).argmax(axis=1) == y_test))
    first = model.linears[0]
    return {
        "test acc (batch stats)": batch_stats_acc,
        "max |b| before BN": float(np.abs(first.b).max()),
        "mean ||W_j|| before BN": float(np.linalg.norm(first.W, axis=0).mean()),
        "running mean off by (std)": rm_error,
    }


def ignore_stats_experiment(seeds, lr: float = 3.0, steps: int = 300) -> dict:
    """Train the 64-64-64-10 sigmoid BN MLP with the true BN backward and with
    :class:`BatchNormIgnoringStats`, once per seed (same initial weights and batches for both).

    All seeds of a version train at once (:func:`~course_utils.batched.train_seeds`, equal to separate
    ``train()`` runs); each trained network is then probed on its own (:func:`running_mean_error` first).

    Returns
    -------
    dict
        ``"true"`` / ``"ignore"`` -> {measure: array over seeds}; the measures are "final loss" (mean of
        the last 30 steps), "test acc (running stats)" (eval mode), "test acc (batch stats)" (training
        mode on the whole test set, on a copy of the model), "max |b| before BN", "mean ||W_j|| before BN",
        "running mean off by (std)" (:func:`running_mean_error` on the training set, measured first) and
        "loss curve" (seeds × steps).
    """
    X, X_test, y, y_test = load_digits_split(seed=0)
    seeds = list(seeds)
    out = {}
    for label, flag in (("true", False), ("ignore", True)):
        runs = train_seeds(
            [64, 64, 64, 10],
            seeds,
            X,
            y,
            steps=steps,
            batch_size=64,
            lr=lr,
            activation="sigmoid",
            normalization="batch",
            X_test=X_test,
            y_test=y_test,
            customize=_swap_norm_layers(BatchNormIgnoringStats) if flag else None,
        )
        probes = [_probe(runs.model(i), runs.model(i), X, X_test, y_test) for i in range(len(seeds))]
        result = {
            "loss curve": runs.loss,
            "final loss": runs.loss[:, -30:].mean(axis=1),
            "test acc (running stats)": runs.final_test_accuracy,
        }
        result.update({key: np.array([p[key] for p in probes]) for key in probes[0]})
        out[label] = result
    return out
