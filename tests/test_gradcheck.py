"""Tests of course_utils.gradcheck: the numerical gradient and rel_error themselves."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.gradcheck import numerical_gradient_array, rel_error


def test_numerical_gradient_of_elementwise_function():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    dout = rng.normal(size=(4, 3))
    num = numerical_gradient_array(lambda z: z**3 + np.sin(z), x, dout)
    np.testing.assert_allclose(num, dout * (3 * x**2 + np.cos(x)), rtol=1e-8, atol=1e-10)


def test_numerical_gradient_of_a_matrix_map_and_of_a_scalar():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 4))
    x = rng.normal(size=(4, 2))
    dout = rng.normal(size=(5, 2))
    num = numerical_gradient_array(lambda z: A @ z, x, dout)
    np.testing.assert_allclose(num, A.T @ dout, rtol=1e-8, atol=1e-10)
    # a scalar function with dout = 1.0 gives its plain gradient
    num_scalar = numerical_gradient_array(lambda z: np.sum(z**2), x, np.array(1.0))
    np.testing.assert_allclose(num_scalar, 2 * x, rtol=1e-8)


def test_central_difference_error_is_second_order():
    x = np.array([[0.7]])
    dout = np.array([[1.0]])
    errs = [abs(numerical_gradient_array(np.exp, x, dout, h)[0, 0] - np.exp(0.7)) for h in (1e-1, 1e-2)]
    assert 50 < errs[0] / errs[1] < 200  # h / 10 -> error / 100


def test_x_is_restored_exactly_even_when_f_raises():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 3))
    before = x.copy()
    numerical_gradient_array(lambda z: np.tanh(z), x, np.ones((3, 3)))
    np.testing.assert_array_equal(x, before)  # bit for bit (x + h - h would not be)
    calls = []

    def flaky(z):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return z

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient_array(flaky, x, np.ones((3, 3)))
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_works_on_float32_on_request_and_non_contiguous():
    x = np.linspace(-1, 1, 12).reshape(3, 4).T  # a transposed view
    num = numerical_gradient_array(lambda z: 3 * z, x, np.ones((4, 3)))
    np.testing.assert_allclose(num, 3.0, rtol=1e-9)
    x32 = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    num32 = numerical_gradient_array(
        lambda z: z * z, x32, np.ones((2, 3), np.float32), h=1e-2, allow_low_precision=True
    )
    assert num32.dtype == np.float32
    np.testing.assert_allclose(num32, 2 * x32, rtol=1e-3, atol=1e-3)


def test_rel_error_definition():
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    a, b = np.array([3.0, -1.0, 1e-3]), np.array([3.1, -1.0, 2e-3])
    assert rel_error(a, b) == rel_error(b, a) == pytest.approx(1e-3 / 3e-3)  # worst entry
    # the 1e-8 floor: two arrays of zeros agree perfectly, which is why an all-zero gradient proves nothing
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros(3), np.full(3, 1e-12)) == pytest.approx(1e-4)
    assert isinstance(rel_error([1.0], [2.0]), float)
    assert rel_error(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


def test_gradient_check_catches_a_wrong_gradient():
    """The pair numerical_gradient_array + rel_error is sharp: a 1 % mistake gives a large error."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4))
    dout = rng.normal(size=(5, 4))
    num = numerical_gradient_array(np.tanh, x, dout)
    right = dout * (1 - np.tanh(x) ** 2)
    assert rel_error(num, right) < 1e-8
    assert rel_error(num, 1.01 * right) > 4e-3
