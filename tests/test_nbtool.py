"""scripts/nbtool.py: stripping volatile metadata, and the student copy (`make student`).

The student copy must contain no solution, and every notebook must still run top to bottom without
its solution cells (the exercise check cells then print "not implemented yet" instead of failing).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

_spec = importlib.util.spec_from_file_location("nbtool", REPO / "scripts" / "nbtool.py")
nbtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtool)


def _widget_output():
    return nbformat.v4.new_output(
        "display_data",
        data={
            "text/plain": "VBox(children=(...))",
            nbtool.WIDGET_VIEW: {"model_id": "0123abcd", "version_major": 2, "version_minor": 0},
        },
    )


def test_strip_removes_volatile_metadata_but_keeps_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "panel",
        execution_count=1,
        outputs=[
            _widget_output(),
            nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="}),
        ],
    )
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"}
    nbtool.strip_notebook(nb)
    assert "widgets" not in nb.metadata and "execution" not in cell.metadata
    assert nb.metadata["language_info"] == {"name": "python", "pygments_lexer": "ipython3"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert cell.outputs[0]["data"] == {"text/plain": nbtool.WIDGET_NOTE}
    assert cell.outputs[1]["data"] == {"image/png": "iVBORw0KGgo="}
    nbformat.validate(nb)


def test_student_notebook_drops_solutions_and_outputs_only():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    solution = code("def f():\n    return 1", execution_count=2)
    solution.metadata["tags"] = ["solution"]
    answer = md("Because.")
    answer.metadata = {"tags": ["answer"], "jupyter": {"source_hidden": True}}
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# T"),
        code("def f():\n    raise NotImplementedError", execution_count=1),
        solution,
        code("check(f)", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="PASS")]),
        answer,
    ]
    student = nbtool.student_notebook(nb)
    assert [c.source for c in student.cells] == [
        "# T",
        "def f():\n    raise NotImplementedError",
        "check(f)",
        "Because.",
    ]
    assert all(
        c.get("outputs", []) == [] and c.get("execution_count") is None
        for c in student.cells
        if c.cell_type == "code"
    )
    assert len(nb.cells) == 5, "the original notebook is not modified"
    assert "Because." not in [c.source for c in nbtool.student_notebook(nb, drop_answers=True).cells]


def test_student_copy_refuses_to_overwrite_other_folders(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="refusing"):
        nbtool.make_student_copy(tmp_path)
    with pytest.raises(SystemExit, match="refusing"):
        nbtool.make_student_copy(REPO / "notebooks")
    assert (tmp_path / "precious.txt").exists()


def test_student_copy_only_some_notebooks_and_keeps_git(tmp_path):
    out = tmp_path / "course"
    (out / ".git").mkdir(parents=True)  # a teacher's student repository, before the first copy
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    written = nbtool.make_student_copy(out, only=["5", "06", "07"])
    assert [p.name[:2] for p in written] == ["05", "06", "07"]
    assert sorted(p.name[:2] for p in (out / "notebooks").glob("*.ipynb")) == ["05", "06", "07"]
    nbtool.make_student_copy(out, only=["00"])  # replaced, history kept
    assert [p.name[:2] for p in (out / "notebooks").glob("*.ipynb")] == ["00"]
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    with pytest.raises(SystemExit, match="no notebook numbered 42"):
        nbtool.make_student_copy(out, only=["42"])


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "course"
    written = nbtool.make_student_copy(out)
    nbtool.make_student_copy(out)  # a second run replaces the first
    return out, written


def test_student_copy_is_a_course_tree_without_solutions(student_copy):
    out, written = student_copy
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    assert (out / "course_utils" / "__init__.py").is_file() and (out / "pyproject.toml").is_file()
    assert not (out / "tests").exists()
    for path in written:
        nb = nbformat.read(path, as_version=4)
        assert not any("solution" in c.metadata.get("tags", []) for c in nb.cells), path.name


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_student_notebook_runs_top_to_bottom_without_solutions(student_copy, name):
    from nbclient.exceptions import CellExecutionError

    out, _ = student_copy
    path = out / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    client = nbtool.current_env_client(nb, path)
    try:
        client.execute()
    except CellExecutionError as err:
        failed = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if c.cell_type == "code"
                and any(o.get("output_type") == "error" for o in c.get("outputs", []))
            ),
            "?",
        )
        pytest.fail(
            f"student copy of {name}: cell {failed} fails without the solution cells "
            f"(a later cell uses the student's unfinished function?):\n"
            + re.sub(r"\x1b\[[0-9;]*m", "", str(err))[-1500:]
        )
