"""Build the course website (``make site``): static, offline HTML pages from the committed notebooks.

The notebooks are rendered as they are committed (executed, with their figures); nothing is re-run.
nbconvert's HTMLExporter renders each notebook with the template in ``site/templates/normlab`` (its lab
template with every script local), and MathJax 2 is copied from the PyPI package
``jupyter-server-mathjax`` (pinned in requirements-pinned.txt) into ``_static/mathjax/``, so a page
needs nothing from another host: it works behind a firewall, or from a USB stick.

Layout of the output folder (``build/site/`` by default)::

    index.html                 start page: notebook 00's course map and the list of notebooks
    notebooks/NN_name.html     one page per notebook, in order, with prev/next links
    notebooks/NN_name.ipynb    the committed notebook ("Download this notebook")
    images/                    pictures the notebooks' markdown links to (../images/...)
    _static/site.css, _static/mathjax/

Pages: cells tagged ``solution`` and markdown cells tagged ``answer`` or ``hint`` sit collapsed in a
``<details>`` toggle ("Hint 1 (click to show)"; the hints are collapsed in Jupyter too); widget outputs (stored as a one-line text note) say where the sliders run. With
``--repo owner/name`` every page gets a Binder launch button for that GitHub repository.

    python scripts/build_site.py [--out build/site] [--repo owner/name] [--ref HEAD]
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SITE_SRC = REPO / "site"
MARKER = ".normlab-site"
MAP_HEADING = "## Map of the course"
INTRO_HEADING = "# NormLab 00"
# the parts of MathJax 2 that the pages load: the combined TeX-AMS-MML_HTMLorMML-full configuration
# (TeX input, HTML-CSS output) with the STIX-Web fonts, as Jupyter Notebook 6 used this package
MATHJAX_PARTS = (
    "MathJax.js",
    "LICENSE",
    "config",
    "extensions",
    "jax/input",
    "jax/element",
    "jax/output/HTML-CSS",
    "fonts/HTML-CSS/STIX-Web",
)
# Math is taken out of the markdown before it is converted and put back afterwards, as JupyterLab does:
# markdown must not see TeX (a `\_` would lose its backslash, a `+` that starts a continuation line of
# inline math would open a list). Code spans and fences are matched first so that a `$` in code stays.
MATH_OR_CODE = re.compile(
    r"(?P<code>```[\s\S]*?```|`[^`\n]*`)"
    r"|(?P<math>\$\$[\s\S]+?\$\$|\\\[[\s\S]+?\\\]|\\\([\s\S]+?\\\)"
    r"|(?<!\\)\$(?=[^\s$])(?:\\[\s\S]|[^\\$])+?(?<=[^\s\\])\$)"
)
GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass
class Page:
    source: Path
    title: str
    html: str  # relative to the folder of the page that links to it (set per use)
    ipynb: str


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def notebook_title(nb, path: Path) -> str:
    """``"00 — Start here"`` from a first heading ``# NormLab 00 — Start here``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return re.sub(r"^NormLab\s+", "", line[2:].strip())
    return path.stem


def binder_url(repo: str | None, ref: str, notebook: str | None = None) -> str | None:
    if not repo:
        return None
    target = f"notebooks/{notebook}" if notebook else "notebooks/00_start_here.ipynb"
    return f"https://mybinder.org/v2/gh/{repo}/{ref}?urlpath=lab/tree/{target}"


def rewrite_notebook_links(markdown: str, prefix: str = "") -> str:
    """Links to course notebooks point to their pages: ``(05_x.ipynb#a)`` -> ``(prefix05_x.html#a)``."""
    pattern = r"(\]\(|href=\")(\d\d_[A-Za-z0-9_]+)\.ipynb(#[^)\"\s]*)?(?=[)\"])"
    return re.sub(pattern, lambda m: f"{m[1]}{prefix}{m[2]}.html{m[3] or ''}", markdown)


def hint_label(source: str) -> str:
    """``"Hint 1"`` from a hint cell that starts ``**Hint 1.**`` (or ``**Hint 1**``); else ``"Hint"``."""
    match = re.match(r"\s*\*\*(Hint(?:\s+\d+)?)", source)
    return match[1] if match else "Hint"


def markdown_to_html(text: str) -> str:
    """Markdown to HTML with every TeX span passed through untouched (for MathJax to typeset)."""
    from nbconvert.filters.markdown import markdown2html_mistune

    maths: list[str] = []

    def protect(match: re.Match) -> str:
        if match["code"]:
            return match["code"]
        maths.append(match["math"])
        return f"NORMLABMATH{len(maths) - 1}X"

    converted = markdown2html_mistune(MATH_OR_CODE.sub(protect, text))
    return re.sub(r"NORMLABMATH(\d+)X", lambda m: html.escape(maths[int(m[1])], quote=False), converted)


def prepare_output(out: Path) -> None:
    """Empty ``out`` (a new folder, an empty one, or an earlier site); refuse anything else."""
    out = out.resolve()
    if out == REPO or out in REPO.parents or (REPO in out.parents and not out.is_relative_to(REPO / "build")):
        raise SystemExit(
            f"refusing to write the site to {out}: use a folder under build/ or outside the repo"
        )
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists()):
            raise SystemExit(f"refusing to overwrite {out}: it exists and is not an earlier site")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by scripts/build_site.py; replaced on the next run\n")
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ as it is


