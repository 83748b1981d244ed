"""Small stateful layers for the course's NumPy networks.

Each layer has ``forward(x, training=True)`` and ``backward(dout)``, a ``params`` dict of its
trainable arrays and a ``grads`` dict with the same keys, filled by ``backward``. Optimizers update
``params`` in place. The maths lives in :mod:`course_utils.normalization`; these classes add only the
state a layer must keep between calls (its cache and, for BatchNorm, the running statistics).
Backward passes never modify the ``dout`` they are given.
"""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.special import expit

from . import normalization as F
from ._validate import as_real_array, check_in_range, check_positive, check_positive_int

__all__ = [
    "Layer",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "BatchNorm",
    "LayerNorm",
    "GroupNorm",
    "BatchRenorm",
    "ema_step",
    "update_running_statistics",
    "kept_state",
]


class Layer:
    """Base class: no parameters, identity behaviour must be overridden."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x, training: bool = True):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_training(self, training) -> bool:
        """``training`` as a bool; a string such as ``"False"`` (truthy!) or an int is a TypeError."""
        if isinstance(training, bool | np.bool_):
            return bool(training)
        raise TypeError(
            f"{type(self).__name__}.forward: training must be a bool (True or False), "
            f"got {type(training).__name__} {training!r}"
        )

    @property
    def last_cache(self):
        """What the last ``forward`` stored for ``backward`` (None before the first forward).

        For the normalization layers it is ``(mode, cache)`` with ``mode`` ``"train"`` or ``"eval"`` and
        ``cache`` the functional cache of :mod:`course_utils.normalization` (read it, don't edit it).
        """
        return self._cache

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    def _check_dout(self, dout, shape: tuple) -> np.ndarray:
        """``dout`` as a real array of the forward output's ``shape``, else a ValueError/TypeError.

        Without this, a (N, 1) or (1, D) ``dout`` would broadcast silently in the element-wise layers.
        The common case (a float ndarray of the right shape) costs two comparisons.
        """
        if type(dout) is np.ndarray and dout.dtype.kind == "f" and dout.shape == shape:
            return dout
        where = f"{type(self).__name__}.backward"
        dout = as_real_array(dout, "dout", where)
        if dout.shape != shape:
            raise ValueError(
                f"{where}: dout must have the shape of the forward output {shape}, got {dout.shape}"
            )
        return dout

    def __repr__(self):
        return f"{type(self).__name__}()"


class Linear(Layer):
    """Affine layer ``y = x @ W + b``.

    Parameters
    ----------
    in_features, out_features : int
        ``W`` has shape (in_features, out_features), ``b`` shape (out_features,).
    rng : numpy.random.Generator, optional
        Source of the initial weights (seeded by the caller for reproducibility).
    init_scale : float, optional
        Standard deviation of the Gaussian initial weights; default ``1/sqrt(in_features)``.
    """

    def __init__(self, in_features: int, out_features: int, rng=None, init_scale: float | None = None):
        super().__init__()
        in_features = check_positive_int(in_features, "in_features", "Linear")
        out_features = check_positive_int(out_features, "out_features", "Linear")
        rng = np.random.default_rng(0) if rng is None else rng
        if init_scale is None:
            init_scale = 1.0 / np.sqrt(in_features)
        init_scale = check_positive(init_scale, "init_scale", "Linear")
        self.params["W"] = rng.normal(0.0, init_scale, size=(in_features, out_features))
        self.params["b"] = np.zeros(out_features)

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]

    def forward(self, x, training: bool = True):
        self._check_training(training)
        x = as_real_array(x, "x", "Linear.forward")
        if x.ndim != 2 or x.shape[1] != self.W.shape[0]:
            raise ValueError(f"Linear.forward: x must have shape (N, {self.W.shape[0]}), got {x.shape}")
        self._cache = x.copy()  # backward needs x's values; the caller may reuse its buffer
        return x @ self.W + self.b

    def backward(self, dout):
        x = self._need_cache()
        dout = self._check_dout(dout, (x.shape[0], self.W.shape[1]))
        self.grads["W"] = x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.W.T

    def __repr__(self):
        return f"Linear({self.W.shape[0]}, {self.W.shape[1]})"


class Sigmoid(Layer):
    """Logistic sigmoid, computed stably with :func:`scipy.special.expit`; σ' = σ(1 − σ)."""

    def forward(self, x, training: bool = True):
        self._check_training(training)
        out = expit(as_real_array(x, "x", "Sigmoid.forward"))
        self._cache = out.copy()  # not the returned array, which the caller may edit in place
        return out

    def backward(self, dout):
        out = self._need_cache()
        return self._check_dout(dout, out.shape) * out * (1.0 - out)


class Tanh(Layer):
    """Hyperbolic tangent; tanh' = 1 − tanh²."""

    def forward(self, x, training: bool = True):
        self._check_training(training)
        out = np.tanh(as_real_array(x, "x", "Tanh.forward"))
        self._cache = out.copy()  # not the returned array, which the caller may edit in place
        return out

    def backward(self, dout):
        out = self._need_cache()
        return self._check_dout(dout, out.shape) * (1.0 - out * out)


class ReLU(Layer):
    """max(0, x); the gradient passes where x > 0."""

    def forward(self, x, training: bool = True):
        self._check_training(training)
        x = as_real_array(x, "x", "ReLU.forward")
        self._cache = x > 0  # a new array
        return np.where(self._cache, x, 0.0)

    def backward(self, dout):
        mask = self._need_cache()
        return np.where(mask, self._check_dout(dout, mask.shape), 0.0)


def ema_step(running, batch, momentum: float, weights: str = "batch"):
    """One step of the exponential moving average behind BatchNorm's running statistics.

    ``weights="batch"`` (PyTorch: ``momentum`` weights the new batch value)::

        running = (1 − momentum)·running + momentum·batch

    ``weights="old"`` (Keras, CS231n: ``momentum`` weights the old running value)::

        running = momentum·running + (1 − momentum)·batch

    The only place the course writes this EMA: the layers, :func:`update_running_statistics`,
    :func:`course_utils.batched.train_seeds` and notebook 07's :func:`course_utils.inference.ema_update` /
    ``ema_trajectory`` all call it, so the running statistics of a trained layer, of a seed-batched run
    and a replay of its batch statistics agree bit for bit.
    No argument checks (it runs inside training loops); callers check ``momentum``.
    """
    keep, take = (1 - momentum, momentum) if weights == "batch" else (momentum, 1 - momentum)
    return keep * running + take * batch


def update_running_statistics(
    running_mean,
    running_var,
    batch_mean,
    batch_var,
    m: int,
    momentum: float,
    *,
    weights="batch",
    unbiased=True,
):
    """BatchNorm's ``(running_mean, running_var)`` after one training batch (new arrays; PyTorch by default).

    Parameters
    ----------
    running_mean, running_var : ndarray, shape (C,)
    batch_mean, batch_var : ndarray, shape (C,)
        The batch's mean and **biased** variance (the ones training mode normalizes with).
    m : int ≥ 2
        Values per channel in the batch (N, or N·H·W for images).
    momentum : float in [0, 1]
    weights : {"batch", "old"}
        Which term ``momentum`` multiplies (see :func:`ema_step`).
    unbiased : bool, default True
        Feed ``running_var`` with the unbiased batch variance ``batch_var · m/(m − 1)`` (PyTorch,
        Ioffe & Szegedy's Algorithm 2) instead of the biased one (CS231n).
    """
    if unbiased:
        batch_var = batch_var * (m / (m - 1))
    return (
        ema_step(running_mean, batch_mean, momentum, weights),
        ema_step(running_var, batch_var, momentum, weights),
    )


class _RunningStats(Layer):
    """Shared parts of BatchNorm and BatchRenorm: γ, β, running statistics, PyTorch momentum."""

    def __init__(self, num_features: int, momentum: float, eps: float, where: str):
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features", where)
        self.momentum = check_in_range(momentum, "momentum", where, 0.0, 1.0)
        self.eps = check_positive(eps, "eps", where)
        self.params["gamma"] = np.ones(num_features)
        self.params["beta"] = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.num_batches_tracked = 0

    @property
    def gamma(self):
        return self.params["gamma"]

    @property
    def beta(self):
        return self.params["beta"]

    def _update_running(self, batch_mean, batch_var_biased, m: int):
        """PyTorch's EMA: running = (1 − momentum)·running + momentum·batch, with the unbiased variance."""
        self.running_mean, self.running_var = update_running_statistics(
            self.running_mean, self.running_var, batch_mean, batch_var_biased, m, self.momentum
        )
        self.num_batches_tracked += 1

    def _check_x(self, x):
        """x as a real array with ``num_features`` channels on axis 1 (the error names the layer's size)."""
        where = f"{type(self).__name__}.forward"
        x = as_real_array(x, "x", where)
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"{where}: x must have shape (N, {self.num_features}, ...) with the layer's "
                f"num_features={self.num_features} channels on axis 1, got {x.shape}"
            )
        return x

    def _eval_forward(self, x):
        out = F.batchnorm_inference(x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        self._cache = ("eval", x.copy())  # backward needs x's values; the caller may reuse its buffer
        return out

    def _eval_backward(self, dout, x):
        """Eval mode is a fixed per-channel affine map, so its gradient is one too."""
        dout = self._check_dout(dout, x.shape)
        C = self.num_features
        shape = (1, C) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))
        dtype = np.result_type(x, dout)  # float32 in, float32 out (the statistics are float64)
        inv_std = (1.0 / np.sqrt(self.running_var + self.eps)).astype(dtype, copy=False).reshape(shape)
        x_hat = (x - self.running_mean.astype(dtype, copy=False).reshape(shape)) * inv_std
        self.grads["gamma"] = (dout * x_hat).sum(axis=axes)
        self.grads["beta"] = dout.sum(axis=axes)
        return dout * (self.gamma.astype(dtype, copy=False).reshape(shape) * inv_std)

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features}, momentum={self.momentum}, eps={self.eps})"


