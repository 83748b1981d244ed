"""The pinned stack is defined once and agrees everywhere it appears.

requirements-runtime.txt holds the exact versions of what the course needs to run (Binder installs this
file alone, through environment.yml's pip section); requirements-pinned.txt includes it (``-r``) and adds
the test and site tools, and is what `make` installs with. pyproject.toml's ranges must admit every pin
and stop below the next major release; an environment built by `make` (or Binder) must hold the pinned
versions; and the Makefile must fail with one clear line when Python is missing or unusable.
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
RUNTIME_FILE = REPO / "requirements-runtime.txt"
ENV_FILE = REPO / "environment.yml"
# written by the Makefile into the venv it built (.venv/.normlab-installed), next to sys.prefix's bin/
MAKE_STAMP = Path(sys.prefix) / ".normlab-installed"
# what the course needs to run: Binder must install each of these (and nothing of TEST_ONLY)
RUNTIME_STACK = {
    "numpy",
    "scipy",
    "matplotlib",
    "pillow",
    "scikit-learn",
    "threadpoolctl",
    "ipywidgets",
    "jupyterlab-widgets",
    "jupyterlab",
    "notebook",
    "ipykernel",
}
# tools that only the tests, the linter or the website build use: never on Binder
TEST_ONLY = {
    "pytest",
    "nbval",
    "hypothesis",
    "ruff",
    "playwright",
    "jupyter-repo2docker",
    "nbclient",
    "nbconvert",
    "nbformat",
    "jupyter-server-mathjax",
}


def read_pin_file(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, str]:
    """``{canonical name: version}`` of a pin file, following its ``-r other.txt`` includes."""
    assert path not in _seen, f"{path.name}: includes itself"
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path.name}:{number}"
        include = re.fullmatch(r"-r\s+(\S+)", line)
        if include:
            nested = read_pin_file(path.parent / include[1], (*_seen, path))
            twice = sorted(set(nested) & set(pins))
            assert not twice, f"{where}: pinned twice: {twice}"
            pins.update(nested)
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-+]+)", line)
        assert match, f"{where}: expected 'name==version' or '-r file', got {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"{where}: {name} pinned twice"
        pins[name] = match[2]
    return pins


def read_pins() -> dict[str, str]:
    """Every pin make installs with (requirements-pinned.txt and what it includes)."""
    return read_pin_file(PINS_FILE)


def read_runtime_pins() -> dict[str, str]:
    return read_pin_file(RUNTIME_FILE)


def read_environment() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(ENV_FILE.read_text())


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pyproject_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    own = canonicalize_name(project["name"])
    # the dev extra builds on the others: "normlab-course-utils[test,site]"
    return [r for r in map(Requirement, requirements) if canonicalize_name(r.name) != own]


# --- Binder: conda gives Python and pip, PyPI gives the rest at the runtime pins -------------------------


def test_environment_yml_asks_conda_only_for_python_311_and_pip():
    env = read_environment()
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert conda == ["python=3.11", "pip"], (
        "conda installs only python=3.11 (or Binder falls back to its default) and pip; every other "
        f"package comes from PyPI at the pinned versions, got {conda}"
    )


def test_environment_yml_pip_section_installs_exactly_the_runtime_pin_file():
    sections = [d["pip"] for d in read_environment()["dependencies"] if isinstance(d, dict)]
    assert sections == [[f"-r {RUNTIME_FILE.name}"]], (
        f"the pip section must be the single line '-r {RUNTIME_FILE.name}' (one source of truth), got {sections}"
    )
    # conda runs pip from the folder of environment.yml, so the path is relative to it
    assert (ENV_FILE.parent / RUNTIME_FILE.name).is_file()


def test_the_runtime_pins_are_the_runtime_stack_and_no_test_tool():
    runtime = set(read_runtime_pins())
    assert not RUNTIME_STACK - runtime, f"Binder would miss: {sorted(RUNTIME_STACK - runtime)}"
    assert not runtime & TEST_ONLY, f"test-only tools in the runtime pins: {sorted(runtime & TEST_ONLY)}"


def test_requirements_pinned_includes_the_runtime_pins_once():
    lines = [line.split("#", 1)[0].strip() for line in PINS_FILE.read_text().splitlines()]
    assert f"-r {RUNTIME_FILE.name}" in lines, f"{PINS_FILE.name} must include {RUNTIME_FILE.name} with -r"
    pins, runtime = read_pins(), read_runtime_pins()  # read_pin_file fails on a name pinned twice
    assert {name: pins[name] for name in runtime} == runtime
    assert set(pins) - set(runtime) <= TEST_ONLY, "a pin outside the runtime file must be a test/site tool"


def test_every_pin_is_one_of_pyprojects_requirements():
    # `make` installs with `pip -c`: a pin that no requirement names would never be installed
    named = {canonicalize_name(r.name) for r in pyproject_requirements()}
    unused = sorted(set(read_pins()) - named)
    assert not unused, f"pinned but not required by pyproject.toml: {unused}"


def test_widgets_frontend_and_kernel_side_are_pinned_in_sync():
    pins = read_runtime_pins()
    ipywidgets, lab_widgets = Version(pins["ipywidgets"]), Version(pins["jupyterlab-widgets"])
    # ipywidgets 8.x ships with jupyterlab_widgets 3.x; mixing majors gives blank widgets in JupyterLab
    assert (ipywidgets.major, lab_widgets.major) == (8, 3)
    if metadata.version("ipywidgets") != pins["ipywidgets"]:
        pytest.skip(f"ipywidgets {metadata.version('ipywidgets')} installed, not the pinned {ipywidgets}")
    requires = [Requirement(r) for r in metadata.requires("ipywidgets") or []]
    spec = next(r.specifier for r in requires if canonicalize_name(r.name) == "jupyterlab-widgets")
    assert spec.contains(lab_widgets), f"ipywidgets {ipywidgets} wants jupyterlab_widgets{spec}"


def test_pinned_notebook_accepts_the_pinned_jupyterlab():
    pins = read_runtime_pins()
    try:
        installed = metadata.version("notebook")
    except metadata.PackageNotFoundError:
        pytest.skip("notebook is not installed here (make installs it: it is in the dev extra)")
    if installed != pins["notebook"]:
        pytest.skip(f"notebook {installed} installed, not the pinned {pins['notebook']}")
    requires = [Requirement(r) for r in metadata.requires("notebook") or []]
    spec = next(r.specifier for r in requires if canonicalize_name(r.name) == "jupyterlab" and not r.marker)
    assert spec.contains(pins["jupyterlab"]), f"notebook {installed} wants jupyterlab{spec}"


# --- pyproject.toml: ranges that admit the pins and stop below the next major ----------------------------


def _next_major(version: Version) -> Version:
    return Version(str(version.major + 1))


def test_pyproject_requirements_are_all_pinned_and_admit_the_pins():
    pins = read_pins()
    problems = []
    for req in pyproject_requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req.name}: in pyproject.toml but not pinned")
        elif not req.specifier.contains(pins[name]):
            problems.append(f"{req.name}: pin {pins[name]} outside pyproject's {req.specifier}")
    assert not problems, "\n".join(problems)
    assert pyproject()["project"]["requires-python"] == ">=3.10"


def test_every_requirement_is_capped_below_the_next_major_of_its_pin():
    pins = read_pins()
    problems = []
    for req in pyproject_requirements():
        pinned = Version(pins[canonicalize_name(req.name)])
        caps = [Version(s.version) for s in req.specifier if s.operator == "<"]
        if caps != [_next_major(pinned)]:
            problems.append(
                f"{req.name}: expected '<{_next_major(pinned)}' (pin {pinned}), got {req.specifier}"
            )
    assert not problems, "\n".join(problems)


def test_the_course_dependencies_keep_their_lower_bounds():
    for text in pyproject()["project"]["dependencies"]:
        req = Requirement(text)
        assert any(s.operator == ">=" for s in req.specifier), f"{req.name}: no lower bound"


# --- the running environment ---------------------------------------------------------------------------


def _on_binder() -> bool:
    # repo2docker images set NB_PYTHON_PREFIX to the environment the notebook server runs from
    prefix = os.environ.get("NB_PYTHON_PREFIX")
    return bool(prefix) and Path(prefix).resolve() == Path(sys.prefix).resolve()


def test_the_running_environment_has_the_pinned_versions():
    if MAKE_STAMP.exists():
        pins, built_by = read_pins(), f"make ({MAKE_STAMP})"
    elif _on_binder():
        pins, built_by = read_runtime_pins(), "Binder"
    else:
        pytest.skip(
            f"this environment ({sys.prefix}) was not built by make (no {MAKE_STAMP.name} stamp) or Binder, "
            "so its versions are its owner's choice; `make test` checks the pinned ones"
        )
    wrong = []
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed (pinned {version})")
            continue
        if Version(installed) != Version(version):
            wrong.append(f"{name}: installed {installed}, pinned {version}")
    assert not wrong, (
        f"environment built by {built_by}; run `make test` (it reinstalls when the pins change):\n"
        + "\n".join(wrong)
    )


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
    for name in ("Makefile", "pyproject.toml", PINS_FILE.name, RUNTIME_FILE.name):
        shutil.copy(REPO / name, workdir / name)
    result = _make("test", _fake_python(tmp_path, "3.12.1", has_venv=False), cwd=workdir)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert "python3-venv" in lines[0] and "ensurepip" in lines[0], lines
    assert not (workdir / ".venv").exists()


def test_make_accepts_this_interpreter():
    result = _make("check-python", sys.executable)
    assert result.returncode == 0, result.stdout + result.stderr


def _fake_venv_clone(tmp_path: Path) -> Path:
    """A copy of the Makefile and its inputs with a stand-in .venv whose stamp is newer than them."""
    workdir = tmp_path / "clone"
    (workdir / ".venv" / "bin").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", PINS_FILE.name, RUNTIME_FILE.name):
        shutil.copy(REPO / name, workdir / name)
        os.utime(workdir / name, (1_000_000_000, 1_000_000_000))
    (workdir / ".venv" / "bin" / "python").touch()
    (workdir / ".venv" / ".normlab-installed").touch()
    os.utime(workdir / ".venv" / ".normlab-installed", (1_500_000_000, 1_500_000_000))
    return workdir


@pytest.mark.parametrize("changed", [None, "pyproject.toml", PINS_FILE.name, RUNTIME_FILE.name])
def test_make_reinstalls_when_any_pin_file_changes(tmp_path, changed):
    workdir = _fake_venv_clone(tmp_path)
    if changed:
        os.utime(workdir / changed, (1_600_000_000, 1_600_000_000))  # newer than the stamp
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        [make, "-n", "setup", f"PYTHON={sys.executable}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    installs = "pip install" in result.stdout
    assert installs == (changed is not None), result.stdout
    if installs:
        assert f'-c {PINS_FILE.name} -e ".[dev]"' in result.stdout, result.stdout
