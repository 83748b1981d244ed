"""Browser tests: JupyterLab + Debian's Chromium driven by Playwright (see lab_driver.py), and the course
website in the same browser. The ``chromium`` fixture is shared by every test here."""

import os

import lab_driver as lab
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real Chromium (slow, ~30 s)")


@pytest.fixture(scope="module")
def chromium():
    """Path of the Chromium binary; skipped loudly without one, a failure under NORMLAB_REQUIRE_BROWSER=1."""
    path = lab.find_chromium()
    if path is None:
        message = (
            "NO CHROMIUM FOUND: the browser test did not run "
            "(apt-get install -y chromium, or set NORMLAB_CHROMIUM=/path/to/chromium)"
        )
        if os.environ.get("NORMLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and NORMLAB_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    return path
