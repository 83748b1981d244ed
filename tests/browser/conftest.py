"""Browser tests: JupyterLab + Debian's Chromium driven by Playwright (see lab_driver.py)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real Chromium (slow, ~30 s)")
