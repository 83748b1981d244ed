r"""What changes at test time: running (EMA) statistics, population statistics, folding (notebook 07).

Batch normalization computes different functions in training and at inference:

* **training** normalizes each channel with the statistics of the current mini-batch (Algorithm 1 of
  Ioffe & Szegedy 2015), so one example's output depends on the other examples in its batch;
* **inference** normalizes with fixed statistics, which makes BN a per-channel affine map. The fixed
  statistics are either the *running* ones (an exponential moving average, EMA, kept during training)
  or *population* statistics computed after training with the weights frozen (Algorithm 2, which
  multiplies the average batch variance by :math:`m/(m-1)`).

This module holds the code behind those comparisons. It never changes a model's running statistics:
every forward pass here is pure with respect to the model (layers' caches aside).

EMA conventions (all the same filter, written two ways):

.. math:: \text{running} \leftarrow (1-\alpha)\,\text{running} + \alpha\,\text{batch}

PyTorch's ``momentum`` *is* :math:`\alpha` (default 0.1); Keras', CS231n's and the source blog's
``momentum`` is :math:`1-\alpha` (the weight on the *old* value: 0.99 in Keras, 0.9 in CS231n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from . import layers as L
from . import normalization as F
from ._validate import (
    as_real_array,
    check_in_range,
    check_model,
    check_one_of,
    check_positive,
    check_positive_int,
    check_X_y,
)
from .data import iterate_minibatches
from .training import Hook, single_blas_thread

__all__ = [
    "EmaConvention",
    "EMA_CONVENTIONS",
    "pytorch_momentum",
    "ema_update",
    "ema_trajectory",
    "unbiased_variance",
    "BNStatistics",
    "bn_layers",
    "running_statistics",
    "forward_with_statistics",
    "batch_statistics_logits",
    "batch_statistics_accuracy",
    "probe_in_batches",
    "same_class_batch_accuracy",
    "population_statistics",
    "algorithm2_statistics",
    "BatchStatsHook",
    "replay_running_statistics",
    "drifting_batch_means",
    "ema_tracking_error",
    "FoldedMLP",
    "fold_mlp",
    "source_fold_bias",
    "source_refold_update",
    "count_eval_operations",
    "DIGITS_SIZES",
    "DIGITS_TRAINING",
    "train_digits_seeds",
    "STATISTICS_KINDS",
    "statistics_accuracy",
    "momentum_accuracy",
    "biased_running_variance",
    "LayerComparison",
    "swap_batchnorm",
    "train_with_batchnorm_layer",
]


# ----------------------------------------------------------------------------------------------
# EMA conventions
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmaConvention:
    """How one library writes the running-statistics EMA.

    Attributes
    ----------
    name : str
    momentum : float or None
        The library's default value (None: the source does not give one).
    weights : {"batch", "old"}
        Which term ``momentum`` multiplies: PyTorch's momentum weights the new batch statistic,
        Keras'/CS231n's weights the old running value.
    variance : str
        Which batch variance enters the running variance.
    running_var_init : float
    eps : float or None
        Default ε.
    formula : str
        The update as the library writes it.
    """

    name: str
    momentum: float | None
    weights: str
    variance: str
    running_var_init: float | None
    eps: float | None
    formula: str

    def batch_weight(self, momentum: float | None = None) -> float:
        r"""The :math:`\alpha` of ``running ← (1 − α)·running + α·batch`` for this convention."""
        momentum = self.momentum if momentum is None else momentum
        if momentum is None:
            raise ValueError(f"EmaConvention {self.name!r}: pass a momentum (the source gives none)")
        momentum = check_in_range(momentum, "momentum", "EmaConvention.batch_weight", 0.0, 1.0)
        return momentum if self.weights == "batch" else 1.0 - momentum


EMA_CONVENTIONS = {
    "pytorch": EmaConvention(
        "PyTorch nn.BatchNorm1d/2d",
        0.1,
        "batch",
        "unbiased, m/(m−1)",
        1.0,
        1e-5,
        "running = (1 − momentum)·running + momentum·batch",
    ),
    "keras": EmaConvention(
        "Keras BatchNormalization",
        0.99,
        "old",
        "biased (tf.keras 2 fused: m/(m−1))",
        1.0,
        1e-3,
        "moving = momentum·moving + (1 − momentum)·batch",
    ),
    "cs231n": EmaConvention(
        "CS231n assignment 2",
        0.9,
        "old",
        "biased (np.var)",
        0.0,
        1e-5,
        "running = momentum·running + (1 − momentum)·batch",
    ),
    "source_004": EmaConvention(
        "source blog 004", None, "old", "not stated", None, None, "new = momentum·old + (1 − momentum)·batch"
    ),
}


def _convention(convention: str, where: str) -> EmaConvention:
    return EMA_CONVENTIONS[check_one_of(convention, "convention", where, sorted(EMA_CONVENTIONS))]


def pytorch_momentum(momentum: float, convention: str) -> float:
    """The PyTorch ``momentum`` that gives the same EMA as ``momentum`` in ``convention``.

    >>> pytorch_momentum(0.99, "keras")  # doctest: +ELLIPSIS
    0.0100...
    """
    return _convention(convention, "pytorch_momentum").batch_weight(momentum)


def ema_update(running, batch, momentum: float, convention: str = "pytorch"):
    """One EMA step, written exactly as ``convention`` writes it (so rounding matches that library).

    Parameters
    ----------
    running, batch : float or ndarray (same shape)
    momentum : float in [0, 1]
        In the convention's own meaning.
    convention : {"pytorch", "keras", "cs231n", "source_004"}
    """
    conv = _convention(convention, "ema_update")
    momentum = check_in_range(momentum, "momentum", "ema_update", 0.0, 1.0)
    return L.ema_step(running, batch, momentum, conv.weights)


def ema_trajectory(batch_values, momentum: float, convention: str = "pytorch", init=0.0) -> np.ndarray:
    """Running value after each of a sequence of batch statistics.

    Parameters
    ----------
    batch_values : ndarray, shape (T,) or (T, C)
        The batch statistic at steps 1..T.
    momentum : float in [0, 1], in the convention's meaning
    convention : str
        See :data:`EMA_CONVENTIONS`.
    init : float or ndarray of shape (C,)
        Running value before the first step (PyTorch: 0 for the mean, 1 for the variance).

    Returns
    -------
    ndarray, shape of ``batch_values``
        Entry ``t`` is the running value after step ``t + 1``.
    """
    where = "ema_trajectory"
    values = as_real_array(batch_values, "batch_values", where)
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        raise ValueError(f"{where}: batch_values must have shape (T,) or (T, C), got {values.shape}")
    weights = _convention(convention, where).weights
    momentum = check_in_range(momentum, "momentum", where, 0.0, 1.0)
    out = np.empty_like(values)
    running = np.broadcast_to(np.asarray(init, dtype=values.dtype), values.shape[1:]).copy()
    for t in range(values.shape[0]):
        running = L.ema_step(running, values[t], momentum, weights)
        out[t] = running
    return out


def unbiased_variance(biased_var, m: int):
    """Bessel's correction: ``biased_var · m/(m − 1)`` for a batch of ``m ≥ 2`` values per channel."""
    m = check_positive_int(m, "m", "unbiased_variance")
    if m < 2:
        raise ValueError(f"unbiased_variance: needs m >= 2 values per channel, got m={m}")
    return np.asarray(biased_var) * (m / (m - 1))


