"""Seed-batched training: S copies of the course's MLP trained at once, one per seed.

Most experiments of the course train the same small network for several seeds, one after another.
With 60 x 100 matrices the Python overhead of every layer and step dominates one run, so
:func:`train_seeds` stacks the parameters of S networks along a leading *seed axis* (``W`` has shape
(S, D_in, D_out), ``gamma`` (S, C), ...) and runs every layer as one batched NumPy operation
(``np.matmul`` over the seed axis, reductions over the batch axis of each seed). Nothing ever mixes
seeds: BatchNorm takes per-seed batch statistics, every seed draws its own mini-batches from its own
generator, and a seed that diverges is frozen and dropped from the stack without touching the others.

The contract is **the same numbers as separate runs**: for every seed ``s``,
``train_seeds(layer_sizes, seeds, X, y, ...)`` equals
``train(MLP(layer_sizes, ..., seed=s), X, y, ..., seed=s)`` (loss curve, batch accuracy, test
accuracy at every evaluation, divergence flag, final weights and running statistics) to 1e-12 in
float64 (``tests/test_batched.py``). Each layer repeats the operations of
:mod:`course_utils.layers` in the same order, on the same (per-seed) memory layout.

Example
-------
>>> runs = train_seeds([64, 100, 10], range(10), X, y, steps=300, batch_size=60, lr=0.1,
...                    normalization="batch", X_test=X_te, y_test=y_te)        # doctest: +SKIP
>>> runs.final_test_accuracy            # shape (10,), one per seed              # doctest: +SKIP
>>> model = runs.model(3)               # the trained MLP of seeds[3], to probe  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, log_softmax

from . import layers as L
from . import normalization as F
from ._validate import check_in_range, check_labels, check_positive, check_positive_int, check_X_y
from .data import iterate_minibatches
from .training import ACTIVATIONS, MLP, NORMALIZATIONS, History, single_blas_thread

__all__ = ["train_seeds", "SeedRuns"]

_WHERE = "train_seeds"


# ----------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------
@dataclass
class SeedRuns:
    """What :func:`train_seeds` measured, one row per seed (row ``i`` belongs to ``seeds[i]``).

    Attributes
    ----------
    seeds : tuple of int
    loss, batch_accuracy : ndarray, shape (S, steps)
        Training-batch loss and accuracy at every step. A seed that diverges at step ``t`` records the
        offending loss at column ``t`` (as :func:`~course_utils.training.train` does) and NaN after it.
    test_steps : ndarray of int, shape (n_eval,)
        The steps after which the test set was evaluated: every ``eval_every`` steps and after the last
        step (empty without ``X_test``).
    test_accuracy : ndarray, shape (S, n_eval)
        Eval-mode test accuracy at ``test_steps``. For a diverged seed, every evaluation at or after
        the step it diverged is chance level (1 / n_classes), like ``train()``'s final entry — never NaN,
        so means over seeds stay defined.
    diverged : ndarray of bool, shape (S,)
    steps_taken : ndarray of int, shape (S,)
        ``steps`` for a seed that did not diverge; the step count including the diverging one otherwise.
    final_test_accuracy : ndarray, shape (S,)  (property)
        Last column of ``test_accuracy`` (NaN without ``X_test``).

    Methods
    -------
    model(i)
        The trained :class:`~course_utils.training.MLP` of ``seeds[i]`` (weights and running statistics).
    history(i)
        The :class:`~course_utils.training.History` that ``train()`` would have returned for ``seeds[i]``.
    """

    seeds: tuple
    loss: np.ndarray
    batch_accuracy: np.ndarray
    test_steps: np.ndarray
    test_accuracy: np.ndarray
    diverged: np.ndarray
    steps_taken: np.ndarray
    config: dict = field(repr=False)
    params: list = field(repr=False)  # per MLP layer index: {name: (S, ...) array}
    state: dict = field(repr=False)  # per norm layer index: running statistics, (S, C) arrays

    @property
    def final_test_accuracy(self) -> np.ndarray:
        if self.test_accuracy.shape[1] == 0:
            return np.full(len(self.seeds), np.nan)
        return self.test_accuracy[:, -1].copy()

    def __len__(self) -> int:
        return len(self.seeds)

    def _index(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"SeedRuns: i must be an integer index into seeds, got {type(i).__name__}")
        if not -len(self.seeds) <= i < len(self.seeds):
            raise IndexError(f"SeedRuns: index {i} out of range for {len(self.seeds)} seeds")
        return int(i) % len(self.seeds)

    def model(self, i: int) -> MLP:
        """A fresh :class:`MLP` of ``seeds[i]`` holding that seed's trained weights and statistics.

        It is the model ``train()`` would have left behind (BatchNorm's ``running_mean``,
        ``running_var`` and ``num_batches_tracked`` included), ready for ``predict`` or a probe.
        """
        i = self._index(i)
        cfg = self.config
        model = MLP(
            cfg["layer_sizes"],
            activation=cfg["activation"],
            normalization=cfg["normalization"],
            placement=cfg["placement"],
            init_scale=cfg["init_scale"],
            seed=self.seeds[i],
            bn_momentum=cfg["bn_momentum"],
            eps=cfg["eps"],
            num_groups=cfg["num_groups"],
            r_max=cfg["r_max"],
            d_max=cfg["d_max"],
        )
        for layer, params in zip(model.layers, self.params, strict=True):
            for name, stacked in params.items():
                layer.params[name][...] = stacked[i]
        for index, stats in self.state.items():
            layer = model.layers[index]
            layer.running_mean = stats["running_mean"][i].copy()
            layer.running_var = stats["running_var"][i].copy()
            layer.num_batches_tracked = int(self.steps_taken[i])
            if "last_r" in stats:
                layer.last_r, layer.last_d = stats["last_r"][i].copy(), stats["last_d"][i].copy()
        return model

    def history(self, i: int) -> History:
        """The :class:`History` of ``seeds[i]``, entry for entry what ``train()`` returns."""
        i = self._index(i)
        taken = int(self.steps_taken[i])
        if self.test_steps.size == 0:
            test_steps, test_acc = np.array([]), np.array([])
        else:
            keep = self.test_steps[:-1] < taken
            test_steps = np.append(self.test_steps[:-1][keep], taken)
            test_acc = np.append(self.test_accuracy[i, :-1][keep], self.test_accuracy[i, -1])
        return History(
            loss=self.loss[i, :taken].copy(),
            batch_accuracy=self.batch_accuracy[i, :taken].copy(),
            test_steps=test_steps,
            test_accuracy=test_acc,
            diverged=bool(self.diverged[i]),
            steps_taken=taken,
        )


# ----------------------------------------------------------------------------------------------
# Batched layers. Each function mirrors one class of course_utils.layers on arrays with a leading
# seed axis: activations (S, N, C), parameters (S, ...). The operations and their order are those of
# the unbatched layer, so every seed's slice gets the same floating-point result.
# ----------------------------------------------------------------------------------------------
def _linear_forward(x, p):
    return np.matmul(x, p["W"]) + p["b"][:, None, :]


def _linear_backward(dout, x, p, need_dx=True):
    grads = {"W": np.matmul(x.transpose(0, 2, 1), dout), "b": dout.sum(axis=1)}
    dx = np.matmul(dout, p["W"].transpose(0, 2, 1)) if need_dx else None
    return dx, grads


def _act_forward(kind, x):
    if kind == "sigmoid":
        out = expit(x)
        return out, out
    if kind == "tanh":
        out = np.tanh(x)
        return out, out
    mask = x > 0  # relu
    return np.where(mask, x, 0.0), mask


def _act_backward(kind, dout, cache):
    if kind == "sigmoid":
        return dout * cache * (1.0 - cache)
    if kind == "tanh":
        return dout * (1.0 - cache * cache)
    return np.where(cache, dout, 0.0)


def _update_running(state, mu, var, m, momentum):
    """PyTorch's EMA with the unbiased batch variance: :func:`course_utils.layers.update_running_statistics`
    on (S, C) arrays, as ``layers.BatchNorm`` applies it to (C,) arrays."""
    state["running_mean"], state["running_var"] = L.update_running_statistics(
        state["running_mean"], state["running_var"], mu, var, m, momentum
    )


def _norm_forward(kind, x, p, state, cfg, training):
    """Normalization of x (S, N, C); returns (out, cache). Updates ``state`` in training mode."""
    S, N, C = x.shape
    eps = cfg["eps"]
    gamma, beta = p["gamma"][:, None, :], p["beta"][:, None, :]
    if kind in ("batch", "renorm") and not training:  # F.batchnorm_inference
        scale = p["gamma"] / np.sqrt(state["running_var"] + x.dtype.type(eps))
        return (x - state["running_mean"][:, None, :]) * scale[:, None, :] + beta, None
    if kind == "batch":
        mu, _, var, inv_std, x_hat = F.standardize_over(x, (1,), eps)
        out = gamma * x_hat + beta
        _update_running(state, mu.reshape(S, C), var.reshape(S, C), N, cfg["bn_momentum"])
        return out, (x_hat, inv_std)
    if kind == "layer":
        _, _, _, inv_std, x_hat = F.standardize_over(x, (2,), eps)
        return gamma * x_hat + beta, (x_hat, inv_std)
    if kind == "group":
        grouped = x.reshape(S, N, cfg["num_groups"], -1)
        _, _, _, inv_std, x_hat = F.standardize_over(grouped, (3,), eps)
        return gamma * x_hat.reshape(x.shape) + beta, (x_hat, inv_std)
    # renorm, training mode (F.batch_renorm_forward, r and d per seed and channel)
    mu, _, var, inv_std, x_hat_batch = F.standardize_over(x, (1,), eps)
    sigma_batch = np.sqrt(var + x.dtype.type(eps)).reshape(S, C)
    sigma = np.sqrt(state["running_var"] + x.dtype.type(eps))
    r_max, d_max = cfg["r_max"], cfg["d_max"]
    r = np.clip(sigma_batch / sigma, 1.0 / r_max, r_max)
    d = np.clip((mu.reshape(S, C) - state["running_mean"]) / sigma, -d_max, d_max)
    x_hat = x_hat_batch * r[:, None, :] + d[:, None, :]
    out = gamma * x_hat + beta
    state["last_r"], state["last_d"] = r, d
    _update_running(state, mu.reshape(S, C), var.reshape(S, C), N, cfg["bn_momentum"])
    return out, (x_hat, inv_std, x_hat_batch, r)


def _norm_backward(kind, dout, cache, p):
    gamma = p["gamma"][:, None, :]
    if kind == "batch":  # F.batchnorm_backward, step by step
        x_hat, inv_std = cache
        m = dout.shape[1]
        dbeta = dout.sum(axis=1)
        buf = dout * x_hat
        dgamma = buf.sum(axis=1)
        np.multiply(x_hat, dgamma[:, None, :] / m, out=buf)
        np.subtract(dout, buf, out=buf)
        buf -= dbeta[:, None, :] / m
        buf *= gamma * inv_std
        return buf, {"gamma": dgamma, "beta": dbeta}
    if kind == "layer":
        x_hat, inv_std = cache
        grads = {"gamma": (dout * x_hat).sum(axis=1), "beta": dout.sum(axis=1)}
        return F.standardize_over_backward(dout * gamma, x_hat, inv_std, (2,)), grads
    if kind == "group":
        x_hat, inv_std = cache
        grads = {"gamma": (dout * x_hat.reshape(dout.shape)).sum(axis=1), "beta": dout.sum(axis=1)}
        dx_hat = (dout * gamma).reshape(x_hat.shape)
        return F.standardize_over_backward(dx_hat, x_hat, inv_std, (3,)).reshape(dout.shape), grads
    x_hat, inv_std, x_hat_batch, r = cache  # renorm: r and d are constants
    grads = {"gamma": (dout * x_hat).sum(axis=1), "beta": dout.sum(axis=1)}
    return F.standardize_over_backward(dout * gamma * r[:, None, :], x_hat_batch, inv_std, (1,)), grads


# ----------------------------------------------------------------------------------------------
# The batched network
# ----------------------------------------------------------------------------------------------
class _Stack:
    """S networks of one architecture with parameters stacked on axis 0 (internal to train_seeds)."""

    def __init__(self, template: MLP, models: list, cfg: dict):
        self.cfg = cfg
        self.program = []  # (kind, detail) per layer of the MLP, input to output
        self.params = []  # per layer: {name: (S, ...) array}
        self.state = {}  # per norm layer with running statistics: {name: (S, C) array}
        self.hooks = {}  # per norm layer index: the layer's own batched_backward (see train_seeds)
        self.noisy = {}  # per norm layer index with batched_noise: its S per-seed layer objects
        self.inputs = []  # the input of every layer in the last forward pass (references)
        for index, layer in enumerate(template.layers):
            if hasattr(layer, "batched_backward"):
                self.hooks[index] = layer.batched_backward
            if hasattr(layer, "batched_noise"):
                self.noisy[index] = [m.layers[index] for m in models]
            if isinstance(layer, L.Linear):
                self.program.append(("linear", None))
            elif isinstance(layer, L.Sigmoid | L.Tanh | L.ReLU):
                self.program.append(("act", cfg["activation"]))
            else:
                self.program.append(("norm", cfg["normalization"]))
                if isinstance(layer, L.BatchNorm | L.BatchRenorm):
                    self.state[index] = {
                        "running_mean": np.stack([m.layers[index].running_mean for m in models]),
                        "running_var": np.stack([m.layers[index].running_var for m in models]),
                    }
                    if isinstance(layer, L.BatchRenorm):
                        self.state[index]["last_r"] = np.stack([m.layers[index].last_r for m in models])
                        self.state[index]["last_d"] = np.stack([m.layers[index].last_d for m in models])
            self.params.append(
                {name: np.stack([m.layers[index].params[name] for m in models]) for name in layer.params}
            )

    def forward(self, x, training: bool):
        """Logits (S, N, K) for x (S, N, D) or a shared x (N, D); returns (logits, caches)."""
        caches, self.inputs = [], []
        for index, ((kind, detail), p) in enumerate(zip(self.program, self.params, strict=True)):
            self.inputs.append(x)
            if kind == "linear":
                caches.append(x)
                x = _linear_forward(x, p)
            elif kind == "act":
                x, cache = _act_forward(detail, x)
                caches.append(cache)
            else:
                x, cache = _norm_forward(detail, x, p, self.state.get(index), self.cfg, training)
                if index in self.noisy:  # the per-seed layers add their noise: (S, N, C) and scale (S, C)
                    layers = self.noisy[index]
                    x, scale = type(layers[0]).batched_noise(layers, x, training)
                    cache = (cache, scale)
                caches.append(cache)
        return x, caches

    def backward(self, dlogits, caches):
        """Gradients of every layer, {name: (S, ...)} per layer (empty for parameter-free layers)."""
        grads = [None] * len(self.program)
        dout = dlogits
        for index in range(len(self.program) - 1, -1, -1):
            kind, detail = self.program[index]
            p, cache = self.params[index], caches[index]
            if kind == "linear":
                dout, grads[index] = _linear_backward(dout, cache, p, need_dx=index > 0)
                continue
            if kind == "act":
                dout, grads[index] = _act_backward(detail, dout, cache), {}
                continue
            if index in self.noisy:  # the noise's backward (its scale), then the layer's own
                cache, scale = cache
                dout = dout * scale[:, None, :]
            if index in self.hooks:
                default = functools.partial(_norm_backward, detail, cache=cache, p=p)
                dout, grads[index] = self.hooks[index](dout, cache, p, default)
            else:
                dout, grads[index] = _norm_backward(detail, dout, cache, p)
        return grads

    def accuracy(self, X, y) -> np.ndarray:
        """Eval-mode accuracy of every network on the shared (X, y): shape (S,)."""
        logits, _ = self.forward(X, training=False)
        return np.mean(logits.argmax(axis=2) == y, axis=1)

    def take(self, keep):
        """Keep only the networks at positions ``keep`` (dropping diverged seeds)."""
        self.params = [{name: a[keep] for name, a in p.items()} for p in self.params]
        self.state = {index: {name: a[keep] for name, a in s.items()} for index, s in self.state.items()}
        self.noisy = {index: [layers[k] for k in keep] for index, layers in self.noisy.items()}


def _hook_view(model, net, grads, pos, step, xb, yb):
    """``model`` (the MLP of the seed at stack position ``pos``) as ``train()``'s model looks to its
    hooks at ``step``: current parameters, this step's gradients, running statistics and inputs."""
    for index, layer in enumerate(model.layers):
        for name, stacked in net.params[index].items():
            layer.params[name][...] = stacked[pos]
        layer.grads = {name: g[pos].copy() for name, g in grads[index].items()}
        model.layer_inputs[index] = net.inputs[index][pos]
    for index, stats in net.state.items():
        layer = model.layers[index]
        layer.running_mean = stats["running_mean"][pos].copy()
        layer.running_var = stats["running_var"][pos].copy()
        layer.num_batches_tracked = step + 1
        if "last_r" in stats:
            layer.last_r, layer.last_d = stats["last_r"][pos].copy(), stats["last_d"][pos].copy()
    model.last_batch = (xb, yb)
    return model


