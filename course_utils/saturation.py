r"""Sigmoid saturation and vanishing gradients (notebook 03).

The maths is short: :math:`\sigma(x) = 1/(1+e^{-x})`, :math:`\sigma'(x) = \sigma(x)(1-\sigma(x))
\le 1/4`, so back-propagating through :math:`L` sigmoid layers multiplies the gradient by
:math:`L` factors of at most 1/4 (times the weights). The experiments train the course's NumPy MLP on
the bundled digits and record per-layer gradient norms, per-layer activations and the test accuracy
over a sweep of initial weight scales, and measure how a signal's spread and the back-propagated
gradient change from one hidden layer to the next (:func:`signal_propagation`).

BLAS threads: :class:`~course_utils.training.MLP` and :func:`~course_utils.training.train` already run
with the BLAS thread pool limited to one thread, so nothing here needs to.
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.special import expit, logit

from ._validate import (
    as_real_array,
    check_in_range,
    check_model,
    check_one_of,
    check_positive,
    check_positive_int,
    check_X_y,
)
from .training import MLP, Hook, single_blas_thread, softmax_cross_entropy, train

__all__ = [
    "SATURATION_LOW",
    "SATURATION_HIGH",
    "SATURATED_Z",
    "SOURCE_GRADIENT_TABLE",
    "SOURCE_ITERATIONS",
    "VARIANCE_KEEPING_GAIN",
    "sigmoid",
    "sigmoid_derivative",
    "saturated_fraction",
    "saturation_threshold",
    "layer_gradient_norms",
    "factor_per_layer",
    "variance_keeping_std",
    "tangent_line_deviation",
    "linear_fit_r2",
    "hidden_activations",
    "SaturationHook",
    "GradientNormRecorder",
    "layer_gradient_table",
    "activation_histograms",
    "signal_propagation",
    "preactivation_profile",
    "init_scale_sweep",
    "budget_runs",
    "activation_contrast",
    "init_probe",
    "scale_rule_profiles",
    "forward_backward_diagnostics",
]

#: The course's one definition of a *saturated* sigmoid unit (used by notebooks 03 and 05): its output
#: is below 0.03 or above 0.97, i.e. its pre-activation has |z| > SATURATED_Z = ln(0.97/0.03) ≈ 3.48,
#: where σ′(z) < 0.03·0.97 ≈ 0.029, under 12 % of the maximum slope 0.25. A convention, not a law.
SATURATION_LOW = 0.03
SATURATION_HIGH = 0.97
SATURATED_Z = float(np.log(SATURATION_HIGH / SATURATION_LOW))

#: Iterations at which the source blog (002, a MATLAB DeepLearnToolbox run on MNIST, 10 hidden sigmoid
#: layers) printed its per-layer gradient values.
SOURCE_ITERATIONS = (10, 20, 30, 40, 50)

#: The source blog's per-layer gradient values (11 weight matrices, input → output), copied as numbers
#: from its printout: ``SOURCE_GRADIENT_TABLE["none"]`` without and ``["batch"]`` with BatchNorm,
#: shape (5 iterations, 11 layers). The blog does not say which norm it printed.
SOURCE_GRADIENT_TABLE = {
    "none": np.array(
        [
            [
                3.23e-07,
                8.3215e-07,
                3.3605e-06,
                1.5193e-05,
                6.4892e-05,
                0.00027249,
                0.0011954,
                0.006295,
                0.029835,
                0.12476,
                0.38948,
            ],
            [
                4.4649e-07,
                1.3282e-06,
                5.6753e-06,
                2.5294e-05,
                0.00010326,
                0.00043651,
                0.0019583,
                0.0096396,
                0.040469,
                0.16142,
                0.5235,
            ],
            [
                4.6973e-07,
                1.2993e-06,
                5.3923e-06,
                2.3111e-05,
                9.4839e-05,
                0.00040398,
                0.0017893,
                0.0081367,
                0.037543,
                0.1544,
                0.46472,
            ],
            [
                4.6986e-07,
                1.3801e-06,
                5.677e-06,
                2.4355e-05,
                0.00010245,
                0.00041999,
                0.0019832,
                0.0095022,
                0.043719,
                0.17696,
                0.56134,
            ],
            [
                4.6964e-07,
                1.6532e-06,
                7.2543e-06,
                3.0731e-05,
                0.00011805,
                0.00048795,
                0.0021705,
                0.0099466,
                0.042835,
                0.17993,
                0.5319,
            ],
        ]
    ),
    "batch": np.array(
        [
            [
                0.27121,
                0.15534,
                0.15116,
                0.15409,
                0.15515,
                0.14542,
                0.12878,
                0.13888,
                0.16607,
                0.21036,
                0.76037,
            ],
            [
                0.24567,
                0.15369,
                0.14169,
                0.13183,
                0.1278,
                0.13904,
                0.13546,
                0.12032,
                0.14332,
                0.14868,
                0.54481,
            ],
            [
                0.30403,
                0.16365,
                0.14119,
                0.14502,
                0.13916,
                0.12851,
                0.11781,
                0.11424,
                0.11082,
                0.1088,
                0.39574,
            ],
            [
                0.32681,
                0.19801,
                0.16792,
                0.14741,
                0.13294,
                0.12805,
                0.13754,
                0.12941,
                0.13288,
                0.12957,
                0.50937,
            ],
            [
                0.32358,
                0.17484,
                0.16367,
                0.16605,
                0.17118,
                0.14703,
                0.14458,
                0.12693,
                0.13928,
                0.11938,
                0.3692,
            ],
        ]
    ),
}


def sigmoid(x):
    """The logistic function 1 / (1 + exp(−x)), computed stably (``scipy.special.expit``)."""
    return expit(as_real_array(x, "x", "sigmoid"))


def sigmoid_derivative(x):
    r"""σ'(x) = σ(x)(1 − σ(x)); its maximum is 1/4, at x = 0.

    Parameters
    ----------
    x : array_like
        Pre-activations (the sigmoid's *input*, not its output).

    Returns
    -------
    ndarray, same shape as x
    """
    x = as_real_array(x, "x", "sigmoid_derivative")
    # σ(x)·σ(−x) equals σ(1 − σ) but keeps full relative precision in the right tail, where 1 − σ(x)
    # would cancel to a few digits (x ≳ 20)
    return expit(x) * expit(-x)


def saturated_fraction(activations, low: float = SATURATION_LOW, high: float = SATURATION_HIGH) -> float:
    """Fraction of sigmoid *outputs* below ``low`` or above ``high``.

    Parameters
    ----------
    activations : array_like
        Sigmoid outputs, any shape, values in [0, 1].
    low, high : float, 0 ≤ low < high ≤ 1

    Returns
    -------
    float in [0, 1]
    """
    where = "saturated_fraction"
    a = as_real_array(activations, "activations", where)
    low = check_in_range(low, "low", where, 0.0, 1.0)
    high = check_in_range(high, "high", where, 0.0, 1.0)
    if not low < high:
        raise ValueError(f"{where}: need low < high, got low={low}, high={high}")
    if a.size == 0:
        raise ValueError(f"{where}: activations is empty")
    if np.nanmin(a) < 0.0 or np.nanmax(a) > 1.0:
        raise ValueError(
            f"{where}: activations must be sigmoid outputs in [0, 1], "
            f"got values in [{np.nanmin(a):.3g}, {np.nanmax(a):.3g}]"
        )
    return float(np.mean((a < low) | (a > high)))


def layer_gradient_norms(weight_grads) -> np.ndarray:
    r"""The Frobenius norm :math:`\lVert\partial L/\partial W_k\rVert` of every weight-gradient array.

    Parameters
    ----------
    weight_grads : sequence of ndarray
        One gradient array per weight matrix, input side first (e.g. ``[layer.grads["W"] for layer in
        model.linears]``).

    Returns
    -------
    ndarray, shape (len(weight_grads),)
        ``sqrt(sum of squares)`` of each array, in the same order.
    """
    where = "layer_gradient_norms"
    if isinstance(weight_grads, np.ndarray) or not isinstance(weight_grads, list | tuple):
        raise TypeError(
            f"{where}: weight_grads must be a list of arrays (one per weight matrix), "
            f"got {type(weight_grads).__name__}"
        )
    if not weight_grads:
        raise ValueError(f"{where}: weight_grads is empty")
    arrays = [as_real_array(g, f"weight_grads[{k}]", where) for k, g in enumerate(weight_grads)]
    return np.array([np.sqrt(np.sum(a * a)) for a in arrays])


def saturation_threshold(high: float = SATURATION_HIGH) -> float:
    r"""The input :math:`z^* > 0` beyond which a sigmoid's output exceeds ``high``: σ(z) > high ⇔ z > z*.

    Solving :math:`1/(1+e^{-z}) = h` gives :math:`z^* = \ln\frac{h}{1-h}` (the logit of h); by symmetry
    σ(z) < 1 − h ⇔ z < −z*. For the course's ``high = 0.97`` this is :data:`SATURATED_Z` ≈ 3.48.

    Parameters
    ----------
    high : float, 0.5 < high < 1

    Returns
    -------
    float
    """
    where = "saturation_threshold"
    high = check_in_range(high, "high", where, 0.0, 1.0)
    if not 0.5 < high < 1.0:
        raise ValueError(f"{where}: need 0.5 < high < 1, got {high}")
    return float(np.log(high / (1.0 - high)))


def factor_per_layer(norms) -> float:
    r"""The constant factor f per weight matrix that turns the last norm into the first one.

    For per-layer gradient norms :math:`g_1, \dots, g_n` (input side first, output layer last),
    :math:`f^{\,n-1} = g_1/g_n`, so :math:`f = (g_1/g_n)^{1/(n-1)}`: the geometric mean of the
    neighbour ratios :math:`g_k/g_{k+1}`. f < 1: the gradient shrinks on its way to the input.

    Parameters
    ----------
    norms : array_like, shape (n,), n ≥ 2, positive

    Returns
    -------
    float
    """
    where = "factor_per_layer"
    g = as_real_array(norms, "norms", where)
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"{where}: norms must be a 1-D array of at least 2 norms, got shape {g.shape}")
    if np.any(g <= 0):
        raise ValueError(f"{where}: norms must be positive")
    return float((g[0] / g[-1]) ** (1.0 / (g.size - 1)))


#: The factor ``g`` in ``std = g / sqrt(fan_in)`` that keeps the size of the signal through one layer
#: (see :func:`variance_keeping_std`).
VARIANCE_KEEPING_GAIN = {"linear": 1.0, "tanh": 1.0, "relu": float(np.sqrt(2.0)), "sigmoid": 4.0}


def variance_keeping_std(fan_in: int, activation: str) -> float:
    r"""Std of the initial weights that keeps the size of the signal from one layer to the next.

    A layer computes :math:`z' = hW` with :math:`h = f(z)` and independent weights
    :math:`W_{ij}\sim\mathcal N(0, s_W^2)`, so :math:`E[z'^2] = n\,s_W^2\,E[h^2]` (n = ``fan_in``).

    * ``"linear"`` and ``"tanh"`` (near 0, :math:`\tanh z\approx z`): :math:`E[h^2]=E[z^2]`, so
      :math:`s_W = 1/\sqrt n` (LeCun's / Glorot's scale for equal widths);
    * ``"relu"``: half of a symmetric :math:`z` is zeroed, :math:`E[h^2]=E[z^2]/2`, so
      :math:`s_W=\sqrt{2/n}` (He et al., 2015);
    * ``"sigmoid"``, in its linear regime: :math:`\sigma(z)\approx\tfrac12+z/4`; the part of
      :math:`h` that varies is :math:`z/4`, so :math:`s_W = 4/\sqrt n` (the historical "4× for sigmoid"
      rule). The constant ½ also passes through W: the rule ignores it, which is one reason it fails.

    Returns
    -------
    float
    """
    where = "variance_keeping_std"
    fan_in = check_positive_int(fan_in, "fan_in", where)
    activation = check_one_of(activation, "activation", where, tuple(VARIANCE_KEEPING_GAIN))
    return VARIANCE_KEEPING_GAIN[activation] / float(np.sqrt(fan_in))


def tangent_line_deviation(out_low: float = 0.2, out_high: float = 0.8, num: int = 20001) -> dict:
    r"""How far σ is from a straight line while its output stays in [out_low, out_high].

    The input interval is :math:`[\mathrm{logit}(out\_low), \mathrm{logit}(out\_high)]`. Two lines
    are compared: the tangent at 0, :math:`t(x) = 1/2 + x/4`, and the chord through the interval's
    end points (the best a straight line through both ends can do).

    Returns
    -------
    dict with
        ``x_low, x_high`` — the input interval;
        ``tangent_max_dev`` — max |σ(x) − t(x)| on it, and ``tangent_argmax`` where it happens;
        ``chord_max_dev`` — max |σ(x) − chord(x)|;
        ``slope_min, slope_max`` — the range of σ' on the interval (σ' falls from 1/4 at 0);
        ``output_range`` — out_high − out_low.
    """
    where = "tangent_line_deviation"
    out_low = check_in_range(out_low, "out_low", where, 0.0, 1.0)
    out_high = check_in_range(out_high, "out_high", where, 0.0, 1.0)
    if not 0.0 < out_low < out_high < 1.0:
        raise ValueError(f"{where}: need 0 < out_low < out_high < 1, got {out_low}, {out_high}")
    num = check_positive_int(num, "num", where)
    x_low, x_high = float(logit(out_low)), float(logit(out_high))
    x = np.linspace(x_low, x_high, max(num, 3))
    s = expit(x)
    tangent_dev = np.abs(s - (0.5 + x / 4.0))
    chord = out_low + (out_high - out_low) * (x - x_low) / (x_high - x_low)
    slopes = s * (1.0 - s)
    k = int(np.argmax(tangent_dev))
    return {
        "x_low": x_low,
        "x_high": x_high,
        "tangent_max_dev": float(tangent_dev[k]),
        "tangent_argmax": float(x[k]),
        "chord_max_dev": float(np.max(np.abs(s - chord))),
        "slope_min": float(slopes.min()),
        "slope_max": float(slopes.max()),
        "output_range": out_high - out_low,
    }


def linear_fit_r2(input_std: float = 1.0, input_mean: float = 0.0, order: int = 80) -> dict:
    r"""How much of σ(x) a straight line explains when the input is Gaussian, x ~ N(mean, std²).

    The best line (least squares over the input distribution) is :math:`a + b x` with
    :math:`b = \mathrm{Cov}(\sigma(x), x)/\mathrm{Var}(x)`, which equals :math:`E[\sigma'(x)]` (Stein's
    lemma). ``r2`` is the share of :math:`\mathrm{Var}\,\sigma(x)` it explains; 1 means "exactly
    linear" for inputs from this distribution. Expectations use Gauss–Hermite quadrature.

    Returns
    -------
    dict with ``r2``, ``slope`` (b), ``output_std`` (std of σ(x)) and ``residual_std``
    (std of σ(x) − a − b x).
    """
    where = "linear_fit_r2"
    input_std = check_positive(input_std, "input_std", where)
    input_mean = float(input_mean)
    if not np.isfinite(input_mean):
        raise ValueError(f"{where}: input_mean must be finite, got {input_mean}")
    order = check_positive_int(order, "order", where)
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    weights = weights / weights.sum()  # probabilities of N(0, 1)
    x = input_mean + input_std * nodes
    s = expit(x)
    mean_s = weights @ s
    var_s = weights @ (s - mean_s) ** 2
    slope = (weights @ ((s - mean_s) * (x - input_mean))) / input_std**2
    explained = slope**2 * input_std**2
    r2 = float(explained / var_s) if var_s > 0 else 1.0
    return {
        "r2": min(r2, 1.0),
        "slope": float(slope),
        "output_std": float(np.sqrt(var_s)),
        "residual_std": float(np.sqrt(max(var_s - explained, 0.0))),
    }


def hidden_activations(model, X, training: bool = True) -> list:
    """Sigmoid outputs of every hidden layer for inputs ``X``, without changing the model.

    In training mode BatchNorm uses the statistics of ``X`` itself (as it would for a training batch);
    running statistics, caches and recorded layer inputs are left untouched.

    Returns
    -------
    list of ndarray, one (N, H_k) array per hidden layer, from input to output
    """
    check_model(model, "hidden_activations", activation="sigmoid")
    probe = copy.deepcopy(model)
    probe.forward(X, training=training)
    return [probe.layer_inputs[i + 1] for i in probe.activation_indices]


class SaturationHook(Hook):
    """Record the saturated fraction (σ < 0.03 or > 0.97) of every hidden layer on the training batch.

    ``values`` has shape (n_records, n_hidden_layers), input side first.
    """

    def __init__(self, every: int = 1, low: float = SATURATION_LOW, high: float = SATURATION_HIGH):
        super().__init__(every)
        self.low, self.high = low, high
        self._values: list[np.ndarray] = []

    def record(self, step, model):
        outs = [model.layer_inputs[i + 1] for i in model.activation_indices]
        self._values.append(np.array([np.mean((a < self.low) | (a > self.high)) for a in outs]))

    @property
    def values(self) -> np.ndarray:
        return np.array(self._values)


class GradientNormRecorder(Hook):
    """Record ``norms(weight_grads)`` after every backward pass: one row per recorded step.

    ``norms`` is a function of the list of the model's weight-gradient arrays (input side first), such as
    :func:`layer_gradient_norms` or the student's version of it. ``values`` has shape
    (n_records, n_weight_matrices).
    """

    def __init__(self, norms=None, every: int = 1):
        super().__init__(every)
        self.norms = layer_gradient_norms if norms is None else norms
        if not callable(self.norms):
            raise TypeError(
                f"GradientNormRecorder: norms must be a function, got {type(self.norms).__name__}"
            )
        self._values: list[np.ndarray] = []

    def record(self, step, model):
        grads = [layer.grads["W"] for layer in model.linears]
        self._values.append(np.asarray(self.norms([g.copy() for g in grads]), dtype=float))

    @property
    def values(self) -> np.ndarray:
        return np.array(self._values)


def layer_gradient_table(
    depth: int = 10,
    width: int = 100,
    normalization: str = "none",
    seed: int = 0,
    record_at=(10, 20, 30, 40, 50),
    batch_size: int = 100,
    lr: float = 0.1,
    init_scale=None,
    data=None,
    return_saturation: bool = False,
    norms=None,
):
    r"""‖∂L/∂W‖ (Frobenius) of every weight matrix of a sigmoid MLP at the given iterations.

    A ``64 → width × depth → 10`` sigmoid MLP (``normalization`` "none" or "batch") is trained with
    plain SGD on the digits training split; :class:`GradientNormRecorder` records
    the gradients at every step and the rows at ``record_at`` are returned.

    Parameters
    ----------
    data : tuple (X_train, y_train), optional
        Defaults to ``load_digits_split(seed=0)``'s standardized training split.
    return_saturation : bool
        Also return the saturated fraction of every hidden layer on the same training batches.
    norms : callable, optional
        ``norms(list of weight-gradient arrays) -> per-matrix norms``, recorded by
        :class:`GradientNormRecorder`; default :func:`layer_gradient_norms`.

    Returns
    -------
    ndarray, shape (len(record_at), depth + 1)
        Column k is the k-th weight matrix counted from the input (the last column is the output layer).
    saturation : ndarray, shape (len(record_at), depth)
        Only with ``return_saturation=True``: the share of each hidden layer's sigmoid outputs on
        that step's batch below 0.03 or above 0.97.
    """
    where = "layer_gradient_table"
    depth = check_positive_int(depth, "depth", where)
    record_at = np.asarray(record_at, dtype=int)
    if record_at.ndim != 1 or record_at.size == 0 or record_at.min() < 0:
        raise ValueError(f"{where}: record_at must be a non-empty list of iterations >= 0, got {record_at}")
    X, y = _training_data(data, where)
    model = MLP(
        [X.shape[1]] + [width] * depth + [10], "sigmoid", normalization, init_scale=init_scale, seed=seed
    )
    every = max(int(np.gcd.reduce(record_at)), 1)  # record only the steps asked for (and a few between)
    hook, saturation = GradientNormRecorder(norms, every=every), SaturationHook(every=every)
    history = train(
        model,
        X,
        y,
        steps=int(record_at.max()) + 1,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        hooks=[hook, saturation] if return_saturation else [hook],
    )
    if history.diverged:
        raise RuntimeError(f"{where}: training diverged at step {history.steps_taken}; lower lr")
    rows = record_at // every  # hooks record at steps 0, every, 2 * every, ...
    if return_saturation:
        return hook.values[rows], saturation.values[rows]
    return hook.values[rows]


def _training_data(data, where):
    if data is None:
        from .data import load_digits_split

        X, _, y, _ = load_digits_split(seed=0)
        return X, y
    try:
        X, y = data
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: data must be a pair (X_train, y_train)") from exc
    return as_real_array(X, "data[0]", where), np.asarray(y)


def activation_histograms(activations, bins: int = 20) -> np.ndarray:
    """Per-layer histograms of sigmoid outputs on [0, 1], as fractions of each layer's values.

    Parameters
    ----------
    activations : list of ndarray
        One array of sigmoid outputs per layer (e.g. from :func:`hidden_activations`).
    bins : int
        Equal-width bins on [0, 1].

    Returns
    -------
    ndarray, shape (n_layers, bins); each row sums to 1
    """
    where = "activation_histograms"
    bins = check_positive_int(bins, "bins", where)
    rows = []
    for k, a in enumerate(activations):
        a = as_real_array(a, f"activations[{k}]", where).ravel()
        idx = np.clip((a * bins).astype(int), 0, bins - 1)  # equal-width bins, 1.0 in the last one
        rows.append(np.bincount(idx, minlength=bins) / max(a.size, 1))
    return np.array(rows)


def signal_propagation(model, X, y) -> dict:
    r"""How a sigmoid MLP passes signals through its hidden layers: one training-mode forward and
    backward pass on ``(X, y)``, on a copy of the model.

    For hidden layer k with sigmoid outputs :math:`h_k` (an (N, H) array for the batch) it measures

    * ``spread[k]`` — how much :math:`h_k` varies from example to example: the std over the batch,
      averaged over the units (the forward signal; a constant output carries no information);
    * ``backward[k]`` — :math:`\lVert\partial L/\partial h_k\rVert` (Frobenius, whole batch), the
      gradient arriving at that layer's outputs;
    * ``mean_slope[k]``, ``rms_slope[k]`` — the mean and the root-mean-square of
      :math:`\sigma' = h_k(1-h_k)` over the batch and the units (for random weights, going back from
      layer k to layer k−1 multiplies the gradient's norm by about ``c * rms_slope[k]``, where
      :math:`c = \text{std}(W_k)\sqrt{\text{fan\_in}_k}` is the gain of :math:`W_k^\top`);
    * ``saturated[k]`` — the share of outputs below 0.03 or above 0.97;
    * ``norm_input_std[k]`` — for BN/LN/... models, the std over the batch of the pre-activation that
      enters the normalization layer, averaged over units (``None`` without normalization).

    ``forward_gain`` and ``backward_gain`` are the geometric means of ``spread[k+1] / spread[k]`` and
    ``backward[k] / backward[k+1]`` over neighbouring hidden layers: the factor by which one more layer
    multiplies the signal (forward) or the gradient (backward). NaN with fewer than two hidden layers.

    Returns
    -------
    dict with the arrays above (length = number of hidden layers), the two gains, ``loss`` and
    ``weight_grad_norms`` (‖∂L/∂W‖ of every weight matrix, input side first, output layer last).
    """
    where = "signal_propagation"
    check_model(model, where, activation="sigmoid")
    X = as_real_array(X, "X", where)
    net = copy.deepcopy(model)
    activation_positions = set(net.activation_indices)
    backward = {}
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):
        logits = net.forward(X, training=True)
        loss, grad = softmax_cross_entropy(logits, y)
        for i in range(len(net.layers) - 1, -1, -1):
            if i in activation_positions:  # grad is dL/d(output of this sigmoid) here
                backward[i] = float(np.linalg.norm(grad))
            grad = net.layers[i].backward(grad)
    outputs = [net.layer_inputs[i + 1] for i in net.activation_indices]
    spread = np.array([h.std(axis=0).mean() for h in outputs])
    back = np.array([backward[i] for i in net.activation_indices])
    norm_input_std = (
        np.array([net.layer_inputs[i].std(axis=0).mean() for i in net.norm_indices])
        if net.norm_indices
        else None
    )

    def geometric_mean(ratios):
        return float(np.exp(np.mean(np.log(ratios)))) if len(ratios) else float("nan")

    with np.errstate(divide="ignore", invalid="ignore"):
        forward_gain = geometric_mean(spread[1:] / spread[:-1])
        backward_gain = geometric_mean(back[:-1] / back[1:])
    return {
        "spread": spread,
        "backward": back,
        "mean_slope": np.array([np.mean(h * (1.0 - h)) for h in outputs]),
        "rms_slope": np.array([np.sqrt(np.mean((h * (1.0 - h)) ** 2)) for h in outputs]),
        "saturated": np.array([np.mean((h < SATURATION_LOW) | (h > SATURATION_HIGH)) for h in outputs]),
        "norm_input_std": norm_input_std,
        "forward_gain": forward_gain,
        "backward_gain": backward_gain,
        "loss": loss,
        "weight_grad_norms": np.array([np.linalg.norm(layer.grads["W"]) for layer in net.linears]),
        "outputs": outputs,
    }


def init_probe(
    configs: dict, seeds=tuple(range(5)), data=None, depth: int = 10, width: int = 100, fraction=None, bins=25
) -> dict:
    r"""Sigmoid MLPs at initialisation, one training-mode forward and backward pass per seed on ``data``
    (notebook 03, Section 3): how many units saturate and how much gradient reaches the first layer.

    Parameters
    ----------
    configs : dict
        ``label -> (normalization, init_scale)``; ``init_scale=None`` is the default ``1/sqrt(fan_in)``.
    seeds : sequence of int
        One network per seed (the same seed gives the same random directions in every configuration,
        so comparisons between configurations are paired).
    data : (X, y)
        The probe batch (default: the first 500 training digits).
    depth, width : int
        ``depth`` hidden layers of ``width`` sigmoid units.
    fraction : callable, optional
        ``fraction(activations) -> float``, the saturated share of an array of sigmoid outputs (e.g. the
        student's function); default :func:`saturated_fraction`.
    bins : int
        Histogram bins of the first seed's outputs, per hidden layer.

    Returns
    -------
    dict label -> dict with per-seed arrays (length ``len(seeds)``): ``saturated`` (share of all hidden
    outputs, by ``fraction``), ``rms_slope`` (geometric mean over hidden layers 2..depth of the rms of
    σ′), ``backward_gain`` (factor per layer, see :func:`signal_propagation`), ``grad_ratio``
    (‖∂L/∂W₁‖/‖∂L/∂W_out‖); ``c`` (the gain :math:`s_W\sqrt{width}` of a hidden weight matrix),
    ``histograms`` (the first seed's, shape (depth, bins)) and ``runs`` (every seed's
    :func:`signal_propagation` dict, without the outputs themselves).
    """
    where = "init_probe"
    if not isinstance(configs, dict) or not configs:
        raise TypeError(f"{where}: configs must be a non-empty dict label -> (normalization, init_scale)")
    depth = check_positive_int(depth, "depth", where)
    width = check_positive_int(width, "width", where)
    if data is None:
        (X, y), _ = _train_test(None, None, where)
        X, y = X[:500], y[:500]
    else:
        X, y = _training_data(data, where)
    fraction = saturated_fraction if fraction is None else fraction
    sizes = [X.shape[1]] + [width] * depth + [int(y.max()) + 1]
    seeds = [int(s) for s in seeds]
    out = {}
    for label, (norm, scale) in configs.items():
        rows, runs, hist = [], [], None
        for s in seeds:
            sp = signal_propagation(MLP(sizes, "sigmoid", norm, init_scale=scale, seed=s), X, y)
            if hist is None:
                hist = activation_histograms(sp["outputs"], bins=bins)
            g = sp["weight_grad_norms"]
            rms = float(np.exp(np.mean(np.log(sp["rms_slope"][1:])))) if depth > 1 else float("nan")
            rows.append((float(fraction(np.stack(sp["outputs"]))), rms, sp["backward_gain"], g[0] / g[-1]))
            runs.append({key: value for key, value in sp.items() if key != "outputs"})
        rows = np.array(rows)
        out[label] = {
            "saturated": rows[:, 0],
            "rms_slope": rows[:, 1],
            "backward_gain": rows[:, 2],
            "grad_ratio": rows[:, 3],
            "c": (1.0 / np.sqrt(width) if scale is None else float(scale)) * np.sqrt(width),
            "histograms": hist,
            "runs": runs,
        }
    return out


def scale_rule_profiles(
    configs: dict, seeds=tuple(range(5)), data=None, depth: int = 10, width: int = 64
) -> dict:
    """Deep networks at initialisation under different activations and initial scales (notebook 03,
    Section 4): :func:`preactivation_profile` per seed.

    Parameters
    ----------
    configs : dict
        ``label -> (activation, init_scale)``. With ``width`` equal to the 64 input pixels every layer has
        fan-in 64, so one ``init_scale`` is the same rule for every layer.
    seeds, data, depth, width
        As in :func:`init_probe` (default probe: the first 500 training digits).

    Returns
    -------
    dict label -> dict with ``z_rms`` and ``z_spread`` (n_seeds, depth) and ``grad_ratio`` (n_seeds,)
    """
    where = "scale_rule_profiles"
    if not isinstance(configs, dict) or not configs:
        raise TypeError(f"{where}: configs must be a non-empty dict label -> (activation, init_scale)")
    depth = check_positive_int(depth, "depth", where)
    if data is None:
        (X, y), _ = _train_test(None, None, where)
        X, y = X[:500], y[:500]
    else:
        X, y = _training_data(data, where)
    sizes = [X.shape[1]] + [int(width)] * depth + [int(y.max()) + 1]
    out = {}
    for label, (activation, scale) in configs.items():
        profiles = [
            preactivation_profile(MLP(sizes, activation, init_scale=scale, seed=int(s)), X, y) for s in seeds
        ]
        out[label] = {
            key: np.array([p[key] for p in profiles]) for key in ("z_rms", "z_spread", "grad_ratio")
        }
    return out


def init_scale_sweep(
    scales,
    seeds=(0, 1, 2, 3, 4),
    normalizations=("none", "batch"),
    hidden=(32, 32, 32, 32),
    steps: int = 100,
    batch_size: int = 32,
    lr: float = 1.0,
    data=None,
    test_data=None,
    output_scale=None,
) -> np.ndarray:
    """Test accuracy of a sigmoid MLP after ``steps`` SGD steps, for each initial weight scale,
    normalization and seed.

    Every weight of every layer starts as N(0, scale²) (``MLP(init_scale=scale)``); the same seed gives
    the same random directions at every scale, so only the scale changes along a row. The seeds of one
    (normalization, scale) cell are trained together with :func:`course_utils.batched.train_seeds`
    (the same numbers as separate ``train`` runs).

    Parameters
    ----------
    scales : sequence of float > 0
    seeds : sequence of int
    normalizations : sequence of {"none", "batch", ...}
    hidden : sequence of int
        Hidden-layer widths.
    steps, batch_size, lr : training settings (plain SGD). The result is an accuracy *after this
        budget*: it measures how fast a scale learns, not what it can reach.
    data, test_data : (X, y) pairs, optional
        Default: the digits split of ``load_digits_split(seed=0)``.
    output_scale : float, optional
        Initial weight std of the output layer only (e.g. its default ``1/sqrt(hidden[-1])``), to
        separate what the output layer's scale does from what the hidden layers' scale does. Default:
        the same ``scale`` as every other layer.

    Returns
    -------
    ndarray, shape (len(normalizations), len(scales), len(seeds))
        Test accuracy; a diverged run counts as chance (0.1).
    """
    from .batched import train_seeds

    where = "init_scale_sweep"
    scales = [check_positive(s, "scales[i]", where) for s in scales]
    if output_scale is not None:
        output_scale = check_positive(output_scale, "output_scale", where)
    (X, y), (X_test, y_test) = _train_test(data, test_data, where)
    sizes = [X.shape[1], *hidden, int(max(y.max(), y_test.max())) + 1]
    seeds = [int(s) for s in seeds]
    acc = np.empty((len(normalizations), len(scales), len(seeds)))
    settings = dict(steps=steps, batch_size=batch_size, lr=lr, X_test=X_test, y_test=y_test)
    for a, norm in enumerate(normalizations):
        for b, scale in enumerate(scales):
            customize = None
            if output_scale is not None:

                def customize(model, factor=output_scale / scale):
                    model.linears[-1].params["W"] *= factor  # same directions, another length

            runs = train_seeds(
                sizes, seeds, X, y, normalization=norm, init_scale=scale, customize=customize, **settings
            )
            acc[a, b] = runs.final_test_accuracy
    return acc


def _train_test(data, test_data, where):
    if test_data is None or data is None:
        from .data import load_digits_split

        X_tr, X_te, y_tr, y_te = load_digits_split(seed=0)
        data = (X_tr, y_tr) if data is None else data
        test_data = (X_te, y_te) if test_data is None else test_data
    return _training_data(data, where), _training_data(test_data, where)


def budget_runs(
    configs: dict,
    seeds=tuple(range(10)),
    hidden=(32, 32, 32, 32),
    steps: int = 1000,
    eval_every: int = 100,
    batch_size: int = 32,
    lr: float = 1.0,
    data=None,
    test_data=None,
) -> dict:
    """Test accuracy over a longer budget: one seed-batched run per configuration.

    Parameters
    ----------
    configs : dict
        ``label -> (normalization, init_scale)``; ``init_scale=None`` is the default
        ``1/sqrt(fan_in)``.
    seeds, hidden, steps, eval_every, batch_size, lr, data, test_data
        As in :func:`init_scale_sweep` (same network and SGD settings); the test set is evaluated every
        ``eval_every`` steps.

    Returns
    -------
    dict label -> :class:`~course_utils.batched.SeedRuns` (``.test_steps``, ``.test_accuracy`` of shape
    (n_seeds, n_evaluations)).
    """
    from .batched import train_seeds

    where = "budget_runs"
    if not isinstance(configs, dict) or not configs:
        raise TypeError(f"{where}: configs must be a non-empty dict label -> (normalization, init_scale)")
    (X, y), (X_test, y_test) = _train_test(data, test_data, where)
    sizes = [X.shape[1], *hidden, int(max(y.max(), y_test.max())) + 1]
    return {
        label: train_seeds(
            sizes,
            [int(s) for s in seeds],
            X,
            y,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            normalization=norm,
            init_scale=scale,
            X_test=X_test,
            y_test=y_test,
            eval_every=eval_every,
        )
        for label, (norm, scale) in configs.items()
    }


def preactivation_profile(model, X, y) -> dict:
    r"""One training-mode forward and backward pass of any course MLP (on a copy): how big the signal and
    the gradient stay from layer to layer.

    Returns
    -------
    dict with
        ``z_std`` — std of every hidden layer's pre-activations z (the input of its activation function),
        over all the batch's examples and units, input side first;
        ``z_rms`` — their root mean square :math:`\sqrt{E[z^2]}`, the size He et al.'s derivation keeps;
        ``z_spread`` — the part of z that varies from example to example (each unit's std over the
        batch, root-mean-squared over the units): the signal. For a sigmoid net, ``z_rms`` also holds
        the constant ½ passed on through W, a fixed offset per unit that carries no information;
        ``weight_grad_norms`` — ‖∂L/∂W‖ of every weight matrix (output layer last);
        ``grad_ratio`` — first over last of those (how much of the output layer's gradient reaches the
        first layer).
    """
    where = "preactivation_profile"
    check_model(model, where)
    X, y = check_X_y(X, y, where, n_features=model.layer_sizes[0])
    net = copy.deepcopy(model)
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):
        logits = net.forward(X, training=True)
        _, dlogits = softmax_cross_entropy(logits, y)
        net.backward(dlogits)
    grads = layer_gradient_norms([layer.grads["W"] for layer in net.linears])
    return {
        "z_std": np.array([net.layer_inputs[i].std() for i in net.activation_indices]),
        "z_rms": np.array([np.sqrt(np.mean(net.layer_inputs[i] ** 2)) for i in net.activation_indices]),
        "z_spread": np.array(
            [np.sqrt(np.mean(net.layer_inputs[i].var(axis=0))) for i in net.activation_indices]
        ),
        "weight_grad_norms": grads,
        "grad_ratio": float(grads[0] / grads[-1]),
    }


def activation_contrast(
    configs: dict,
    seeds=tuple(range(5)),
    depth: int = 10,
    width: int = 64,
    steps: int = 200,
    batch_size: int = 32,
    lr: float = 0.1,
    data=None,
    test_data=None,
) -> dict:
    """Deep networks of different activations and initial scales, trained with the same SGD budget.

    Parameters
    ----------
    configs : dict
        ``label -> (activation, init_scale)``. With ``width`` equal to the 64 input pixels every layer
        has fan-in 64, so one ``init_scale`` is the same rule for every layer (e.g. He's
        ``sqrt(2/64)`` for ReLU).
    seeds, depth, width, steps, batch_size, lr, data, test_data
        ``depth`` hidden layers of ``width`` units, no normalization, plain SGD.

    Returns
    -------
    dict label -> dict with ``runs`` (:class:`~course_utils.batched.SeedRuns`) and ``grad_ratio``
    (n_seeds,): first/output weight-gradient norm at initialisation, on 500 training digits.
    """
    from .batched import train_seeds

    where = "activation_contrast"
    if not isinstance(configs, dict) or not configs:
        raise TypeError(f"{where}: configs must be a non-empty dict label -> (activation, init_scale)")
    depth = check_positive_int(depth, "depth", where)
    (X, y), (X_test, y_test) = _train_test(data, test_data, where)
    sizes = [X.shape[1]] + [int(width)] * depth + [int(max(y.max(), y_test.max())) + 1]
    seeds = [int(s) for s in seeds]
    out = {}
    for label, (activation, scale) in configs.items():
        ratios = [
            preactivation_profile(MLP(sizes, activation, "none", init_scale=scale, seed=s), X[:500], y[:500])[
                "grad_ratio"
            ]
            for s in seeds
        ]
        runs = train_seeds(
            sizes,
            seeds,
            X,
            y,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            activation=activation,
            init_scale=scale,
            X_test=X_test,
            y_test=y_test,
        )
        out[label] = {"runs": runs, "grad_ratio": np.array(ratios)}
    return out


def forward_backward_diagnostics(model, X, y, bins: int = 20, copy_model: bool = True) -> dict:
    """One training-mode forward and backward pass of a sigmoid MLP on a batch, for the live demo.

    Works on a copy unless ``copy_model=False`` (then the model's running statistics, caches and
    gradients change, which is fine for a throw-away model).

    Returns
    -------
    dict with ``histograms`` (n_hidden, bins) of sigmoid outputs, ``saturated`` (n_hidden,) fractions
    (σ < 0.03 or > 0.97), ``grad_norms`` (n_hidden + 1,) Frobenius norms of ∂L/∂W from input to output,
    and ``loss``.
    """
    check_model(model, "forward_backward_diagnostics", activation="sigmoid")
    net = copy.deepcopy(model) if copy_model else model
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):  # one limit for both passes
        logits = net.forward(X, training=True)
        loss, dlogits = softmax_cross_entropy(logits, y)
        net.backward(dlogits)
    acts = [net.layer_inputs[i + 1] for i in net.activation_indices]
    return {
        "histograms": activation_histograms(acts, bins),
        "saturated": np.array([np.mean((a < SATURATION_LOW) | (a > SATURATION_HIGH)) for a in acts]),
        "grad_norms": np.array([np.linalg.norm(layer.grads["W"]) for layer in net.linears]),
        "loss": loss,
    }
