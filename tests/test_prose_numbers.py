"""Every decimal number quoted in a notebook's prose is printed by that notebook.

A number written in markdown (outside math, code spans and the References section) must appear in the
text outputs of the same notebook's code cells, so prose cannot drift from what the course computes.
Numbers that come from elsewhere (a paper's table, a definition such as σ′(0) = 0.25) are listed in the
notebook's own metadata, ``metadata.normlab.prose_numbers`` (number → where it comes from), which is
reviewed with the notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.]*\d)")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\([^)]*\)|<[^>\s]+>|https?://\S+")
CITATION = re.compile(r"(§|Sec\.|Section|Fig\.|Figure|Table|Eq\.|arXiv:?)\s*\d+\.\d+", re.IGNORECASE)


def prose_numbers(source: str) -> list[str]:
    """Decimal numbers of a markdown cell outside math, code spans, links and section/figure citations."""
    source = source.split("## References")[0]
    for pattern in (MATH, CODE, LINK, CITATION):
        source = pattern.sub(" ", source)
    return DECIMAL.findall(source)


def printed_text(nb) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
            else:
                data = output.get("data", {})
                texts.append(str(data.get("text/plain", "")) + str(data.get("text/markdown", "")))
    return "\n".join(texts)


def is_printed(number: str, printed: str) -> bool:
    """Whether ``number`` appears in ``printed`` as a whole number ("0.5" is not in "0.57" or "10.5")."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", printed) is not None


def test_is_printed_matches_whole_numbers_only():
    assert is_printed("0.5", "ratio 0.5, next") and is_printed("0.5", "(0.5)") and is_printed("2.4", "2.4×")
    assert not is_printed("0.5", "0.57") and not is_printed("0.5", "10.5") and not is_printed("1.2", "1.25")


def test_prose_numbers_finds_decimals_outside_math_and_citations():
    text = "BN reaches 0.97 vs $0.25$ in `0.5`, see §3.2 and Table 1.7 of [x](a0.3); 1,000 steps; 12.5%."
    assert prose_numbers(text) == ["0.97", "12.5"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_prose_number_is_printed_by_the_notebook(path):
    nb = nbformat.read(path, as_version=4)
    printed = printed_text(nb)
    allowed = nb.metadata.get("normlab", {}).get("prose_numbers", {})
    missing = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for number in prose_numbers(cell.source):
            if not is_printed(number, printed) and number not in allowed:
                missing.setdefault(number, index)
    assert not missing, (
        f"{path.name}: numbers in the prose that no output prints (cell index) — print them, reword, or "
        f"list them with their source in metadata.normlab.prose_numbers: {missing}"
    )