# ----------------------------------------------------------------------------------------------
# Forward passes with a chosen kind of statistics
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BNStatistics:
    """Mean and variance of one BN layer's input, one value per channel (shape (C,) each)."""

    mean: np.ndarray
    var: np.ndarray


def bn_layers(model) -> list:
    """The BatchNorm layers of an :class:`~course_utils.training.MLP`, from input to output."""
    check_model(model, "bn_layers")
    layers = [model.layers[i] for i in model.norm_indices]
    if not layers or not all(isinstance(layer, L.BatchNorm) for layer in layers):
        raise ValueError(f"model must use normalization='batch', got normalization={model.normalization!r}")
    return layers


def running_statistics(model) -> list[BNStatistics]:
    """Copies of each BN layer's ``running_mean`` and ``running_var``."""
    return [BNStatistics(layer.running_mean.copy(), layer.running_var.copy()) for layer in bn_layers(model)]


def _check_statistics(model, statistics, where):
    layers = bn_layers(model)
    if isinstance(statistics, str):
        if statistics not in ("running", "batch"):
            raise ValueError(
                f"{where}: statistics must be 'running', 'batch' or a list of BNStatistics, "
                f"got {statistics!r}"
            )
        return statistics
    statistics = list(statistics)
    if len(statistics) != len(layers) or not all(isinstance(s, BNStatistics) for s in statistics):
        raise ValueError(
            f"{where}: statistics must be a list of {len(layers)} BNStatistics (one per BN layer)"
        )
    return statistics


