"""Drive a real JupyterLab in Debian's Chromium through Playwright (used by the browser test and by
benchmarks/run.py).

The server runs on 127.0.0.1 on a free port with a random token, from a temporary copy of
``notebooks/`` and ``images/`` so that JupyterLab's autosave can never touch the committed notebooks.
Playwright only drives the system browser (``executable_path``); it never downloads one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def find_chromium() -> str | None:
    """Path of the system Chromium, or None."""
    for candidate in (
        os.environ.get("NORMLAB_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab_server(notebooks_dir: Path | None = None, timeout: float = 90.0):
    """Start JupyterLab on a copy of the course's ``notebooks/`` (or of ``notebooks_dir``) and ``images/``;
    yield ``(base_url, token, root_dir)``; stop the server and delete the copy afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="normlab-lab-"))
    root_dir = tmp / "course"
    shutil.copytree(
        notebooks_dir or ROOT / "notebooks",
        root_dir / "notebooks",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    if (ROOT / "images").exists():
        shutil.copytree(ROOT / "images", root_dir / "images")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.port_retries=0",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{(tmp / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"JupyterLab did not start in {timeout} s:\n{(tmp / 'server.log').read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield base_url, token, root_dir
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def chromium_browser(chromium: str):
    """Yield a Playwright Browser running the system Chromium (a fresh, empty profile)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def new_page(browser, width: int = 1400, height: int = 1000):
    """Yield ``(page, page_errors)``: a page in its own browser context, and a list that collects
    uncaught page errors. The context is closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
    finally:
        context.close()


@contextlib.contextmanager
def browser_page(chromium: str, width: int = 1400, height: int = 1000):
    """Yield ``(page, page_errors)`` in a fresh system Chromium (see :func:`new_page`)."""
    with chromium_browser(chromium) as browser, new_page(browser, width, height) as page_and_errors:
        yield page_and_errors


def shutdown_kernels(base_url: str, token: str):
    """Delete every kernel of the server (frees memory between notebooks)."""
    import json

    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base_url}/api/kernels", headers=headers)) as r:
        kernels = json.load(r)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{base_url}/api/kernels/{kernel['id']}", headers=headers, method="DELETE"
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request).close()


def open_notebook(page, base_url: str, token: str, relpath: str, timeout_ms: int = 90_000):
    """Open ``relpath`` (relative to the server root) and wait until its kernel is idle."""
    # A fresh, empty workspace per page: otherwise JupyterLab restores the tabs of earlier pages
    # (whose kernels may be gone) and the new notebook can sit behind their dialogs.
    workspace = f"w{secrets.token_hex(4)}"
    page.goto(f"{base_url}/lab/workspaces/{workspace}/tree/{relpath}?reset&token={token}", timeout=timeout_ms)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_ms)
    # A notebook whose kernelspec JupyterLab cannot match asks which kernel to start: take the default.
    dialog = page.locator(".jp-Dialog button.jp-mod-accept")
    with contextlib.suppress(Exception):
        dialog.click(timeout=3000)
    # The "official Jupyter news?" toast covers part of the page: answer it once.
    with contextlib.suppress(Exception):
        page.locator(".jp-toast-button:has-text('No')").click(timeout=1000)
    page.wait_for_function(
        """() => {
            const PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)';
            const s = document.querySelector(PANEL + ' .jp-Notebook-ExecutionIndicator');
            return s && s.getAttribute('data-status') === 'idle'
                   && document.querySelector('.jp-KernelStatus, .jp-StatusBar-TextItem') !== null;
        }""",
        timeout=timeout_ms,
    )


def wait_kernel_idle(page, timeout_ms: int = 90_000):
    """Wait until the notebook toolbar's kernel status says idle."""
    page.wait_for_function(
        """() => {
            const PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)';
            const s = document.querySelector(PANEL + ' .jp-Notebook-ExecutionIndicator');
            return s && s.getAttribute('data-status') === 'idle';
        }""",
        timeout=timeout_ms,
    )


