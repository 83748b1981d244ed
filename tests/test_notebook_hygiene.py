"""Hygiene of the committed notebooks (the files themselves; nbval re-runs them separately).

Each check returns a list of problems, each naming the cell, so a failure reads like
``notebooks/05_x.ipynb [cell 12]: stored error output (ValueError)``. Cell numbers count every cell from 0,
as JupyterLab shows them top to bottom.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
IMAGE_DIR = REPO / "images"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MAX_NOTEBOOK_BYTES = 4_000_000
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])(/work/|/root/|/tmp/|/home/|/Users/|[A-Za-z]:\\\\)")
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
SHELL_LINE = re.compile(
    r"^\s*(!|%%?(pip|conda|mamba|bash|sh|script|system|sx|cd|env|run|load|writefile)\b)", re.MULTILINE
)
FORBIDDEN_CODE = {
    "subprocess": re.compile(r"\bsubprocess\b"),
    "os.system/os.popen": re.compile(r"\bos\.(system|popen|exec\w*|spawn\w*)\b"),
    "get_ipython().system": re.compile(r"get_ipython\(\)\.(system|getoutput)"),
    "sys.path hack": re.compile(r"\bsys\.path\b|\bsite\.addsitedir\b|PYTHONPATH"),
    "os.chdir": re.compile(r"\bos\.chdir\b"),
    "network module": re.compile(
        r"^\s*(import|from)\s+(urllib|requests|http|socket|httpx|aiohttp|ftplib)\b", re.MULTILINE
    ),
    "downloading data (sklearn fetch_*)": re.compile(r"\bfetch_\w+\s*\("),
}
THINK = re.compile(r"^\s*(#+\s*Think!|\*\*Think!\*\*)", re.MULTILINE)  # a Think! heading or bold lead
WARNING_TEXT = re.compile(r"\b\w*Warning\b:|\bwarnings\.warn\b|Traceback \(most recent call last\)")


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def text_of(output) -> str:
    """The human-readable text of an output (stream text, text/plain, text/html, text/markdown)."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(str(data.get(k, "")) for k in ("text/plain", "text/html", "text/markdown"))


# --- checks: each takes (nb, path) and returns a list of "cell N: problem" strings --------------------


def check_executed_in_order(nb, path):
    """Executed top to bottom on a fresh kernel: code cells are numbered 1..n with no gaps."""
    problems, expected = [], 1
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not cell.source.strip():
            problems.append(f"cell {index}: empty code cell")
            continue
        if cell.execution_count != expected:
            problems.append(
                f"cell {index}: execution count {cell.execution_count}, expected {expected} "
                "(re-run with `make notebooks NB=...`)"
            )
            expected = (cell.execution_count or expected) + 1
        else:
            expected += 1
    if expected == 1:
        problems.append("no executed code cell")
    return problems


def check_no_errors_or_warnings(nb, path):
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell {index}: stored error output ({output.get('ename')})")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                problems.append(f"cell {index}: stderr output {output.get('text', '')[:120]!r}")
            elif WARNING_TEXT.search(text_of(output)):
                problems.append(f"cell {index}: warning text in output {text_of(output)[:120]!r}")
    return problems


def check_objectives_and_summary(nb, path):
    headings = [
        line
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.lstrip().startswith("#")
    ]
    problems = [
        f"no heading containing {word!r}"
        for word in ("Objectives", "Summary")
        if not any(word in heading for heading in headings)
    ]
    if not nb.cells or nb.cells[0].cell_type != "markdown" or not nb.cells[0].source.startswith("# "):
        problems.append("cell 0: the notebook should open with a markdown '# Title'")
    return problems


def check_image_links_resolve(nb, path):
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for link in MARKDOWN_IMAGE.findall(cell.source) + HTML_IMAGE.findall(cell.source):
            if link.startswith("attachment:"):
                continue
            if re.match(r"^[a-z]+://", link) or link.startswith("data:"):
                problems.append(f"cell {index}: remote/inline image {link[:60]!r} (put it in images/)")
                continue
            target = (path.parent / link.split("#")[0]).resolve()
            if not target.is_file():
                problems.append(f"cell {index}: image link {link!r} does not resolve to a file")
            elif IMAGE_DIR.resolve() not in target.parents:
                problems.append(f"cell {index}: image {link!r} is outside images/")
    return problems


def check_no_absolute_paths(nb, path):
    problems = []
    for index, cell in enumerate(nb.cells):
        texts = [cell.source] + [text_of(o) for o in cell.get("outputs", [])]
        for text in texts:
            match = ABSOLUTE_PATH.search(text)
            if match:
                start = max(match.start() - 30, 0)
                problems.append(f"cell {index}: absolute path {text[start : match.end() + 30]!r}")
                break
    return problems


def check_no_shell_network_or_path_hacks(nb, path):
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        shell = SHELL_LINE.search(cell.source)
        if shell:
            problems.append(f"cell {index}: shell/magic command {shell.group(0).strip()!r}")
        for what, pattern in FORBIDDEN_CODE.items():
            if pattern.search(cell.source):
                problems.append(f"cell {index}: {what}")
    return problems


