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
  every training step, optionally plus per-example noise (our version of Santurkar et al.'s §2.1
  "noisy BatchNorm"): the distribution of every unit's output is deliberately non-stationary.
  :func:`noisy_batchnorm_mlp` puts it into an MLP.
* :func:`run_experiment` trains one network with all of these diagnostics attached.
* :func:`covariate_shift_example` is the textbook (non-internal) case on a line: the rule
  ``P(Y | X)`` stays, the inputs ``P(X)`` move, and a model fitted on the old inputs fails on the new.

Measurements work on deep copies of the model, so they never change the training run they observe
(running statistics, caches and the noise of the current step are left as they were).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

import numpy as np

from . import layers as L
from ._validate import (
    as_real_array,
    check_in_range,
    check_index,
    check_model,
    check_one_of,
    check_positive,
    check_positive_int,
    check_X_y,
)
from .training import MLP, Hook, softmax_cross_entropy, train

__all__ = [
    "NoisyBatchNorm",
    "noisy_batchnorm_mlp",
    "add_noise",
    "frozen_noise",
    "with_gradients",
    "weight_gradient",
    "gradient_pair",
    "relative_gradient_change",
    "ics_measurement",
    "ICSHook",
    "ProbeInputHook",
    "RunRecord",
    "run_experiment",
    "percentile_traces",
    "median_drift",
    "run_seeds",
    "seed_summary",
    "CovariateShiftExample",
    "covariate_shift_example",
]


class NoisyBatchNorm(L.BatchNorm):
    r"""BatchNorm whose output is rescaled and shifted by fresh random numbers at every training step.

    In training mode ``y = scale ⊙ BN(x) + shift + per_example_std · ε`` where, at every forward pass
    and for every unit j, ``scale_j ~ U(1, scale_max)`` and ``shift_j ~ U(−shift_max, shift_max)``
    are shared by all examples of the batch, and ``ε`` holds i.i.d. standard normal numbers, one per
    example and unit. With ``per_example_std = 0`` (default) the noise is a random affine change of
    each unit that moves the *whole batch's* distribution from step to step (mean ``shift_j + β_j``,
    std ``scale_j·|γ_j|``) and destroys no information inside a batch. With ``per_example_std > 0``
    every example also gets its own perturbation, closer to Santurkar et al. 2018, §2.1, who perturb
    "each activation for each sample in the batch" with i.i.d. noise from a non-zero-mean,
    non-unit-variance distribution that changes at every step. In eval mode the noise is replaced by
    its expectation (scale (1 + scale_max)/2, shift 0, ε = 0).

    Parameters
    ----------
    num_features : int
    shift_max : float ≥ 0, default 1.0
    scale_max : float ≥ 1, default 2.0
    per_example_std : float ≥ 0, default 0.0
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
        The shared noise of the current step.
    noise_example : ndarray, shape of the last training batch, or None
        ``per_example_std · ε`` of the current step (None when ``per_example_std`` is 0).
    """

    def __init__(
        self,
        num_features: int,
        shift_max: float = 1.0,
        scale_max: float = 2.0,
        rng=None,
        momentum: float = 0.1,
        eps: float = 1e-5,
        per_example_std: float = 0.0,
    ):
        super().__init__(num_features, momentum=momentum, eps=eps)
        where = "NoisyBatchNorm"
        self.shift_max = check_in_range(shift_max, "shift_max", where, 0.0, np.inf)
        self.scale_max = check_in_range(scale_max, "scale_max", where, 1.0, np.inf)
        self.per_example_std = check_in_range(per_example_std, "per_example_std", where, 0.0, np.inf)
        self.rng = np.random.default_rng(0) if rng is None else rng
        self.frozen = False
        self.noise_scale = np.ones(num_features)
        self.noise_shift = np.zeros(num_features)
        self.noise_example = None

    def resample(self, shape=None):
        """Draw the noise for a new step (``shape``: the batch's shape, for the per-example part)."""
        C = self.num_features
        self.noise_scale = self.rng.uniform(1.0, self.scale_max, C)
        self.noise_shift = self.rng.uniform(-self.shift_max, self.shift_max, C)
        self.noise_example = None
        if self.per_example_std and shape is not None:
            self.noise_example = self.per_example_std * self.rng.standard_normal(shape)

    def forward(self, x, training: bool = True):
        out = super().forward(x, training=training)
        if training:
            if not self.frozen:
                self.resample(out.shape)
            elif self.noise_example is not None and self.noise_example.shape != out.shape:
                raise ValueError(
                    f"NoisyBatchNorm: frozen per-example noise has shape "
                    f"{self.noise_example.shape}, the batch {out.shape}"
                )
            scale = self.noise_scale
            y = out * scale + self.noise_shift
            if self.noise_example is not None:
                y = y + self.noise_example
        else:
            scale = np.full(self.num_features, (1.0 + self.scale_max) / 2)
            y = out * scale
        self._noise_used = scale
        return y

    def backward(self, dout):
        return super().backward(dout * self._noise_used)

    @staticmethod
    def batched_noise(layers, out, training: bool):
        """The noise of S networks at once, for :func:`~course_utils.batched.train_seeds`.

        ``layers`` are the S per-seed NoisyBatchNorm objects, ``out`` (S, N, C) their BatchNorm
        outputs. Every layer draws from its own generator exactly what :meth:`forward` draws, and the
        arithmetic is :meth:`forward`'s, so each seed's numbers equal a separate run's. Returns the
        noisy output and the scale (S, C) the backward pass multiplies by.
        """
        if training:
            for layer in layers:
                if not layer.frozen:
                    layer.resample(out.shape[1:])
            scale = np.stack([layer.noise_scale for layer in layers])
            y = out * scale[:, None, :] + np.stack([layer.noise_shift for layer in layers])[:, None, :]
            for k, layer in enumerate(layers):
                if layer.noise_example is not None:
                    y[k] = y[k] + layer.noise_example
        else:
            scale = np.stack([np.full(layer.num_features, (1.0 + layer.scale_max) / 2) for layer in layers])
            y = out * scale[:, None, :]
        for layer, used in zip(layers, scale, strict=True):
            layer._noise_used = used
        return y, scale

    def __repr__(self):
        extra = f", per_example_std={self.per_example_std}" if self.per_example_std else ""
        return (
            f"NoisyBatchNorm({self.num_features}, shift_max={self.shift_max}, "
            f"scale_max={self.scale_max}{extra})"
        )