class BatchNorm(_RunningStats):
    """Batch normalization layer with running statistics (PyTorch ``BatchNorm1d/2d`` semantics).

    In training mode it normalizes with the batch statistics (biased variance) and updates
    ``running = (1 − momentum)·running + momentum·batch`` with the **unbiased** batch variance
    (factor m/(m − 1)); in eval mode it uses the running statistics. ``running_mean`` starts at 0,
    ``running_var`` at 1.

    Parameters
    ----------
    num_features : int
        C, the size of axis 1 of the input.
    momentum : float in [0, 1], default 0.1
        PyTorch's convention (Keras' ``momentum=0.99`` is PyTorch's 0.01).
    eps : float > 0, default 1e-5
    """

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__(num_features, momentum, eps, "BatchNorm")

    def forward(self, x, training: bool = True):
        training = self._check_training(training)
        x = self._check_x(x)
        if not training:
            return self._eval_forward(x)
        out, cache = F.batchnorm_forward(x, self.gamma, self.beta, self.eps)
        m = cache.x.size // self.num_features
        self._update_running(cache.mu.reshape(-1), cache.var.reshape(-1), m)
        self._cache = ("train", cache)
        return out

    def backward(self, dout):
        mode, cache = self._need_cache()
        if mode == "eval":
            return self._eval_backward(dout, cache)
        dx, self.grads["gamma"], self.grads["beta"] = F.batchnorm_backward(dout, cache)
        return dx