def _stub_functions(source: str) -> set[str]:
    """Names of functions in ``source`` whose body raises NotImplementedError (exercise stubs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and inner.exc is not None:
                    exc = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
                    if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                        names.add(node.name)
    return names


def _defined_functions(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def check_exercises_have_tagged_solutions(nb, path):
    """Stub cell -> next code cell tagged `solution` redefining it -> a check cell; solutions are code."""
    problems = []
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for position, (index, cell) in enumerate(code):
        if "solution" in tags(cell):
            if "NotImplementedError" in cell.source:
                problems.append(f"cell {index}: a solution cell still raises NotImplementedError")
            continue
        stubs = _stub_functions(cell.source)
        if not stubs:
            continue
        following = code[position + 1] if position + 1 < len(code) else None
        if following is None or "solution" not in tags(following[1]):
            problems.append(
                f"cell {index}: exercise stub {sorted(stubs)} is not followed by a code cell "
                "tagged 'solution'"
            )
            continue
        missing = stubs - _defined_functions(following[1].source)
        if missing:
            problems.append(f"cell {following[0]}: solution cell does not define {sorted(missing)}")
        after = code[position + 2] if position + 2 < len(code) else None
        if after is None or "check_" not in after[1].source:
            problems.append(f"cell {following[0]}: no check cell (cu.exercises.check_*) after the solution")
    for index, cell in enumerate(nb.cells):
        if "solution" in tags(cell) and cell.cell_type != "code":
            problems.append(f"cell {index}: 'solution' tag on a {cell.cell_type} cell")
    return problems


def check_think_answers_are_tagged_and_collapsed(nb, path):
    problems = []
    think_cells = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and "answer" not in tags(c) and THINK.search(c.source)
    ]
    answer_cells = [i for i, c in enumerate(nb.cells) if "answer" in tags(c)]
    for index in answer_cells:
        cell = nb.cells[index]
        if cell.cell_type != "markdown":
            problems.append(f"cell {index}: 'answer' tag on a {cell.cell_type} cell")
        if cell.metadata.get("jupyter", {}).get("source_hidden") is not True:
            problems.append(f"cell {index}: answer cell not collapsed (metadata jupyter.source_hidden: true)")
    for k, index in enumerate(think_cells):
        end = think_cells[k + 1] if k + 1 < len(think_cells) else len(nb.cells)
        if not any(index < a < end for a in answer_cells):
            problems.append(f"cell {index}: Think! question without an 'answer'-tagged cell after it")
    return problems


def check_pinned_cells_print_something(nb, path):
    """Pinned cells carry nbval's cell tag (the student never sees a harness comment) and print text."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if "NBVAL_" in cell.source:
            problems.append(f"cell {index}: visible NBVAL comment (use the cell tag 'nbval-check-output')")
        if "nbval-check-output" in tags(cell):
            if not any(text_of(o).strip() for o in cell.outputs):
                problems.append(f"cell {index}: nbval-check-output cell has no text output to pin")
            if any("image/png" in o.get("data", {}) for o in cell.outputs):
                problems.append(f"cell {index}: nbval-check-output cell has an image (pin text only)")
    return problems


def check_no_volatile_metadata(nb, path):
    problems = []
    if "widgets" in nb.metadata:
        problems.append("notebook metadata holds saved widget state (run `make notebooks NB=...`)")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append(f"kernelspec is {nb.metadata.get('kernelspec')}, expected python3")
    if "version" in nb.metadata.get("language_info", {}):
        problems.append("language_info.version is stored (volatile; run `make notebooks NB=...`)")
    for index, cell in enumerate(nb.cells):
        if "execution" in cell.metadata or "ExecuteTime" in cell.metadata:
            problems.append(f"cell {index}: execution timestamps in cell metadata")
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                problems.append(f"cell {index}: widget view with a random model id (run `make notebooks`)")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        problems.append(f"{path.stat().st_size / 1e6:.1f} MB > {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB")
    return problems


def check_solutions_pass_their_checks(nb, path):
    """The committed notebook shows PASS for every exercise: a reference solution that fails its own
    checker (or a checker that fails a right answer) cannot hide behind a green test run."""
    problems = []
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for position, (index, cell) in enumerate(code):
        if "solution" not in tags(cell) or position + 1 >= len(code):
            continue
        check_index, check = code[position + 1]
        printed = "".join(text_of(o) for o in check.get("outputs", []))
        if "PASS ✓" not in printed or "FAIL" in printed:
            problems.append(
                f"cell {check_index}: the check after solution cell {index} does not print PASS ✓"
            )
    return problems


