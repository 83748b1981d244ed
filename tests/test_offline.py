"""The network block used for every test and every notebook kernel actually blocks.

No test here sends a packet off this machine: each attempt at a non-loopback address first asserts
that the guard is installed, and the guard refuses before the system call is made. The documentation
address 192.0.2.1 (TEST-NET-1, RFC 5737) is used as the "outside" address.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import normlab_offline  # put on sys.path by the root conftest.py
import pytest

REPO = Path(__file__).resolve().parent.parent
OUTSIDE = ("192.0.2.1", 80)


@pytest.mark.parametrize(
    "address, allowed",
    [
        (("127.0.0.1", 8888), True),
        (("127.3.4.5", 1), True),
        (("::1", 8888, 0, 0), True),
        (("::ffff:127.0.0.1", 80, 0, 0), True),
        (("localhost", 80), True),
        (OUTSIDE, False),
        (("10.0.0.1", 80), False),
        (("192.168.1.1", 80), False),
        (("0.0.0.0", 80), False),
        (("2001:db8::1", 80, 0, 0), False),
        (("::ffff:192.0.2.1", 80, 0, 0), False),
        (("example.org", 80), False),
    ],
)
def test_address_policy(address, allowed):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    assert normlab_offline.is_allowed_address(family, address) is allowed


def test_unix_sockets_are_allowed():
    assert normlab_offline.is_allowed_address(socket.AF_UNIX, "/var/run/docker.sock")


@pytest.mark.parametrize(
    "host, allowed",
    [
        (None, True),
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("192.0.2.1", True),
        ("example.org", False),
        ("pypi.org", False),
        (b"example.org", False),
    ],
)
def test_name_resolution_policy(host, allowed):
    assert normlab_offline.is_allowed_host(host) is allowed


def test_guard_is_installed_in_the_test_process():
    assert os.environ.get("NORMLAB_ALLOW_NETWORK") != "1", "network allowed on purpose; nothing to test"
    assert normlab_offline.installed()
    assert os.environ["NORMLAB_OFFLINE"] == "1"
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(REPO / "tests" / "_offline")


def test_connecting_outside_fails_and_loopback_works():
    assert normlab_offline.installed()
    with pytest.raises(normlab_offline.NetworkBlockedError):
        socket.create_connection(OUTSIDE, timeout=1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(OSError):
        udp.sendto(b"x", OUTSIDE)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.org", 80)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen("http://example.org/", timeout=1)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


PROBE_CELLS = [
    "import socket\nimport urllib.request\n"
    "guarded = getattr(socket.socket.connect, '_normlab_offline', False)\n"
    "assert guarded, 'the network guard is not installed in this kernel'",
    "assert guarded  # never try a real connection without the guard\n"
    "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
    "except OSError as err:\n    print('blocked:', type(err).__name__)\n"
    "else:\n    raise AssertionError('a notebook kernel connected to a non-loopback address')",
    "assert guarded\n"
    "try:\n    urllib.request.urlopen('http://example.org/', timeout=1)\n"
    "except OSError as err:\n    print('blocked:', type(err).__name__)\n"
    "else:\n    raise AssertionError('a notebook kernel downloaded a page')",
]


@pytest.fixture
def probe_notebook():
    """A tiny notebook inside the repository (under build/, git-ignored), so the root conftest applies."""
    folder = REPO / "build" / f"offline-probe-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in PROBE_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


def _run_nbval(notebook, **env_changes):
    """Run `pytest --nbval-lax` on ``notebook`` in a child process without the guard's environment
    variables (NORMLAB_OFFLINE, PYTHONPATH) or PYTEST_ADDOPTS, plus ``env_changes``."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("NORMLAB_OFFLINE", "PYTHONPATH", "PYTEST_ADDOPTS")
    }
    env.update(env_changes)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            str(notebook.relative_to(REPO)),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_nbval_kernels_are_offline_even_from_a_plain_shell(probe_notebook):
    """`pytest --nbval-lax` started without any of our environment variables still blocks the kernel."""
    result = _run_nbval(probe_notebook)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{len(PROBE_CELLS)} passed" in result.stdout, result.stdout[-2000:]


@pytest.mark.slow
def test_a_kernel_without_the_guard_would_be_caught(probe_notebook):
    """Control: with NORMLAB_ALLOW_NETWORK=1 the first probe cell fails, so the test above is not vacuous.
    (The cells that would try a connection refuse to run without the guard.)"""
    result = _run_nbval(probe_notebook, NORMLAB_ALLOW_NETWORK="1")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "the network guard is not installed in this kernel" in result.stdout
