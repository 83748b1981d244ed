# NormLab — two commands do everything:  `make lab`  and  `make test`.
#
# The first run creates .venv/ and installs the pinned stack (versions from requirements-pinned.txt,
# which includes requirements-runtime.txt, the runtime pins Binder installs too) plus course_utils in
# editable mode. Later runs reuse it; the stamp file .venv/.normlab-installed makes `pip install` run
# again only when pyproject.toml or a pin file changes (tests/test_environment.py checks the installed
# versions only in an environment that carries this stamp).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.normlab-installed
PINS := requirements-pinned.txt
# every pin file (requirements-pinned.txt includes requirements-runtime.txt): a change to any reinstalls
PIN_FILES := $(wildcard requirements-*.txt)
# Notebooks for `make notebooks`: all of them, or one/several with NB=notebooks/05_x.ipynb
NB ?= $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
PORT ?= 8888
# `make site REPO=owner/name` adds a Binder launch button to every page of the website (none without it)
REPO ?=
START_NOTEBOOK := notebooks/00_start_here.ipynb
# Notebook kernels started by make run with the network blocked (tests/_offline/, README "Testing").
OFFLINE_ENV := NORMLAB_OFFLINE=1 PYTHONPATH="$(CURDIR)/tests/_offline$${PYTHONPATH:+:$$PYTHONPATH}"

.PHONY: help setup lab test test-fast lint format notebooks bench images student site clean check-python

help:
	@echo "make lab        set up .venv (first time only) and start JupyterLab at $(START_NOTEBOOK)"
	@echo "make test       set up .venv, then ruff + the whole test suite (unit, hygiene, Binder, browser, nbval)"
	@echo "make test-fast  ruff + pytest tests/ without the slow, browser and replication tests (edit-test loop)"
	@echo "make format     ruff format + ruff check --fix the whole tree"
	@echo "make notebooks  re-run notebooks in place on a fresh kernel (all, or NB=notebooks/05_x.ipynb)"
	@echo "make images     regenerate images/ with every images/make_*.py"
	@echo "make student    student copy without solution cells in build/student/ (ONLY=\"05 06 07\" for some)"
	@echo "make site       static course website in build/site/ from the executed notebooks (REPO=owner/name adds Binder buttons)"
	@echo "make bench      run benchmarks/run.py"
	@echo "make clean      remove build/ and caches (keeps .venv; rm -rf .venv for a full reset)"

# One clear line when the interpreter is missing or too old (before anything else happens).
check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "NormLab needs Python >= 3.10, but '$(PYTHON)' was not found on PATH (install python3 >= 3.10, or run make PYTHON=/path/to/python3)."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
	  echo "NormLab needs Python >= 3.10, but '$(PYTHON)' is $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo 'unusable') (install python3 >= 3.10, or run make PYTHON=/path/to/python3)."; exit 1; }

$(VPY): | check-python
	@$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || { \
	  echo "NormLab needs Python's venv module with ensurepip, which '$(PYTHON)' lacks (Debian/Ubuntu: apt-get install python3-venv)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(PIN_FILES) | $(VPY)
	@echo "Installing the pinned stack (versions from $(PINS)) and course_utils into $(VENV)/ ..."
	$(VPY) -m pip install --quiet --disable-pip-version-check -c $(PINS) -e ".[dev]"
	@touch $@

setup: check-python $(STAMP)

# Offline-friendly: no news feed or update check (they would reach out to the internet).
lab: setup
	@# JupyterLab settings for this venv only: no news prompt, no update check (offline classrooms)
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@cp scripts/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@if [ "$$(id -u)" = 0 ]; then allow_root=--allow-root; else allow_root=; fi; \
	set -x; exec $(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) $$allow_root \
	  --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/$(START_NOTEBOOK) \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The edit-test loop: seconds to a minute; `make test` still runs everything.
test-fast: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && \
	$(VENV)/bin/pytest -q -m "not slow and not browser and not replication" tests/

# All three steps always run (a lint error does not hide test results); any failure fails the target.
# pytest's exit code 5 (no test collected) counts as a failure.
test: setup
	@failed=""; \
	echo "$(VENV)/bin/ruff check ."; $(VENV)/bin/ruff check . || failed="$$failed ruff"; \
	echo "$(VENV)/bin/ruff format --check ."; $(VENV)/bin/ruff format --check . || failed="$$failed ruff-format"; \
	if [ -z "$${NORMLAB_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
	  echo "!!!!! NO CHROMIUM: the browser test (tests/browser) will be SKIPPED. Install it: apt-get install -y chromium !!!!!"; fi; \
	echo "$(VENV)/bin/pytest -rs tests/"; $(VENV)/bin/pytest -rs tests/ || failed="$$failed tests/"; \
	echo "$(VENV)/bin/pytest --nbval-lax --nbval-current-env notebooks/"; \
	$(VENV)/bin/pytest --nbval-lax --nbval-current-env notebooks/ || failed="$$failed notebooks/"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED in:$$failed"; exit 1; fi; \
	echo "make test: all passed"

notebooks: setup
	$(OFFLINE_ENV) $(VPY) scripts/nbtool.py execute $(NB)

images: setup
	@set -e; for script in images/make_*.py; do \
	  [ -e "$$script" ] || { echo "no images/make_*.py scripts yet"; break; }; \
	  echo "$(VPY) $$script"; $(OFFLINE_ENV) $(VPY) "$$script"; done

student: setup
	$(VPY) scripts/nbtool.py student --out build/student $(if $(ONLY),--only $(ONLY))

# The offline website: the committed notebooks as they are (no re-execution), MathJax shipped inside.
site: setup
	$(VPY) scripts/build_site.py --out build/site $(if $(REPO),--repo $(REPO))

bench: setup
	$(VPY) benchmarks/run.py

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0 rm -rf
