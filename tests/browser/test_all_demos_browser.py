"""Every interactive demo of the course works in a real JupyterLab, not only notebook 05's.

For each notebook with slider panels: Run All through the menu, then check that no cell shows an error,
the page raised no error, every panel shows a rendered figure, and one key press on each panel's
first slider changes that panel's figure. One server and one Chromium serve all notebooks; kernels
are shut down between notebooks. Skips or fails without Chromium exactly as test_lab_browser does.
"""

from __future__ import annotations

import lab_driver as lab
import pytest

pytestmark = pytest.mark.browser
NOTEBOOKS = sorted(
    path.relative_to(lab.ROOT).as_posix()
    for path in (lab.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    if "slider_panel" in path.read_text() or "_demo(" in path.read_text()
)


@pytest.fixture(scope="module")
def lab_session(chromium):
    with lab.jupyterlab_server() as (base_url, token, _root), lab.chromium_browser(chromium) as browser:
        yield base_url, token, browser


def test_some_notebooks_have_demos():
    assert len(NOTEBOOKS) >= 5, NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.split("/")[-1][:2])
def test_every_demo_renders_and_responds(lab_session, notebook):
    base_url, token, browser = lab_session
    with lab.new_page(browser) as (page, errors):
        lab.open_notebook(page, base_url, token, notebook)
        lab.run_all_cells(page, timeout_ms=180_000)
        panels = lab.slider_panels(page)
        count = panels.count()
        assert count >= 1, f"{notebook}: no slider panel rendered after Run All"
        for k in range(count):
            panel = panels.nth(k)
            panel.scroll_into_view_if_needed(timeout=30_000)
            lab.wait_until_still(panel)
            image = panel.locator("img").first
            width = image.evaluate("img => img.naturalWidth")
            assert width > 100, f"{notebook}: panel {k} shows no figure (naturalWidth {width})"
            slider = panel.locator(".widget-slider").first
            readout = slider.locator(".widget-readout")
            handle = slider.locator(".noUi-handle")
            before_value, before_pixels = readout.inner_text(), image.screenshot()
            handle.press("ArrowRight")
            if readout.inner_text() == before_value:  # the slider started at its maximum
                handle.press("ArrowLeft")
            assert readout.inner_text() != before_value, f"{notebook}: panel {k}'s slider did not move"
            assert lab.wait_for_new_pixels(image, before_pixels) != before_pixels, (
                f"{notebook}: panel {k}'s figure did not change (slider readout {before_value} -> "
                f"{readout.inner_text()} now; panel text: {panel.inner_text()[:200]!r})"
            )
        assert lab.error_outputs(page) == [], f"{notebook}: error outputs shown"
        assert errors == [], f"{notebook}: page errors {errors}"
    lab.shutdown_kernels(base_url, token)