def forward_with_statistics(model, X, statistics="running"):
    """Logits of ``model`` on ``X`` with every BN layer normalizing by the chosen statistics.

    Parameters
    ----------
    model : MLP with ``normalization="batch"``
    X : ndarray, shape (N, D_in)
    statistics : "running", "batch" or list of BNStatistics
        ``"running"``: eval mode (the layers' running statistics). ``"batch"``: the statistics of
        ``X`` itself, as in training mode — what happens when a model is left in training mode at test
        time (the running statistics are *not* updated here). A list: those fixed statistics.

    Returns
    -------
    logits : ndarray, shape (N, n_classes)
    """
    where = "forward_with_statistics"
    X = as_real_array(X, "X", where)
    statistics = _check_statistics(model, statistics, where)
    norm_positions = {idx: k for k, idx in enumerate(model.norm_indices)}
    x = X
    # one BLAS thread, like MLP.forward: tiny matrices, and results independent of the core count
    with single_blas_thread():
        for i, layer in enumerate(model.layers):
            if i not in norm_positions:
                x = layer.forward(x, training=False)
            elif statistics == "batch":
                x, _ = F.batchnorm_forward(x, layer.gamma, layer.beta, layer.eps)
            else:
                stats = (
                    BNStatistics(layer.running_mean, layer.running_var)
                    if statistics == "running"
                    else statistics[norm_positions[i]]
                )
                x = F.batchnorm_inference(x, layer.gamma, layer.beta, stats.mean, stats.var, layer.eps)
    return x


def _batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut ``order`` into ``len // batch_size`` nearly equal batches, each of at least ``batch_size``."""
    n_batches = max(len(order) // batch_size, 1)
    return np.array_split(order, n_batches)


def batch_statistics_logits(model, X, batch_size: int, order=None):
    """Logits when the test set is fed in batches and each batch is normalized by its own statistics.

    Parameters
    ----------
    model : MLP with ``normalization="batch"``
    X : ndarray, shape (N, D_in)
    batch_size : int ≥ 2
        Every batch has ``batch_size`` or slightly more examples (``N // batch_size`` batches).
    order : ndarray of int, shape (N,), optional
        The order in which the examples are cut into batches (default: as given).

    Returns
    -------
    logits : ndarray, shape (N, n_classes), in the original order of ``X``
    """
    where = "batch_statistics_logits"
    X = as_real_array(X, "X", where)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    if batch_size < 2 or batch_size > len(X):
        raise ValueError(
            f"{where}: batch_size must lie in [2, {len(X)}] (a batch of one has no variance), "
            f"got {batch_size}"
        )
    order = np.arange(len(X)) if order is None else np.asarray(order)
    if order.shape != (len(X),) or not np.array_equal(np.sort(order), np.arange(len(X))):
        raise ValueError(f"{where}: order must be a permutation of range({len(X)})")
    logits = np.empty((len(X), model.layer_sizes[-1]))
    for idx in _batches(order, batch_size):
        logits[idx] = forward_with_statistics(model, X[idx], "batch")
    return logits


def batch_statistics_accuracy(
    model, X, y, batch_size: int, seed: int | None = 0, sort_by_label: bool = False
) -> float:
    """Test accuracy with test-time batch statistics (the eval-mode bug).

    ``seed`` shuffles the test set before it is cut into batches; ``sort_by_label=True`` instead sorts it
    by class, so most batches hold a single digit (a realistic non-i.i.d. stream, e.g. files read in
    order).
    """
    y = np.asarray(y)
    if sort_by_label:
        order = np.argsort(y, kind="stable")
    else:
        order = np.random.default_rng(seed).permutation(len(y))
    logits = batch_statistics_logits(model, X, batch_size, order)
    return float(np.mean(logits.argmax(axis=1) == y))


def probe_in_batches(
    model, x_probe, X_pool, batch_size: int, n_batches: int, seed: int = 0, exclude=None
) -> np.ndarray:
    """Class probabilities of one example placed in ``n_batches`` random batches, with batch statistics.

    Parameters
    ----------
    model : MLP with ``normalization="batch"``
    x_probe : ndarray, shape (D_in,)
    X_pool : ndarray, shape (n, D_in)
        Where the ``batch_size − 1`` companions are drawn from (without replacement, per batch).
    batch_size : int ≥ 2
    n_batches : int
    seed : int
    exclude : int, optional
        Index of ``x_probe`` inside ``X_pool``, never drawn as its own companion.

    Returns
    -------
    probs : ndarray, shape (n_batches, n_classes)
    """
    where = "probe_in_batches"
    x_probe = as_real_array(x_probe, "x_probe", where)
    X_pool = as_real_array(X_pool, "X_pool", where)
    if x_probe.ndim != 1 or X_pool.ndim != 2 or X_pool.shape[1] != x_probe.shape[0]:
        raise ValueError(
            f"{where}: x_probe must be (D,) and X_pool (n, D), got {x_probe.shape} and {X_pool.shape}"
        )
    batch_size = check_positive_int(batch_size, "batch_size", where)
    n_batches = check_positive_int(n_batches, "n_batches", where)
    candidates = np.arange(len(X_pool)) if exclude is None else np.delete(np.arange(len(X_pool)), exclude)
    if batch_size < 2 or batch_size - 1 > len(candidates):
        raise ValueError(f"{where}: batch_size must lie in [2, {len(candidates) + 1}], got {batch_size}")
    rng = np.random.default_rng(seed)
    probs = np.empty((n_batches, model.layer_sizes[-1]))
    with single_blas_thread():
        for k in range(n_batches):
            companions = rng.choice(candidates, size=batch_size - 1, replace=False)
            batch = np.vstack([x_probe[None, :], X_pool[companions]])
            probs[k] = softmax(forward_with_statistics(model, batch, "batch")[0])
    return probs


def same_class_batch_accuracy(model, X, y, batch_size: int = 8, seed: int = 0) -> float:
    """Accuracy with batch statistics when every example is batched with others *of its own class*.

    Each example of ``X`` is placed in its own batch with ``batch_size − 1`` companions drawn at random
    (without replacement, never itself) from the examples of ``X`` that share its label, and classified
    by its logits in that batch — the worst case of a non-i.i.d. test stream.

    Parameters
    ----------
    model : MLP with ``normalization="batch"``
    X : ndarray, shape (N, D_in)
    y : ndarray of int, shape (N,)
    batch_size : int ≥ 2
        Every class must have at least ``batch_size`` examples.
    seed : int
        Seeds the choice of companions.

    Returns
    -------
    float, the fraction of examples whose own-class batch still predicts their label
    """
    where = "same_class_batch_accuracy"
    X, y = check_X_y(X, y, where)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    classes, counts = np.unique(y, return_counts=True)
    smallest = int(counts.min())
    if batch_size < 2 or batch_size > smallest:
        raise ValueError(
            f"{where}: batch_size must lie in [2, {smallest}] (the smallest class has "
            f"{smallest} examples), got {batch_size}"
        )
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(y == c) for c in classes}
    correct = 0
    with single_blas_thread():
        for i in range(len(X)):
            others = members[y[i]][members[y[i]] != i]
            companions = rng.choice(others, size=batch_size - 1, replace=False)
            logits = forward_with_statistics(model, np.vstack([X[i][None, :], X[companions]]), "batch")
            correct += int(logits[0].argmax() == y[i])
    return correct / len(X)


