"""What BatchNorm does to optimization: landscape probes and the experiments of notebook 09.

Landscape probes (Santurkar, Tsipras, Ilyas & Mądry 2018, "How does batch normalization help
optimization?"). At parameters θ with mini-batch gradient g = ∇L(θ), move along the gradient by a
range of step sizes η and measure, on the *same* batch,

* the loss ``L(θ − η g)`` (its range over η is the "loss landscape" band),
* the gradient predictiveness ``‖∇L(θ − η g) − ∇L(θ)‖`` (how much the gradient changes),
* the effective β-smoothness ``max_η ‖∇L(θ − η g) − ∇L(θ)‖ / ‖η g‖`` (a local Lipschitz
  constant of the gradient along the direction the optimizer actually moves).

The probes work on flat parameter vectors through a closure ``loss_and_grad(theta) -> (loss, grad)``
(:func:`model_loss_and_grad`), which evaluates a *private copy* of the network: probing a BatchNorm
network in training mode would otherwise update its running statistics and overwrite its layer
caches. The original model is never touched.

The experiment runners (:func:`run_training`, :func:`run_training_seeds`, :func:`train_with_probes`,
:func:`scale_invariance_check`, :func:`with_classifier_input_norm`, :func:`build_model`) are what
notebook 09 uses for the learning-rate sweep, the placement comparison, the generalization gap and
the initialization-scale argument. Comparisons over seeds are :func:`course_utils.stats.compare`'s job
(the course's one home for paired intervals and their verdict words).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ._validate import (
    as_real_array,
    check_model,
    check_positive,
    check_positive_int,
    check_X_y,
)
from .data import iterate_minibatches
from .layers import BatchNorm
from .training import MLP, SGD, softmax_cross_entropy

__all__ = [
    "parameter_vector",
    "set_parameter_vector",
    "model_loss_and_grad",
    "loss_along_gradient",
    "gradient_predictiveness",
    "effective_beta_smoothness",
    "LandscapeProbe",
    "probe_along_gradient",
    "ProbeTrace",
    "train_with_probes",
    "RunResult",
    "build_model",
    "run_training",
    "with_classifier_input_norm",
    "ScaleInvarianceRow",
    "scale_invariance_check",
]


# --------------------------------------------------------------------------------------------------
# flat parameter vectors
# --------------------------------------------------------------------------------------------------


def _param_slots(model, where):
    """(layer, name) for every trainable array, in a fixed order (input → output, dict order)."""
    check_model(model, where)
    return [(layer, name) for layer in model.layers for name in layer.params]


def parameter_vector(model) -> np.ndarray:
    """All trainable parameters of ``model`` concatenated into one new 1-D float64 array θ."""
    return np.concatenate(
        [layer.params[name].ravel() for layer, name in _param_slots(model, "parameter_vector")]
    )


def set_parameter_vector(model, theta) -> None:
    """Write the flat vector ``theta`` (as from :func:`parameter_vector`) into ``model`` in place."""
    slots = _param_slots(model, "set_parameter_vector")
    theta = as_real_array(theta, "theta", "set_parameter_vector")
    size = sum(layer.params[name].size for layer, name in slots)
    if theta.shape != (size,):
        raise ValueError(
            f"set_parameter_vector: theta must have shape ({size},) for this model, got {theta.shape}"
        )
    offset = 0
    for layer, name in slots:
        param = layer.params[name]
        param[...] = theta[offset : offset + param.size].reshape(param.shape)
        offset += param.size


def _gradient_vector(model) -> np.ndarray:
    return np.concatenate(
        [layer.grads[name].ravel() for layer, name in _param_slots(model, "model_loss_and_grad")]
    )


def model_loss_and_grad(model, X, y, training: bool = True):
    """A closure ``f(theta) -> (loss, grad)`` for the softmax cross-entropy of ``model`` on (X, y).

    ``f`` evaluates a deep copy of ``model`` made once here, so calling it never changes the
    model's parameters, BatchNorm running statistics or layer caches. With ``training=True`` a
    BatchNorm network normalizes with the statistics of ``X`` itself (the loss SGD sees); the copy's
    running statistics do drift, but training-mode outputs do not depend on them, so ``f`` is a
    deterministic function of ``theta``.

    Parameters
    ----------
    model : MLP
    X : ndarray, shape (N, D_in);  y : ndarray of int, shape (N,)
    training : bool
        Forward mode of the copy (``False``: running statistics, i.e. the eval-mode loss).

    Returns
    -------
    f : callable
        ``f(theta)`` with ``theta`` of shape (P,) returns ``(loss: float, grad: ndarray (P,))``.
    """
    where = "model_loss_and_grad"
    check_model(model, where)
    X, y = check_X_y(X, y, where, n_features=model.layer_sizes[0])
    twin = copy.deepcopy(model)
    X, y = X.copy(), y.copy()

    def loss_and_grad(theta):
        set_parameter_vector(twin, theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = twin.forward(X, training=training)
            loss, dlogits = softmax_cross_entropy(logits, y)
            twin.backward(dlogits)
        return loss, _gradient_vector(twin)

    return loss_and_grad


# --------------------------------------------------------------------------------------------------
# the three probes
# --------------------------------------------------------------------------------------------------


def _check_probe_args(loss_and_grad, theta, step_sizes, where):
    if not callable(loss_and_grad):
        raise TypeError(f"{where}: loss_and_grad must be callable, got {type(loss_and_grad).__name__}")
    theta = as_real_array(theta, "theta", where)
    if theta.ndim != 1:
        raise ValueError(f"{where}: theta must be a 1-D parameter vector, got shape {theta.shape}")
    return theta, _check_step_sizes(step_sizes, where)


def _check_step_sizes(step_sizes, where):
    step_sizes = as_real_array(step_sizes, "step_sizes", where).astype(float)
    if step_sizes.ndim != 1 or step_sizes.size == 0:
        raise ValueError(f"{where}: step_sizes must be a non-empty 1-D array, got shape {step_sizes.shape}")
    if not np.all(np.isfinite(step_sizes) & (step_sizes > 0)):
        raise ValueError(f"{where}: step_sizes must be finite and > 0, got {step_sizes}")
    return step_sizes


def loss_along_gradient(loss_and_grad, theta, step_sizes) -> np.ndarray:
    """``L(θ − η ∇L(θ))`` for each η in ``step_sizes`` (shape (S,))."""
    return probe_along_gradient(loss_and_grad, theta, step_sizes).losses


def gradient_predictiveness(loss_and_grad, theta, step_sizes) -> np.ndarray:
    """``‖∇L(θ − η g) − ∇L(θ)‖₂`` with ``g = ∇L(θ)``, for each η in ``step_sizes`` (shape (S,)).

    Small values mean the gradient at θ still predicts the gradient a step later.
    """
    return probe_along_gradient(loss_and_grad, theta, step_sizes).grad_changes


def effective_beta_smoothness(loss_and_grad, theta, step_sizes) -> float:
    """``max_η ‖∇L(θ − η g) − ∇L(θ)‖ / ‖η g‖``: gradient change per unit of parameter change."""
    return probe_along_gradient(loss_and_grad, theta, step_sizes).beta


@dataclass
class LandscapeProbe:
    """One probe at θ along g = ∇L(θ). Arrays have one entry per step size."""

    step_sizes: np.ndarray
    loss0: float
    grad_norm: float
    losses: np.ndarray
    grad_changes: np.ndarray

    @property
    def beta_ratios(self) -> np.ndarray:
        """``‖∇L(θ − ηg) − ∇L(θ)‖ / ‖ηg‖`` per step size (0 where g = 0)."""
        moved = self.step_sizes * self.grad_norm
        return np.divide(self.grad_changes, moved, out=np.zeros_like(self.grad_changes), where=moved > 0)

    @property
    def beta(self) -> float:
        """Effective β-smoothness: the largest ratio over the step sizes."""
        return float(np.max(self.beta_ratios))


def probe_along_gradient(loss_and_grad, theta, step_sizes) -> LandscapeProbe:
    """Evaluate the loss and the gradient at ``θ − η∇L(θ)`` for every η in ``step_sizes``.

    Parameters
    ----------
    loss_and_grad : callable
        ``f(theta) -> (loss, grad)``, e.g. from :func:`model_loss_and_grad`.
    theta : ndarray, shape (P,)
    step_sizes : array-like of float > 0, shape (S,)

    Returns
    -------
    LandscapeProbe
    """
    theta, step_sizes = _check_probe_args(loss_and_grad, theta, step_sizes, "probe_along_gradient")
    loss0, g = loss_and_grad(theta.copy())
    g = np.asarray(g, dtype=float)
    if g.shape != theta.shape:
        raise ValueError(
            f"probe_along_gradient: loss_and_grad returned a gradient of shape {g.shape}, "
            f"expected {theta.shape}"
        )
    losses = np.empty(step_sizes.size)
    changes = np.empty(step_sizes.size)
    with np.errstate(over="ignore", invalid="ignore"):
        for k, eta in enumerate(step_sizes):
            loss_k, g_k = loss_and_grad(theta - eta * g)
            losses[k] = loss_k
            changes[k] = np.linalg.norm(np.asarray(g_k) - g)
    return LandscapeProbe(
        step_sizes=step_sizes,
        loss0=float(loss0),
        grad_norm=float(np.linalg.norm(g)),
        losses=losses,
        grad_changes=changes,
    )


@dataclass
class ProbeTrace:
    """Landscape probes recorded during training by :func:`train_with_probes`.

    ``losses``, ``grad_changes`` and ``beta_ratios`` have shape (n_probes, n_step_sizes), one row
    per probed training step (``probe_steps``); ``loss`` has one entry per step taken.
    """

    step_sizes: np.ndarray
    probe_steps: np.ndarray
    losses: np.ndarray
    grad_changes: np.ndarray
    beta_ratios: np.ndarray
    grad_norms: np.ndarray
    loss: np.ndarray
    diverged: bool

    @property
    def beta(self) -> np.ndarray:
        """Effective β-smoothness at each probed step (max over the step sizes)."""
        return self.beta_ratios.max(axis=1)

    def band(self, name: str):
        """(min, max) over the step sizes of ``"losses"`` or ``"grad_changes"``, per probed step."""
        if name not in ("losses", "grad_changes", "beta_ratios"):
            raise ValueError(
                f"ProbeTrace.band: name must be 'losses', 'grad_changes' or 'beta_ratios', got {name!r}"
            )
        values = getattr(self, name)
        return values.min(axis=1), values.max(axis=1)


def train_with_probes(
    model,
    X,
    y,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    step_sizes,
    probe_every: int = 10,
    seed: int = 0,
    divergence_threshold: float = 1e3,
) -> ProbeTrace:
    """Train ``model`` with plain SGD and probe the landscape every ``probe_every`` steps.

    Each probe uses the current mini-batch, before that step's update, and a copy of the model
    (so the running statistics and the training itself are exactly those of an unprobed run with
    the same seeds: the same batches, the same updates).

    Parameters
    ----------
    model : MLP
    X, y : training data
    steps, batch_size : int
    lr : float
        SGD learning rate of the training run (the probes use ``step_sizes``).
    step_sizes : array-like of float > 0
    probe_every : int
    seed : int
        Seeds the mini-batch order (as :func:`course_utils.training.train`).
    divergence_threshold : float
        Training stops with ``diverged=True`` if the loss exceeds it or is not finite.

    Returns
    -------
    ProbeTrace
    """
    where = "train_with_probes"
    check_model(model, where)
    X, y = check_X_y(X, y, where, n_features=model.layer_sizes[0])
    steps = check_positive_int(steps, "steps", where)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    probe_every = check_positive_int(probe_every, "probe_every", where)
    optimizer = SGD(lr)
    step_sizes = _check_step_sizes(step_sizes, where)
    batches = iterate_minibatches(X.shape[0], batch_size, seed=seed)
    probe_steps, losses, changes, ratios, norms, train_loss = [], [], [], [], [], []
    diverged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(steps):
            idx = next(batches)
            xb, yb = X[idx], y[idx]
            if step % probe_every == 0:
                probe = probe_along_gradient(
                    model_loss_and_grad(model, xb, yb), parameter_vector(model), step_sizes
                )
                probe_steps.append(step)
                losses.append(probe.losses)
                changes.append(probe.grad_changes)
                ratios.append(probe.beta_ratios)
                norms.append(probe.grad_norm)
            loss, dlogits = softmax_cross_entropy(model.forward(xb, training=True), yb)
            train_loss.append(loss)
            if not np.isfinite(loss) or loss > divergence_threshold:
                diverged = True
                break
            model.backward(dlogits)
            optimizer.step(model)
    return ProbeTrace(
        step_sizes=step_sizes,
        probe_steps=np.array(probe_steps),
        losses=np.array(losses),
        grad_changes=np.array(changes),
        beta_ratios=np.array(ratios),
        grad_norms=np.array(norms),
        loss=np.array(train_loss),
        diverged=diverged,
    )


# --------------------------------------------------------------------------------------------------
# experiment runners
# --------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """Summary of one training run (:func:`run_training`).

    Accuracies and losses ``*_train`` / ``*_test`` are measured in eval mode on the full sets after
    training; a diverged run gets chance accuracy and ``inf`` eval losses (never NaN).
    """

    config: dict
    loss: np.ndarray
    diverged: bool
    steps_taken: int
    train_accuracy: float
    test_accuracy: float
    train_loss: float
    test_loss: float
    weight_norms: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def accuracy_gap(self) -> float:
        """Train minus test accuracy (eval mode)."""
        return self.train_accuracy - self.test_accuracy

    @property
    def loss_gap(self) -> float:
        """Test minus train cross-entropy (eval mode); ``inf`` for a diverged run."""
        return self.test_loss - self.train_loss if not self.diverged else float("inf")


def _eval_loss(model, X, y) -> float:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, _ = softmax_cross_entropy(model.forward(X, training=False), y)
    return float(loss) if np.isfinite(loss) else float("inf")


def _training_data(data, n_train, where):
    """``(X_train, X_test, y_train, y_test)`` from ``data``, the training part cut to ``n_train`` rows."""
    if not isinstance(data, tuple | list) or len(data) != 4:
        raise TypeError(f"{where}: data must be the tuple (X_train, X_test, y_train, y_test)")
    X_train, X_test, y_train, y_test = data
    if n_train is not None:
        n_train = check_positive_int(n_train, "n_train", where)
        if n_train > len(X_train):
            raise ValueError(f"{where}: n_train={n_train} exceeds the {len(X_train)} training examples")
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, X_test, y_train, y_test


def _run_result(config, history, model, split) -> RunResult:
    """Summarize one trained run; a diverged run counts as chance accuracy and infinite loss."""
    X_train, X_test, y_train, y_test = split
    if history.diverged:
        chance = 1.0 / model.layer_sizes[-1]
        train_acc, test_acc, train_loss, test_loss = chance, chance, float("inf"), float("inf")
        weight_norms = np.full(len(model.linears), np.inf)
    else:
        train_acc, test_acc = model.accuracy(X_train, y_train), history.final_test_accuracy
        train_loss, test_loss = _eval_loss(model, X_train, y_train), _eval_loss(model, X_test, y_test)
        weight_norms = np.array([np.linalg.norm(layer.W) for layer in model.linears])
    return RunResult(
        config=config,
        loss=history.loss,
        diverged=history.diverged,
        steps_taken=history.steps_taken,
        train_accuracy=float(train_acc),
        test_accuracy=float(test_acc),
        train_loss=train_loss,
        test_loss=test_loss,
        weight_norms=weight_norms,
    )


def _run_config(
    layer_sizes,
    activation,
    normalization,
    placement,
    init_scale,
    lr,
    steps,
    batch_size,
    n_train,
    classifier_input_norm=None,
    seed=None,
) -> dict:
    """The settings a :class:`RunResult` records as its ``config`` (one layout for both runners)."""
    return dict(
        layer_sizes=list(layer_sizes),
        activation=activation,
        normalization=normalization,
        placement=placement,
        init_scale=init_scale,
        lr=lr,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        n_train=n_train,
        classifier_input_norm=classifier_input_norm,
    )


def build_model(
    layer_sizes,
    *,
    activation="relu",
    normalization="none",
    placement="before",
    init_scale=None,
    seed: int = 0,
    classifier_input_norm: bool | None = None,
) -> MLP:
    """The untrained network :func:`run_training` trains, for measurements at initialization.

    ``MLP(layer_sizes, activation=..., normalization=..., placement=..., init_scale=..., seed=seed)``;
    with ``classifier_input_norm`` ``True`` / ``False`` the BatchNorm on the output layer's input is
    added / removed by :func:`with_classifier_input_norm` (``placement="before"`` with
    ``classifier_input_norm=True`` is notebook 09's "before+"); ``None`` leaves the MLP as built.
    """
    model = MLP(
        layer_sizes,
        activation=activation,
        normalization=normalization,
        placement=placement,
        init_scale=init_scale,
        seed=seed,
    )
    if classifier_input_norm is not None:
        model = with_classifier_input_norm(model, classifier_input_norm)
    return model


def run_training(
    data,
    *,
    layer_sizes,
    activation="relu",
    normalization="none",
    placement="before",
    init_scale=None,
    lr: float,
    steps: int,
    batch_size: int = 32,
    seed: int = 0,
    n_train: int | None = None,
    classifier_input_norm: bool | None = None,
) -> RunResult:
    """Build an :class:`~course_utils.training.MLP`, train it with SGD and summarize the run.

    Parameters
    ----------
    data : tuple
        ``(X_train, X_test, y_train, y_test)`` as returned by :func:`course_utils.data.load_digits_split`.
    layer_sizes, activation, normalization, placement, init_scale
        Passed to :class:`~course_utils.training.MLP`; ``seed`` seeds its weights.
    lr, steps, batch_size
        Passed to :func:`course_utils.training.train`; ``seed`` also seeds the batch order.
    n_train : int, optional
        Use only the first ``n_train`` training examples (to make over-fitting visible).
    classifier_input_norm : bool, optional
        ``None`` (default): the MLP as built. ``True`` / ``False``: add / remove the BatchNorm on the
        input of the output layer (see :func:`with_classifier_input_norm`; needs ``normalization="batch"``).

    Returns
    -------
    RunResult
    """
    from .training import train

    where = "run_training"
    X_train, X_test, y_train, y_test = _training_data(data, n_train, where)
    check_positive(lr, "lr", where)
    model = build_model(
        layer_sizes,
        activation=activation,
        normalization=normalization,
        placement=placement,
        init_scale=init_scale,
        seed=seed,
        classifier_input_norm=classifier_input_norm,
    )
    history = train(
        model,
        X_train,
        y_train,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        X_test=X_test,
        y_test=y_test,
    )
    config = _run_config(
        layer_sizes,
        activation,
        normalization,
        placement,
        init_scale,
        lr,
        steps,
        batch_size,
        n_train,
        classifier_input_norm=classifier_input_norm,
        seed=seed,
    )
    return _run_result(config, history, model, (X_train, X_test, y_train, y_test))


def with_classifier_input_norm(model, normalized: bool = True) -> MLP:
    """A copy of a BatchNorm ``model`` with (``True``) or without (``False``) a BatchNorm on the input
    of its output (logits) layer.

    :class:`~course_utils.training.MLP` with ``placement="after"`` ends its last hidden layer with
    ``act → BN``, so the output layer always receives normalized inputs; with ``placement="before"``
    it receives raw activations (``BN → act``). This helper removes that confound from a placement
    comparison: ``with_classifier_input_norm(before_net, True)`` normalizes the classifier's input
    exactly like the "after" net does (a new BatchNorm with γ = 1, β = 0 and the model's momentum and ε),
    and ``with_classifier_input_norm(after_net, False)`` removes it. Already in the requested state:
    an unchanged copy. The original model is never modified.
    """
    where = "with_classifier_input_norm"
    check_model(model, where, normalization="batch")
    if not isinstance(normalized, bool | np.bool_):
        raise TypeError(f"{where}: normalized must be True or False, got {normalized!r}")
    if len(model.linear_indices) < 2:
        raise ValueError(
            f"{where}: model needs at least one hidden layer, got layer_sizes {model.layer_sizes}"
        )
    twin = copy.deepcopy(model)
    out = twin.linear_indices[-1]
    present = (out - 1) in twin.norm_indices
    if normalized and not present:
        reference = twin.layers[twin.norm_indices[0]]
        twin.layers.insert(
            out, BatchNorm(twin.layer_sizes[-2], momentum=reference.momentum, eps=reference.eps)
        )
        twin.norm_indices.append(out)
        twin.linear_indices[-1] = out + 1
    elif not normalized and present:
        del twin.layers[out - 1]
        twin.norm_indices.remove(out - 1)
        twin.linear_indices[-1] = out - 1
    twin.layer_inputs = [None] * len(twin.layers)
    return twin


@dataclass
class ScaleInvarianceRow:
    """What scaling one BatchNorm-ed layer's weights by ``a`` changes (see :func:`scale_invariance_check`)."""

    factor: float
    output_change: float  # max |BN(x·aW) − BN(x·W)| over the batch (layer after the Linear)
    loss_change: float  # |L(aW) − L(W)|
    grad_ratio: float  # ‖∇_{aW} L‖ / ‖∇_W L‖   (theory: 1/a)
    grad_error: float  # max relative error between a·∇_{aW} L and ∇_W L (theory: 0)
    update_ratio: float  # relative update ‖ΔW‖/‖W‖ of one SGD step, scaled / original (theory: 1/a²)
    cosine_w_grad: float  # ⟨W, ∇_W L⟩ / (‖W‖‖∇_W L‖) (theory: 0)


def scale_invariance_check(model, X, y, layer: int = 0, factors=(0.1, 10.0)) -> list[ScaleInvarianceRow]:
    """Scale the weights (and bias) of Linear layer ``layer`` by each factor and measure the effect.

    For a Linear layer followed by BatchNorm, ``BN(x·aW + ab) = BN(x·W + b)`` up to the ε inside the
    square root, so the loss is unchanged, the gradient w.r.t. the scaled weights is ``1/a`` times
    the original one, and one SGD step changes the weights *relatively* ``1/a²`` as much: scaling
    the weights by ``a`` acts like dividing the learning rate by ``a²``.

    Parameters
    ----------
    model : MLP
        Usually with ``normalization="batch"``, ``placement="before"`` (the statement is false
        without normalization — try it).
    X, y : one batch, evaluated in training mode on copies of the model.
    layer : int
        Index into ``model.linears`` (not the last one: the logits are not normalized).
    factors : sequence of float > 0

    Returns
    -------
    list of ScaleInvarianceRow
    """
    where = "scale_invariance_check"
    check_model(model, where)
    if (
        isinstance(layer, bool)
        or not isinstance(layer, int | np.integer)
        or not 0 <= layer < len(model.linear_indices) - 1
    ):
        raise ValueError(
            f"{where}: layer must be an index in [0, {len(model.linear_indices) - 2}] "
            f"(a hidden Linear layer), got {layer!r}"
        )
    factors = [check_positive(a, "factors[i]", where) for a in factors]
    X, y = check_X_y(X, y, where, n_features=model.layer_sizes[0])
    position = model.linear_indices[layer]

    def evaluate(a):
        twin = copy.deepcopy(model)
        lin = twin.layers[position]
        lin.params["W"] *= a
        lin.params["b"] *= a
        logits = twin.forward(X, training=True)
        out = twin.layer_inputs[position + 2]  # output of the layer after the Linear (BN if "before")
        loss, dlogits = softmax_cross_entropy(logits, y)
        twin.backward(dlogits)
        return out.copy(), loss, lin.grads["W"].copy(), lin.params["W"].copy()

    out1, loss1, g1, W1 = evaluate(1.0)
    rows = []
    for a in factors:
        out_a, loss_a, g_a, W_a = evaluate(a)
        rel_update_1 = np.linalg.norm(g1) / np.linalg.norm(W1)
        rel_update_a = np.linalg.norm(g_a) / np.linalg.norm(W_a)
        scale = np.maximum(np.abs(a * g_a), np.abs(g1)).max()
        rows.append(
            ScaleInvarianceRow(
                factor=a,
                output_change=float(np.abs(out_a - out1).max()),
                loss_change=float(abs(loss_a - loss1)),
                grad_ratio=float(np.linalg.norm(g_a) / np.linalg.norm(g1)),
                grad_error=float(np.abs(a * g_a - g1).max() / scale),
                update_ratio=float(rel_update_a / rel_update_1),
                cosine_w_grad=float(np.sum(W1 * g1) / (np.linalg.norm(W1) * np.linalg.norm(g1))),
            )
        )
    return rows


# --------------------------------------------------------------------------------------------------
# seed-batched runs and the readings of notebook 09 (issue 13: ≥ 10 seeds at the cost of a few)
# --------------------------------------------------------------------------------------------------


def run_training_seeds(
    data,
    seeds,
    *,
    layer_sizes,
    activation="relu",
    normalization="none",
    placement="before",
    init_scale=None,
    lr: float,
    steps: int,
    batch_size: int = 32,
    n_train: int | None = None,
) -> list[RunResult]:
    """``[run_training(data, ..., seed=s) for s in seeds]``, trained all at once.

    The seeds are trained together by :func:`course_utils.batched.train_seeds` (one stacked network,
    per-seed batch statistics and batch order), which gives the numbers of separate runs to 1e-12;
    each seed is then summarized exactly as :func:`run_training` does. Use it for every multi-seed
    experiment of notebook 09. It is not a large speed-up for these small MLPs: measured on a 2-core CPU,
    a batch of seeds costs about 1.0–1.3× less per seed than a loop of :func:`run_training`; its value
    is one call per condition with per-seed results that equal separate runs.

    Parameters
    ----------
    data : tuple
        ``(X_train, X_test, y_train, y_test)``.
    seeds : sequence of int
        Distinct seeds; entry ``i`` of the result belongs to ``seeds[i]``.
    layer_sizes, activation, normalization, placement, init_scale, lr, steps, batch_size, n_train
        As in :func:`run_training`.

    Returns
    -------
    list of RunResult
    """
    from .batched import train_seeds

    where = "run_training_seeds"
    X_train, X_test, y_train, y_test = _training_data(data, n_train, where)
    check_positive(lr, "lr", where)
    runs = train_seeds(
        layer_sizes,
        seeds,
        X_train,
        y_train,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        activation=activation,
        normalization=normalization,
        placement=placement,
        init_scale=init_scale,
        X_test=X_test,
        y_test=y_test,
    )
    config = _run_config(
        layer_sizes, activation, normalization, placement, init_scale, lr, steps, batch_size, n_train
    )
    split = (X_train, X_test, y_train, y_test)
    return [
        _run_result({**config, "seed": seed}, runs.history(i), runs.model(i), split)
        for i, seed in enumerate(runs.seeds)
    ]


def learning_rate_sweep(data, learning_rates, seeds, **kwargs) -> list[list[RunResult]]:
    """One :func:`run_training_seeds` per learning rate: ``sweep[k][i]`` is lr ``k``, ``seeds[i]``."""
    return [run_training_seeds(data, seeds, lr=lr, **kwargs) for lr in learning_rates]


def best_learning_rate(runs_per_lr, learning_rates) -> float:
    """The learning rate whose runs have the highest mean final test accuracy (ties: the smaller)."""
    means = [np.mean([r.test_accuracy for r in runs]) for runs in runs_per_lr]
    return float(learning_rates[int(np.argmax(means))])


def beta_readings(trace: ProbeTrace) -> dict:
    """Two readings of Santurkar et al.'s "effective β-smoothness" (caption of their Fig. 4), per probe.

    * ``"max ratio"`` (reading A): the largest ``‖∇L(θ − ηg) − ∇L(θ)‖ / ‖ηg‖`` over the step sizes —
      the ratio at each η, then the maximum (:attr:`ProbeTrace.beta`).
    * ``"max change / max distance"`` (reading B): the largest gradient change over the step sizes
      divided by the distance of the largest step, ``max_η ‖∇L(θ − ηg) − ∇L(θ)‖ / (η_max ‖g‖)``.

    Both are "the maximum difference in gradient over the distance moved"; A takes the maximum of the
    ratio, B the ratio of the maxima. Returns ``{reading: ndarray (n_probes,)}``.
    """
    if not isinstance(trace, ProbeTrace):
        raise TypeError(f"beta_readings: trace must be a ProbeTrace, got {type(trace).__name__}")
    farthest = trace.step_sizes.max() * trace.grad_norms
    with np.errstate(divide="ignore", invalid="ignore"):
        reading_b = np.where(farthest > 0, trace.grad_changes.max(axis=1) / farthest, 0.0)
    return {"max ratio": trace.beta.copy(), "max change / max distance": reading_b}


def probe_summary(trace: ProbeTrace) -> dict:
    """Median over the probes of one run of every landscape quantity notebook 09 compares."""
    if not isinstance(trace, ProbeTrace):
        raise TypeError(f"probe_summary: trace must be a ProbeTrace, got {type(trace).__name__}")
    low, high = trace.band("losses")
    readings = beta_readings(trace)
    return {
        "loss range": float(np.median(high - low)),
        "max gradient change": float(np.median(trace.band("grad_changes")[1])),
        "β, reading A": float(np.median(readings["max ratio"])),
        "β, reading B": float(np.median(readings["max change / max distance"])),
        "gradient norm": float(np.median(trace.grad_norms)),
    }


def landscape_experiment(
    data, seeds, *, layer_sizes, lr: float, steps: int, probe_every: int, n_step_sizes: int = 7
) -> dict:
    """Notebook 09 §1: ReLU nets with and without BN trained with probes, one run per seed.

    Step sizes: ``n_step_sizes`` values from lr/4 to 4·lr (geometric), the design of Santurkar et
    al.'s Fig. 4. Returns ``{"plain": [ProbeTrace per seed], "BN": [...]}``.
    """
    X_train, _, y_train, _ = data
    step_sizes = np.geomspace(lr / 4, lr * 4, n_step_sizes)
    traces = {"plain": [], "BN": []}
    for seed in seeds:
        for label, norm in (("plain", "none"), ("BN", "batch")):
            net = MLP(layer_sizes, activation="relu", normalization=norm, seed=seed)
            traces[label].append(
                train_with_probes(
                    net,
                    X_train,
                    y_train,
                    steps=steps,
                    batch_size=32,
                    lr=lr,
                    step_sizes=step_sizes,
                    probe_every=probe_every,
                    seed=seed,
                )
            )
    return traces


def paired_difference(a, b) -> tuple[float, float]:
    """Mean of the paired differences ``a − b`` and the half-width of their 95% t-interval.

    The course's reference for notebook 09's capstone exercise: ``d = a − b`` per seed (``a[i]`` and
    ``b[i]`` share seed ``i``: initial weights and batch order), ``half = t_{0.975, n−1} · std(d, ddof=1) / √n``.
    The same numbers as :func:`course_utils.stats.compare` with ``paired=True`` and no scaling.

    Returns
    -------
    (mean_diff, half_width) : tuple of float
    """
    where = "paired_difference"
    a = as_real_array(a, "a", where).astype(float).ravel()
    b = as_real_array(b, "b", where).astype(float).ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(
            f"{where}: a and b need the same length >= 2 (paired by seed), got {a.size} and {b.size}"
        )
    from .stats import compare

    c = compare(a, b, paired=True, scale=1.0, unit="")
    return float(c.mean_diff), float(c.half_width)


def claim_verdicts(low, high, predicted_sign) -> np.ndarray:
    """+1 where the interval [low, high] lies on the side the claim predicts, −1 where it lies on the
    other side, 0 where it contains 0 (not established). Arrays broadcast; ``predicted_sign`` is ±1.
    """
    low, high, sign = (np.asarray(v, dtype=float) for v in (low, high, predicted_sign))
    lo, hi = np.where(sign > 0, low, -high), np.where(sign > 0, high, -low)
    return np.where(lo > 0, 1.0, np.where(hi < 0, -1.0, 0.0))