def run_all_cells(page, timeout_ms: int = 120_000):
    """Run > Run All Cells through the menu bar, then wait until every code cell has executed."""
    page.click("li.lm-MenuBar-item:has-text('Run')")
    page.click("li.lm-Menu-item[data-command='runmenu:run-all']")
    page.wait_for_function(
        """() => {
            const PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)';
            const prompts = [...document.querySelectorAll(PANEL + ' .jp-CodeCell .jp-InputPrompt')];
            const s = document.querySelector(PANEL + ' .jp-Notebook-ExecutionIndicator');
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))
                   && s && s.getAttribute('data-status') === 'idle';
        }""",
        timeout=timeout_ms,
    )


def error_outputs(page) -> list[str]:
    """Texts of error outputs (tracebacks) shown in the open notebook."""
    return page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']",
        "els => els.map(e => e.textContent.slice(0, 500))",
    )


def slider_locator(page, description: str):
    """The ipywidgets slider whose label is ``description`` (e.g. "γ")."""
    return page.locator(".widget-slider", has=page.locator(f".widget-label:text-is('{description}')")).first


def slider_panels(page):
    """Locators of every SliderPanel shown in the open notebook (a VBox holding sliders and an image)."""
    return page.locator(".widget-vbox:has(> .widget-hbox .widget-slider):has(img)")


def panel_of(slider):
    """The SliderPanel (VBox) that contains ``slider``."""
    return slider.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]").first


def panel_image_for(slider):
    """The figure image of the SliderPanel that contains ``slider``."""
    return panel_of(slider).locator("img").first


def wait_until_still(element, quiet: float = 0.5, timeout: float = 15.0) -> None:
    """Wait until ``element`` looks the same for ``quiet`` seconds (at most ``timeout``).

    JupyterLab draws an output only once it is scrolled into view, and ipywidgets wires a slider's
    events a moment after the slider appears: a key pressed inside that moment moves the handle but is
    never sent to the kernel, and the handle jumps back when the view finishes (seen in CI on
    notebook 03's panel; a person cannot press that fast). Call this after scrolling, before pressing.
    """
    deadline = time.monotonic() + timeout
    last, since = element.screenshot(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = element.screenshot()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def wait_for_new_pixels(image, before: bytes, timeout: float = 30.0) -> bytes:
    """Poll ``image``'s screenshot until it differs from ``before``; return the last screenshot (equal to
    ``before`` if nothing changed within ``timeout`` seconds). Generous by default: on a loaded 2-core
    machine the kernel may still be busy with the Run All it just finished."""
    deadline = time.monotonic() + timeout
    while True:
        after = image.screenshot()
        if after != before or time.monotonic() > deadline:
            return after
        time.sleep(0.1)


def install_latency_probe(page, img_handle):
    """Record, in the page, the time of the last keydown and of the first frame painted after the
    image's ``src`` changes (``window.__normlab``)."""
    page.evaluate(
        """(img) => {
            const st = window.__normlab = {key: null, paint: null};
            const onKey = () => { st.key = performance.now(); st.paint = null; };
            document.addEventListener('keydown', onKey, true);
            new MutationObserver(() => {
                if (st.key !== null && st.paint === null) {
                    const done = () => { st.paint = performance.now(); };
                    if (img.complete) requestAnimationFrame(done);
                    else img.addEventListener('load', () => requestAnimationFrame(done), {once: true});
                }
            }).observe(img, {attributes: true, attributeFilter: ['src']});
        }""",
        img_handle,
    )


def key_to_pixels_ms(page, handle_locator, key: str = "ArrowRight", timeout_ms: int = 5000) -> float:
    """Press ``key`` on a focused slider handle and return the in-page time (ms) until the figure image
    with a new ``src`` has been painted."""
    handle_locator.press(key)
    page.wait_for_function("() => window.__normlab && window.__normlab.paint !== null", timeout=timeout_ms)
    return page.evaluate("() => window.__normlab.paint - window.__normlab.key")