# ----------------------------------------------------------------------------------------------
# Population statistics after training (frozen weights)
# ----------------------------------------------------------------------------------------------
def population_statistics(model, X) -> list[BNStatistics]:
    """Exact population statistics of every BN layer's input: one pass over ``X``, weights frozen.

    The pass runs the *inference* network: the input of BN layer k is computed with layers before it
    in eval mode, each already normalized by its own population statistics — exactly the
    activations the deployed network will see. Variances are unbiased (``ddof=1``; for a training set
    of n examples the factor n/(n − 1) is tiny). The model is not modified.

    Parameters
    ----------
    model : MLP with ``normalization="batch"``
    X : ndarray, shape (n, D_in), n ≥ 2
        Usually the whole training set.

    Returns
    -------
    list of BNStatistics, one per BN layer
    """
    where = "population_statistics"
    X = as_real_array(X, "X", where)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"{where}: X must have shape (n >= 2, D_in), got {X.shape}")
    bn_layers(model)
    norm_set = set(model.norm_indices)
    stats = []
    x = X
    with single_blas_thread():
        for i, layer in enumerate(model.layers):
            if i in norm_set:
                s = BNStatistics(x.mean(axis=0), x.var(axis=0, ddof=1))
                stats.append(s)
                x = F.batchnorm_inference(x, layer.gamma, layer.beta, s.mean, s.var, layer.eps)
            else:
                x = layer.forward(x, training=False)
    return stats


