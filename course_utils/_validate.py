"""Argument checks shared by the course code.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong
shape or value) with a message that names the function, the argument and what was seen, so a
student's mistake points at its own cause instead of at a broadcasting error three lines later.
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
