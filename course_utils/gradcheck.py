"""Numerical gradients by central differences, and the relative error used to compare gradients."""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, check_positive

__all__ = ["numerical_gradient_array", "rel_error"]


def numerical_gradient_array(f, x, dout, h: float = 1e-5, allow_low_precision: bool = False):
    r"""Numerical gradient of :math:`L = \sum f(x) \odot dout` with respect to ``x``.

    Each entry is the central difference :math:`\big(L(x + h e_i) - L(x - h e_i)\big)/(2h)`, whose
    error is :math:`O(h^2)`. A writeable float64 ``x`` is perturbed in place one entry at a time and
    restored exactly, so it is unchanged on return (even if ``f`` raises). A read-only ``x`` is
    copied first and the copy is perturbed: ``f`` must then compute from its argument (not from a
    variable it closes over).

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray`` of the shape of ``dout``.
    x : ndarray of float64
        float16/float32 ``x`` is refused (TypeError): with ``h = 1e-5`` a float32 step keeps ~2 digits
        and a float16 step rounds to 0, so a correct analytic gradient would look wrong. Pass
        ``x.astype(np.float64)`` (and a function that computes in float64).
    dout : ndarray
        Upstream gradient; use a random one, since special ones (all ones for BatchNorm) can make the
        true gradient identically zero and the check vacuous.
    h : float, default 1e-5
    allow_low_precision : bool, default False
        True perturbs a float16/float32 ``x`` in its own dtype anyway (the gradient has that dtype):
        only to *show* how inaccurate such a check is, as notebook 06 does.

    Returns
    -------
    grad : ndarray, shape of x, dtype of x
    """
    where = "numerical_gradient_array"
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(
            f"{where}: x must be a floating ndarray (it is perturbed in place), "
            f"got {type(x).__name__} {getattr(x, 'dtype', '')}"
        )
    if x.dtype.itemsize < 8 and not allow_low_precision:
        raise TypeError(
            f"{where}: x is {x.dtype}; central differences need float64 (with h={h} a {x.dtype} step "
            f"keeps too few digits and a correct gradient looks wrong). Use x.astype(np.float64) and a "
            f"function that computes in float64 (or allow_low_precision=True to see the error)"
        )
    if not x.flags.writeable:
        x = x.copy()
    dout = as_real_array(dout, "dout", where)
    h = check_positive(h, "h", where)
    out_shape = np.shape(_evaluate(f, x, where))
    if dout.shape != out_shape:
        raise ValueError(f"{where}: dout must have the shape of f(x) {out_shape}, got {dout.shape}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + h
            plus = np.sum(_evaluate(f, x, where) * dout)
            x[i] = old - h
            minus = np.sum(_evaluate(f, x, where) * dout)
        finally:
            x[i] = old
        grad[i] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def _evaluate(f, x, where: str):
    """``f(x)``, refusing None (a forgotten ``return``) with a message that says so."""
    out = f(x)
    if out is None:
        raise TypeError(f"{where}: f returned None (did it forget `return`?); it must return an array")
    return out


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