def algorithm2_statistics(model, X, batch_size: int, seed: int = 0, n_batches: int | None = None):
    r"""Population statistics as in Ioffe & Szegedy's Algorithm 2 (steps 8–10).

    Feed training mini-batches of size m through the *training* network with frozen weights (every
    BN layer normalizes with its batch statistics) and average:

    .. math:: E[x] = E_B[\mu_B],\qquad \mathrm{Var}[x] = \frac{m}{m-1}\,E_B[\sigma_B^2]

    Parameters
    ----------
    model : MLP with ``normalization="batch"``
    X : ndarray, shape (n, D_in)
    batch_size : int ≥ 2
        m.
    seed : int
        Seeds the mini-batches (:func:`course_utils.data.iterate_minibatches`).
    n_batches : int, optional
        Default: one epoch, ``n // batch_size`` batches.

    Returns
    -------
    list of BNStatistics, one per BN layer
    """
    where = "algorithm2_statistics"
    X = as_real_array(X, "X", where)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    if batch_size < 2:
        raise ValueError(f"{where}: batch_size must be >= 2, got {batch_size}")
    layers = bn_layers(model)
    if n_batches is None:
        n_batches = len(X) // batch_size
    n_batches = check_positive_int(n_batches, "n_batches", where)
    norm_set = set(model.norm_indices)
    sum_mean = [np.zeros(layer.num_features) for layer in layers]
    sum_var = [np.zeros(layer.num_features) for layer in layers]
    batches = iterate_minibatches(len(X), batch_size, seed=seed)
    with single_blas_thread():
        for _ in range(n_batches):
            x = X[next(batches)]
            k = 0
            for i, layer in enumerate(model.layers):
                if i in norm_set:
                    x, cache = F.batchnorm_forward(x, layer.gamma, layer.beta, layer.eps)
                    sum_mean[k] += cache.mu.reshape(-1)
                    sum_var[k] += cache.var.reshape(-1)
                    k += 1
                else:
                    x = layer.forward(x, training=False)
    return [
        BNStatistics(sm / n_batches, unbiased_variance(sv / n_batches, batch_size))
        for sm, sv in zip(sum_mean, sum_var, strict=True)
    ]


class BatchStatsHook(Hook):
    """Record each BN layer's batch mean and biased batch variance at every training step.

    Because the running statistics never enter the training forward pass, these records are all one
    needs to *replay* the running statistics for any momentum afterwards
    (:func:`replay_running_statistics`), without training again.

    Attributes
    ----------
    means, variances : list of ndarray, one per BN layer, each of shape (n_steps, C)
    batch_size : int
        m, the number of values per channel in each batch.
    """

    def __init__(self, every: int = 1):
        super().__init__(every)
        self._means: list[list[np.ndarray]] = []
        self._vars: list[list[np.ndarray]] = []
        self.batch_size = None

    def record(self, step, model):
        idx = model.norm_indices
        if not self._means:
            self._means = [[] for _ in idx]
            self._vars = [[] for _ in idx]
        for k, i in enumerate(idx):
            x = model.layer_inputs[i]
            mu = x.mean(axis=0)
            self._means[k].append(mu)
            self._vars[k].append(((x - mu) ** 2).mean(axis=0))
        self.batch_size = model.layer_inputs[idx[0]].shape[0]

    @property
    def means(self) -> list[np.ndarray]:
        return [np.array(m) for m in self._means]

    @property
    def variances(self) -> list[np.ndarray]:
        return [np.array(v) for v in self._vars]


def replay_running_statistics(
    hook: BatchStatsHook,
    momentum: float,
    convention: str = "pytorch",
    unbiased: bool = True,
    init_mean: float = 0.0,
    init_var: float = 1.0,
):
    """Final running statistics that a BN layer with this momentum would have held after training.

    Parameters
    ----------
    hook : BatchStatsHook
        Filled during training (``every=1``).
    momentum : float, in ``convention``'s meaning
    convention : str
    unbiased : bool
        Feed the running variance with the unbiased batch variance (PyTorch) or the biased one (CS231n).
    init_mean, init_var : float
        Starting values (PyTorch and Keras: 0 and 1; CS231n starts the variance at 0).

    Returns
    -------
    list of BNStatistics, one per BN layer
    """
    where = "replay_running_statistics"
    if not isinstance(hook, BatchStatsHook) or hook.batch_size is None:
        raise TypeError(f"{where}: hook must be a BatchStatsHook that saw training steps")
    if hook.every != 1:
        raise ValueError(f"{where}: the hook must record every step (every=1)")
    if unbiased and hook.batch_size < 2:
        raise ValueError(f"{where}: unbiased variances need batches of m >= 2, got m={hook.batch_size}")
    weights = _convention(convention, where).weights
    momentum = check_in_range(momentum, "momentum", where, 0.0, 1.0)
    out = []
    for means, variances in zip(hook.means, hook.variances, strict=True):
        # the very update the layers make at each training step (layers.update_running_statistics)
        mean, var = np.full(means.shape[1], float(init_mean)), np.full(means.shape[1], float(init_var))
        for batch_mean, batch_var in zip(means, variances, strict=True):
            mean, var = L.update_running_statistics(
                mean,
                var,
                batch_mean,
                batch_var,
                hook.batch_size,
                momentum,
                weights=weights,
                unbiased=unbiased,
            )
        out.append(BNStatistics(mean, var))
    return out