def noisy_batchnorm_mlp(
    layer_sizes,
    activation: str = "sigmoid",
    shift_max: float = 1.0,
    scale_max: float = 2.0,
    seed: int = 0,
    noise_seed: int | None = None,
    per_example_std: float = 0.0,
    **mlp_kwargs,
) -> MLP:
    """An :class:`~course_utils.training.MLP` with BatchNorm whose BN layers are :class:`NoisyBatchNorm`.

    The weights are the same as ``MLP(layer_sizes, activation, "batch", seed=seed, **mlp_kwargs)``;
    the noise comes from ``default_rng([noise_seed, k])`` for the k-th BN layer (``noise_seed``
    defaults to ``seed``).
    """
    model = MLP(layer_sizes, activation, "batch", seed=seed, **mlp_kwargs)
    noise_seed = seed if noise_seed is None else noise_seed
    return add_noise(model, noise_seed, shift_max, scale_max, per_example_std)


def add_noise(model, noise_seed, shift_max, scale_max, per_example_std):
    """Replace every BatchNorm of ``model`` by a NoisyBatchNorm with the same parameters and running
    statistics; the k-th draws its noise from ``default_rng([noise_seed, k])``."""
    for k, i in enumerate(model.norm_indices):
        bn = model.layers[i]
        noisy = NoisyBatchNorm(
            bn.num_features,
            shift_max=shift_max,
            scale_max=scale_max,
            rng=np.random.default_rng([noise_seed, k]),
            momentum=bn.momentum,
            eps=bn.eps,
            per_example_std=per_example_std,
        )
        for name, value in bn.params.items():
            noisy.params[name][...] = value
        noisy.running_mean, noisy.running_var = bn.running_mean.copy(), bn.running_var.copy()
        noisy.num_batches_tracked = bn.num_batches_tracked
        model.layers[i] = noisy
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
    check_model(model, where)
    return check_index(layer, "layer", where, len(model.linear_indices), "Linear layers of the model")


