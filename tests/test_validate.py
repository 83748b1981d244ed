"""The shared argument checks of course_utils/_validate.py, and the ``where`` names they print."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

from course_utils._validate import check_index, check_labels, check_model, check_one_of, check_X_y
from course_utils.training import MLP

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "course_utils"


def test_check_X_y_returns_arrays_and_names_both_shapes():
    X, y = check_X_y([[1, 2], [3, 4]], [0, 1], "f")
    assert X.dtype == np.float64 and y.tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"f: X must be \(N, D\) and y \(N,\), got \(2, 2\) and \(3,\)"):
        check_X_y(np.ones((2, 2)), [0, 1, 2], "f")
    with pytest.raises(ValueError, match=r"g: x must be \(N, 3\) and y \(N,\), got \(2, 2\) and \(2,\)"):
        check_X_y(np.ones((2, 2)), [0, 1], "g", n_features=3, names=("x", "y"))
    with pytest.raises(ValueError, match="X must be"):
        check_X_y(np.ones(4), np.ones(4), "f")
    _, y = check_X_y(np.ones((2, 1)), [1, 2], "f", y_numeric=True)
    assert y.dtype == np.float64
    with pytest.raises(TypeError, match="y must be real"):
        check_X_y(np.ones((2, 1)), [1j, 2j], "f", y_numeric=True)


def test_check_labels_names_the_argument_the_range_and_what_was_seen():
    y = np.array([0, 2, 1])
    assert check_labels(y, 3, "f") is y
    assert check_labels(np.array([], dtype=int), 3, "f").size == 0
    with pytest.raises(
        ValueError, match=r"^f: y must hold integer class labels in \[0, 3\), got values from 0 to 3$"
    ):
        check_labels([0, 3], 3, "f")
    with pytest.raises(ValueError, match=r"g: y_test must hold .* got values from -1 to 1"):
        check_labels([-1, 1], 3, "g", name="y_test")
    for bad in ([0.0, 1.0], [True, False], ["a"]):
        with pytest.raises(TypeError, match=r"f: y must hold integer class labels in \[0, 3\), got dtype"):
            check_labels(bad, 3, "f")


def test_check_model_one_message_for_every_caller():
    model = MLP([3, 4, 2], normalization="batch")
    assert check_model(model, "f", normalization="batch", activation="sigmoid") is model
    with pytest.raises(TypeError, match=r"^f: model must be a course_utils.training.MLP, got object$"):
        check_model(object(), "f")
    with pytest.raises(
        ValueError, match="f: model must use normalization='layer', got normalization='batch'"
    ):
        check_model(model, "f", normalization="layer")
    with pytest.raises(ValueError, match="activation='relu'"):
        check_model(model, "f", activation="relu")


def test_check_one_of_and_check_index():
    assert check_one_of("a", "kind", "f", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"f: kind must be one of \['a', 'b'\], got 'c'"):
        check_one_of("c", "kind", "f", ("a", "b"))
    with pytest.raises(ValueError, match="kind must be one of"):
        check_one_of(["a"], "kind", "f", ("a", "b"))  # unhashable: a clear message, not a TypeError
    assert check_index(-1, "layer", "f", 3) == 2
    for bad in (3, -4, True, 1.0):
        with pytest.raises(ValueError, match=r"f: layer must be an integer index into the 3 items"):
            check_index(bad, "layer", "f", 3)


# Which positional argument of each shared check is ``where``.
WHERE_ARG = {
    "as_real_array": 2,
    "check_positive": 2,
    "check_positive_int": 2,
    "check_in_range": 2,
    "check_one_of": 2,
    "check_index": 2,
    "check_X_y": 2,
    "check_labels": 2,
    "check_model": 1,
    "check_shape": 3,
    "check_ndim_at_least": 3,
}


def _where_literals(tree):
    """(line, literal, names the user may have called there) for every hand-written ``where``."""
    found = []

    def visit(node, scope):
        literals = []
        if (
            isinstance(node, ast.Assign)
            and [ast.unparse(t) for t in node.targets] == ["where"]
            and isinstance(node.value, ast.Constant)
        ):
            literals.append(node.value.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in WHERE_ARG:
            i = WHERE_ARG[node.func.id]
            if len(node.args) > i and isinstance(node.args[i], ast.Constant):
                literals.append(node.args[i].value)
        for literal in literals:
            found.append((node.lineno, literal, scope))
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            scope = [*scope, node]
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, [])
    return found


def test_every_hand_written_where_names_its_function():
    """``where = "train"`` is written by hand once per function; it must not drift from the function's
    name (a renamed function would otherwise report errors under its old name). Accepted: the enclosing
    function, its class (constructors) or ``Class.method``; private helpers are not checked (they pass
    on the public caller's name)."""
    stale = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "exercises" in path.parts:
            continue
        for line, literal, scope in _where_literals(ast.parse(path.read_text())):
            functions = [n.name for n in scope if isinstance(n, ast.FunctionDef)]
            classes = [n.name for n in scope if isinstance(n, ast.ClassDef)]
            if not functions or any(n.name.startswith("_") and not n.name.startswith("__") for n in scope):
                continue
            allowed = set(functions)
            if classes:
                allowed |= {classes[-1], f"{classes[-1]}.{functions[0]}"}
            if literal not in allowed:
                stale.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {literal!r} not in {sorted(allowed)}"
                )
    assert not stale, "\n".join(stale)
