"""Tests of course_utils.exercises.core: the PASS/FAIL report and check_batchnorm_forward."""

from __future__ import annotations

import numpy as np
import pytest

import course_utils as cu
from course_utils.exercises.core import check_batchnorm_forward, report


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def reference(x, gamma, beta, eps=1e-5):
    return cu.batchnorm_forward(x, gamma, beta, eps)


def out_only(x, gamma, beta, eps=1e-5):
    """A student's version written from scratch that returns just ``out`` (also accepted)."""
    mu = x.mean(axis=_axes(x), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=_axes(x), keepdims=True)
    return gamma.reshape(_shape(x)) * (x - mu) / np.sqrt(var + eps) + beta.reshape(_shape(x))


def unbiased_variance(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=_axes(x), keepdims=True)
    var = x.var(axis=_axes(x), ddof=1, keepdims=True)
    return gamma.reshape(_shape(x)) * (x - mu) / np.sqrt(var + eps) + beta.reshape(_shape(x)), None


def eps_outside_sqrt(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=_axes(x), keepdims=True)
    std = x.std(axis=_axes(x), keepdims=True)
    return gamma.reshape(_shape(x)) * (x - mu) / (std + eps) + beta.reshape(_shape(x))


def per_sample_statistics(x, gamma, beta, eps=1e-5):
    axes = tuple(range(1, x.ndim))
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return gamma.reshape(_shape(x)) * (x - mu) / np.sqrt(var + eps) + beta.reshape(_shape(x))


def no_affine(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(axis=_axes(x), keepdims=True), x.var(axis=_axes(x), keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def not_written_yet(x, gamma, beta, eps=1e-5):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [reference, out_only])
def test_correct_implementations_pass(fn, capsys):
    assert check_batchnorm_forward(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("PASS") and "batchnorm_forward" in out and "relative error" in out
    assert "FAIL" not in out and "hint" not in out


@pytest.mark.parametrize(
    "fn, hint",
    [
        (unbiased_variance, "biased variance"),
        (eps_outside_sqrt, "eps goes inside the square root"),
        (per_sample_statistics, "per channel"),
        (no_affine, "apply gamma and beta"),
    ],
)
def test_typical_mistakes_fail_with_the_right_hint(fn, hint, capsys):
    assert check_batchnorm_forward(fn) is False
    out = capsys.readouterr().out
    first, *rest = out.splitlines()
    assert first.startswith("FAIL") and "max relative error" in first
    assert len(rest) == 1 and rest[0].strip().startswith("hint:") and hint in rest[0]


def test_unknown_mistake_gets_the_generic_hint(capsys):
    assert check_batchnorm_forward(lambda x, g, b, eps=1e-5: out_only(x, g, b, eps) * 1.5) is False
    out = capsys.readouterr().out
    assert "FAIL" in out and "print your mu and var" in out


def test_not_implemented_is_reported_not_raised(capsys):
    assert check_batchnorm_forward(not_written_yet) is False
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "FAIL" not in out and "Traceback" not in out


def test_wrong_output_shape_fails_cleanly(capsys):
    assert check_batchnorm_forward(lambda x, g, b, eps=1e-5: out_only(x, g, b, eps)[:1]) is False
    assert "FAIL" in capsys.readouterr().out


def test_student_cannot_corrupt_the_check_by_mutating_inputs(capsys):
    def mutating(x, gamma, beta, eps=1e-5):
        out = out_only(x, gamma, beta, eps)
        x[...] = 0.0  # a careless in-place operation on the student's side
        gamma[...] = 0.0
        return out

    assert check_batchnorm_forward(mutating) is True


def test_report(capsys):
    assert report("thing", 1e-9) is True
    assert report("thing", 1e-3, hint="look at eps") is False
    assert report("thing", float("nan")) is False
    assert report("thing", None) is False
    assert report("thing", 1e-3, tol=1e-2) is True
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS") and out[1].startswith("FAIL") and "look at eps" in out[2]
    assert out[3].startswith("FAIL") and "not implemented yet" in out[4] and out[5].startswith("PASS")