def _check_batch(model, x, y, where):
    return check_X_y(x, y, where, n_features=model.layer_sizes[0], names=("x", "y"))


def _backprop(net, x, y):
    """One training-mode forward/backward pass of ``net`` on (x, y), replaying the current noise."""
    with frozen_noise(net), np.errstate(over="ignore", under="ignore"):
        logits = net.forward(x, training=True)
        _, dlogits = softmax_cross_entropy(logits, y)
        net.backward(dlogits)
    return net


def with_gradients(model, x, y):
    """A deep copy of ``model`` after one training-mode forward/backward pass on (x, y).

    The copy replays the current step's noise (frozen); the original is untouched.
    """
    return _backprop(copy.deepcopy(model), x, y)


def weight_gradient(model, x, y, layer: int) -> np.ndarray:
    """∂L/∂W of the ``layer``-th Linear layer (0 = first) on the batch (x, y), computed on a copy.

    Training-mode pass (BatchNorm uses the batch's statistics); the model is not changed.
    """
    where = "weight_gradient"
    layer = _check_model_layer(model, layer, where)
    x, y = _check_batch(model, x, y, where)
    return with_gradients(model, x, y).linears[layer].grads["W"].copy()


def gradient_pair(model, x, y, layer: int, lr: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``(G, G_new)`` of Santurkar et al.'s Definition 2.1 for Linear ``layer`` on the batch (x, y).

    ``G`` is ∂L/∂W of that layer at the current parameters; ``G_new`` the same gradient on the same
    batch after every parameter *before* the layer took the SGD step ``θ ← θ − lr·∂L/∂θ``.
    :func:`ics_measurement` returns ``‖G − G_new‖`` and ``cos(G, G_new)`` of this pair. The model is
    not changed.
    """
    where = "gradient_pair"
    layer = _check_model_layer(model, layer, where)
    x, y = _check_batch(model, x, y, where)
    lr = check_positive(lr, "lr", where)
    net = with_gradients(model, x, y)
    G = net.linears[layer].grads["W"].copy()
    _step_earlier_layers(net, layer, lr)
    return G, _backprop(net, x, y).linears[layer].grads["W"].copy()


def relative_gradient_change(G, G_new) -> float:
    r"""``‖G_new − G‖ / ‖G‖`` with the Frobenius norm (every entry counts once): how much of the
    gradient ``G`` changed. A relative ICS: 0 = unchanged, 1 = a change as large as the gradient itself.
    """
    where = "relative_gradient_change"
    G = as_real_array(G, "G", where)
    G_new = as_real_array(G_new, "G_new", where)
    if G.shape != G_new.shape:
        raise ValueError(f"{where}: G and G_new must have one shape, got {G.shape} and {G_new.shape}")
    norm = np.linalg.norm(G)
    if norm == 0:
        raise ValueError(f"{where}: G is zero, a relative change is undefined")
    return float(np.linalg.norm(G_new - G) / norm)


def ics_measurement(model, x, y, layer: int, lr: float) -> tuple[float, float]:
    r"""Santurkar et al.'s internal covariate shift of one layer at the current step.

    ``G`` is ∂L/∂W of Linear layer ``layer`` on (x, y) with the current parameters. Then every
    parameter of every layer *before* it (weights, biases, BN's γ and β) takes the plain SGD step
    ``θ ← θ − lr·∂L/∂θ`` computed in that same pass, and ``G'`` is ∂L/∂W of the (unchanged) layer on
    the same batch. The model itself is not changed (the work happens on one deep copy).

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
    return _ics_from_fresh_gradients(with_gradients(model, x, y), x, y, layer, lr, copy_model=False)


def _ics_from_fresh_gradients(model, x, y, layer, lr, copy_model=True):
    """ICS of Linear ``layer`` when ``model.grads`` already hold the gradients of this step's pass on
    (x, y) — as inside a training hook. Then G is that gradient and only G' needs a new pass (on a
    copy unless ``copy_model`` is False)."""
    G = model.linears[layer].grads["W"].copy()
    net = copy.deepcopy(model) if copy_model else model
    _step_earlier_layers(net, layer, lr)
    G_new = _backprop(net, x, y).linears[layer].grads["W"]
    return float(np.linalg.norm(G - G_new)), _cosine(G, G_new)


def _step_earlier_layers(net, layer, lr):
    """The SGD step of every parameter before Linear ``layer``, with the gradients ``net`` holds."""
    for earlier in net.layers[: net.linear_indices[layer]]:
        for name, param in earlier.params.items():
            param -= lr * earlier.grads[name]


def _cosine(a, b) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(np.vdot(a, b) / (na * nb))


class ICSHook(Hook):
    """Measure :func:`ics_measurement` during :func:`~course_utils.training.train` on its own batches.

    ``train`` sets ``model.last_batch = (xb, yb)`` before calling the hooks, so the measurement uses
    exactly the mini-batch (and, for :class:`NoisyBatchNorm`, the noise) of the current step, and the
    model's gradients of that step are ``G``.

    Parameters
    ----------
    lr : float > 0
        The learning rate of the earlier layers' step (use the run's learning rate).
    layers : sequence of int
        Indices into ``model.linears``.
    every : int

    Attributes
    ----------
    l2, cosine, grad_norm : ndarray, shape (n_records, len(layers))
        ‖G − G′‖, cos(G, G′) and ‖G‖ at each recorded step (``steps``).
    """

    def __init__(self, lr: float, layers=(-1,), every: int = 1):
        super().__init__(every)
        self.lr = check_positive(lr, "lr", "ICSHook")
        self.layers = tuple(int(k) for k in layers)
        self._l2, self._cos, self._norm = [], [], []

    def record(self, step, model):
        batch = getattr(model, "last_batch", None)
        if batch is None:
            raise RuntimeError(
                "ICSHook: model.last_batch is not set; call the hook from "
                "cu.training.train, which sets it at every step"
            )
        x, y = batch
        row_l2, row_cos, row_norm = [], [], []
        for k in self.layers:
            # train() has just back-propagated this batch, so the model's gradients are G: the same
            # numbers ics_measurement would recompute (tests check this), at half the cost
            l2, cos = _ics_from_fresh_gradients(model, x, y, _check_model_layer(model, k, "ICSHook"), self.lr)
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
    stay untouched and a :class:`NoisyBatchNorm` applies the shared noise of the current step (and,
    if it has a per-example part, fresh per-example noise for the probe images, drawn on the copy).
    (Eval mode would use running averages that lag behind early in training.)

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
        for layer in net.layers:
            if isinstance(layer, NoisyBatchNorm) and layer.per_example_std:
                layer.noise_example = layer.per_example_std * layer.rng.standard_normal(
                    (self.X_probe.shape[0], layer.num_features)
                )
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
    probe: np.ndarray  # (n_records, n_probe, n_units) sigmoid inputs of the last hidden layer
    ics_steps: np.ndarray
    ics_l2: np.ndarray  # (n_records, len(ics_layers))
    ics_cosine: np.ndarray
    ics_grad_norm: np.ndarray
    diverged: bool
    train_loss_eval: float = float("nan")  # eval-mode loss on the whole training set after the last step


def run_experiment(
    kind: str = "plain",
    seed: int = 0,
    hidden=(100, 100, 100),
    steps: int = 600,
    batch_size: int = 60,
    lr: float = 0.5,
    eval_every: int = 25,
    probe_every: int = 25,
    X_probe=None,
    ics_layers=(),
    ics_every: int = 50,
    shift_max: float = 1.0,
    scale_max: float = 2.0,
    per_example_std: float = 0.0,
    data=None,
) -> RunRecord:
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
        Recording periods (in steps); ``probe_every=0`` records no probe.
    X_probe : ndarray, optional
        Probe set for the last hidden layer's sigmoid input (default: the first 300 test images).
    ics_layers : sequence of int
        Linear layers (indices into ``model.linears``) whose ICS is measured; empty = none.
    shift_max, scale_max, per_example_std : float
        Noise of the "noisy" network (see :class:`NoisyBatchNorm`).
    data : tuple (X_train, X_test, y_train, y_test), optional
        Default: ``load_digits_split(seed=0)``.
    """
    cfg = _experiment_setup(
        kind,
        hidden=hidden,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        eval_every=eval_every,
        probe_every=probe_every,
        X_probe=X_probe,
        ics_layers=ics_layers,
        ics_every=ics_every,
        shift_max=shift_max,
        scale_max=scale_max,
        per_example_std=per_example_std,
        data=data,
    )
    if kind == "noisy":
        model = noisy_batchnorm_mlp(
            cfg["sizes"],
            "sigmoid",
            shift_max=shift_max,
            scale_max=scale_max,
            seed=seed,
            per_example_std=per_example_std,
        )
    else:
        model = MLP(cfg["sizes"], "sigmoid", cfg["normalization"], seed=seed)
    probe, ics = cfg["make_hooks"]()
    X_tr, X_te, y_tr, y_te = cfg["data"]
    history = train(
        model,
        X_tr,
        y_tr,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        hooks=[h for h in (probe, ics) if h is not None],
        X_test=X_te,
        y_test=y_te,
        eval_every=eval_every,
    )
    return _record(kind, seed, history, model, probe, ics, cfg)


def _experiment_setup(
    kind,
    hidden=(100, 100, 100),
    steps=600,
    batch_size=60,
    lr=0.5,
    eval_every=25,
    probe_every=25,
    X_probe=None,
    ics_layers=(),
    ics_every=50,
    shift_max=1.0,
    scale_max=2.0,
    per_example_std=0.0,
    data=None,
) -> dict:
    """Checked settings of :func:`run_experiment` and a factory of one run's (probe, ICS) hooks."""
    check_one_of(kind, "kind", "run_experiment", ("plain", "batchnorm", "noisy"))
    if data is None:
        from .data import load_digits_split

        data = load_digits_split(seed=0)
    X_tr, X_te = data[0], data[1]
    X_probe = X_te[:300] if X_probe is None else X_probe
    sizes = [X_tr.shape[1], *hidden, 10]
    normalization = "none" if kind == "plain" else "batch"
    probe_index = MLP(sizes, "sigmoid", normalization, seed=0).activation_indices[-1]

    def make_hooks():
        probe = ProbeInputHook(probe_index, X_probe, every=probe_every) if probe_every else None
        ics = ICSHook(lr, layers=ics_layers, every=ics_every) if len(ics_layers) else None
        return probe, ics

    return dict(
        sizes=sizes,
        normalization=normalization,
        hidden=tuple(hidden),
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        eval_every=eval_every,
        X_probe=X_probe,
        ics_layers=tuple(ics_layers),
        shift_max=shift_max,
        scale_max=scale_max,
        per_example_std=per_example_std,
        data=data,
        make_hooks=make_hooks,
    )


def _record(kind, seed, history, model, probe, ics, cfg) -> RunRecord:
    """The :class:`RunRecord` of one trained ``model`` (its ``history`` and hooks)."""
    X_tr, y_tr = cfg["data"][0], cfg["data"][2]
    n_layers = len(cfg["ics_layers"])
    empty = np.zeros((0, n_layers))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        train_loss_eval, _ = softmax_cross_entropy(model.forward(X_tr, training=False), y_tr)
    return RunRecord(
        kind=kind,
        seed=seed,
        loss=history.loss,
        test_steps=history.test_steps,
        test_accuracy=history.test_accuracy,
        probe_steps=np.array(probe.steps if probe else [], dtype=int),
        probe=probe.values if probe else np.zeros((0, len(cfg["X_probe"]), cfg["hidden"][-1]), np.float32),
        ics_steps=np.array(ics.steps if ics else [], dtype=int),
        ics_l2=ics.l2 if ics else empty,
        ics_cosine=ics.cosine if ics else empty,
        ics_grad_norm=ics.grad_norm if ics else empty,
        diverged=history.diverged,
        train_loss_eval=float(train_loss_eval),
    )


def run_seeds(kinds=("plain", "batchnorm", "noisy"), seeds=range(5), **settings) -> dict:
    """:func:`run_experiment` for every kind and seed: ``{kind: [RunRecord per seed]}``.

    ``settings`` are :func:`run_experiment`'s (the same for every kind and seed), so ``records[a][i]``
    and ``records[b][i]`` share initial weights and batch order (paired comparisons). The seeds of one
    kind train together with :func:`~course_utils.batched.train_seeds` (the same hooks, per-seed noise
    generators): every record equals ``run_experiment(kind, seed, **settings)`` (tests check it).
    """
    from .batched import train_seeds

    seeds = [int(s) for s in seeds]
    out = {}
    for kind in kinds:
        cfg = _experiment_setup(kind, **settings)
        customize = None
        if kind == "noisy":
            order = iter(seeds)  # train_seeds customizes the models in the order of seeds

            def customize(model, order=order, cfg=cfg):
                add_noise(model, next(order), cfg["shift_max"], cfg["scale_max"], cfg["per_example_std"])

        hooks = [cfg["make_hooks"]() for _ in seeds]
        X_tr, X_te, y_tr, y_te = cfg["data"]
        runs = train_seeds(
            cfg["sizes"],
            seeds,
            X_tr,
            y_tr,
            steps=cfg["steps"],
            batch_size=cfg["batch_size"],
            lr=cfg["lr"],
            activation="sigmoid",
            normalization=cfg["normalization"],
            X_test=X_te,
            y_test=y_te,
            eval_every=cfg["eval_every"],
            customize=customize,
            hooks=[[h for h in pair if h is not None] for pair in hooks],
        )
        records = []
        for i, seed in enumerate(seeds):
            model = runs.model(i)
            if kind == "noisy":
                add_noise(model, seed, cfg["shift_max"], cfg["scale_max"], cfg["per_example_std"])
            records.append(_record(kind, seed, runs.history(i), model, *hooks[i], cfg))
        out[kind] = records
    return out


def seed_summary(runs, at_steps=(50,), drift_start: int = 2) -> dict:
    """One number per seed for each quantity the notebook compares (arrays of shape (n_seeds,)).

    Keys: ``"acc@<step>"`` for each of ``at_steps`` and ``"acc_final"`` (test accuracy),
    ``"loss_last50"`` (mean training-batch loss over the last 50 steps, measured on the training-mode
    pass, noise included), ``"train_loss_eval"`` (eval-mode loss on the whole training set at the end),
    ``"drift"`` (:func:`median_drift` of the probe from record ``drift_start`` on; NaN without a probe)
    and ``"rel_ics"`` of shape (n_seeds, n_layers): the median over the recorded steps of
    ``‖G − G′‖ / ‖G‖`` per measured layer.
    """
    out = {}
    for step in at_steps:
        out[f"acc@{step}"] = np.array([r.test_accuracy[list(r.test_steps).index(step)] for r in runs])
    out["acc_final"] = np.array([r.test_accuracy[-1] for r in runs])
    out["loss_last50"] = np.array([r.loss[-50:].mean() for r in runs])
    out["train_loss_eval"] = np.array([r.train_loss_eval for r in runs])
    out["drift"] = np.array(
        [median_drift(r.probe, start=drift_start) if len(r.probe) else np.nan for r in runs]
    )
    out["rel_ics"] = np.array(
        [
            np.median(r.ics_l2 / r.ics_grad_norm, axis=0)
            if len(r.ics_l2)
            else np.full(r.ics_l2.shape[1], np.nan)
            for r in runs
        ]
    )
    return out


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
        raise ValueError(
            f"median_drift: probe must be (n_records ≥ start + 2, n_probe, n_units), "
            f"got {probe.shape} with start={start}"
        )
    med = np.median(probe[start:], axis=1)  # (n_records, n_units)
    return float(np.mean(np.abs(np.diff(med, axis=0))))


@dataclass
class CovariateShiftExample:
    """What :func:`covariate_shift_example` drew and measured.

    ``x_train, y_train`` and ``x_shift, y_shift`` are the two samples (inputs from different
    distributions, labels from the same rule ``y = sin(2x) + noise``); ``coef`` is the polynomial
    fitted on the training sample and ``coef_refit`` the one fitted on the shifted sample (highest
    power first, as :func:`numpy.polyval` wants). The errors are mean squared errors on fresh samples
    of each input distribution; ``residual_*`` are the mean and std of ``y − sin(2x)`` in each sample.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_shift: np.ndarray
    y_shift: np.ndarray
    coef: np.ndarray
    coef_refit: np.ndarray
    noise: float
    mse_train: float  # model fitted on the training inputs, fresh training-distribution inputs
    mse_shift: float  # the same model on fresh shifted inputs
    mse_refit: float  # a model fitted on shifted inputs, fresh shifted inputs
    residual_train: tuple[float, float]
    residual_shift: tuple[float, float]

    @staticmethod
    def rule(x):
        """The conditional mean E[Y | X = x] = sin(2x), the same for both samples."""
        return np.sin(2 * np.asarray(x, dtype=float))


def covariate_shift_example(
    n: int = 200,
    seed: int = 0,
    train_mean: float = -0.8,
    shift_mean: float = 0.8,
    spread: float = 0.4,
    noise: float = 0.1,
    degree: int = 3,
) -> CovariateShiftExample:
    """Covariate shift on a line: P(X) moves, P(Y | X) stays, a fitted model breaks.

    Inputs ``x ~ N(train_mean, spread²)`` for training and ``N(shift_mean, spread²)`` after the shift;
    labels from the same rule ``y = sin(2x) + noise·ε`` in both. A polynomial of ``degree`` is fitted
    by least squares on the training sample and evaluated on fresh samples from both input
    distributions; a second polynomial fitted on the shifted inputs shows that the rule is learnable
    there (it did not change, the inputs moved).

    Parameters
    ----------
    n : int
        Size of each of the four samples (train, shifted, and a fresh test sample of each).
    seed : int
    train_mean, shift_mean : float
    spread, noise : float > 0
    degree : int ≥ 1
    """
    where = "covariate_shift_example"
    n = check_positive_int(n, "n", where)
    degree = check_positive_int(degree, "degree", where)
    spread = check_positive(spread, "spread", where)
    noise = check_positive(noise, "noise", where)
    if n <= degree:
        raise ValueError(f"{where}: n must exceed degree to fit the polynomial, got n={n}, degree={degree}")
    rng = np.random.default_rng(seed)

    def sample(mean):
        x = rng.normal(mean, spread, n)
        return x, CovariateShiftExample.rule(x) + noise * rng.standard_normal(n)

    x_tr, y_tr = sample(train_mean)
    x_sh, y_sh = sample(shift_mean)
    x_tr2, y_tr2 = sample(train_mean)
    x_sh2, y_sh2 = sample(shift_mean)
    coef = np.polyfit(x_tr, y_tr, degree)
    coef_refit = np.polyfit(x_sh, y_sh, degree)

    def mse(c, x, y):
        return float(np.mean((np.polyval(c, x) - y) ** 2))

    def residual(x, y):
        r = y - CovariateShiftExample.rule(x)
        return float(r.mean()), float(r.std())

    return CovariateShiftExample(
        x_train=x_tr,
        y_train=y_tr,
        x_shift=x_sh,
        y_shift=y_sh,
        coef=coef,
        coef_refit=coef_refit,
        noise=noise,
        mse_train=mse(coef, x_tr2, y_tr2),
        mse_shift=mse(coef, x_sh2, y_sh2),
        mse_refit=mse(coef_refit, x_sh2, y_sh2),
        residual_train=residual(x_tr, y_tr),
        residual_shift=residual(x_sh, y_sh),
    )
