"""Run every test, and every notebook kernel the tests start, with the network blocked.

pytest loads this file for ``pytest tests/`` and for ``pytest --nbval-lax notebooks/`` alike (it sits
in the rootdir). It installs the guard from tests/_offline/normlab_offline.py in the pytest process
and, through PYTHONPATH + NORMLAB_OFFLINE=1, in every Python child process, including the kernels
that nbval starts (tests/_offline/sitecustomize.py runs at their start-up). Only loopback and
Unix-domain sockets can connect. Set NORMLAB_ALLOW_NETWORK=1 to switch this off.
"""

import os
import sys
from pathlib import Path

OFFLINE_DIR = Path(__file__).resolve().parent / "tests" / "_offline"


def pytest_configure(config):
    if os.environ.get("NORMLAB_ALLOW_NETWORK") == "1":
        return
    os.environ["NORMLAB_OFFLINE"] = "1"
    paths = [str(OFFLINE_DIR)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    if str(OFFLINE_DIR) not in sys.path:
        sys.path.insert(0, str(OFFLINE_DIR))
    import normlab_offline

    normlab_offline.install()
