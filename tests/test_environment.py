"""The pinned stack is defined once and agrees everywhere it appears.

requirements-pinned.txt holds the exact versions `make` installs; environment.yml (Binder) must pin the
same versions; pyproject.toml's ranges must admit them; the running environment must be the pinned one;
and the Makefile must fail with one clear line when Python is missing or unusable.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parent.parent
PINS_FILE = REPO / "requirements-pinned.txt"
ENV_FILE = REPO / "environment.yml"
# conda-forge names that differ from the PyPI name of the same package
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib"}
# packages Binder does not need (the browser test, Binder validation and the linter run on the dev machine)
NOT_ON_BINDER = {"playwright", "jupyter-repo2docker", "ruff"}


def read_pins() -> dict[str, str]:
    pins = {}
    for number, line in enumerate(PINS_FILE.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-+]+)", line)
        assert match, f"requirements-pinned.txt:{number}: expected 'name==version', got {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"requirements-pinned.txt:{number}: {name} pinned twice"
        pins[name] = match[2]
    return pins


def read_environment() -> dict:
    """Parse environment.yml (a flat file we control: name, channels, dependencies as '- pkg=ver')."""
    env = {"channels": [], "dependencies": {}, "pip": []}
    section = None
    for number, raw in enumerate(ENV_FILE.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith(" "):
            key, _, value = line.partition(":")
            section = key.strip()
            if value.strip():
                env[section] = value.strip()
            continue
        item = line.strip()
        assert item.startswith("- "), f"environment.yml:{number}: unexpected line {raw!r}"
        item = item[2:].strip()
        if section == "channels":
            env["channels"].append(item)
        elif section == "dependencies":
            if item.startswith("pip"):
                section = "pip"
                continue
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:=\s*([A-Za-z0-9_.\-]+))?", item)
            assert match, f"environment.yml:{number}: expected '- name=version', got {item!r}"
            env["dependencies"][match[1]] = match[2]
        elif section == "pip":
            env["pip"].append(item)
    return env


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_is_valid_yaml_with_the_same_content():
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(ENV_FILE.read_text())
    parsed = read_environment()
    assert data["channels"] == parsed["channels"]
    names = [str(d).split("=")[0] for d in data["dependencies"] if isinstance(d, str)]
    assert names == list(parsed["dependencies"])


def test_binder_uses_conda_forge_and_python_311():
    env = read_environment()
    assert env["channels"] == ["conda-forge"]
    assert env["dependencies"].get("python") == "3.11", "pin python=3.11, or Binder falls back to 3.10"


def test_every_conda_package_is_pinned_to_the_same_version():
    pins = read_pins()
    env = read_environment()
    mismatches = []
    for conda_name, version in env["dependencies"].items():
        if conda_name == "python":
            continue
        name = canonicalize_name(CONDA_TO_PYPI.get(conda_name, conda_name))
        if version is None:
            mismatches.append(f"{conda_name}: no version in environment.yml")
        elif name not in pins:
            mismatches.append(f"{conda_name}: missing from requirements-pinned.txt")
        elif pins[name] != version:
            mismatches.append(f"{conda_name}: environment.yml {version} != pinned {pins[name]}")
    assert not mismatches, "\n".join(mismatches)


def test_every_pin_is_on_binder_unless_listed_as_dev_only():
    env_names = {canonicalize_name(CONDA_TO_PYPI.get(n, n)) for n in read_environment()["dependencies"]}
    missing = sorted(set(read_pins()) - env_names - NOT_ON_BINDER)
    assert not missing, f"pinned but not in environment.yml: {missing}"


def test_no_local_path_in_the_pip_section():
    # A local path there changes with every commit and defeats Binder's cache; postBuild installs it.
    for item in read_environment()["pip"]:
        assert not item.startswith((".", "/", "-e")), f"environment.yml pip section installs a path: {item}"


def test_widgets_frontend_and_kernel_side_are_pinned_in_sync():
    pins = read_pins()
    env = read_environment()["dependencies"]
    ipywidgets, lab_widgets = Version(pins["ipywidgets"]), Version(pins["jupyterlab-widgets"])
    # ipywidgets 8.x ships with jupyterlab_widgets 3.x; mixing majors gives blank widgets in JupyterLab
    assert (ipywidgets.major, lab_widgets.major) == (8, 3)
    assert env["ipywidgets"] == pins["ipywidgets"] and env["jupyterlab_widgets"] == pins["jupyterlab-widgets"]
    requires = [Requirement(r) for r in metadata.requires("ipywidgets") or []]
    spec = next(r.specifier for r in requires if canonicalize_name(r.name) == "jupyterlab-widgets")
    assert spec.contains(lab_widgets), f"ipywidgets {ipywidgets} wants jupyterlab_widgets{spec}"


def test_pyproject_requirements_are_all_pinned_and_admit_the_pins():
    project = pyproject()["project"]
    pins = read_pins()
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    problems = []
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == canonicalize_name(project["name"]):
            continue  # the dev extra builds on the test extra: "normlab-course-utils[test]"
        if name not in pins:
            problems.append(f"{req.name}: in pyproject.toml but not pinned")
        elif not req.specifier.contains(pins[name]):
            problems.append(f"{req.name}: pin {pins[name]} outside pyproject's {req.specifier}")
    assert not problems, "\n".join(problems)
    assert project["requires-python"] == ">=3.10"


def test_the_running_environment_has_the_pinned_versions():
    wrong = []
    for name, version in read_pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed (pinned {version})")
            continue
        if Version(installed) != Version(version):
            wrong.append(f"{name}: installed {installed}, pinned {version}")
    assert not wrong, "run `make test` (it reinstalls when the pins change):\n" + "\n".join(wrong)


def test_postbuild_installs_course_utils_without_dependencies():
    post_build = REPO / "postBuild"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash") and "\nset -e\n" in text
    assert re.search(r"^pip install --no-deps -e \.$", text, re.MULTILINE)
    assert post_build.stat().st_mode & stat.S_IXUSR, "postBuild must be executable"


# --- the Makefile's first line of defence -------------------------------------------------------------


def _fake_python(tmp_path: Path, version: str, has_venv: bool = True) -> Path:
    """A stand-in interpreter that answers the Makefile's two probes like Python ``version`` would."""
    old = tuple(int(p) for p in version.split(".")[:2]) < (3, 10)
    script = tmp_path / "fake-python"
    script.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        f"  *version_info*) exit {1 if old else 0} ;;\n"
        f"  *platform*) echo {version} ;;\n"
        f"  *ensurepip*) exit {0 if has_venv else 1} ;;\n"
        "esac\n"
        "exit 1\n"
    )
    script.chmod(0o755)
    return script