def check_exercises_have_two_collapsed_hints(nb, path):
    """Between an exercise stub and its solution: 'Hint 1' and 'Hint 2', collapsed markdown cells tagged
    `hint` (a cell where the student pastes earlier work, marked by the word "paste", needs none)."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if "solution" not in tags(cell):
            continue
        hints, stub = [], index - 1
        while stub >= 0 and nb.cells[stub].cell_type != "code":
            if "hint" in tags(nb.cells[stub]):
                hints.append(nb.cells[stub])
            stub -= 1
        if stub >= 0 and "paste" in nb.cells[stub].source.lower():
            continue
        collapsed = [h for h in hints if h.metadata.get("jupyter", {}).get("source_hidden") is True]
        if len(hints) < 2 or len(collapsed) < len(hints):
            problems.append(
                f"cell {index}: solution without two collapsed hint cells before it "
                f"({len(hints)} tagged 'hint', {len(collapsed)} collapsed)"
            )
    return problems


CHECKS = [
    check_executed_in_order,
    check_no_errors_or_warnings,
    check_objectives_and_summary,
    check_image_links_resolve,
    check_no_absolute_paths,
    check_no_shell_network_or_path_hacks,
    check_exercises_have_tagged_solutions,
    check_solutions_pass_their_checks,
    check_exercises_have_two_collapsed_hints,
    check_think_answers_are_tagged_and_collapsed,
    check_pinned_cells_print_something,
    check_no_volatile_metadata,
]


def test_start_notebook_exists():
    assert (NOTEBOOK_DIR / "00_start_here.ipynb").is_file()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_file_name_and_format(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: expected NN_snake_case.ipynb"
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_hygiene(path, check):
    nb = nbformat.read(path, as_version=4)
    problems = check(nb, path)
    assert not problems, f"notebooks/{path.name}: " + f"\nnotebooks/{path.name}: ".join(problems)


# --- the checks themselves catch what they should (so a green run means something) ---------------------


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_checks_catch_typical_mistakes(tmp_path):
    path = tmp_path / "99_bad.ipynb"
    code = nbformat.v4.new_code_cell
    md = nbformat.v4.new_markdown_cell
    bad = _nb(
        md("no title"),
        code("!pip install numpy", execution_count=2),
        code(
            "import sys\nsys.path.insert(0, '/work/main')",
            execution_count=1,
            outputs=[nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])],
        ),
        md("![fig](../images/does_not_exist.png)"),
        code("def f(x):\n    raise NotImplementedError", execution_count=3),
        code("def f(x):\n    return x", execution_count=4),
        md("**Think!** why?"),
    )
    nbformat.write(bad, path)
    assert check_executed_in_order(bad, path)
    assert check_no_errors_or_warnings(bad, path)
    assert len(check_objectives_and_summary(bad, path)) == 3
    assert check_image_links_resolve(bad, path)
    assert check_no_absolute_paths(bad, path)
    assert len(check_no_shell_network_or_path_hacks(bad, path)) == 2
    assert check_exercises_have_tagged_solutions(bad, path)
    assert check_think_answers_are_tagged_and_collapsed(bad, path)


def test_checks_accept_a_clean_notebook(tmp_path):
    path = tmp_path / "98_good.ipynb"
    code = nbformat.v4.new_code_cell
    md = nbformat.v4.new_markdown_cell
    answer = md("Because.")
    answer.metadata = {"tags": ["answer"], "jupyter": {"source_hidden": True}}
    solution = code("def f(x):\n    return x", execution_count=2)
    solution.metadata = {"tags": ["solution"]}
    hints = [md(f"**Hint {k}**") for k in (1, 2)]
    for hint in hints:
        hint.metadata = {"tags": ["hint"], "jupyter": {"source_hidden": True}}
    good = _nb(
        md("# Title\n\n## Objectives\n- learn"),
        code("def f(x):\n    raise NotImplementedError('your turn')", execution_count=1),
        *hints,
        solution,
        code(
            "cu.exercises.check_f(f)",
            execution_count=3,
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text="PASS ✓ f: max relative error 0\n")
            ],
        ),
        md("**Think!** why?"),
        answer,
        md("## Summary\nhttps://example.org/home/page"),
    )
    good.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(good, path)
    for check in CHECKS:
        assert check(good, path) == [], check.__name__


def test_solution_and_hint_checks_catch_a_failing_check_and_missing_hints(tmp_path):
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    solution = code("def f(x):\n    return x", metadata={"tags": ["solution"]})
    failing = code(
        "cu.exercises.check_f(f)",
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="FAIL ✗ f: …")],
    )
    hint = md("**Hint 1** …", metadata={"tags": ["hint"]})  # not collapsed, and only one
    bad = _nb(code("def f(x):\n    raise NotImplementedError"), hint, solution, failing)
    path = tmp_path / "99_bad.ipynb"
    assert check_solutions_pass_their_checks(bad, path)
    assert check_exercises_have_two_collapsed_hints(bad, path)
    hidden = {"tags": ["hint"], "jupyter": {"source_hidden": True}}
    passing = code(
        "cu.exercises.check_f(f)",
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="PASS ✓ f: …")],
    )
    good = _nb(
        code("def f(x):\n    raise NotImplementedError"),
        md("**Hint 1**", metadata=hidden),
        md("**Hint 2**", metadata=hidden),
        solution,
        passing,
    )
    assert not check_solutions_pass_their_checks(good, path)
    assert not check_exercises_have_two_collapsed_hints(good, path)
