"""Building blocks of the mistake corpus (see README.md in this folder)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass
class Wrong:
    """A wrong answer: ``hint`` (targeted hint of a math mistake) and/or ``says`` (FAIL reason) must be printed."""

    fn: Callable
    hint: str | None = None
    says: str | None = None
    name: str = ""

    def __post_init__(self):
        self.name = self.name or getattr(self.fn, "__name__", "wrong")


@dataclasses.dataclass
class Corpus:
    right: list
    wrong: list
    #: how to call the checker with a student's function (default: ``check(fn)``)
    grade: Callable | None = None


def _first_array_arg(args):
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size:
            return a
    return None


def _map_first(result, fn):
    """Apply ``fn`` to the first array of a result (an array, or a tuple whose first item is one)."""
    if isinstance(result, tuple):
        return (fn(np.array(result[0], dtype=float)),) + tuple(result[1:])
    return fn(np.array(result, dtype=float))


def generic_wrongs(right: Callable) -> list[Wrong]:
    """Structural mistakes made from a right answer: every checker must refuse all of them."""

    def wrap(name, transform, says):
        @functools.wraps(right)
        def wrong(*args, **kwargs):
            return transform(right(*args, **kwargs), args)

        wrong.__name__ = name
        return Wrong(wrong, says=says, name=name)

    def stub(*args, **kwargs):
        raise NotImplementedError

    def forgot_return(*args, **kwargs):
        right(*args, **kwargs)

    def crashes(*args, **kwargs):
        return right(*args, **kwargs) + undefined_name  # noqa: F821 - the student's NameError

    def in_place(*args, **kwargs):
        result = right(*args, **kwargs)
        target = _first_array_arg(args)
        if target is not None:
            target *= 1.5
        return result

    def one_nan(r, args):
        def put(a):
            a = np.array(a, dtype=float)
            a.flat[a.size // 2] = np.nan
            return a

        return _map_first(r, put)

    return [
        Wrong(stub, says="not implemented yet", name="stub"),
        Wrong(forgot_return, says="returned None", name="forgot_return"),
        Wrong(crashes, says="raised NameError", name="crashes"),
        Wrong(in_place, says="in place", name="in_place"),
        wrap("one_nan", one_nan, "NaN"),
        wrap("all_inf", lambda r, a: _map_first(r, lambda v: np.full_like(v, np.inf)), "inf"),
        wrap("as_complex", lambda r, a: _map_first(r, lambda v: v.astype(complex)), "complex"),
        wrap("as_string", lambda r, a: "42", "string"),
        wrap("as_list", lambda r, a: list(r) if isinstance(r, tuple) else [r], "list"),
        wrap("as_dict", lambda r, a: {"answer": r}, "dict"),
    ]