def _make(target: str, python, cwd: Path = REPO) -> subprocess.CompletedProcess:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        [make, "--no-print-directory", "-s", target, f"PYTHON={python}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_make_says_in_one_line_that_python_is_missing():
    result = _make("setup", "/nonexistent/python3")
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines[0].startswith("NormLab needs Python >= 3.10") and "not found" in lines[0], lines


def test_make_says_in_one_line_that_python_is_too_old(tmp_path):
    result = _make("lab", _fake_python(tmp_path, "3.9.18"))
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines[0].startswith("NormLab needs Python >= 3.10") and "3.9.18" in lines[0], lines


def test_make_says_in_one_line_that_venv_support_is_missing(tmp_path):
    workdir = tmp_path / "clone"
    workdir.mkdir()
    for name in ("Makefile", "pyproject.toml", "requirements-pinned.txt"):
        shutil.copy(REPO / name, workdir / name)
    result = _make("test", _fake_python(tmp_path, "3.12.1", has_venv=False), cwd=workdir)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert "python3-venv" in lines[0] and "ensurepip" in lines[0], lines
    assert not (workdir / ".venv").exists()


def test_make_accepts_this_interpreter():
    result = _make("check-python", sys.executable)
    assert result.returncode == 0, result.stdout + result.stderr
