"""Shared helpers for the gradient-check tests (imported by the test modules, not collected).

Why the numerical side subtracts ``f(x0)``: the central difference divides a difference of two sums
``sum(f(x ± h e_i) * dout)`` by ``2h``. Each sum carries a rounding error of about
``eps_machine * sum(|f * dout|)`` -- including every channel that the perturbation does not touch and
any constant offset such as beta -- and that error is amplified by ``1/(2h) = 5e4``. With
``x ~ N(3, 2)``, beta ~ N(0, 1) and a (6, 4, 3) batch this gives absolute errors of ~3e-10, and a
random upstream gradient makes some entry of dx ~1e-3 every few seeds, so the element-wise
``rel_error`` lands near 1e-7 (the 1.2e-7 seen for BN dx). Subtracting the unperturbed output (which
changes no gradient) turns every untouched entry into an exact 0 and removes the offsets, so the
absolute error drops ~10x; with x ~ N(0, 1) the worst of 100 seeds was 4e-8 instead of 5e-7.
The bar stays rel_error < 1e-7 on every entry.
"""

from __future__ import annotations

import numpy as np

from course_utils.gradcheck import numerical_gradient_array, rel_error

TOL = 1e-7
H = 1e-5


def numerical(f, x, dout, h: float = H) -> np.ndarray:
    """Numerical gradient of ``sum(f(x) * dout)`` w.r.t. ``x`` (perturbed in place, restored)."""
    f0 = np.array(f(x), dtype=np.float64, copy=True)
    return numerical_gradient_array(lambda z: f(z) - f0, x, dout, h)


def assert_gradient(f, x, dout, analytic, name: str, h: float = H, tol: float = TOL) -> float:
    """Assert that ``analytic`` is the gradient of ``sum(f(x) * dout)`` to rel_error < tol.

    Also asserts the check is not vacuous: the gradient must not be (numerically) all zeros, since
    two arrays of zeros agree with rel_error 0 whatever the backward pass computes.
    """
    assert x.dtype == np.float64, "gradient checks are done in float64"
    analytic = np.asarray(analytic)
    assert analytic.shape == x.shape, f"{name}: gradient shape {analytic.shape} != {x.shape}"
    num = numerical(f, x, dout, h)
    assert np.max(np.abs(num)) > 1e-3, f"{name}: the gradient is ~0, the check would be vacuous"
    err = rel_error(num, analytic)
    assert err < tol, f"{name}: rel_error {err:.2e} >= {tol:.0e}"
    return err
