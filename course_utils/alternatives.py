r"""The experiments of notebook 08 (normalizations that do not depend on the batch).

RMSNorm and InstanceNorm themselves live in :mod:`course_utils.normalization` with every other
normalization (``cu.rmsnorm_forward``, ``cu.instancenorm_forward`` …).

* :func:`shared_statistics_mask` — which cells of an ``(N, C, H·W)`` block share one mean and variance
  for BN, LN, IN and GN (the "axes cube" of Wu & He 2018, Fig. 2).
* :func:`invariance_table` — Ba, Kiros & Hinton (2016) Table 1 computed numerically for BN, WN, LN
  (and RMSNorm).
* :func:`batch_size_sweep` — BN, LN, GN and Batch Renorm (with its r_max/d_max warm-up) trained on digits
  at several batch sizes, many seeds at once (:func:`course_utils.batched.train_seeds`); the core experiment of the notebook and of its
  replication tests (``tests/replication/test_replicate_alternatives.py``).
* :func:`run_batch_size_experiment` — one run at a time, with hooks (Batch Renorm's schedule, gradient
  norms at every step), weight changes; :func:`accuracy_with_batch_statistics` measures BN's
  train/inference gap.
* :class:`RenormSchedule` and :class:`RenormTraceHook` — the r_max/d_max warm-up of Ioffe (2017) and a
  recorder of r and d over training; :func:`clip_renorm` is the clip the slider of notebook 08 shows.

Conventions are those of :mod:`course_utils.normalization` (``(out, cache)`` forward, biased two-pass
variance, ε inside the square root, float32 stays float32).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np

from . import layers as L
from ._validate import (
    as_real_array,
    check_in_range,
    check_model,
    check_one_of,
    check_positive,
    check_positive_int,
    check_X_y,
)
from .batched import train_seeds
from .normalization import (
    batchnorm_forward,
    layernorm_forward,
    rmsnorm_forward,
    weightnorm_forward,
)
from .training import MLP, GradNormHook, Hook, single_blas_thread, train

__all__ = [
    "NORM_METHODS",
    "shared_statistics_mask",
    "statistics_count",
    "INVARIANCE_TRANSFORMS",
    "BA2016_TABLE1",
    "InvarianceTable",
    "invariance_table",
    "accuracy_with_batch_statistics",
    "BatchSizeResult",
    "run_batch_size_experiment",
    "SweepResult",
    "batch_size_sweep",
    "renorm_limits",
    "RenormSchedule",
    "RenormTraceHook",
    "clip_renorm",
]


# ----------------------------------------------------------------------------------------------
# Which cells share one mean and variance (the axes cube)
# ----------------------------------------------------------------------------------------------
NORM_METHODS = ("batch", "layer", "instance", "group")


def _check_method(method: str, where: str) -> str:
    return check_one_of(method, "method", where, NORM_METHODS)


def _check_block_shape(shape, where: str) -> tuple:
    if not isinstance(shape, tuple | list) or len(shape) != 3:
        raise ValueError(f"{where}: shape must be (N, C, S) with S = H·W, got {shape!r}")
    return tuple(check_positive_int(s, "shape[i]", where) for s in shape)


def shared_statistics_mask(method: str, shape, sample: int = 0, channel: int = 0, num_groups: int = 2):
    """Boolean mask of the cells that share one mean and variance with cell ``(sample, channel, ·)``.

    Parameters
    ----------
    method : {"batch", "layer", "instance", "group"}
    shape : tuple (N, C, S)
        Batch size, channels and the number of spatial positions S = H·W.
    sample, channel : int
        The cell whose statistic is highlighted (its spatial position does not matter: every method
        pools over all of H·W).
    num_groups : int
        For "group": G, which must divide C; channels ``[k·C/G, (k+1)·C/G)`` form group k.

    Returns
    -------
    mask : ndarray of bool, shape (N, C, S)
    """
    where = "shared_statistics_mask"
    _check_method(method, where)
    N, C, S = _check_block_shape(shape, where)
    if not (0 <= sample < N and 0 <= channel < C):
        raise ValueError(
            f"{where}: sample must be in [0, {N}) and channel in [0, {C}), got {sample}, {channel}"
        )
    num_groups = check_positive_int(num_groups, "num_groups", where)
    if C % num_groups:
        raise ValueError(f"{where}: num_groups={num_groups} must divide C={C}")
    mask = np.zeros((N, C, S), dtype=bool)
    if method == "batch":
        mask[:, channel, :] = True
    elif method == "layer":
        mask[sample, :, :] = True
    elif method == "instance":
        mask[sample, channel, :] = True
    else:
        size = C // num_groups
        start = (channel // size) * size
        mask[sample, start : start + size, :] = True
    return mask


def statistics_count(method: str, shape, num_groups: int = 2) -> tuple[int, int]:
    """``(number of means, values per mean)`` for ``method`` on an ``(N, C, S)`` block.

    BN: ``(C, N·S)``; LN: ``(N, C·S)``; IN: ``(N·C, S)``; GN: ``(N·G, C/G·S)``.
    """
    where = "statistics_count"
    _check_method(method, where)
    N, C, S = _check_block_shape(shape, where)
    num_groups = check_positive_int(num_groups, "num_groups", where)
    if C % num_groups:
        raise ValueError(f"{where}: num_groups={num_groups} must divide C={C}")
    return {
        "batch": (C, N * S),
        "layer": (N, C * S),
        "instance": (N * C, S),
        "group": (N * num_groups, C // num_groups * S),
    }[method]


# ----------------------------------------------------------------------------------------------
# Invariance table of Ba, Kiros & Hinton (2016), Table 1
# ----------------------------------------------------------------------------------------------
INVARIANCE_TRANSFORMS = (
    "weight matrix re-scaling",
    "weight matrix re-centering",
    "weight vector re-scaling",
    "dataset re-scaling",
    "dataset re-centering",
    "single case re-scaling",
)

#: Table 1 of Ba et al. (2016): True = "Invariant", False = "No".
BA2016_TABLE1 = {
    "batch norm": (True, False, True, True, True, False),
    "weight norm": (True, False, True, False, False, False),
    "layer norm": (True, True, False, True, False, True),
}


def _normalized_units(method: str, x, W, eps: float):
    """Summed inputs ``a = x @ W`` (no bias, as in the paper) normalized by ``method``, γ = 1, β = 0.

    ``W`` has shape (D, H): column i is the incoming weight vector of unit i.
    """
    H = W.shape[1]
    if method == "weight norm":
        v, _ = weightnorm_forward(W, np.ones(H))
        return x @ v
    a = x @ W
    if method == "batch norm":
        return batchnorm_forward(a, np.ones(H), np.zeros(H), eps)[0]
    if method == "layer norm":
        return layernorm_forward(a, np.ones(H), np.zeros(H), eps)[0]
    if method == "rms norm":
        return rmsnorm_forward(a, np.ones(H), eps)[0]
    raise ValueError(f"invariance_table: unknown method {method!r}")


def _transforms(x, W, rng):
    """The six perturbations of Table 1, each as ``(x', W')``."""
    n, D = x.shape
    H = W.shape[1]
    delta = 2.5
    shift_w = rng.normal(size=(D, 1))  # the same vector added to every unit's weight vector
    scale_one_unit = np.ones(H)
    scale_one_unit[0] = 3.0
    shift_x = rng.normal(size=D)  # the same shift for every case
    scale_one_case = np.ones((n, 1))
    scale_one_case[0] = 3.0
    return {
        "weight matrix re-scaling": (x, delta * W),
        "weight matrix re-centering": (x, W + shift_w),
        "weight vector re-scaling": (x, W * scale_one_unit),
        "dataset re-scaling": (delta * x, W),
        "dataset re-centering": (x + shift_x, W),
        "single case re-scaling": (x * scale_one_case, W),
    }


@dataclass
class InvarianceTable:
    """Relative change of the normalized summed inputs under each transformation.

    ``changes[method][transform] = max|h' − h| / max|h|``; ``tol`` separates "invariant" (rounding
    and ε only) from "no".
    """

    changes: dict
    tol: float

    def invariant(self, method: str) -> tuple:
        return tuple(bool(self.changes[method][t] < self.tol) for t in INVARIANCE_TRANSFORMS)

    def agreement_with_paper(self) -> tuple[int, int]:
        """``(cells that agree with Ba et al. Table 1, cells compared)``."""
        agree = total = 0
        for method, paper in BA2016_TABLE1.items():
            if method in self.changes:
                ours = self.invariant(method)
                agree += sum(a == b for a, b in zip(ours, paper, strict=True))
                total += len(paper)
        return agree, total

    def to_text(self) -> str:
        """Fixed-width table: "invariant", or "no (…)" with the relative change to 2 decimals."""
        short = ("W re-scale", "W re-center", "w_i re-scale", "x re-scale", "x re-center", "x_n re-scale")
        width = 13
        lines = [f"{'':12s}" + "".join(f"{s:>{width}s}" for s in short)]
        for method, row in self.changes.items():
            cells = []
            for t in INVARIANCE_TRANSFORMS:
                change = row[t]
                cells.append("invariant" if change < self.tol else f"no ({change:.2f})")
            lines.append(f"{method:12s}" + "".join(f"{c:>{width}s}" for c in cells))
        return "\n".join(lines)


def invariance_table(
    methods=("batch norm", "weight norm", "layer norm"),
    n: int = 16,
    d_in: int = 10,
    n_units: int = 8,
    seed: int = 0,
    eps: float = 1e-12,
    tol: float = 1e-6,
) -> InvarianceTable:
    """Compute Ba et al. (2016) Table 1 numerically.

    For a seeded batch ``x`` (n, d_in) and weights ``W`` (d_in, n_units), each transformation of
    :data:`INVARIANCE_TRANSFORMS` is applied and the normalized summed inputs (γ = 1, β = 0, no bias,
    as in the paper's analysis) are compared with the untransformed ones. Weight norm normalizes the
    weight vectors (``w = v/‖v‖``), the others the summed inputs ``a = x @ W``.

    Parameters
    ----------
    methods : sequence of {"batch norm", "weight norm", "layer norm", "rms norm"}
    n, d_in, n_units : int
        Batch size, input size, number of units (each ≥ 2).
    seed : int
    eps : float
        ε of the normalizations; tiny, so that "invariant" means invariant up to rounding.
    tol : float
        Relative change below which a transformation counts as "invariant".

    Returns
    -------
    InvarianceTable
    """
    where = "invariance_table"
    for name, value in (("n", n), ("d_in", d_in), ("n_units", n_units)):
        if check_positive_int(value, name, where) < 2:
            raise ValueError(f"{where}: {name} must be >= 2, got {value}")
    eps = check_positive(eps, "eps", where)
    tol = check_positive(tol, "tol", where)
    known = ("batch norm", "weight norm", "layer norm", "rms norm")
    for method in methods:
        if method not in known:
            raise ValueError(f"{where}: methods must be among {known}, got {method!r}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d_in))
    W = rng.normal(size=(d_in, n_units))
    transformed = _transforms(x, W, rng)
    changes = {}
    for method in methods:
        base = _normalized_units(method, x, W, eps)
        scale = np.abs(base).max()
        changes[method] = {
            t: float(np.abs(_normalized_units(method, x2, W2, eps) - base).max() / scale)
            for t, (x2, W2) in transformed.items()
        }
    return InvarianceTable(changes=changes, tol=tol)


# ----------------------------------------------------------------------------------------------
# Batch-size experiment
# ----------------------------------------------------------------------------------------------
def _norm_layers(model: MLP):
    return [model.layers[i] for i in model.norm_indices]


def accuracy_with_batch_statistics(model: MLP, X, y, batch_size: int, seed: int = 0) -> float:
    """Accuracy of ``model`` in *training* mode, i.e. normalizing with the statistics of mini-batches
    of ``batch_size`` examples (the way it saw its inputs during training).

    The running statistics (and Batch Renorm's last r, d) are saved and restored, so the model is
    unchanged afterwards. For LayerNorm/GroupNorm nets this equals the eval-mode accuracy. The last
    ``len(X) % batch_size`` examples are dropped, as in training.
    """
    where = "accuracy_with_batch_statistics"
    check_model(model, where)
    X, y = check_X_y(X, y, where, n_features=model.layer_sizes[0])
    batch_size = check_positive_int(batch_size, "batch_size", where)
    if batch_size > X.shape[0]:
        raise ValueError(f"{where}: batch_size={batch_size} exceeds the {X.shape[0]} examples")
    order = np.random.default_rng(seed).permutation(X.shape[0])
    n_used = (X.shape[0] // batch_size) * batch_size
    correct = 0
    # the evaluation passes run in training mode: keep the model's running statistics and caches as they were
    with L.kept_state(_norm_layers(model)), single_blas_thread():  # one BLAS thread for the many tiny passes
        for start in range(0, n_used, batch_size):
            idx = order[start : start + batch_size]
            correct += int(np.sum(model.forward(X[idx], training=True).argmax(axis=1) == y[idx]))
    return correct / n_used


def renorm_limits(
    step: int,
    total_steps: int,
    warmup: float = 0.1,
    ramp: float = 0.4,
    r_max: float = 3.0,
    d_max: float = 5.0,
) -> tuple[float, float]:
    """The r_max/d_max schedule of Ioffe (2017), scaled to ``total_steps``.

    Plain batch norm (r_max = 1, d_max = 0) for the first ``warmup`` fraction of the steps, then both
    limits grow linearly to ``r_max`` and ``d_max`` over the next ``ramp`` fraction, and stay there.
    """
    where = "renorm_limits"
    total_steps = check_positive_int(total_steps, "total_steps", where)
    warmup = check_in_range(warmup, "warmup", where, 0.0, 1.0)
    ramp = check_in_range(ramp, "ramp", where, 0.0, 1.0)
    r_max = check_in_range(r_max, "r_max", where, 1.0, np.inf)
    d_max = check_in_range(d_max, "d_max", where, 0.0, np.inf)
    t = step / total_steps
    if t < warmup:
        frac = 0.0
    elif ramp == 0 or t >= warmup + ramp:
        frac = 1.0
    else:
        frac = (t - warmup) / ramp
    return 1.0 + frac * (r_max - 1.0), frac * d_max


class RenormSchedule(Hook):
    """Hook that sets every BatchRenorm layer's ``r_max`` and ``d_max`` for the *next* step from
    :func:`renorm_limits` (hooks run after the backward pass of step ``t``, before step ``t + 1``).
    Build the model with the step-0 limits (``renorm_limits(0, …)``)."""

    def __init__(
        self, total_steps: int, warmup: float = 0.1, ramp: float = 0.4, r_max: float = 3.0, d_max: float = 5.0
    ):
        super().__init__(every=1)
        self.kwargs = dict(total_steps=total_steps, warmup=warmup, ramp=ramp, r_max=r_max, d_max=d_max)
        renorm_limits(0, **self.kwargs)  # validate now

    def record(self, step, model):
        r_max, d_max = renorm_limits(step + 1, **self.kwargs)
        for layer in _norm_layers(model):
            if isinstance(layer, L.BatchRenorm):
                layer.r_max, layer.d_max = r_max, d_max


class RenormTraceHook(Hook):
    """Record, at every step, Batch Renorm's r and d of one layer — both the clipped values used and the
    raw ones :math:`\\sigma_B/\\sigma` and :math:`(\\mu_B-\\mu)/\\sigma` before clipping — and the limits.

    Attributes (after training; arrays of shape (steps, C) or (steps,))
    ----------
    r, d : clipped corrections used in the forward pass
    r_raw, d_raw : the same before clipping (computed from the running statistics *before* the step's update)
    r_max, d_max : limits in force at each step

    Put this hook *before* a :class:`RenormSchedule` in ``hooks``: it reads the layer's current limits,
    which a schedule that has already run would have moved on to the next step's.
    """

    def __init__(self, layer_index: int):
        super().__init__(every=1)
        self.layer_index = int(layer_index)
        self._rows: list = []
        self._running = None  # running statistics in force for the coming step

    def record(self, step, model):
        layer = model.layers[self.layer_index]
        if not isinstance(layer, L.BatchRenorm):
            raise TypeError(
                f"RenormTraceHook: layer {self.layer_index} is {type(layer).__name__}, not BatchRenorm"
            )
        mode, cache = layer.last_cache
        if self._running is None:  # step 0 used the initial statistics
            self._running = (np.zeros(layer.num_features), np.ones(layer.num_features))
        run_mean, run_var = self._running
        sigma = np.sqrt(run_var + layer.eps)
        r_raw = np.sqrt(cache.batch_var + layer.eps) / sigma
        d_raw = (cache.batch_mean - run_mean) / sigma
        self._rows.append((cache.r.copy(), cache.d.copy(), r_raw, d_raw, layer.r_max, layer.d_max))
        self._running = (layer.running_mean.copy(), layer.running_var.copy())

    def _stack(self, k):
        return np.array([row[k] for row in self._rows])

    r = property(lambda self: self._stack(0))
    d = property(lambda self: self._stack(1))
    r_raw = property(lambda self: self._stack(2))
    d_raw = property(lambda self: self._stack(3))
    r_max = property(lambda self: self._stack(4))
    d_max = property(lambda self: self._stack(5))


def clip_renorm(r_raw, d_raw, r_max: float, d_max: float):
    """Batch Renorm's clip: ``r`` into ``[1/r_max, r_max]``, ``d`` into ``[−d_max, d_max]``."""
    where = "clip_renorm"
    r_raw = as_real_array(r_raw, "r_raw", where)
    d_raw = as_real_array(d_raw, "d_raw", where)
    r_max = check_in_range(r_max, "r_max", where, 1.0, np.inf)
    d_max = check_in_range(d_max, "d_max", where, 0.0, np.inf)
    return np.clip(r_raw, 1.0 / r_max, r_max), np.clip(d_raw, -d_max, d_max)


@dataclass
class BatchSizeResult:
    """Output of :func:`run_batch_size_experiment`; arrays have shape (methods, batch sizes, seeds, ...).

    ``weight_change[i, j, k, l]`` is ``‖W_end − W_start‖ / ‖W_start‖`` (Frobenius norms) of the l-th
    Linear layer of that run: how far training moved its weights from their random initial values.
    ``grad_norms[(method, batch_size, seed)]`` holds ‖∂L/∂W‖ of every Linear layer at every step,
    shape (steps, Linear layers).
    """

    methods: tuple
    batch_sizes: tuple
    seeds: tuple
    test_accuracy: np.ndarray  # eval mode (running statistics for BN / Batch Renorm)
    batch_stat_accuracy: np.ndarray  # same test images, normalized with mini-batch statistics
    weight_change: np.ndarray  # shape (methods, batch sizes, seeds, Linear layers)
    grad_norms: dict  # (method, batch size, seed) -> ndarray (steps, Linear layers)
    steps: dict  # batch size -> SGD steps
    lrs: dict  # batch size -> learning rate
    seconds: float
    settings: dict = field(default_factory=dict)

    def mean_std(self, which: str = "test_accuracy"):
        """Mean and sample standard deviation (``ddof=1``; 0 for a single seed) over the seeds."""
        values = getattr(self, which)
        std = values.std(axis=2, ddof=1) if len(self.seeds) > 1 else np.zeros_like(values.mean(axis=2))
        return values.mean(axis=2), std

    def gradient_stats(self, method: str, batch_size: int, layer: int = 0, top: float = 0.01) -> dict:
        """Per-seed statistics of ‖∂L/∂W‖ of Linear layer ``layer`` over the steps of each run.

        Returns a dict of arrays of shape (seeds,): ``median`` and ``max`` of the per-step gradient norm,
        ``top_share`` — the share of the summed squared gradient norm carried by the largest ``top``
        fraction of the steps (at least one step; about ``top`` when the gradient is steady, close to 1
        when a few spikes dominate) — and ``weight_change`` (see the class docstring).
        """
        where = "BatchSizeResult.gradient_stats"
        check_one_of(method, "method", where, self.methods)
        check_one_of(batch_size, "batch_size", where, self.batch_sizes)
        n_layers = self.weight_change.shape[-1]
        if not (isinstance(layer, int | np.integer) and 0 <= layer < n_layers):
            raise ValueError(f"{where}: layer must be an int in [0, {n_layers}), got {layer!r}")
        top = check_in_range(top, "top", where, 0.0, 1.0)
        median, largest, share = [], [], []
        for seed in self.seeds:
            g = self.grad_norms[(method, batch_size, seed)][:, layer]
            squares = np.sort(g**2)[::-1]
            k = max(1, int(round(top * len(g))))
            median.append(np.median(g))
            largest.append(g.max())
            share.append(squares[:k].sum() / squares.sum())
        i, j = self.methods.index(method), self.batch_sizes.index(batch_size)
        return {
            "median": np.array(median),
            "max": np.array(largest),
            "top_share": np.array(share),
            "weight_change": self.weight_change[i, j, :, layer].copy(),
        }

    def to_text(self, which: str = "test_accuracy") -> str:
        """Table of mean ± sample std (over seeds) in percent, one row per method."""
        mean, std = self.mean_std(which)
        head = f"{'batch size':12s}" + "".join(f"{b:>14d}" for b in self.batch_sizes)
        lines = [head]
        for i, method in enumerate(self.methods):
            cells = "".join(
                f"{100 * mean[i, j]:>8.0f} ± {100 * std[i, j]:<3.0f}" for j in range(len(self.batch_sizes))
            )
            lines.append(f"{method:12s}{cells}")
        return "\n".join(lines)


def _check_sweep_args(X, y, X_test, y_test, examples, lr_per_example, batch_sizes, seeds, methods, where):
    """The arguments shared by :func:`run_batch_size_experiment` and :func:`batch_size_sweep`, checked."""
    X, y = check_X_y(X, y, where)
    X_test, y_test = check_X_y(X_test, y_test, where, n_features=X.shape[1], names=("X_test", "y_test"))
    examples = check_positive_int(examples, "examples", where)
    lr_per_example = check_positive(lr_per_example, "lr_per_example", where)
    batch_sizes = tuple(check_positive_int(b, "batch_sizes[i]", where) for b in batch_sizes)
    seeds = tuple(int(s) for s in seeds)
    methods = tuple(methods)
    if not methods or not batch_sizes or not seeds:
        raise ValueError(f"{where}: methods, batch_sizes and seeds must not be empty")
    for b in batch_sizes:
        if b < 2 or b > X.shape[0] or examples // b < 1:
            raise ValueError(
                f"{where}: each batch size must be in [2, {X.shape[0]}] and <= examples, got {b}"
            )
    return X, y, X_test, y_test, examples, lr_per_example, batch_sizes, seeds, methods


def run_batch_size_experiment(
    X,
    y,
    X_test,
    y_test,
    methods=("batch", "layer", "group", "renorm"),
    batch_sizes=(2, 4, 8, 32),
    seeds=(0, 1, 2),
    hidden=(32, 32),
    examples: int = 1344,
    lr_per_example: float = 0.0125,
    activation: str = "relu",
    num_groups: int = 4,
    renorm_warmup: float = 0.1,
    renorm_ramp: float = 0.4,
    r_max: float = 3.0,
    d_max: float = 5.0,
    bn_momentum: float = 0.1,
) -> BatchSizeResult:
    """Train one MLP per (method, batch size, seed) on the same number of examples and test it.

    Follows the protocol of Wu & He (2018, Fig. 1) at toy scale: every run sees ``examples`` training
    examples (so a smaller batch takes more steps), with the learning rate scaled linearly with the batch
    size (``lr = lr_per_example · batch_size``). Batch Renorm uses :class:`RenormSchedule`.
    Besides the test accuracy (eval and training mode) it records, for every run, the gradient norm of
    each Linear layer at every step and how far each layer's weights moved (see :class:`BatchSizeResult`).

    Parameters
    ----------
    X, y, X_test, y_test : training and test data (digits)
    methods : sequence of {"batch", "layer", "group", "renorm", "none"}
    batch_sizes, seeds : sequences of int
    hidden : sequence of int
        Hidden widths; the net is ``[D, *hidden, n_classes]``.
    examples : int
        Training examples seen by every run (``examples // batch_size`` steps).
    lr_per_example : float
    activation : str
    num_groups : int
        GroupNorm groups (must divide every hidden width).
    renorm_warmup, renorm_ramp, r_max, d_max : Batch Renorm schedule (see :func:`renorm_limits`).
    bn_momentum : float
        PyTorch-convention momentum of the running statistics (BN and Batch Renorm), passed to
        ``MLP(bn_momentum=...)``; SGD itself runs without momentum.

    Returns
    -------
    BatchSizeResult
    """
    where = "run_batch_size_experiment"
    X, y, X_test, y_test, examples, lr_per_example, batch_sizes, seeds, methods = _check_sweep_args(
        X, y, X_test, y_test, examples, lr_per_example, batch_sizes, seeds, methods, where
    )
    n_classes = int(max(y.max(), y_test.max())) + 1
    settings = dict(
        layer_sizes=[X.shape[1], *[int(h) for h in hidden], n_classes],
        examples=examples,
        lr_per_example=lr_per_example,
        activation=activation,
        num_groups=num_groups,
        renorm_warmup=renorm_warmup,
        renorm_ramp=renorm_ramp,
        r_max=r_max,
        d_max=d_max,
        bn_momentum=bn_momentum,
    )
    steps = {b: examples // b for b in batch_sizes}
    lrs = {b: lr_per_example * b for b in batch_sizes}
    start = time.perf_counter()
    keys = [(method, b, seed) for method in methods for b in batch_sizes for seed in seeds]
    runs = [_batch_size_run(m, b, s, steps[b], lrs[b], settings, (X, y, X_test, y_test)) for m, b, s in keys]
    seconds = time.perf_counter() - start
    shape = (len(methods), len(batch_sizes), len(seeds))
    return BatchSizeResult(
        methods=methods,
        batch_sizes=batch_sizes,
        seeds=seeds,
        test_accuracy=np.array([run.test_accuracy for run in runs]).reshape(shape),
        batch_stat_accuracy=np.array([run.batch_stat_accuracy for run in runs]).reshape(shape),
        weight_change=np.array([run.weight_change for run in runs]).reshape(shape + (-1,)),
        grad_norms={key: run.grad_norms for key, run in zip(keys, runs, strict=True)},
        steps=steps,
        lrs=lrs,
        seconds=seconds,
        settings=settings,
    )


@dataclass(frozen=True)
class _BatchSizeRun:
    """What :func:`run_batch_size_experiment` keeps of one (method, batch size, seed) run."""

    test_accuracy: float
    batch_stat_accuracy: float
    weight_change: list
    grad_norms: np.ndarray


def _batch_size_model(method, seed, total_steps, settings):
    """The MLP of one run and its hooks: a gradient-norm recorder, plus Batch Renorm's schedule."""
    grad_hook = GradNormHook()
    hooks = [grad_hook]
    r0, d0 = settings["r_max"], settings["d_max"]
    if method == "renorm":
        schedule = RenormSchedule(
            total_steps,
            settings["renorm_warmup"],
            settings["renorm_ramp"],
            settings["r_max"],
            settings["d_max"],
        )
        hooks.append(schedule)
        r0, d0 = renorm_limits(0, **schedule.kwargs)
    model = MLP(
        settings["layer_sizes"],
        activation=settings["activation"],
        normalization=method,
        seed=seed,
        num_groups=settings["num_groups"],
        r_max=r0,
        d_max=d0,
        bn_momentum=settings["bn_momentum"],
    )
    return model, hooks, grad_hook


def _batch_size_run(method, batch_size, seed, steps, lr, settings, data) -> _BatchSizeRun:
    """Train one run of :func:`run_batch_size_experiment` and measure it: test accuracy (eval mode and
    with batch statistics), the relative change of each Linear layer's weights, the gradient norms."""
    X, y, X_test, y_test = data
    model, hooks, grad_hook = _batch_size_model(method, seed, steps, settings)
    linears = [model.layers[i] for i in model.linear_indices]
    initial = [layer.W.copy() for layer in linears]
    history = train(
        model,
        X,
        y,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        hooks=hooks,
        X_test=X_test,
        y_test=y_test,
    )
    test_acc = history.final_test_accuracy
    if history.diverged:
        batch_acc = 1.0 / settings["layer_sizes"][-1]
    elif method in ("batch", "renorm"):
        batch_acc = accuracy_with_batch_statistics(model, X_test, y_test, batch_size, seed)
    else:
        batch_acc = test_acc
    weight_change = [
        np.linalg.norm(layer.W - w0) / np.linalg.norm(w0) for layer, w0 in zip(linears, initial, strict=True)
    ]
    return _BatchSizeRun(test_acc, batch_acc, weight_change, grad_hook.values)


# ----------------------------------------------------------------------------------------------
# The same protocol, many seeds at once (no hooks): the notebook's core experiment
# ----------------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """Output of :func:`batch_size_sweep`.

    ``test_accuracy[i, j, k]`` is the eval-mode test accuracy of ``methods[i]`` at ``batch_sizes[j]``
    for ``seeds[k]``; ``runs[(method, batch_size)]`` is the :class:`~course_utils.batched.SeedRuns` of
    that cell (``.model(k)`` gives a trained network).
    """

    methods: tuple
    batch_sizes: tuple
    seeds: tuple
    test_accuracy: np.ndarray
    steps: dict
    lrs: dict
    runs: dict = field(repr=False)
    settings: dict = field(default_factory=dict)

    def accuracy(self, method: str, batch_size: int) -> np.ndarray:
        """Eval-mode test accuracy of every seed, shape (seeds,)."""
        where = "SweepResult.accuracy"
        check_one_of(method, "method", where, self.methods)
        check_one_of(batch_size, "batch_size", where, self.batch_sizes)
        return self.test_accuracy[self.methods.index(method), self.batch_sizes.index(batch_size)].copy()

    def mean_std(self):
        """Mean and sample standard deviation (``ddof=1``) over the seeds, shape (methods, batch sizes)."""
        std = (
            self.test_accuracy.std(axis=2, ddof=1) if len(self.seeds) > 1 else 0 * self.test_accuracy[..., 0]
        )
        return self.test_accuracy.mean(axis=2), std

    def batch_stat_accuracy(self, method: str, batch_size: int, X_test, y_test) -> np.ndarray:
        """Per seed: the same test images classified in *training* mode (statistics of mini-batches of
        ``batch_size``), with :func:`accuracy_with_batch_statistics`; shape (seeds,)."""
        self.accuracy(method, batch_size)  # validates
        runs = self.runs[(method, batch_size)]
        return np.array(
            [
                accuracy_with_batch_statistics(runs.model(k), X_test, y_test, batch_size, seed)
                for k, seed in enumerate(self.seeds)
            ]
        )

    def to_text(self) -> str:
        """Table of mean ± sample std (over seeds) in percent, one row per method."""
        mean, std = self.mean_std()
        lines = [f"{'batch size':12s}" + "".join(f"{b:>14d}" for b in self.batch_sizes)]
        for i, method in enumerate(self.methods):
            cells = "".join(
                f"{100 * mean[i, j]:>8.0f} ± {100 * std[i, j]:<3.0f}" for j in range(len(self.batch_sizes))
            )
            lines.append(f"{method:12s}{cells}")
        return "\n".join(lines)


def _limits_at(step, total_steps, warmup, ramp, r_max, d_max):
    """:func:`renorm_limits` with the step first (a picklable ``renorm_schedule`` for train_seeds)."""
    return renorm_limits(step, total_steps, warmup, ramp, r_max, d_max)


def batch_size_sweep(
    X,
    y,
    X_test,
    y_test,
    methods=("batch", "layer", "group"),
    batch_sizes=(2, 4, 8, 32),
    seeds=tuple(range(20)),
    hidden=(32, 32),
    examples: int = 1344,
    lr_per_example: float = 0.0125,
    activation: str = "relu",
    num_groups: int = 4,
    bn_momentum: float = 0.1,
    renorm_warmup: float = 0.1,
    renorm_ramp: float = 0.4,
    r_max: float = 3.0,
    d_max: float = 5.0,
) -> SweepResult:
    """The protocol of :func:`run_batch_size_experiment` (Wu & He 2018, Fig. 1 at toy scale), all seeds
    of a (method, batch size) cell trained at once with :func:`course_utils.batched.train_seeds`.

    Every run sees ``examples`` training examples (``examples // batch_size`` SGD steps) with
    ``lr = lr_per_example · batch_size``; seed ``s`` sets the initial weights and the batch order, so
    the same seed is the same starting point for every method (paired comparisons). The numbers equal
    those of :func:`run_batch_size_experiment` for the same settings and seeds (``tests/test_alternatives.py``).
    Batch Renorm (``"renorm"``) gets the r_max/d_max warm-up of :func:`renorm_limits` through
    ``train_seeds(renorm_schedule=...)``, exactly as :class:`RenormSchedule` does in
    :func:`run_batch_size_experiment`. The per-step gradient norms still need :func:`run_batch_size_experiment`.

    Returns
    -------
    SweepResult
    """
    where = "batch_size_sweep"
    X, y, X_test, y_test, examples, lr_per_example, batch_sizes, seeds, methods = _check_sweep_args(
        X, y, X_test, y_test, examples, lr_per_example, batch_sizes, seeds, methods, where
    )
    for method in methods:
        check_one_of(method, "methods[i]", where, ("batch", "layer", "group", "renorm", "none"))
    n_classes = int(max(y.max(), y_test.max())) + 1
    layer_sizes = [X.shape[1], *[int(h) for h in hidden], n_classes]
    steps = {b: examples // b for b in batch_sizes}
    lrs = {b: lr_per_example * b for b in batch_sizes}
    schedule = dict(warmup=renorm_warmup, ramp=renorm_ramp, r_max=r_max, d_max=d_max)
    for b in batch_sizes:
        renorm_limits(0, steps[b], **schedule)  # validates the schedule
    runs = {}
    for method in methods:
        for b in batch_sizes:
            extra = {}
            if method == "renorm":
                extra = dict(
                    r_max=r_max,
                    d_max=d_max,
                    renorm_schedule=functools.partial(_limits_at, total_steps=steps[b], **schedule),
                )
            runs[(method, b)] = train_seeds(
                layer_sizes,
                seeds,
                X,
                y,
                steps=steps[b],
                batch_size=b,
                lr=lrs[b],
                activation=activation,
                normalization=method,
                num_groups=num_groups,
                bn_momentum=bn_momentum,
                X_test=X_test,
                y_test=y_test,
                **extra,
            )
    accuracy = np.array([[runs[(m, b)].final_test_accuracy for b in batch_sizes] for m in methods])
    settings = dict(
        layer_sizes=layer_sizes,
        examples=examples,
        lr_per_example=lr_per_example,
        activation=activation,
        num_groups=num_groups,
        bn_momentum=bn_momentum,
        renorm_warmup=renorm_warmup,
        renorm_ramp=renorm_ramp,
        r_max=r_max,
        d_max=d_max,
    )
    return SweepResult(methods, batch_sizes, seeds, accuracy, steps, lrs, runs, settings)
