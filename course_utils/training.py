"""Small networks and the training loop used by the course's experiments.

``MLP`` stacks :mod:`course_utils.layers`; ``train`` runs seeded mini-batch SGD and calls *hooks*
after each backward pass (gradients are fresh, parameters not yet updated), which is where the
experiments record per-layer gradient norms or the distribution of a layer's input.
Everything is deterministic for a given seed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from scipy.special import log_softmax

try:  # a dependency of scikit-learn, so normally present
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

from . import layers as L
from ._validate import (
    as_real_array,
    check_in_range,
    check_labels,
    check_model,
    check_one_of,
    check_positive,
    check_positive_int,
    check_X_y,
)
from .data import iterate_minibatches

__all__ = [
    "single_blas_thread",
    "keep_freed_memory",
    "MLP",
    "softmax_cross_entropy",
    "SGD",
    "train",
    "History",
    "Hook",
    "GradNormHook",
    "LayerInputHook",
    "ACTIVATIONS",
    "NORMALIZATIONS",
]

ACTIVATIONS = {"sigmoid": L.Sigmoid, "tanh": L.Tanh, "relu": L.ReLU}
NORMALIZATIONS = ("none", "batch", "layer", "group", "renorm")

_blas_controller = None
_blas_depth = 0
_freed_memory_kept = None  # None: not tried yet; then True / False (not glibc)


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse; :func:`single_blas_thread` calls it once.

    A training step allocates and frees dozens of arrays of 0.1–5 MB. Depending on the heap's layout,
    glibc hands such blocks back to the operating system when they are freed (mmap, or trimming the
    heap top), and the next step page-faults them in again: with 10 seeds stacked by
    ``batched.train_seeds`` that was up to a million page faults per 300 steps and 1.7x the run time,
    after a refactor that changed nothing but the order of allocations. Fixing the mmap threshold at
    64 MB and the trim threshold at 256 MB keeps that memory in the process. Process-wide and
    permanent; returns False (and does nothing) where the C library is not glibc.
    """
    global _freed_memory_kept
    if _freed_memory_kept is None:
        _freed_memory_kept = False
        try:
            import ctypes
            import platform

            if platform.libc_ver()[0] == "glibc":
                libc = ctypes.CDLL(None)
                m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
                _freed_memory_kept = bool(
                    libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 256 << 20)
                )
        except (OSError, AttributeError):
            pass
    return _freed_memory_kept


@contextlib.contextmanager
def single_blas_thread():
    """Run the block with BLAS limited to one thread (restored afterwards).

    The course's matrices are tiny (60 x 100): a multi-threaded BLAS gains nothing there, and on a
    shared, busy machine its spinning threads made a 3000-step run 5-10x slower (2.6 s vs 13-30 s).
    One thread also makes results independent of the machine's core count. Nested uses cost nothing.
    The first use also calls :func:`keep_freed_memory` (glibc only).
    """
    global _blas_controller, _blas_depth
    keep_freed_memory()
    if _blas_depth or ThreadpoolController is None:
        yield
        return
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    _blas_depth += 1
    try:
        with _blas_controller.limit(limits=1, user_api="blas"):
            yield
    finally:
        _blas_depth -= 1