class BatchRenorm(_RunningStats):
    """Batch Renormalization layer (Ioffe 2017) with PyTorch-style momentum.

    Training mode uses :func:`course_utils.normalization.batch_renorm_forward` with the current
    ``r_max`` and ``d_max`` (attributes, so a schedule can change them) and records the last ``r``
    and ``d`` in ``self.last_r`` / ``self.last_d``; eval mode is the same as :class:`BatchNorm`.
    """

    def __init__(
        self,
        num_features: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        r_max: float = 3.0,
        d_max: float = 5.0,
    ):
        super().__init__(num_features, momentum, eps, "BatchRenorm")
        self.r_max = check_in_range(r_max, "r_max", "BatchRenorm", 1.0, np.inf)
        self.d_max = check_in_range(d_max, "d_max", "BatchRenorm", 0.0, np.inf)
        self.last_r = np.ones(num_features)
        self.last_d = np.zeros(num_features)

    def forward(self, x, training: bool = True):
        training = self._check_training(training)
        x = self._check_x(x)
        if not training:
            return self._eval_forward(x)
        out, cache = F.batch_renorm_forward(
            x, self.gamma, self.beta, self.running_mean, self.running_var, self.r_max, self.d_max, self.eps
        )
        self.last_r, self.last_d = cache.r, cache.d
        m = cache.x.size // self.num_features
        self._update_running(cache.batch_mean, cache.batch_var, m)
        self._cache = ("train", cache)
        return out

    def backward(self, dout):
        mode, cache = self._need_cache()
        if mode == "eval":
            return self._eval_backward(dout, cache)
        dx, self.grads["gamma"], self.grads["beta"] = F.batch_renorm_backward(dout, cache)
        return dx


