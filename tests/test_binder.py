"""Binder validation: repo2docker accepts the repository and plans the image we intend.

``jupyter-repo2docker --no-build`` picks a build pack and prints the Dockerfile it would build, without
Docker. We check that it picks the conda build pack with Python 3.11, installs environment.yml into the
environment the notebook server and kernel run from, and runs postBuild afterwards as the notebook user.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _repo2docker() -> str:
    candidate = Path(sys.executable).parent / "jupyter-repo2docker"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("jupyter-repo2docker")
    if found is None:
        pytest.fail("jupyter-repo2docker is not installed (it is in the dev extra; run make test)")
    return found


@pytest.fixture(scope="module")
def dry_run() -> subprocess.CompletedProcess:
    command = [_repo2docker(), "--no-build", "--user-id", "1000", "--user-name", "jovyan", "."]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def dockerfile(dry_run) -> str:
    assert dry_run.returncode == 0, f"repo2docker failed:\n{dry_run.stderr}"
    return dry_run.stdout


def test_repo2docker_accepts_the_repository(dry_run):
    assert dry_run.returncode == 0, dry_run.stderr
    assert "Building conda environment for python=3.11" in dry_run.stderr, dry_run.stderr


def test_dockerfile_installs_environment_yml_into_the_notebook_environment(dockerfile):
    assert "src/environment.yml" in dockerfile
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"' in dockerfile


def test_dockerfile_runs_postbuild_as_the_notebook_user_after_the_environment(dockerfile):
    lines = [line.strip() for line in dockerfile.splitlines()]
    post_build = lines.index("RUN ./postBuild")
    env_update = next(i for i, line in enumerate(lines) if "env update" in line)
    copy_repo = lines.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    assert env_update < copy_repo < post_build, "postBuild must run after the environment and the checkout"
    last_user = [line for line in lines[:post_build] if line.startswith("USER ")][-1]
    assert last_user == "USER ${NB_USER}"
