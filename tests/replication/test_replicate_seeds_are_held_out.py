"""The held-out seeds of the replication suite appear in no notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .conftest import HELD_OUT_SEEDS, assert_verdict

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_no_notebook_mentions_a_held_out_seed():
    assert NOTEBOOKS, "no notebooks found"
    pattern = re.compile(r"(?<![\d.])(" + "|".join(str(s) for s in HELD_OUT_SEEDS) + r")(?![\d.])")
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            # a seed is set on a line that says so (seed=, seeds=, default_rng(...), SEEDS = ...); other
            # numbers (5000 samples, 5000 steps) are not seeds
            for line in cell.source.splitlines():
                hit = pattern.search(line) if re.search(r"seed|rng", line, re.IGNORECASE) else None
                assert hit is None, (
                    f"{path.name} cell {cell.get('id')} uses held-out seed {hit.group(0)}: {line!r}"
                )


def test_assert_verdict_reads_the_comparison():
    import pytest

    from course_utils.stats import compare

    c = compare([0.9, 0.92, 0.91], [0.8, 0.81, 0.79], names=("BN", "plain"))
    assert_verdict(c, "ahead:BN")
    assert_verdict(c, "ahead:A")
    with pytest.raises(AssertionError, match="Reword the notebook's claim"):
        assert_verdict(c, "no clear difference")
    with pytest.raises(AssertionError, match="plain ahead"):
        assert_verdict(c, "ahead:B")
    with pytest.raises(ValueError, match="names neither"):
        assert_verdict(c, "ahead:LN")
    assert_verdict(compare([0.9, 0.8], [0.8, 0.9]), "no clear difference")
