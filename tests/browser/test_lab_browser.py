"""The real client: JupyterLab in Chromium runs notebook 05 and the γ slider redraws the figure.

nbval proves that the notebooks' code runs; only a browser proves that a student sees a working
widget (a version mismatch between ipywidgets and jupyterlab_widgets, for example, shows a blank
output that no kernel-side test notices). Without Chromium the test is skipped with a loud reason,
unless NORMLAB_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import lab_driver as lab
import pytest

NOTEBOOK = "notebooks/05_batchnorm_forward_gamma_beta.ipynb"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def screenshot_dir():
    path = Path(tempfile.mkdtemp(prefix="normlab-screens-"))
    yield path
    if os.environ.get("NORMLAB_KEEP_SCREENSHOTS") != "1":
        shutil.rmtree(path, ignore_errors=True)


def test_gamma_slider_redraws_figure_in_jupyterlab(chromium, screenshot_dir):
    assert (lab.ROOT / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"
    with lab.jupyterlab_server() as (base_url, token, _root), lab.browser_page(chromium) as (page, errors):
        lab.open_notebook(page, base_url, token, NOTEBOOK)
        lab.run_all_cells(page)
        page.screenshot(path=screenshot_dir / "01_after_run_all.png", full_page=False)

        slider = lab.slider_locator(page, "γ")
        slider.scroll_into_view_if_needed(timeout=30_000)
        image = lab.panel_image_for(slider)
        image.wait_for(timeout=30_000)
        lab.wait_until_still(lab.panel_of(slider))
        readout = slider.locator(".widget-readout")
        handle = slider.locator(".noUi-handle")

        # 1. keyboard: focus the handle and step the slider to the right
        value_0, pixels_0 = readout.inner_text(), image.screenshot()
        for _ in range(5):
            handle.press("ArrowRight")
        value_1 = readout.inner_text()
        pixels_1 = lab.wait_for_new_pixels(image, pixels_0, timeout=10.0)
        page.screenshot(path=screenshot_dir / "02_after_keys.png")
        assert value_1 != value_0, f"γ readout did not change on key presses ({value_0!r})"
        assert pixels_1 != pixels_0, "the figure's pixels did not change after moving γ by keyboard"

        # 2. mouse: drag the handle to 20 % of the track
        track = slider.locator(".noUi-base").bounding_box()
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(track["x"] + 0.2 * track["width"], box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        pixels_2 = lab.wait_for_new_pixels(image, pixels_1, timeout=10.0)
        value_2 = readout.inner_text()
        page.screenshot(path=screenshot_dir / "03_after_drag.png")
        assert value_2 != value_1, f"γ readout did not change on a mouse drag ({value_1!r})"
        assert pixels_2 != pixels_1, "the figure's pixels did not change after dragging γ"

        assert errors == [], f"uncaught page errors: {errors}"
        assert lab.error_outputs(page) == [], "error outputs are shown in the notebook"