# ----------------------------------------------------------------------------------------------
# The momentum slider's data
# ----------------------------------------------------------------------------------------------
def drifting_batch_means(steps: int = 300, batch_size: int = 32, seed: int = 0):
    """A channel whose true mean drifts during training, and the noisy batch means one sees of it.

    The true mean stays at 0, rises to 2 between steps 60 and 140 (the weights are still moving), then
    jumps down to 1 at step 220 (say a learning-rate drop); each batch mean adds the sampling noise
    of a batch of ``batch_size`` values with standard deviation 1.

    Returns
    -------
    true_mean, batch_means : ndarray, shape (steps,)
    """
    steps = check_positive_int(steps, "steps", "drifting_batch_means")
    batch_size = check_positive_int(batch_size, "batch_size", "drifting_batch_means")
    t = np.arange(steps)
    true_mean = np.clip((t - 60) / 80, 0.0, 1.0) * 2.0
    true_mean = np.where(t >= 220, 1.0, true_mean)
    rng = np.random.default_rng(seed)
    batch_means = true_mean + rng.normal(0.0, 1.0 / np.sqrt(batch_size), size=steps)
    return true_mean, batch_means


def ema_tracking_error(
    true_mean, batch_means, momentum: float, convention: str = "pytorch", init: float = 0.0
) -> dict:
    r"""How far the running mean is from the true mean, split exactly into lag and noise.

    The EMA is linear, so with ``batch_means = true_mean + noise`` the running mean is
    ``EMA(true_mean) + EMA(noise)`` and its error splits into two parts:

    * ``"lag"``: RMS of ``EMA(true_mean) − true_mean`` (started at ``init``), the error the filter would
      make even with noise-free batch means — it trails a drift;
    * ``"noise"``: RMS of ``EMA(noise)`` (started at 0), the batch noise that leaks through;
    * ``"rms"``: RMS of the actual error ``EMA(batch_means) − true_mean`` (the two parts add up to it
      step by step; their RMS values do not add exactly).

    Parameters
    ----------
    true_mean, batch_means : ndarray, shape (T,)
    momentum : float in [0, 1], in ``convention``'s meaning
    convention : str
        See :data:`EMA_CONVENTIONS`.
    init : float
        Running value before the first step.

    Returns
    -------
    dict with ``"rms"``, ``"lag"`` and ``"noise"``
    """
    where = "ema_tracking_error"
    true_mean = as_real_array(true_mean, "true_mean", where)
    batch_means = as_real_array(batch_means, "batch_means", where)
    if true_mean.shape != batch_means.shape or true_mean.ndim != 1:
        raise ValueError(
            f"{where}: true_mean and batch_means must be 1-D arrays of one shape, got "
            f"{true_mean.shape} and {batch_means.shape}"
        )
    running = ema_trajectory(batch_means, momentum, convention, init)
    lag = ema_trajectory(true_mean, momentum, convention, init) - true_mean
    noise = ema_trajectory(batch_means - true_mean, momentum, convention, 0.0)

    def rms(v):
        return float(np.sqrt(np.mean(v**2)))

    return {"rms": rms(running - true_mean), "lag": rms(lag), "noise": rms(noise)}


# ----------------------------------------------------------------------------------------------
# Folding BN into the preceding Linear layer
# ----------------------------------------------------------------------------------------------
class FoldedMLP:
    """An MLP whose eval-mode BatchNorm layers were folded into the Linear layers before them.

    Attributes
    ----------
    weights, biases : list of ndarray
        ``W′`` (D_in, D_out) and ``b′`` (D_out,) of each Linear layer.
    activation : callable
        Applied after every Linear layer but the last.
    """

    def __init__(self, weights, biases, activation):
        self.weights, self.biases, self.activation = list(weights), list(biases), activation

    def forward(self, X):
        """Logits, shape (N, n_classes): one affine map per layer, no normalization at all."""
        x = as_real_array(X, "X", "FoldedMLP.forward")
        last = len(self.weights) - 1
        with single_blas_thread():  # as MLP.forward, so timings compare like with like
            for k, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                x = x @ W + b
                if k < last:
                    x = self.activation(x)
        return x


def fold_mlp(model, fold=F.fold_batchnorm) -> FoldedMLP:
    """Fold every eval-mode BN of an MLP (``placement="before"``) into the Linear layer before it.

    ``fold(W, b, bn) -> (W′, b′)`` defaults to :func:`course_utils.fold_batchnorm`; pass a student's
    version to test it on a whole network.
    """
    bn = bn_layers(model)
    if model.placement != "before":
        raise ValueError(
            "fold_mlp: BN must come right after its Linear layer (placement='before'); "
            "after the activation it can only be folded into the *next* Linear layer"
        )
    weights, biases = [], []
    for k, linear in enumerate(model.linears):
        if k < len(bn):
            W, b = fold(linear.W, linear.b, bn[k])
        else:
            W, b = linear.W.copy(), linear.b.copy()
        weights.append(np.asarray(W))
        biases.append(np.asarray(b))
    act = model.layers[model.activation_indices[0]]
    return FoldedMLP(weights, biases, lambda x: act.forward(x, training=False))


