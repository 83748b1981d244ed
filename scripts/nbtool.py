"""Notebook maintenance for NormLab: execute in place, strip volatile metadata, make a student copy.

Usage (normally through make)::

    python scripts/nbtool.py execute [NOTEBOOK ...]   # make notebooks [NB=notebooks/05_x.ipynb]
    python scripts/nbtool.py strip [NOTEBOOK ...]     # only normalize metadata, no execution
    python scripts/nbtool.py student --out build/student [--drop-answers]

``execute`` runs each notebook top to bottom on a fresh kernel of *this* Python (the project venv,
whatever kernelspecs the user has installed elsewhere), with the notebook's folder as working
directory, saves the outputs in place and then strips volatile metadata. It stops at the first
notebook that raises, naming the notebook and the cell, and leaves that file untouched.

Stripping keeps every output (readers on GitHub see the figures) and removes what changes from run to
run without meaning anything: per-cell execution timestamps, the saved ipywidgets state, the Python
patch version, and the random model ids of widget views. A widget view is replaced by a short
plain-text note, because a widget cannot be shown without a running kernel anyway and each interactive
demo has its own static figure.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "Interactive widget: run this notebook in Jupyter (make lab, or Binder) to use it."
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO_KEYS = (
    "name",
    "codemirror_mode",
    "file_extension",
    "mimetype",
    "nbconvert_exporter",
    "pygments_lexer",
)
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")


def default_notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def strip_notebook(nb) -> None:
    """Remove volatile metadata from ``nb`` in place (outputs are kept)."""
    metadata = nb.metadata
    metadata.pop("widgets", None)
    metadata["kernelspec"] = dict(KERNELSPEC)
    language_info = metadata.get("language_info", {})
    metadata["language_info"] = {k: language_info[k] for k in LANGUAGE_INFO_KEYS if k in language_info}
    metadata["language_info"].setdefault("name", "python")
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                data["text/plain"] = WIDGET_NOTE


def current_env_client(nb, path: Path, timeout: int = 600):
    """An nbclient NotebookClient whose kernel is ipykernel on *this* interpreter (not whatever a
    user-level 'python3' kernelspec points to), started in ``path``'s folder. The client owns its
    kernel manager, so the kernel is shut down when execution ends."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from traitlets import default

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(
                resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
            )

    class CurrentEnvKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _current_env_specs(self):
            return CurrentEnvSpecs(parent=self)

    return NotebookClient(
        nb,
        kernel_manager_class=CurrentEnvKernelManager,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )


def execute_notebook(path: Path, timeout: int = 600) -> float:
    """Execute ``path`` in place on a fresh kernel; return the wall time in seconds."""
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = current_env_client(nb, path, timeout=timeout)
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        index = next(
            (
                i
                for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code"
                and any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            ),
            None,
        )
        where = f"cell {index}" if index is not None else "a cell"
        raise SystemExit(f"{path}: {where} raised (file left unchanged):\n{err}") from None
    elapsed = time.perf_counter() - start
    strip_notebook(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def has_tag(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def student_notebook(nb, drop_answers: bool = False):
    """A copy of ``nb`` without ``solution`` cells (and ``answer`` cells if asked), outputs cleared."""
    nb = nbformat.from_dict(nb)
    cells = []
    for cell in nb.cells:
        if has_tag(cell, "solution") or (drop_answers and has_tag(cell, "answer")):
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    strip_notebook(nb)
    return nb


STUDENT_COPY = (
    "course_utils",
    "images",
    "pyproject.toml",
    "requirements-pinned.txt",
    "requirements-runtime.txt",
    "environment.yml",
    "postBuild",
    "README.md",
    "CONTRIBUTING.md",
    "Makefile",
    "scripts",
)


STUDENT_MARKER = ".normlab-student-copy"


def select_notebooks(only: list[str] | None) -> list[Path]:
    """The course notebooks whose two-digit number is in ``only`` (all of them when ``only`` is empty)."""
    notebooks = default_notebooks()
    if not only:
        return notebooks
    numbers = {path.name[:2] for path in notebooks}
    wanted = {f"{int(n):02d}" if n.isdigit() else n for n in only}
    unknown = sorted(wanted - numbers)
    if unknown:
        raise SystemExit(
            f"--only: no notebook numbered {', '.join(unknown)} (have {', '.join(sorted(numbers))})"
        )
    return [path for path in notebooks if path.name[:2] in wanted]


def make_student_copy(out: Path, drop_answers: bool = False, only: list[str] | None = None) -> list[Path]:
    """Write a runnable course tree to ``out``: solution cells removed, outputs cleared, no tests.

    ``out`` must be a new or empty folder, or an earlier student copy, which is replaced except for its
    ``.git`` folder (so a teacher can keep the student repository there and commit each new copy).
    ``only`` lists notebook numbers to include (e.g. ``["05", "06", "07"]``); every notebook runs alone.
    """
    notebooks = select_notebooks(only)
    out = out.resolve()
    if out == REPO or out in REPO.parents or (REPO in out.parents and not out.is_relative_to(REPO / "build")):
        raise SystemExit(f"refusing to write the student copy to {out}: use a folder under build/")
    if out.exists():
        others = [child for child in out.iterdir() if child.name != ".git"] if out.is_dir() else None
        if others is None or (others and not (out / STUDENT_MARKER).exists()):
            raise SystemExit(f"refusing to overwrite {out}: it exists and is not an earlier student copy")
        for child in out.iterdir():
            if child.name == ".git":
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / STUDENT_MARKER).write_text("written by scripts/nbtool.py student; replaced on the next run\n")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
    for name in STUDENT_COPY:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, out / name)
    written = []
    (out / "notebooks").mkdir()
    for path in notebooks:
        nb = student_notebook(nbformat.read(path, as_version=4), drop_answers=drop_answers)
        target = out / "notebooks" / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_exec = sub.add_parser("execute", help="execute notebooks in place and strip volatile metadata")
    p_exec.add_argument("notebooks", nargs="*", type=Path)
    p_exec.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    p_strip = sub.add_parser("strip", help="strip volatile metadata only")
    p_strip.add_argument("notebooks", nargs="*", type=Path)
    p_student = sub.add_parser("student", help="write a student copy without solution cells")
    p_student.add_argument("--out", type=Path, default=REPO / "build" / "student")
    p_student.add_argument("--drop-answers", action="store_true", help="also drop Think! answer cells")
    p_student.add_argument(
        "--only", nargs="+", metavar="NN", help="only these notebooks, e.g. --only 05 06 07"
    )
    args = parser.parse_args(argv)

    if args.command in ("execute", "strip"):
        paths = args.notebooks or default_notebooks()
        missing = [str(p) for p in paths if not p.is_file() or p.suffix != ".ipynb"]
        if missing:
            raise SystemExit(f"not a notebook file: {', '.join(missing)}")
        for path in paths:
            if args.command == "execute":
                print(f"executing {path} ...", flush=True)
                seconds = execute_notebook(path, timeout=args.timeout)
                print(f"  {path}: {seconds:.1f} s, saved", flush=True)
            else:
                nb = nbformat.read(path, as_version=4)
                strip_notebook(nb)
                nbformat.write(nb, path)
                print(f"stripped {path}")
        if not paths:
            print("no notebooks found")
    else:
        written = make_student_copy(args.out, drop_answers=args.drop_answers, only=args.only)
        print(f"student copy of {len(written)} notebooks (no solution cells) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