class LayerNorm(Layer):
    """Layer normalization over all axes but 0, with γ, β of shape ``normalized_shape``.

    Training and eval mode are identical: LayerNorm keeps no running statistics. With
    ``normalized_shape=1`` the output is always β (one feature is its own mean; PyTorch does the same),
    see :func:`course_utils.normalization.layernorm_forward`.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5):
        super().__init__()
        if isinstance(normalized_shape, int | np.integer) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, tuple | list) or not normalized_shape:
            raise TypeError(
                "LayerNorm: normalized_shape must be a positive int or a non-empty tuple of them "
                f"(x.shape[1:]), got {type(normalized_shape).__name__} {normalized_shape!r}"
            )
        self.normalized_shape = tuple(
            check_positive_int(s, f"normalized_shape[{i}]", "LayerNorm")
            for i, s in enumerate(normalized_shape)
        )
        self.eps = check_positive(eps, "eps", "LayerNorm")
        self.params["gamma"] = np.ones(self.normalized_shape)
        self.params["beta"] = np.zeros(self.normalized_shape)

    def forward(self, x, training: bool = True):
        self._check_training(training)
        out, self._cache = F.layernorm_forward(x, self.params["gamma"], self.params["beta"], self.eps)
        return out

    def backward(self, dout):
        dx, self.grads["gamma"], self.grads["beta"] = F.layernorm_backward(dout, self._need_cache())
        return dx

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape})"


class GroupNorm(Layer):
    """Group normalization with ``num_groups`` groups of the ``num_channels`` channels (axis 1)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5):
        super().__init__()
        self.num_groups = check_positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = check_positive_int(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide num_channels={num_channels}")
        self.eps = check_positive(eps, "eps", "GroupNorm")
        self.params["gamma"] = np.ones(num_channels)
        self.params["beta"] = np.zeros(num_channels)

    def forward(self, x, training: bool = True):
        self._check_training(training)
        out, self._cache = F.groupnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.num_groups, self.eps
        )
        return out

    def backward(self, dout):
        dx, self.grads["gamma"], self.grads["beta"] = F.groupnorm_backward(dout, self._need_cache())
        return dx

    def __repr__(self):
        return f"GroupNorm({self.num_groups}, {self.num_channels})"


@contextlib.contextmanager
def kept_state(layers, attributes=("running_mean", "running_var", "num_batches_tracked", "last_r", "last_d")):
    """Run extra forward passes (a probe, an evaluation) without disturbing ``layers``.

    On exit every layer gets back what its last forward stored for backward and each of ``attributes``
    it has (running statistics by default), so training continues as if the extra passes never ran.
    """
    layers = list(layers)
    saved = [
        (layer, layer._cache, {k: getattr(layer, k) for k in attributes if hasattr(layer, k)})
        for layer in layers
    ]
    try:
        yield
    finally:
        for layer, cache, state in saved:
            layer._cache = cache
            for k, v in state.items():
                setattr(layer, k, v)