def source_fold_bias(bn) -> np.ndarray:
    """The folded bias as source blog 004 writes it: ``beta − gamma·running_mean/sqrt(running_var + eps)``.

    It has no term for the Linear layer's own bias ``b``, so it is right only when ``b = 0``.
    """
    scale = bn.gamma / np.sqrt(bn.running_var + bn.eps)
    return bn.beta - scale * bn.running_mean


def source_refold_update(W_folded, b_folded, old: BNStatistics, new: BNStatistics, eps: float):
    """Source blog 004's rule for updating folded weights when the running statistics change.

    ``W ← W·sqrt(old_var + eps)/sqrt(new_var + eps)`` and
    ``b ← (b − old_mean)·sqrt(old_var + eps)/sqrt(new_var + eps) + new_mean``, taken literally.
    (The W rule is right; the b rule is not — see notebook 07.)
    """
    eps = check_positive(eps, "eps", "source_refold_update")
    ratio = np.sqrt(old.var + eps) / np.sqrt(new.var + eps)
    return W_folded * ratio, (b_folded - old.mean) * ratio + new.mean


def count_eval_operations(layer_sizes, folded: bool) -> dict:
    """Floating-point operations per example of an eval-mode MLP with BN after every hidden Linear.

    A Linear layer D_in → D_out costs ``2·D_in·D_out`` (a multiply and an add per weight; the bias add
    replaces the first add). Eval-mode BN with its scale ``γ/sqrt(var + ε)`` precomputed costs 3 per
    feature (subtract the mean, multiply, add β); folded, it costs nothing. Activations are not counted
    (they are the same either way).

    Returns
    -------
    dict with ``"linear"``, ``"bn"`` and ``"total"`` operation counts
    """
    sizes = [check_positive_int(s, "layer_sizes[i]", "count_eval_operations") for s in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"count_eval_operations: layer_sizes needs at least two entries, got {sizes}")
    linear = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    bn = 0 if folded else sum(3 * h for h in sizes[1:-1])
    return {"linear": linear, "bn": bn, "total": linear + bn}


# ----------------------------------------------------------------------------------------------
# Experiments of notebook 07 over several seeds (seed-batched), and the student's layer at work
# ----------------------------------------------------------------------------------------------
#: The digits network of notebook 07: Linear → BN → ReLU, two hidden layers of 64 units.
DIGITS_SIZES = (64, 64, 64, 10)
DIGITS_TRAINING = {"steps": 300, "batch_size": 32, "lr": 0.1}


def train_digits_seeds(seeds, X, y, bn_momentum: float = 0.1, **overrides):
    """Notebook 07's digits MLP (ReLU, BN before the activation), one per seed, trained together.

    A thin wrapper over :func:`course_utils.batched.train_seeds` with :data:`DIGITS_SIZES` and
    :data:`DIGITS_TRAINING`; returns the trained :class:`~course_utils.training.MLP` of every seed
    (``bn_momentum`` only changes the running statistics, never the training).
    """
    from .batched import train_seeds

    settings = {**DIGITS_TRAINING, **overrides}
    runs = train_seeds(
        list(DIGITS_SIZES),
        list(seeds),
        X,
        y,
        activation="relu",
        normalization="batch",
        bn_momentum=bn_momentum,
        **settings,
    )
    return [runs.model(i) for i in range(len(runs))]


#: The kinds of test-time statistics compared in notebook 07 §2, in display order.
STATISTICS_KINDS = (
    "batch stats, random batches of 2",
    "batch stats, random batches of 8",
    "batch stats, random batches of 32",
    "batch stats, batches of 32 sorted by label",
    "running statistics (eval mode)",
    "calibration pass",
)


def statistics_accuracy(models, seeds, X_train, X_test, y_test) -> dict:
    """Test accuracy of each trained model under every kind of statistics in :data:`STATISTICS_KINDS`.

    Returns a dict kind → ndarray of shape (len(models),), one accuracy per seed (batch orders
    are seeded by the model's seed).
    """
    X_test, y_test = check_X_y(X_test, y_test, "statistics_accuracy")
    out = {kind: np.zeros(len(models)) for kind in STATISTICS_KINDS}
    for row, (model, seed) in enumerate(zip(models, seeds, strict=True)):
        values = [
            batch_statistics_accuracy(model, X_test, y_test, 2, seed=seed),
            batch_statistics_accuracy(model, X_test, y_test, 8, seed=seed),
            batch_statistics_accuracy(model, X_test, y_test, 32, seed=seed),
            batch_statistics_accuracy(model, X_test, y_test, 32, sort_by_label=True),
            float(np.mean(forward_with_statistics(model, X_test, "running").argmax(axis=1) == y_test)),
            float(
                np.mean(
                    forward_with_statistics(model, X_test, population_statistics(model, X_train)).argmax(
                        axis=1
                    )
                    == y_test
                )
            ),
        ]
        for kind, value in zip(STATISTICS_KINDS, values, strict=True):
            out[kind][row] = value
    return out