def _softmax_cross_entropy(logits, yb):
    """Per-seed mean cross-entropy (S,) and dlogits (S, N, K), as training.softmax_cross_entropy."""
    S, N, _ = logits.shape
    seeds, rows = np.arange(S)[:, None], np.arange(N)[None, :]
    log_probs = log_softmax(logits, axis=2)
    loss = -log_probs[seeds, rows, yb].mean(axis=1)
    dlogits = np.exp(log_probs)
    dlogits[seeds, rows, yb] -= 1.0
    dlogits /= N
    return loss, dlogits


# ----------------------------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------------------------
def _check_seeds(seeds) -> tuple:
    if isinstance(seeds, int | np.integer) or not isinstance(seeds, Iterable | np.ndarray):
        raise TypeError(
            f"{_WHERE}: seeds must be a sequence of integers (e.g. range(10)), got {type(seeds).__name__}"
        )
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError(f"{_WHERE}: seeds must not be empty")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int | np.integer):
            raise TypeError(f"{_WHERE}: seeds must hold integers, got {s!r} ({type(s).__name__})")
        if s < 0:
            raise ValueError(f"{_WHERE}: seeds must be >= 0 (numpy generators refuse negatives), got {s}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{_WHERE}: seeds must be distinct (a repeated seed repeats a run), got {seeds}")
    return tuple(int(s) for s in seeds)


