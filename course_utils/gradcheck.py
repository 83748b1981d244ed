"""Numerical gradients by central differences, and the relative error used to compare gradients."""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, check_positive

__all__ = ["numerical_gradient_array", "rel_error"]


def numerical_gradient_array(f, x, dout, h: float = 1e-5):
    r"""Numerical gradient of :math:`L = \sum f(x) \odot dout` with respect to ``x``.

    Each entry is the central difference :math:`\big(L(x + h e_i) - L(x - h e_i)\big)/(2h)`, whose
    error is :math:`O(h^2)`. ``x`` is perturbed in place one entry at a time and restored exactly,
    so it is unchanged on return (even if ``f`` raises).

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray`` of the shape of ``dout``.
    x : ndarray of float (modified temporarily, restored on return)
    dout : ndarray
        Upstream gradient; use a random one, since special ones (all ones for BatchNorm) can make the
        true gradient identically zero and the check vacuous.
    h : float, default 1e-5

    Returns
    -------
    grad : ndarray, shape of x
    """
    where = "numerical_gradient_array"
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(
            f"{where}: x must be a floating ndarray (it is perturbed in place), "
            f"got {type(x).__name__} {getattr(x, 'dtype', '')}"
        )
    dout = as_real_array(dout, "dout", where)
    h = check_positive(h, "h", where)
    out_shape = np.shape(f(x))
    if dout.shape != out_shape:
        raise ValueError(f"{where}: dout must have the shape of f(x) {out_shape}, got {dout.shape}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + h
            plus = np.sum(f(x) * dout)
            x[i] = old - h
            minus = np.sum(f(x) * dout)
        finally:
            x[i] = old
        grad[i] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def rel_error(a, b) -> float:
    """Largest element-wise relative error ``|a - b| / max(1e-8, |a| + |b|)``.

    The floor keeps entries that are both (near) zero from dividing by zero; it also means that
    comparing two arrays of zeros gives 0, which is why a check on an all-zero gradient proves nothing.
    """
    a = as_real_array(a, "a", "rel_error")
    b = as_real_array(b, "b", "rel_error")
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a and b must have the same shape, got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))