class MLP:
    """Multi-layer perceptron ``Linear → [norm] → activation → … → Linear`` (logits).

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[D_in, H_1, ..., H_k, n_classes]``; k hidden layers.
    activation : {"sigmoid", "tanh", "relu"}
    normalization : {"none", "batch", "layer", "group", "renorm"}
        Applied in every hidden layer, never to the logits.
    placement : {"before", "after"}
        Normalize the pre-activation (``Linear → norm → act``, Ioffe & Szegedy) or the activation's
        output (``Linear → act → norm``).
    init_scale : float, optional
        Standard deviation of every initial weight; default ``1/sqrt(fan_in)`` per layer.
    seed : int
        Seeds the initial weights.
    bn_momentum : float in [0, 1], default 0.1
        Momentum of the running-statistics EMA of BatchNorm / BatchRenorm, in PyTorch's convention
        (``running = (1 − bn_momentum)·running + bn_momentum·batch``). Unrelated to the SGD momentum
        ``train(momentum=...)``: this one only changes the statistics used in eval mode, never the
        training trajectory.
    eps : float
        For BatchNorm / BatchRenorm / LayerNorm / GroupNorm.
    num_groups : int
        For GroupNorm.
    r_max, d_max : float
        For BatchRenorm.

    Attributes
    ----------
    layers : list of Layer
    linear_indices, norm_indices, activation_indices : list of int
        Positions in ``layers`` of each kind, in order from input to output.
    layer_inputs : list of ndarray
        The input each layer received in the last forward pass (references, not copies).
    """

    def __init__(
        self,
        layer_sizes,
        activation="sigmoid",
        normalization="none",
        placement="before",
        init_scale=None,
        seed=0,
        bn_momentum=0.1,
        eps=1e-5,
        num_groups=4,
        r_max=3.0,
        d_max=5.0,
    ):
        where = "MLP"
        sizes = [check_positive_int(s, "layer_sizes[i]", where) for s in layer_sizes]
        if len(sizes) < 2:
            raise ValueError(f"{where}: layer_sizes needs at least [D_in, n_out], got {list(layer_sizes)}")
        check_one_of(activation, "activation", where, sorted(ACTIVATIONS))
        check_one_of(normalization, "normalization", where, NORMALIZATIONS)
        check_one_of(placement, "placement", where, ("before", "after"))
        rng = np.random.default_rng(seed)
        self.layer_sizes = sizes
        self.activation, self.normalization, self.placement = activation, normalization, placement
        self.layers: list[L.Layer] = []
        self.linear_indices, self.norm_indices, self.activation_indices = [], [], []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            self._add(L.Linear(d_in, d_out, rng=rng, init_scale=init_scale), self.linear_indices)
            if i == len(sizes) - 2:
                break  # the output layer gives logits: no normalization, no activation
            norm = self._make_norm(d_out, bn_momentum, eps, num_groups, r_max, d_max)
            if placement == "before" and norm is not None:
                self._add(norm, self.norm_indices)
            self._add(ACTIVATIONS[activation](), self.activation_indices)
            if placement == "after" and norm is not None:
                self._add(norm, self.norm_indices)
        self.layer_inputs: list[np.ndarray] = [None] * len(self.layers)
        self.last_batch: tuple[np.ndarray, np.ndarray] | None = None  # set by train() at every step

    def _add(self, layer, index_list):
        index_list.append(len(self.layers))
        self.layers.append(layer)

    def _make_norm(self, width, bn_momentum, eps, num_groups, r_max, d_max):
        kind = self.normalization
        if kind == "none":
            return None
        if kind == "batch":
            return L.BatchNorm(width, momentum=bn_momentum, eps=eps)
        if kind == "layer":
            return L.LayerNorm(width, eps=eps)
        if kind == "group":
            return L.GroupNorm(num_groups, width, eps=eps)
        return L.BatchRenorm(width, momentum=bn_momentum, eps=eps, r_max=r_max, d_max=d_max)

    def forward(self, x, training: bool = True):
        """Logits of shape (N, n_classes) for x of shape (N, D_in)."""
        with single_blas_thread():
            for i, layer in enumerate(self.layers):
                self.layer_inputs[i] = x
                x = layer.forward(x, training=training)
        return x

    def backward(self, dlogits):
        """Backpropagate ``dL/dlogits``; fills every layer's ``grads`` and returns dL/dx."""
        with single_blas_thread():
            for layer in reversed(self.layers):
                dlogits = layer.backward(dlogits)
        return dlogits

    def predict(self, x):
        """Class predictions in eval mode (running statistics for BatchNorm)."""
        return self.forward(x, training=False).argmax(axis=1)

    def accuracy(self, x, y) -> float:
        return float(np.mean(self.predict(x) == y))

    @property
    def linears(self) -> list[L.Linear]:
        return [self.layers[i] for i in self.linear_indices]

    def __repr__(self):
        return "MLP(" + " → ".join(repr(layer) for layer in self.layers) + ")"


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy and its gradient.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
    y : ndarray of int, shape (N,)
        Class indices in [0, K).

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, K)
        ``(softmax(logits) - onehot(y)) / N``.
    """
    where = "softmax_cross_entropy"
    logits = as_real_array(logits, "logits", where)
    y = np.asarray(y)
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"{where}: logits must be (N, K) and y (N,), got {logits.shape} and {y.shape}")
    check_labels(y, logits.shape[1], where)
    N = logits.shape[0]
    rows = np.arange(N)
    # scipy's log_softmax subtracts the row max first (stable); it is ~3x cheaper per call than
    # logits - logsumexp(logits), which matters in a 3000-step loop.
    log_probs = log_softmax(logits, axis=1)
    loss = -log_probs[rows, y].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1.0
    dlogits /= N
    return float(loss), dlogits


class SGD:
    """Stochastic gradient descent, optionally with (heavy-ball) momentum.

    ``v ← μ·v + g``;  ``θ ← θ − lr·v`` (PyTorch's form). Parameters are updated in place.
    """

    def __init__(self, lr: float, momentum: float = 0.0):
        self.lr = check_positive(lr, "lr", "SGD")
        self.momentum = check_in_range(momentum, "momentum", "SGD", 0.0, 1.0)
        self._velocity: dict[tuple[int, str], np.ndarray] = {}

    def step(self, model: MLP):
        for i, layer in enumerate(model.layers):
            for name, param in layer.params.items():
                grad = layer.grads[name]
                if self.momentum:
                    v = self._velocity.get((i, name))
                    v = grad.copy() if v is None else self.momentum * v + grad
                    self._velocity[(i, name)] = v
                    grad = v
                param -= self.lr * grad


class Hook:
    """Called as ``hook(step, model)`` after each backward pass; records into ``self.steps`` etc.

    During :func:`train`, ``model.last_batch`` is the ``(xb, yb)`` mini-batch of the current step.
    """

    def __init__(self, every: int = 1):
        self.every = check_positive_int(every, "every", type(self).__name__)
        self.steps: list[int] = []

    def __call__(self, step: int, model: MLP):
        if step % self.every == 0:
            self.steps.append(step)
            self.record(step, model)

    def record(self, step: int, model: MLP):  # pragma: no cover - abstract
        raise NotImplementedError


class GradNormHook(Hook):
    """Record ‖∂L/∂W‖ (Frobenius) of every Linear layer: ``values`` has shape (n_records, n_linear)."""

    def __init__(self, every: int = 1):
        super().__init__(every)
        self._values: list[np.ndarray] = []

    def record(self, step, model):
        self._values.append(np.array([np.linalg.norm(layer.grads["W"]) for layer in model.linears]))

    @property
    def values(self) -> np.ndarray:
        return np.array(self._values)


class LayerInputHook(Hook):
    """Record ``fn(input of layer layer_index)``; with ``X_probe`` the input comes from an eval-mode
    forward pass on that fixed probe set (so successive records are comparable), else from the
    current training batch.

    ``values`` stacks the records (``np.array`` of the list of results).
    """

    def __init__(self, layer_index: int, fn, X_probe=None, every: int = 1):
        super().__init__(every)
        self.layer_index = int(layer_index)
        self.fn = fn
        self.X_probe = X_probe
        self._values: list = []

    def record(self, step, model):
        if self.X_probe is not None:
            # a probe pass overwrites model.layer_inputs, so keep the training batch's list intact
            saved = list(model.layer_inputs)
            with L.kept_state(model.layers, attributes=()):
                model.forward(self.X_probe, training=False)
            x = model.layer_inputs[self.layer_index]
            model.layer_inputs[:] = saved
        else:
            x = model.layer_inputs[self.layer_index]
        self._values.append(self.fn(x))

    @property
    def values(self) -> np.ndarray:
        return np.array(self._values)


@dataclass
class History:
    """What :func:`train` measured. ``loss`` and ``batch_accuracy`` have one entry per step taken."""

    loss: np.ndarray
    batch_accuracy: np.ndarray
    test_steps: np.ndarray
    test_accuracy: np.ndarray
    diverged: bool
    steps_taken: int
    hooks: list = field(default_factory=list)

    @property
    def final_test_accuracy(self) -> float:
        """Last measured test accuracy (chance level 0.1 on digits if the run diverged)."""
        return float(self.test_accuracy[-1]) if len(self.test_accuracy) else float("nan")


def train(
    model: MLP,
    X,
    y,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.0,
    seed: int = 0,
    hooks=(),
    X_test=None,
    y_test=None,
    eval_every: int = 0,
    divergence_threshold: float = 1e3,
) -> History:
    """Train ``model`` with mini-batch SGD on softmax cross-entropy.

    Parameters
    ----------
    model : MLP
    X : ndarray, shape (n, D_in);  y : ndarray of int, shape (n,)
    steps : int
        Number of SGD updates.
    batch_size : int
    lr, momentum : float
        Learning rate and heavy-ball momentum of :class:`SGD`. This ``momentum`` is unrelated to the
        BatchNorm running-average momentum, which is ``MLP(bn_momentum=...)``.
    seed : int
        Seeds the order of the mini-batches.
    hooks : sequence of Hook
        Each is called as ``hook(step, model)`` after the backward pass of every step.
    X_test, y_test : ndarray, optional
        Evaluated in eval mode every ``eval_every`` steps (and after the last step) when given.
    eval_every : int, default 0
        0 means: only after the last step.
    divergence_threshold : float
        A run whose loss exceeds this or becomes non-finite stops early with ``diverged=True``;
        its test accuracy is recorded as chance (1 / n_classes), never as NaN.

    Returns
    -------
    History
    """
    where = "train"
    check_model(model, where)
    X, y = check_X_y(X, y, where, n_features=model.layer_sizes[0])
    y = check_labels(y, model.layer_sizes[-1], where)
    steps = check_positive_int(steps, "steps", where)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    optimizer = SGD(lr, momentum)
    batches = iterate_minibatches(X.shape[0], batch_size, seed=seed)
    n_classes = model.layer_sizes[-1]
    losses = np.empty(steps)
    batch_acc = np.empty(steps)
    test_steps, test_acc = [], []
    diverged = False
    taken = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), single_blas_thread():
        for step in range(steps):
            idx = next(batches)
            xb, yb = X[idx], y[idx]
            logits = model.forward(xb, training=True)
            loss, dlogits = softmax_cross_entropy(logits, yb)
            losses[step] = loss
            batch_acc[step] = np.mean(logits.argmax(axis=1) == yb)
            taken = step + 1
            if not np.isfinite(loss) or loss > divergence_threshold:
                diverged = True
                break
            model.backward(dlogits)
            model.last_batch = (xb, yb)  # what this step trained on, for hooks that need the labels
            for hook in hooks:
                hook(step, model)
            optimizer.step(model)
            if X_test is not None and eval_every and (step + 1) % eval_every == 0 and step + 1 < steps:
                test_steps.append(step + 1)
                test_acc.append(model.accuracy(X_test, y_test))
        if X_test is not None:
            test_steps.append(taken)
            test_acc.append(1.0 / n_classes if diverged else model.accuracy(X_test, y_test))
    return History(
        loss=losses[:taken],
        batch_accuracy=batch_acc[:taken],
        test_steps=np.array(test_steps),
        test_accuracy=np.array(test_acc),
        diverged=diverged,
        steps_taken=taken,
        hooks=list(hooks),
    )
