r"""Internal covariate shift: Ioffe & Szegedy's picture and Santurkar et al.'s measurement (notebook 04).

* :class:`ProbeInputHook` records the input of one layer on a fixed probe set during training (the
  data behind Ioffe & Szegedy 2015, Fig. 1 b–c: percentiles of a sigmoid's input over training).
* :func:`ics_measurement` is Santurkar et al. 2018, Definition 2.1: for layer *i* at step *t*,
  :math:`G = \nabla_{W_i} L(W_1^t, \dots, W_k^t; x^t, y^t)` and
  :math:`G' = \nabla_{W_i} L(W_1^{t+1}, \dots, W_{i-1}^{t+1}, W_i^t, \dots, W_k^t; x^t, y^t)` — the
  same batch, after only the *earlier* layers took their SGD step. ICS is :math:`\lVert G - G' \rVert_2`
  (we also report :math:`\cos(G, G')`). :class:`ICSHook` measures it during
  :func:`~course_utils.training.train`.
* :class:`NoisyBatchNorm` is BatchNorm followed by a random per-unit scale and shift that change at
  every training step (Santurkar et al. §2.1, "noisy BatchNorm"): the distribution of every unit's
  output is deliberately non-stationary. :func:`noisy_batchnorm_mlp` puts it into an MLP.
* :func:`run_experiment` trains one network with all of these diagnostics attached.

Measurements work on deep copies of the model, so they never change the training run they observe
(running statistics, caches and the noise of the current step are left as they were).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

import numpy as np

from . import layers as L
from ._validate import as_real_array, check_in_range, check_positive, check_positive_int
from .data import iterate_minibatches
from .saturation import single_blas_thread
from .training import MLP, Hook, softmax_cross_entropy, train

__all__ = ["NoisyBatchNorm", "noisy_batchnorm_mlp", "frozen_noise", "weight_gradient", "ics_measurement",
           "ICSHook", "ProbeInputHook", "RunRecord", "run_experiment", "percentile_traces",
           "median_drift"]


class NoisyBatchNorm(L.BatchNorm):
    r"""BatchNorm whose output is rescaled and shifted by fresh random numbers at every training step.

    In training mode ``y = scale ⊙ BN(x) + shift`` with, for every unit j and every forward pass,
    ``scale_j ~ U(1, scale_max)`` and ``shift_j ~ U(−shift_max, shift_max)`` (the same for every example
    of the batch, so the *distribution* of unit j moves from step to step: a non-zero mean and a
    non-unit variance that change at each step, as in Santurkar et al. 2018, §2.1). In eval mode
    the noise is replaced by its expectation (scale (1 + scale_max)/2, shift 0).

    Parameters
    ----------
    num_features : int
    shift_max : float ≥ 0, default 1.0
    scale_max : float ≥ 1, default 2.0
    rng : numpy.random.Generator, optional
        Source of the noise (seed it for reproducibility).
    momentum, eps : float
        As :class:`~course_utils.layers.BatchNorm`.

    Attributes
    ----------
    frozen : bool
        While True, training-mode passes reuse the current noise instead of drawing new noise (used
        by measurements that must replay a step exactly; see :func:`frozen_noise`).
    noise_scale, noise_shift : ndarray, shape (num_features,)
        The noise of the current step.
    """

    def __init__(self, num_features: int, shift_max: float = 1.0, scale_max: float = 2.0, rng=None,
                 momentum: float = 0.1, eps: float = 1e-5):
        super().__init__(num_features, momentum=momentum, eps=eps)
        where = "NoisyBatchNorm"
        self.shift_max = check_in_range(shift_max, "shift_max", where, 0.0, np.inf)
        self.scale_max = check_in_range(scale_max, "scale_max", where, 1.0, np.inf)
        self.rng = np.random.default_rng(0) if rng is None else rng
        self.frozen = False
        self.noise_scale = np.ones(num_features)
        self.noise_shift = np.zeros(num_features)

    def resample(self):
        """Draw the noise for a new step."""
        C = self.num_features
        self.noise_scale = self.rng.uniform(1.0, self.scale_max, C)
        self.noise_shift = self.rng.uniform(-self.shift_max, self.shift_max, C)

    def forward(self, x, training: bool = True):
        out = super().forward(x, training=training)
        if training:
            if not self.frozen:
                self.resample()
            scale, shift = self.noise_scale, self.noise_shift
        else:
            scale, shift = np.full(self.num_features, (1.0 + self.scale_max) / 2), 0.0
        self._noise_used = scale
        return out * scale + shift

    def backward(self, dout):
        return super().backward(dout * self._noise_used)

    def __repr__(self):
        return f"NoisyBatchNorm({self.num_features}, shift_max={self.shift_max}, scale_max={self.scale_max})"


def noisy_batchnorm_mlp(layer_sizes, activation: str = "sigmoid", shift_max: float = 1.0,
                        scale_max: float = 2.0, seed: int = 0, noise_seed: int | None = None,
                        **mlp_kwargs) -> MLP:
    """An :class:`~course_utils.training.MLP` with BatchNorm whose BN layers are :class:`NoisyBatchNorm`.

    The weights are the same as ``MLP(layer_sizes, activation, "batch", seed=seed, **mlp_kwargs)``;
    the noise comes from ``default_rng([noise_seed, k])`` for the k-th BN layer (``noise_seed``
    defaults to ``seed``).
    """
    model = MLP(layer_sizes, activation, "batch", seed=seed, **mlp_kwargs)
    noise_seed = seed if noise_seed is None else noise_seed
    for k, i in enumerate(model.norm_indices):
        bn = model.layers[i]
        model.layers[i] = NoisyBatchNorm(bn.num_features, shift_max=shift_max, scale_max=scale_max,
                                         rng=np.random.default_rng([noise_seed, k]), momentum=bn.momentum,
                                         eps=bn.eps)
    return model


@contextlib.contextmanager
def frozen_noise(model):
    """Inside the block, every :class:`NoisyBatchNorm` of ``model`` keeps its current noise."""
    noisy = [layer for layer in getattr(model, "layers", []) if isinstance(layer, NoisyBatchNorm)]
    before = [layer.frozen for layer in noisy]
    for layer in noisy:
        layer.frozen = True
    try:
        yield model
    finally:
        for layer, flag in zip(noisy, before, strict=True):
            layer.frozen = flag


def _check_model_layer(model, layer, where):
    if not isinstance(model, MLP):
        raise TypeError(f"{where}: model must be a course_utils.training.MLP, got {type(model).__name__}")
    n = len(model.linear_indices)
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not -n <= layer < n:
        raise ValueError(f"{where}: layer must be an integer index into the model's {n} Linear layers, "
                         f"got {layer!r}")
    return int(layer) % n


def _check_batch(model, x, y, where):
    x = as_real_array(x, "x", where)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != model.layer_sizes[0] or y.shape != (x.shape[0],):
        raise ValueError(f"{where}: x must be (N, {model.layer_sizes[0]}) and y (N,), "
                         f"got {x.shape} and {y.shape}")
    return x, y


def _with_gradients(model, x, y):
    """A deep copy of ``model`` after one training-mode forward/backward pass on (x, y).

    The copy replays the current step's noise (frozen); the original is untouched.
    """
    net = copy.deepcopy(model)
    with frozen_noise(net), np.errstate(over="ignore", under="ignore"):
        logits = net.forward(x, training=True)
        _, dlogits = softmax_cross_entropy(logits, y)
        net.backward(dlogits)
    return net


def weight_gradient(model, x, y, layer: int) -> np.ndarray:
    """∂L/∂W of the ``layer``-th Linear layer (0 = first) on the batch (x, y), computed on a copy.

    Training-mode pass (BatchNorm uses the batch's statistics); the model is not changed.
    """
    where = "weight_gradient"
    layer = _check_model_layer(model, layer, where)
    x, y = _check_batch(model, x, y, where)
    return _with_gradients(model, x, y).linears[layer].grads["W"].copy()


def ics_measurement(model, x, y, layer: int, lr: float) -> tuple[float, float]:
    r"""Santurkar et al.'s internal covariate shift of one layer at the current step.

    ``G`` is ∂L/∂W of Linear layer ``layer`` on (x, y) with the current parameters. Then every
    parameter of every layer *before* it (weights, biases, BN's γ and β) takes the plain SGD step
    ``θ ← θ − lr·∂L/∂θ`` computed in that same pass, and ``G'`` is ∂L/∂W of the (unchanged) layer on
    the same batch. The model itself is not changed.

    Parameters
    ----------
    model : MLP
    x : ndarray, shape (N, D_in);  y : ndarray of int, shape (N,)
    layer : int
        Index into ``model.linears`` (0 = first Linear; −1 = output layer).
    lr : float > 0
        The learning rate of the earlier layers' step.

    Returns
    -------
    l2 : float
        ‖G − G′‖ (Frobenius).
    cosine : float
        ⟨G, G′⟩ / (‖G‖ ‖G′‖) (1.0 if both are zero).
    """
    where = "ics_measurement"
    layer = _check_model_layer(model, layer, where)
    x, y = _check_batch(model, x, y, where)
    lr = check_positive(lr, "lr", where)
    with single_blas_thread():
        before = _with_gradients(model, x, y)
        G = before.linears[layer].grads["W"].copy()
        stop = before.linear_indices[layer]
        for earlier in before.layers[:stop]:
            for name, param in earlier.params.items():
                param -= lr * earlier.grads[name]
        G_new = _with_gradients(before, x, y).linears[layer].grads["W"]
    return float(np.linalg.norm(G - G_new)), _cosine(G, G_new)


def _cosine(a, b) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(np.vdot(a, b) / (na * nb))


class ICSHook(Hook):
    """Measure :func:`ics_measurement` during :func:`~course_utils.training.train` on its own batches.

    ``train`` calls hooks with the model only, so the hook replays ``train``'s mini-batch order
    (same ``X``, ``y``, ``batch_size`` and ``seed``) to know the labels of the current batch, and
    checks that the replayed inputs are the ones the model just saw.

    Attributes
    ----------
    l2, cosine, grad_norm : ndarray, shape (n_records, len(layers))
        ‖G − G′‖, cos(G, G′) and ‖G‖ at each recorded step (``steps``).
    """

    def __init__(self, X, y, batch_size: int, seed: int, lr: float, layers=(-1,), every: int = 1):
        super().__init__(every)
        where = "ICSHook"
        self.X = as_real_array(X, "X", where)
        self.y = np.asarray(y)
        self.lr = check_positive(lr, "lr", where)
        self.layers = tuple(int(k) for k in layers)
        self._batches = iterate_minibatches(self.X.shape[0], check_positive_int(batch_size, "batch_size",
                                                                                 where), seed=seed)
        self._l2, self._cos, self._norm = [], [], []

    def __call__(self, step, model):
        idx = next(self._batches)  # advance on every step to stay in sync with train()
        if step % self.every:
            return
        x = self.X[idx]
        if not np.array_equal(x, model.layer_inputs[0]):
            raise RuntimeError("ICSHook: replayed batch differs from the model's input; pass train() "
                               "the same X, batch_size and seed as the hook")
        self.steps.append(step)
        y = self.y[idx]
        row_l2, row_cos, row_norm = [], [], []
        for k in self.layers:
            l2, cos = ics_measurement(model, x, y, k, self.lr)
            row_l2.append(l2)
            row_cos.append(cos)
            row_norm.append(float(np.linalg.norm(model.linears[k].grads["W"])))
        self._l2.append(row_l2)
        self._cos.append(row_cos)
        self._norm.append(row_norm)

    @property
    def l2(self):
        return np.array(self._l2)

    @property
    def cosine(self):
        return np.array(self._cos)

    @property
    def grad_norm(self):
        return np.array(self._norm)


class ProbeInputHook(Hook):
    """Record the input of ``model.layers[layer_index]`` on a fixed probe set during training.

    The probe pass runs in training mode on a copy of the model, so BatchNorm normalizes with the
    probe set's own statistics (what the layer sees for a batch like the probe), running statistics
    stay untouched and a :class:`NoisyBatchNorm` applies the noise of the current step. (Eval mode
    would use running averages that lag behind early in training.)

    Attributes
    ----------
    values : ndarray, shape (n_records, n_probe, n_units), float32
    """

    def __init__(self, layer_index: int, X_probe, units=None, every: int = 1):
        super().__init__(every)
        self.layer_index = int(layer_index)
        self.X_probe = as_real_array(X_probe, "X_probe", "ProbeInputHook")
        self.units = units
        self._values = []

    def record(self, step, model):
        net = copy.deepcopy(model)
        with frozen_noise(net):
            net.forward(self.X_probe, training=True)
        x = net.layer_inputs[self.layer_index]
        if self.units is not None:
            x = x[:, self.units]
        self._values.append(np.asarray(x, dtype=np.float32).copy())

    @property
    def values(self):
        return np.array(self._values)


@dataclass
class RunRecord:
    """What :func:`run_experiment` measured for one network and seed."""

    kind: str
    seed: int
    loss: np.ndarray
    test_steps: np.ndarray
    test_accuracy: np.ndarray
    probe_steps: np.ndarray
    probe: np.ndarray          # (n_records, n_probe, n_units) sigmoid inputs of the last hidden layer
    ics_steps: np.ndarray
    ics_l2: np.ndarray         # (n_records, len(ics_layers))
    ics_cosine: np.ndarray
    ics_grad_norm: np.ndarray
    diverged: bool


def run_experiment(kind: str = "plain", seed: int = 0, hidden=(100, 100, 100), steps: int = 600,
                   batch_size: int = 60, lr: float = 0.5, eval_every: int = 25, probe_every: int = 25,
                   X_probe=None, ics_layers=(), ics_every: int = 50, shift_max: float = 1.0,
                   scale_max: float = 2.0, data=None) -> RunRecord:
    """Train a sigmoid MLP on digits and record test accuracy, a sigmoid's input and ICS.

    Parameters
    ----------
    kind : {"plain", "batchnorm", "noisy"}
        No normalization, BatchNorm before each sigmoid, or :class:`NoisyBatchNorm` there.
    seed : int
        Seeds the weights, the batch order and the noise.
    hidden : sequence of int
    steps, batch_size, lr : plain SGD settings.
    eval_every, probe_every, ics_every : int
        Recording periods (in steps).
    X_probe : ndarray, optional
        Probe set for the last hidden layer's sigmoid input (default: the first 300 test images).
    ics_layers : sequence of int
        Linear layers (indices into ``model.linears``) whose ICS is measured; empty = none.
    shift_max, scale_max : float
        Noise of the "noisy" network.
    data : tuple (X_train, X_test, y_train, y_test), optional
        Default: ``load_digits_split(seed=0)``.
    """
    where = "run_experiment"
    if kind not in ("plain", "batchnorm", "noisy"):
        raise ValueError(f"{where}: kind must be 'plain', 'batchnorm' or 'noisy', got {kind!r}")
    if data is None:
        from .data import load_digits_split

        data = load_digits_split(seed=0)
    X_tr, X_te, y_tr, y_te = data
    X_probe = X_te[:300] if X_probe is None else X_probe
    sizes = [X_tr.shape[1], *hidden, 10]
    if kind == "noisy":
        model = noisy_batchnorm_mlp(sizes, "sigmoid", shift_max=shift_max, scale_max=scale_max, seed=seed)
    else:
        model = MLP(sizes, "sigmoid", "none" if kind == "plain" else "batch", seed=seed)
    probe = ProbeInputHook(model.activation_indices[-1], X_probe, every=probe_every)
    hooks = [probe]
    ics = None
    if len(ics_layers):
        ics = ICSHook(X_tr, y_tr, batch_size, seed, lr, layers=ics_layers, every=ics_every)
        hooks.append(ics)
    with single_blas_thread():
        history = train(model, X_tr, y_tr, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                        hooks=hooks, X_test=X_te, y_test=y_te, eval_every=eval_every)
    empty = np.zeros((0, len(ics_layers)))
    return RunRecord(kind=kind, seed=seed, loss=history.loss, test_steps=history.test_steps,
                     test_accuracy=history.test_accuracy, probe_steps=np.array(probe.steps),
                     probe=probe.values, ics_steps=np.array(ics.steps if ics else []),
                     ics_l2=ics.l2 if ics else empty, ics_cosine=ics.cosine if ics else empty,
                     ics_grad_norm=ics.grad_norm if ics else empty, diverged=history.diverged)


def percentile_traces(probe, unit: int = 0, q=(15, 50, 85)) -> np.ndarray:
    """Percentiles of one unit's recorded input: shape (len(q), n_records).

    ``probe`` is ``ProbeInputHook.values`` / ``RunRecord.probe`` of shape (n_records, n_probe, n_units).
    """
    probe = as_real_array(probe, "probe", "percentile_traces")
    if probe.ndim != 3:
        raise ValueError(f"percentile_traces: probe must be (n_records, n_probe, n_units), got {probe.shape}")
    return np.percentile(probe[:, :, unit], q, axis=1)


def median_drift(probe, start: int = 0) -> float:
    """Mean over units of |Δ median| between consecutive records (from record ``start`` on).

    A one-number summary of how much a layer's input distribution moves from record to record, in
    the units of the sigmoid's input.
    """
    probe = as_real_array(probe, "probe", "median_drift")
    if probe.ndim != 3 or probe.shape[0] - start < 2:
        raise ValueError(f"median_drift: probe must be (n_records ≥ start + 2, n_probe, n_units), "
                         f"got {probe.shape} with start={start}")
    med = np.median(probe[start:], axis=1)          # (n_records, n_units)
    return float(np.mean(np.abs(np.diff(med, axis=0))))
