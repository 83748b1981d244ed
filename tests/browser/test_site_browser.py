"""The course website as a reader sees it: every page in headless Chromium, with the network cut off.

``scripts/build_site.py`` renders the committed notebooks into a static site (what ``make site`` does).
This test builds it into a temporary folder, serves it on 127.0.0.1 (http.server, ephemeral port) and
opens the start page and every notebook page in the system Chromium (Playwright, never a downloaded
browser) with every request that does not go to that server blocked by ``page.route``. On every page:
no request was blocked or failed, no page error, math typeset by the site's own MathJax (no raw TeX left
in the text, even inside the answers), figures present and loaded, every solution and Think! answer
collapsed, every hint collapsed (as in Jupyter) behind a "Hint N (click to show)" toggle, and a working
"Download this notebook" link. Without Chromium the test is skipped with a loud reason, unless
NORMLAB_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import json
import os
import re
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import lab_driver as lab
import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = sorted((lab.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# raw TeX that MathJax should have replaced: $...$, $$...$$, \( \), \[ \], or a bare \command{
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]+\{")
PAGE_TIMEOUT_MS = 60_000


def _build_site_module():
    spec = importlib.util.spec_from_file_location("build_site", lab.ROOT / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    summary = _build_site_module().build(out)
    assert summary["pages"] == len(NOTEBOOKS)
    assert summary["seconds"] < 60, f"the site took {summary['seconds']:.0f} s to build (budget: 60 s)"
    return out


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 on a free port; yield the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=directory))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium):
    with lab.chromium_browser(chromium) as browser:
        yield browser


@contextlib.contextmanager
def offline_page(browser, base_url: str):
    """A page whose every request outside ``base_url`` is blocked; yields (page, problems) where
    problems collects blocked requests, failed requests, HTTP errors and page errors."""
    allowed = urlsplit(base_url).netloc
    problems: list[str] = []

    def route(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc == allowed:
            route.continue_()
        else:
            problems.append(f"blocked request: {url}")
            route.abort()

    with lab.new_page(browser) as (page, errors):
        page.route("**/*", route)
        page.on("requestfailed", lambda r: _record_failure(r, problems))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
        yield page, problems
        problems.extend(f"page error: {e}" for e in errors)


def _record_failure(request, problems: list[str]) -> None:
    # MathJax's HTML-CSS output declares a "MathJax_Blank" @font-face with src about:blank to time its
    # web fonts; Chromium reports that as a failed font request. about: URLs never leave the browser.
    if request.url.startswith("about:"):
        return
    problems.append(f"failed request: {request.url} ({request.failure}, {request.resource_type})")


def _open(page, url: str):
    page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.documentElement.getAttribute('data-math') === 'done'", timeout=PAGE_TIMEOUT_MS
    )


def _raw_tex(page, selector: str) -> list[str]:
    texts = page.eval_on_selector_all(selector, "els => els.map(e => e.innerText)")
    return [m for text in texts for m in RAW_TEX.findall(text)]


def _math_errors(page) -> int:
    return page.eval_on_selector_all(
        ".MathJax .merror, .MathJax .noError, .MathJax_Error, .noError", "e => e.length"
    )


def test_start_page_shows_the_course_map_offline(browser, base_url, site):
    with offline_page(browser, base_url) as (page, problems):
        _open(page, f"{base_url}/index.html")
        links = page.eval_on_selector_all("main table a", "els => els.map(a => a.getAttribute('href'))")
        assert len(links) >= len(NOTEBOOKS) - 1, f"course map links: {links}"
        for href in links:
            assert re.fullmatch(r"notebooks/\d\d_\w+\.html(#.*)?", href), href
            assert (site / href.split("#")[0]).is_file(), f"course map link to a missing page: {href}"
        toc = page.eval_on_selector_all(
            ".normlab-toc a[download]", "els => els.map(a => a.getAttribute('href'))"
        )
        assert toc == [f"notebooks/{p.name}" for p in NOTEBOOKS]
        assert _raw_tex(page, "main") == []
        assert page.locator(".normlab-binder").count() == 0, "a Binder button without --repo"
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebook_page_reads_offline(browser, base_url, site, notebook):
    # the copy the page was built from (the site ships it as the download)
    nb = nbformat.read(site / "notebooks" / notebook.name, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    n_hints = sum("hint" in t for t in tags)
    n_toggles = sum("solution" in t for t in tags) + sum("answer" in t for t in tags) + n_hints
    has_math = any("$" in c.source for c in nb.cells if c.cell_type == "markdown")
    n_figures = sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    n_widget_notes = sum(
        output.get("data", {}).get("text/plain", "").startswith("Interactive widget:")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    url = f"{base_url}/notebooks/{notebook.stem}.html"
    with offline_page(browser, base_url) as (page, problems):
        _open(page, url)

        # solutions, Think! answers and hints: there, and collapsed; none of them outside a toggle
        toggles = page.locator("details.normlab-toggle")
        assert toggles.count() == n_toggles
        assert (
            page.eval_on_selector_all("details.normlab-toggle", "els => els.filter(d => d.open).length") == 0
        )
        assert page.locator(".celltag_solution").count() == sum("solution" in t for t in tags)
        assert (
            page.locator("details.normlab-solution .celltag_solution").count()
            == page.locator(".celltag_solution").count()
        )
        # hints are collapsed in Jupyter (source_hidden): on the site, one toggle per hint cell, labelled
        hints = page.locator("details.normlab-hint")
        assert hints.count() == n_hints
        assert page.locator("details.normlab-hint .celltag_hint").count() == n_hints
        assert page.locator(".celltag_hint").count() == n_hints, "a hint cell outside its toggle"
        labels = hints.locator("summary").all_inner_texts()
        assert all(re.fullmatch(r"Hint \d+ \(click to show\)", label) for label in labels), labels
        for i in range(n_toggles):
            assert not toggles.nth(i).locator(".jp-Cell").first.is_visible(), (
                "a collapsed toggle shows its cell"
            )

        # math: typeset by the local MathJax, no raw TeX in the prose (answers included, once opened)
        if has_math:
            assert page.locator(".MathJax, .MathJax_Display").count() > 0, "no typeset math"
        assert _raw_tex(page, ".jp-MarkdownCell") == []
        page.eval_on_selector_all("details.normlab-toggle", "els => els.forEach(d => d.open = true)")
        page.wait_for_function(
            "() => window.MathJax && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running"
        )
        assert _raw_tex(page, ".jp-MarkdownCell") == [], "raw TeX in an answer"
        assert _math_errors(page) == 0, "MathJax could not typeset some TeX"

        # figures: every stored figure is shown, and every image has loaded
        images = page.eval_on_selector_all(
            "main img",
            "els => els.map(i => ({src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0}))",
        )
        assert len(images) >= n_figures
        if n_figures:
            assert images, "no figure on a page whose notebook has figures"
        assert all(i["ok"] for i in images), [i for i in images if not i["ok"]]

        # slider demos: the stored widget note reads as a sentence, not as a raw text output
        notes = page.locator(".normlab-widget-note")
        assert notes.count() == n_widget_notes
        if n_widget_notes:
            assert "Binder" in notes.first.inner_text() and "static figure" in notes.first.inner_text()
        assert "Interactive widget:" not in page.inner_text("main")

        # download: the committed notebook, served next to the page
        download = page.locator("nav.normlab-nav-top a.normlab-download")
        assert download.get_attribute("href") == notebook.name
        with urllib.request.urlopen(f"{base_url}/notebooks/{notebook.name}") as response:
            assert json.load(response)["cells"], "the downloadable notebook has no cells"
        assert page.locator(".normlab-binder").count() == 0, "a Binder button without --repo"

        if os.environ.get("NORMLAB_KEEP_SCREENSHOTS") == "1":
            page.screenshot(path=lab.ROOT / "build" / f"site_{notebook.stem}.png", full_page=False)
    assert problems == [], "\n".join(problems)


def test_binder_button_only_with_a_repository(tmp_path):
    """``--repo owner/name`` adds a launch button per page (checked on a one-notebook build)."""
    build_site = _build_site_module()
    first = NOTEBOOKS[:1]
    build_site.build(tmp_path / "plain", paths=first)
    build_site.build(tmp_path / "binder", repo="someone/normlab", paths=first)
    page = f"notebooks/{first[0].stem}.html"
    assert "normlab-binder" not in (tmp_path / "plain" / page).read_text()
    assert "normlab-binder" not in (tmp_path / "plain" / "index.html").read_text()
    text = (tmp_path / "binder" / page).read_text()
    expected = f"https://mybinder.org/v2/gh/someone/normlab/HEAD?urlpath=lab/tree/notebooks/{first[0].name}"
    assert f'href="{expected}"' in text
    assert "mybinder.org/v2/gh/someone/normlab/HEAD" in (tmp_path / "binder" / "index.html").read_text()
    with pytest.raises(SystemExit):
        build_site.build(tmp_path / "bad", repo="not a repo", paths=first)
