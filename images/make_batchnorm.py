"""Regenerate the static images of the batch-normalization notebooks (05, 06).

Run from the repository root:  python images/make_batchnorm.py
Writes images/bn_computational_graph.png (notebook 06), drawn by
:func:`course_utils.plotting.draw_batchnorm_graph`.
"""

from pathlib import Path

import course_utils as cu

HERE = Path(__file__).resolve().parent


def main() -> list[Path]:
    path = HERE / "bn_computational_graph.png"
    fig = cu.plotting.draw_batchnorm_graph()
    path.write_bytes(cu.plotting.figure_to_png(fig, compress_level=9))
    return [path]


if __name__ == "__main__":
    for written in main():
        print(f"wrote {written.name}")