def _check_data(X, y, n_classes: int, names: tuple[str, str], d_in: int):
    """(X, y) of shape (n, layer_sizes[0]) and (n,), y integer labels in [0, layer_sizes[-1])."""
    X, y = check_X_y(X, y, _WHERE, n_features=d_in, names=names)
    return X, check_labels(y, n_classes, _WHERE, name=names[1])


# ----------------------------------------------------------------------------------------------
# The training loop
# ----------------------------------------------------------------------------------------------
def _renorm_limits_at(schedule, step: int) -> tuple[float, float]:
    """``schedule(step)`` as floats, checked: r_max >= 1 and d_max >= 0 (Batch Renorm's clip limits)."""
    r_max, d_max = (float(v) for v in schedule(step))
    if not (r_max >= 1.0 and d_max >= 0.0):
        raise ValueError(
            f"{_WHERE}: renorm_schedule({step}) gave r_max={r_max}, d_max={d_max}; needs r_max >= 1, d_max >= 0"
        )
    return r_max, d_max


def train_seeds(
    layer_sizes,
    seeds,
    X,
    y,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.0,
    activation: str = "sigmoid",
    normalization: str = "none",
    placement: str = "before",
    init_scale: float | None = None,
    bn_momentum: float = 0.1,
    eps: float = 1e-5,
    num_groups: int = 4,
    r_max: float = 3.0,
    d_max: float = 5.0,
    X_test=None,
    y_test=None,
    eval_every: int = 0,
    divergence_threshold: float = 1e3,
    customize=None,
    renorm_schedule=None,
    hooks=None,
) -> SeedRuns:
    """Train one MLP per seed, all at once, with exactly the numbers of separate ``train()`` runs.

    For every ``s`` in ``seeds`` this is
    ``train(MLP(layer_sizes, activation, normalization, placement, init_scale, seed=s,
    bn_momentum=bn_momentum, eps=eps, num_groups=num_groups, r_max=r_max, d_max=d_max), X, y,
    steps=steps, batch_size=batch_size, lr=lr, momentum=momentum, seed=s, X_test=X_test,
    y_test=y_test, eval_every=eval_every, divergence_threshold=divergence_threshold)``:
    seed ``s`` sets both the initial weights and the mini-batch order.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[D_in, H_1, ..., H_k, n_classes]``.
    seeds : sequence of int
        Distinct, ≥ 0. Row ``i`` of every result belongs to ``seeds[i]``.
    X : ndarray, shape (n, D_in);  y : ndarray of int, shape (n,)
    steps, batch_size : int
    lr, momentum : float
        SGD learning rate and heavy-ball momentum (``train``'s meaning).
    activation : {"sigmoid", "tanh", "relu"}
    normalization : {"none", "batch", "layer", "group", "renorm"}
    placement : {"before", "after"}
    init_scale : float, optional
    bn_momentum, eps, num_groups, r_max, d_max
        As in :class:`~course_utils.training.MLP` (BatchNorm's running-average momentum, PyTorch
        convention; GroupNorm's groups; Batch Renorm's clips).
    X_test, y_test : ndarray, optional
        Evaluated in eval mode every ``eval_every`` steps and after the last step.
    eval_every : int, default 0
        0: only after the last step.
    divergence_threshold : float
        A seed whose batch loss exceeds this or is not finite stops at that step (``diverged``): its
        weights keep the values they had before the step (its running statistics include that
        step's batch, as in ``train()``), its loss row holds the offending value then NaN, and its
        later test accuracies are chance level. The other seeds carry on unaffected.
    customize : callable, optional
        ``customize(model)`` is applied to every freshly built MLP before training, e.g. to swap in a
        subclass of ``layers.BatchNorm`` with another starting γ (notebooks 05–06). A swapped-in norm
        layer keeps its base class's forward pass; if it changes the backward, it also defines
        ``batched_backward(dout, cache, params, backward) -> (dx, grads)`` on the stacked arrays
        (``params["gamma"]`` of shape (S, C); ``backward(dout)`` is the unchanged batched backward).
        ``SeedRuns.model(i)`` rebuilds the plain MLP (forward-equivalent) with the trained values.
        ``customize`` is called on the models in the order of ``seeds``. A swapped-in norm layer may
        add its own per-seed randomness after normalizing: it then defines a static method
        ``batched_noise(layers, out, training) -> (y, scale)``, called with the S per-seed layer
        objects (each with its own generator) and the normalized output ``out`` (S, N, C); the
        backward multiplies by ``scale`` (S, C) (:class:`~course_utils.covariate_shift.NoisyBatchNorm`).
    renorm_schedule : callable, optional
        Only with ``normalization="renorm"``: ``renorm_schedule(step) -> (r_max, d_max)``, the clip limits
        of training step ``step`` (0-based), e.g. ``lambda t: alternatives.renorm_limits(t, steps)``
        for Ioffe's (2017) warm-up. It equals ``train()`` with the model built with ``renorm_schedule(0)``
        and a hook that sets every ``BatchRenorm``'s ``r_max``, ``d_max`` to ``renorm_schedule(t + 1)``
        after step ``t`` (``alternatives.RenormSchedule``). ``r_max`` and ``d_max`` above are then unused
        in training (``SeedRuns.config`` keeps them).
    hooks : sequence of sequences of Hook, optional
        ``hooks[i]`` are the hooks of ``seeds[i]``, called like ``train()``'s: ``hook(step, model)``
        after the backward pass of every step, before the update. ``model`` is that seed's MLP
        holding what ``train()``'s model holds then: parameters, gradients, running statistics,
        ``layer_inputs`` and ``last_batch`` of the step (and the layers ``customize`` put in, with
        their current noise); not the layers' private caches. It is refreshed only at steps where
        some hook's ``every`` divides the step. Hooks must not change it (nothing flows back).

    Returns
    -------
    SeedRuns

    Notes
    -----
    Cost: the Python overhead of a step is paid once for all seeds; the arithmetic grows with S.
    BLAS is limited to one thread (:func:`~course_utils.training.single_blas_thread`).
    """
    seeds = _check_seeds(seeds)
    cfg, opts = _check_options(
        layer_sizes,
        activation=activation,
        normalization=normalization,
        placement=placement,
        init_scale=init_scale,
        bn_momentum=bn_momentum,
        eps=eps,
        num_groups=num_groups,
        r_max=r_max,
        d_max=d_max,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        momentum=momentum,
        eval_every=eval_every,
        divergence_threshold=divergence_threshold,
    )
    # The initial weights are those of MLP(..., seed=s) by construction (this also validates the
    # architecture: layer sizes, init_scale, num_groups, r_max, d_max).
    mlp_kwargs = {k: v for k, v in cfg.items() if k != "layer_sizes"}
    models = [MLP(cfg["layer_sizes"], seed=s, **mlp_kwargs) for s in seeds]
    if customize is not None:
        for model in models:
            customize(model)
    if hooks is not None:
        hooks = [list(h) for h in hooks]
        if len(hooks) != len(seeds):
            raise ValueError(f"{_WHERE}: hooks must hold one sequence of hooks per seed, got {len(hooks)}")
    data = _check_datasets(X, y, X_test, y_test, models[0].layer_sizes, opts["batch_size"], normalization)
    if renorm_schedule is not None and (normalization != "renorm" or not callable(renorm_schedule)):
        raise ValueError(
            f"{_WHERE}: renorm_schedule must be a callable, and only with normalization='renorm'"
        )

    run = _SeedTraining(seeds, models, cfg, opts, data, hooks, renorm_schedule)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), single_blas_thread():
        for step in range(opts["steps"]):
            run.step(step)
            if run.active.size == 0:
                break
            run.evaluate_if_due(step)
        run.finish()
    return run.result()