def copy_mathjax(static: Path) -> str:
    """Copy MathJax 2 from the jupyter-server-mathjax package; return its version."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise SystemExit(
            "jupyter-server-mathjax is not installed: it ships the MathJax copy of the site "
            "(make site installs it; or pip install -c requirements-pinned.txt -e '.[site]')"
        ) from None
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = static / "mathjax"
    for part in MATHJAX_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, target / part, ignore=shutil.ignore_patterns("a11y"))
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    match = re.search(r'MathJax.version="([0-9.]+)"', (source / "MathJax.js").read_text(errors="replace"))
    return match[1] if match else "2"


def start_page_parts(nb) -> tuple[str, str]:
    """(intro, course map) markdown from notebook 00: its first paragraph and its map table."""
    intro = course_map = ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if cell.source.startswith(INTRO_HEADING) and not intro:
            paragraphs = [p for p in cell.source.split("\n\n")[1:] if p.strip()]
            intro = "\n\n".join(paragraphs)
        if cell.source.startswith(MAP_HEADING):
            course_map = cell.source[len(MAP_HEADING) :].strip()
    if not course_map:
        raise SystemExit(f"notebook 00 has no '{MAP_HEADING}' cell: the start page needs its table")
    return intro, course_map


def build(out: Path, repo: str | None = None, ref: str = "HEAD", paths: list[Path] | None = None) -> dict:
    """Write the site to ``out``; return a summary (pages, seconds, bytes, MathJax version).

    ``paths``: the notebooks to render (default: all of ``notebooks/``, in order; the first one must be
    notebook 00, whose course map makes the start page).
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    if repo and not GITHUB_REPO.fullmatch(repo):
        raise SystemExit(f"--repo must look like owner/name (a GitHub repository), got {repo!r}")
    started = time.perf_counter()
    paths = list(paths) if paths is not None else notebook_paths()
    if not paths:
        raise SystemExit(f"no notebooks in {NOTEBOOKS}")
    prepare_output(out)
    static = out / "_static"
    static.mkdir()
    shutil.copy2(SITE_SRC / "static" / "site.css", static / "site.css")
    mathjax_version = copy_mathjax(static)
    if (REPO / "images").is_dir():
        shutil.copytree(REPO / "images", out / "images", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (out / "notebooks").mkdir()

    notebooks = [nbformat.read(path, as_version=4) for path in paths]
    intro, course_map = start_page_parts(notebooks[0])
    pages = [Page(p, notebook_title(nb, p), f"{p.stem}.html", p.name) for p, nb in zip(paths, notebooks)]

    exporter = HTMLExporter(
        template_name="normlab",
        extra_template_basedirs=[str(SITE_SRC / "templates")],
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        theme="light",
        filters={"markdown2html": markdown_to_html, "hint_label": hint_label},
    )
    for index, (page, nb) in enumerate(zip(pages, notebooks)):
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_notebook_links(cell.source)
                # a picture without alternative text gets a plain one (screen readers, nbconvert's check)
                cell.source = cell.source.replace("![](", "![Figure](")
        site = {
            "root": "../",
            "ipynb": page.ipynb,
            "prev": pages[index - 1] if index > 0 else None,
            "next": pages[index + 1] if index + 1 < len(pages) else None,
            "binder_url": binder_url(repo, ref, page.ipynb),
        }
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": page.title}, "site": site})
        (out / "notebooks" / page.html).write_text(body, encoding="utf-8")
        shutil.copy2(page.source, out / "notebooks" / page.ipynb)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SITE_SRC / "templates"), autoescape=False, keep_trailing_newline=True
    )
    mathjax = env.get_template("normlab/normlab_mathjax.html.j2").module.local_mathjax("")
    root_pages = [
        Page(p.source, html.escape(p.title), f"notebooks/{p.html}", f"notebooks/{p.ipynb}") for p in pages
    ]
    start = env.get_template("start.html.j2").render(
        mathjax=mathjax,
        intro=markdown_to_html(rewrite_notebook_links(intro, "notebooks/")),
        course_map=markdown_to_html(rewrite_notebook_links(course_map, "notebooks/")),
        pages=root_pages,
        first=root_pages[0],
        binder_url=binder_url(repo, ref),
    )
    (out / "index.html").write_text(start, encoding="utf-8")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return {
        "pages": len(pages),
        "seconds": time.perf_counter() - started,
        "bytes": size,
        "mathjax": mathjax_version,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site", help="output folder")
    parser.add_argument("--repo", default=None, help="GitHub owner/name: adds Binder launch buttons")
    parser.add_argument("--ref", default="HEAD", help="branch, tag or commit for the Binder link (HEAD)")
    args = parser.parse_args(argv)
    summary = build(args.out, args.repo, args.ref)
    print(
        f"site: {summary['pages']} notebook pages + start page in {args.out} "
        f"({summary['bytes'] / 1e6:.1f} MB, MathJax {summary['mathjax']}) in {summary['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
