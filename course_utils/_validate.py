"""Argument checks shared by the course code (scikit-learn's ``check_X_y`` / ``check_scalar`` style).

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong
shape or value) with a message that names the function, the argument and what was seen, so a
student's mistake points at its own cause instead of at a broadcasting error three lines later.

``where`` is the name the user called: ``"train"``, ``"MLP"`` (a constructor) or ``"FoldedMLP.forward"``.
A public function writes it once (``where = "train"``) and passes it to every check.

* scalars: :func:`check_positive`, :func:`check_positive_int`, :func:`check_in_range`,
  :func:`check_one_of`, :func:`check_index`
* arrays: :func:`as_real_array`, :func:`check_X_y`, :func:`check_labels`, :func:`check_shape`,
  :func:`check_same_shape`, :func:`check_ndim_at_least`
* objects: :func:`check_model` (a course MLP), :func:`check_cache`
* BatchNorm's state: :func:`check_running_statistics` (finite mean, finite variance ≥ 0)
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np


def as_real_array(value, name: str, where: str, dtype=None) -> np.ndarray:
    """Return ``value`` as a real floating array, refusing complex, object and string data.

    Integer and boolean arrays are promoted to float64 (PyTorch refuses them outright; a course
    should be kinder to ``np.array([[1, 2], [3, 4]])``). Floating arrays keep their dtype unless
    ``dtype`` is given, in which case the result is cast to it (used to give gamma/beta the dtype of x).
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds here
        raise TypeError(f"{where}: {name} must be array-like, got {type(value).__name__}") from exc
    if arr.dtype.kind == "c":
        raise TypeError(f"{where}: {name} must be real, got complex dtype {arr.dtype}")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{where}: {name} must be numeric, got dtype {arr.dtype}")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def check_ndim_at_least(arr: np.ndarray, k: int, name: str, where: str) -> None:
    if arr.ndim < k:
        raise ValueError(
            f"{where}: {name} must have at least {k} dimensions (N, C, ...), got shape {arr.shape}"
        )


def check_shape(arr: np.ndarray, shape: tuple, name: str, where: str, hint: str = "") -> None:
    if arr.shape != tuple(shape):
        extra = f" ({hint})" if hint else ""
        raise ValueError(f"{where}: {name} must have shape {tuple(shape)}{extra}, got {arr.shape}")


def check_positive(value, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{where}: {name} must be a finite number > 0, got {value}")
    return value


def check_in_range(value, name: str, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (low <= value <= high):
        raise ValueError(f"{where}: {name} must lie in [{low}, {high}], got {value}")
    return value


def check_positive_int(value, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{where}: {name} must be an integer, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value}")
    return int(value)


def check_same_shape(dout: np.ndarray, shape: tuple, where: str, name: str = "dout") -> None:
    if dout.shape != tuple(shape):
        raise ValueError(
            f"{where}: {name} must have the shape of the forward output {tuple(shape)}, got {dout.shape}"
        )


def check_cache(cache, cls, where: str, producer: str) -> None:
    if not isinstance(cache, cls):
        raise TypeError(f"{where}: cache must be the one returned by {producer}, got {type(cache).__name__}")


def check_one_of(value, name: str, where: str, choices):
    """``value`` if it is one of ``choices`` (compared with ``==``), else ValueError listing them."""
    if isinstance(value, list | dict | set | np.ndarray) or value not in tuple(choices):
        raise ValueError(f"{where}: {name} must be one of {list(choices)}, got {value!r}")
    return value


def check_index(value, name: str, where: str, n: int, what: str = "items") -> int:
    """An integer index into ``n`` ``what`` (negative counts from the end), returned in ``[0, n)``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not -n <= value < n:
        raise ValueError(f"{where}: {name} must be an integer index into the {n} {what}, got {value!r}")
    return int(value) % n


def check_X_y(X, y, where: str, *, n_features: int | None = None, y_numeric: bool = False, names=("X", "y")):
    """Data ``X`` of shape (N, D) and targets ``y`` of shape (N,), as arrays.

    Parameters
    ----------
    X, y : array-like
    where : str
        The function the user called.
    n_features : int, optional
        Required D (e.g. ``model.layer_sizes[0]``); any D when None.
    y_numeric : bool
        ``True``: ``y`` holds real targets and becomes a float array (like ``X``). ``False``:
        class labels, kept as given (``np.asarray``).
    names : (str, str)
        The argument names in the message, e.g. ``("x", "y")``.

    Returns
    -------
    X : ndarray, real, shape (N, D);  y : ndarray, shape (N,)
    """
    x_name, y_name = names
    X = as_real_array(X, x_name, where)
    y = as_real_array(y, y_name, where) if y_numeric else np.asarray(y)
    width = "D" if n_features is None else n_features
    if X.ndim != 2 or y.shape != (X.shape[0],) or (n_features is not None and X.shape[1] != n_features):
        raise ValueError(
            f"{where}: {x_name} must be (N, {width}) and {y_name} (N,), got {X.shape} and {y.shape}"
        )
    return X, y


def check_labels(y, n_classes: int, where: str, name: str = "y") -> np.ndarray:
    """``y`` as an integer array of class labels in ``[0, n_classes)`` (any shape; checked, not copied).

    TypeError for a non-integer dtype (float labels such as ``[0.0, 1.0]`` included: they usually mean
    that targets and data were swapped), ValueError for a label outside the range.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: {name} must hold integer class labels in [0, {n_classes}), got dtype {y.dtype}"
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{where}: {name} must hold integer class labels in [0, {n_classes}), "
            f"got values from {y.min()} to {y.max()}"
        )
    return y


def check_running_statistics(running_mean, running_var, where: str, prefix: str = "") -> None:
    """Refuse running statistics that would make eval mode return NaN, inf or β without a word.

    ``running_mean`` must be finite and ``running_var`` finite and ≥ 0 (written ``np.all(v >= 0)``, which
    NaN fails, unlike ``np.any(v < 0)``). ValueError naming the argument (``prefix + "running_var"``, e.g.
    ``"bn.running_var"``), the first bad value and its channel.
    """
    mean_ok = np.isfinite(running_mean)
    var_ok = np.isfinite(running_var) & (running_var >= 0)
    for name, values, ok, rule in (
        ("running_mean", running_mean, mean_ok, "finite"),
        ("running_var", running_var, var_ok, ">= 0 and finite (a variance)"),
    ):
        if not np.all(ok):
            channel = int(np.flatnonzero(~np.asarray(ok).ravel())[0])
            raise ValueError(
                f"{where}: {prefix}{name} must be {rule}, got {np.ravel(values)[channel]} at channel {channel}"
            )


def check_model(model, where: str, *, normalization: str | None = None, activation: str | None = None):
    """``model`` if it is a :class:`course_utils.training.MLP` (with the given normalization/activation).

    TypeError for any other object, ValueError for an MLP of the wrong kind.
    """
    from .training import MLP  # imported here: training itself imports this module

    if not isinstance(model, MLP):
        raise TypeError(f"{where}: model must be a course_utils.training.MLP, got {type(model).__name__}")
    for attr, wanted in (("normalization", normalization), ("activation", activation)):
        if wanted is not None and getattr(model, attr) != wanted:
            raise ValueError(
                f"{where}: model must use {attr}={wanted!r}, got {attr}={getattr(model, attr)!r}"
            )
    return model