def _check_options(layer_sizes, **options) -> tuple[dict, dict]:
    """The checked options of :func:`train_seeds`: (the MLP's configuration, the training loop's)."""
    activation, normalization = options["activation"], options["normalization"]
    if activation not in ACTIVATIONS:
        raise ValueError(f"{_WHERE}: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"{_WHERE}: normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if options["placement"] not in ("before", "after"):
        raise ValueError(f"{_WHERE}: placement must be 'before' or 'after', got {options['placement']!r}")
    opts = dict(
        steps=check_positive_int(options["steps"], "steps", _WHERE),
        batch_size=check_positive_int(options["batch_size"], "batch_size", _WHERE),
        lr=check_positive(options["lr"], "lr", _WHERE),
        momentum=check_in_range(options["momentum"], "momentum", _WHERE, 0.0, 1.0),
    )
    bn_momentum = check_in_range(options["bn_momentum"], "bn_momentum", _WHERE, 0.0, 1.0)
    eps = check_positive(options["eps"], "eps", _WHERE)
    threshold = check_positive(options["divergence_threshold"], "divergence_threshold", _WHERE)
    opts["divergence_threshold"] = threshold
    eval_every = options["eval_every"]
    if isinstance(eval_every, bool) or not isinstance(eval_every, int | np.integer) or eval_every < 0:
        raise ValueError(f"{_WHERE}: eval_every must be an integer >= 0, got {eval_every!r}")
    opts["eval_every"] = eval_every
    if isinstance(layer_sizes, str) or not isinstance(layer_sizes, Iterable | np.ndarray):
        raise TypeError(f"{_WHERE}: layer_sizes must be a sequence of int, got {type(layer_sizes).__name__}")
    cfg = dict(
        layer_sizes=list(layer_sizes),
        activation=activation,
        normalization=normalization,
        placement=options["placement"],
        init_scale=options["init_scale"],
        bn_momentum=bn_momentum,
        eps=eps,
        num_groups=options["num_groups"],
        r_max=options["r_max"],
        d_max=options["d_max"],
    )
    return cfg, opts


def _check_datasets(X, y, X_test, y_test, layer_sizes, batch_size: int, normalization: str) -> dict:
    """The training and (optional) test data, checked against the architecture and the batch size."""
    n_classes, d_in = layer_sizes[-1], layer_sizes[0]
    X, y = _check_data(X, y, n_classes, ("X", "y"), d_in)
    if batch_size > X.shape[0]:
        raise ValueError(f"{_WHERE}: batch_size={batch_size} exceeds the n={X.shape[0]} training examples")
    if normalization in ("batch", "renorm") and batch_size < 2:
        raise ValueError(f"{_WHERE}: batch_size must be >= 2 with normalization={normalization!r}")
    if (X_test is None) != (y_test is None):
        raise ValueError(f"{_WHERE}: give both X_test and y_test, or neither")
    if X_test is not None:
        X_test, y_test = _check_data(X_test, y_test, n_classes, ("X_test", "y_test"), d_in)
    return dict(X=X, y=y, X_test=X_test, y_test=y_test, n_classes=n_classes)


class _SeedTraining:
    """The training loop of :func:`train_seeds`, in phases: ``__init__`` (stack the networks, allocate the
    results), :meth:`step` (one SGD step of every active seed, dropping the ones that diverge),
    :meth:`evaluate_if_due`, :meth:`finish` (the survivors' final state and test accuracy), :meth:`result`."""

    def __init__(self, seeds, models, cfg, opts, data, hooks, renorm_schedule):
        self.seeds, self.models, self.cfg, self.opts, self.data = seeds, models, cfg, opts, data
        self.hooks, self.renorm_schedule = hooks, renorm_schedule
        S, steps, eval_every = len(seeds), opts["steps"], opts["eval_every"]
        self.net = _Stack(models[0], models, dict(cfg) if renorm_schedule is not None else cfg)
        X_test = data["X_test"]
        self.batches = [iterate_minibatches(data["X"].shape[0], opts["batch_size"], seed=s) for s in seeds]
        self.loss = np.full((S, steps), np.nan)
        self.batch_acc = np.full((S, steps), np.nan)
        self.eval_steps = (
            [t for t in range(eval_every, steps, eval_every)] if (X_test is not None and eval_every) else []
        )
        self.test_steps = np.array(self.eval_steps + [steps] if X_test is not None else [], dtype=int)
        self.test_acc = np.full((S, self.test_steps.size), 1.0 / data["n_classes"])
        self.diverged = np.zeros(S, dtype=bool)
        self.steps_taken = np.full(S, steps, dtype=int)
        # Final state per seed, filled when a seed diverges or at the end.
        self.final_params = [{name: np.empty_like(a) for name, a in p.items()} for p in self.net.params]
        self.final_state = {
            index: {name: np.empty_like(a) for name, a in s.items()} for index, s in self.net.state.items()
        }
        self.active = np.arange(S)  # original row of every network still in the stack
        self.velocity = None
        self.next_eval = 0

    def _save(self, rows, positions):
        """Copy the current state of stack positions ``positions`` into the final rows ``rows``."""
        for final, p in zip(self.final_params, self.net.params, strict=True):
            for name, a in p.items():
                final[name][rows] = a[positions]
        for index, s in self.net.state.items():
            for name, a in s.items():
                self.final_state[index][name][rows] = a[positions]

    def step(self, step: int) -> None:
        """Forward, loss, backward, hooks and SGD update of every active seed at ``step``."""
        net, active, X, y = self.net, self.active, self.data["X"], self.data["y"]
        if self.renorm_schedule is not None:
            net.cfg["r_max"], net.cfg["d_max"] = _renorm_limits_at(self.renorm_schedule, step)
        idx = np.stack([next(self.batches[row]) for row in active])
        xb, yb = X[idx], y[idx]
        logits, caches = net.forward(xb, training=True)
        step_loss, dlogits = _softmax_cross_entropy(logits, yb)
        self.loss[active, step] = step_loss
        self.batch_acc[active, step] = np.mean(logits.argmax(axis=2) == yb, axis=1)
        bad = ~np.isfinite(step_loss) | (step_loss > self.opts["divergence_threshold"])
        if bad.any():
            # Frozen before the update (running statistics include this step, as in train()).
            self._save(active[bad], np.flatnonzero(bad))
            self.diverged[active[bad]] = True
            self.steps_taken[active[bad]] = step + 1
        grads = net.backward(dlogits, caches)
        if self.hooks is not None:  # train() calls its hooks here, except at a diverging step
            self._call_hooks(step, grads, bad, xb, yb)
        self._sgd_update(grads)
        if bad.any():
            keep = np.flatnonzero(~bad)
            self.active = active[keep]
            net.take(keep)
            if self.velocity is not None:
                self.velocity = [{name: v[keep] for name, v in vel.items()} for vel in self.velocity]

    def _call_hooks(self, step, grads, bad, xb, yb):
        for pos in np.flatnonzero(~bad):
            row = self.active[pos]
            if any(step % getattr(h, "every", 1) == 0 for h in self.hooks[row]):
                model = _hook_view(self.models[row], self.net, grads, pos, step, xb[pos], yb[pos])
                for hook in self.hooks[row]:
                    hook(step, model)

    def _sgd_update(self, grads):
        """training.SGD.step: v = g at the first step, then v = momentum * v + g; θ -= lr * v."""
        momentum, lr = self.opts["momentum"], self.opts["lr"]
        if momentum:
            if self.velocity is None:
                self.velocity = [{name: g.copy() for name, g in gr.items()} for gr in grads]
            else:
                for vel, gr in zip(self.velocity, grads, strict=True):
                    for name in vel:
                        vel[name] = momentum * vel[name] + gr[name]
            grads = self.velocity
        for p, gr in zip(self.net.params, grads, strict=True):
            for name, param in p.items():
                param -= lr * gr[name]

    def evaluate_if_due(self, step: int) -> None:
        """Eval-mode test accuracy of the active seeds if ``step + 1`` is an evaluation step."""
        if self.next_eval < len(self.eval_steps) and step + 1 == self.eval_steps[self.next_eval]:
            accuracy = self.net.accuracy(self.data["X_test"], self.data["y_test"])
            self.test_acc[self.active, self.next_eval] = accuracy
            self.next_eval += 1

    def finish(self) -> None:
        """The final state and test accuracy of the seeds that did not diverge."""
        if self.active.size:
            self._save(self.active, np.arange(self.active.size))
            if self.data["X_test"] is not None:
                self.test_acc[self.active, -1] = self.net.accuracy(self.data["X_test"], self.data["y_test"])

    def result(self) -> SeedRuns:
        return SeedRuns(
            seeds=self.seeds,
            loss=self.loss,
            batch_accuracy=self.batch_acc,
            test_steps=self.test_steps,
            test_accuracy=self.test_acc,
            diverged=self.diverged,
            steps_taken=self.steps_taken,
            config=self.cfg,
            params=self.final_params,
            state=self.final_state,
        )
