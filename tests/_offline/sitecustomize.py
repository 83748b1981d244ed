"""Installs the network guard (normlab_offline) in every Python process started by the tests.

The root conftest.py puts this folder first on PYTHONPATH and sets NORMLAB_OFFLINE=1, so the
notebook kernels that nbval and ``make notebooks`` start import this module at interpreter start-up.
If another ``sitecustomize`` exists further down sys.path (some distributions ship one), it is
executed afterwards, so shadowing it changes nothing else.
"""

import importlib.machinery
import importlib.util
import os
import sys

if os.environ.get("NORMLAB_OFFLINE") == "1":
    import normlab_offline

    normlab_offline.install()


def _run_shadowed_sitecustomize():
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_run_shadowed_sitecustomize()