def momentum_accuracy(seeds, X_train, y_train, X_test, y_test, momenta=(0.1, 0.01, 0.99)) -> dict:
    """Eval-mode test accuracy per seed for each BN momentum (PyTorch's convention), plus calibration.

    Training is the same for every momentum (the running statistics never enter it), so the
    networks differ only in their running statistics. Returns momentum → ndarray (per seed) and
    ``"calibration"`` → ndarray (the same networks with population statistics).
    """
    out = {}
    for momentum in momenta:
        models = train_digits_seeds(seeds, X_train, y_train, bn_momentum=momentum)
        out[momentum] = np.array([m.accuracy(X_test, y_test) for m in models])
        if "calibration" not in out:
            out["calibration"] = np.array(
                [
                    np.mean(
                        forward_with_statistics(m, X_test, population_statistics(m, X_train)).argmax(axis=1)
                        == y_test
                    )
                    for m in models
                ]
            )
    return out


def biased_running_variance(model_or_stats, m: int, momentum: float, steps: int, init: float = 1.0):
    r"""The running variances a layer would hold had it been fed the **biased** batch variance.

    The EMA is linear: after ``steps`` updates from ``init``, the running variance is
    :math:`(1-\alpha)^t\,\text{init} + \sum_k w_k v_k`. Feeding :math:`v_k` instead of
    :math:`\frac{m}{m-1}v_k` scales the sum by :math:`(m-1)/m` and leaves the ``init`` term alone, so no
    retraining is needed. Returns a list of ndarrays, one per BN layer.
    """
    stats = running_statistics(model_or_stats) if hasattr(model_or_stats, "layers") else model_or_stats
    m = check_positive_int(m, "m", "biased_running_variance")
    w0 = (1.0 - momentum) ** steps * init
    return [(s.var - w0) * (m - 1) / m + w0 for s in stats]


# ----------------------------------------------------------------------------------------------
# The student's BatchNorm layer trains the digits network
# ----------------------------------------------------------------------------------------------
@dataclass
class LayerComparison:
    """Two trainings of the same network and seed: the course's BatchNorm vs another layer class."""

    course_model: object
    other_model: object
    course_accuracy: float
    other_accuracy: float
    running_mean_gap: float

    @property
    def difference(self) -> float:
        """other − course, in accuracy points (percent)."""
        return 100.0 * (self.other_accuracy - self.course_accuracy)


def swap_batchnorm(model, layer_cls):
    """Replace every BatchNorm of ``model`` (at ``model.norm_indices``) by ``layer_cls``, keeping γ, β,
    the running statistics, momentum and ε. Returns the model (changed in place)."""
    for i in model.norm_indices:
        old = model.layers[i]
        new = layer_cls(old.num_features, momentum=old.momentum, eps=old.eps)
        new.params["gamma"][...] = old.gamma
        new.params["beta"][...] = old.beta
        new.running_mean, new.running_var = old.running_mean.copy(), old.running_var.copy()
        model.layers[i] = new
    return model


def train_with_batchnorm_layer(
    layer_cls, X, y, X_test, y_test, seed: int = 0, **overrides
) -> LayerComparison:
    """Train notebook 07's digits MLP twice from the same seed: the course's BN, then ``layer_cls``.

    Both use :data:`DIGITS_SIZES` / :data:`DIGITS_TRAINING` and the same mini-batches; the test
    accuracies are eval-mode ones, so ``layer_cls`` is judged with its own running statistics.
    ``running_mean_gap`` is the largest |difference| of the two models' running means.
    """
    from .training import MLP, train

    settings = {**DIGITS_TRAINING, **overrides}
    models = []
    for cls in (None, layer_cls):
        model = MLP(list(DIGITS_SIZES), activation="relu", normalization="batch", seed=seed)
        if cls is not None:
            swap_batchnorm(model, cls)
        train(model, X, y, seed=seed, **settings)
        models.append(model)
    gap = max(
        float(np.max(np.abs(models[0].layers[i].running_mean - models[1].layers[i].running_mean)))
        for i in models[0].norm_indices
    )
    return LayerComparison(
        models[0], models[1], models[0].accuracy(X_test, y_test), models[1].accuracy(X_test, y_test), gap
    )
