# Two commands set a machine up: `make serve` (install + run on SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_VERSION := $(shell ls /etc/postgresql 2>/dev/null | head -n 1)

.PHONY: install install-test bytecode serve test screenshots lint smoke-newest postgres browser bench-smoke bench bench-scale bench-dashboard clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install --quiet uv

# Installs go through uv (installed into the venv by pip): the same packages from the same
# index, with their bytecode compiled as pip would, in a little over half of pip's time.
# Editable installs, redone only when pyproject.toml changes (`make serve` starts at once).
# setuptools warns on every editable install of a flat layout that folders named like the
# packages (kernel/, plugins/) take precedence on imports: here that is the point, so the
# warning is silenced for the install only.
INSTALL := PYTHONWARNINGS=ignore $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode

$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(INSTALL) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/uv
	$(INSTALL) -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# An editable install leaves the project's own modules without bytecode, and where
# PYTHONDONTWRITEBYTECODE is set (it is on this workplace's machines) every `crosslink`
# process then compiles 31,000 lines again: about 0.3 s of each start. compileall writes the
# bytecode a regular (non-editable) install writes; it only recompiles what changed, and
# Python ignores a stale file.
BYTECODE_DIRS ?= kernel plugins
bytecode: | $(BIN)/python
	@$(BIN)/python -m compileall -q $(BYTECODE_DIRS)

## Install, then serve the repository in the current directory on http://127.0.0.1:3100
serve: install bytecode
	$(BIN)/crosslink serve $(ARGS)

## Start the local PostgreSQL server the tests use, if it is not running
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "starting PostgreSQL $(PG_VERSION)"; \
	  pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432

## Debian's Chromium, for the tests that render pages in a real browser
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }

## Install with test dependencies, start PostgreSQL, run the whole test suite (in parallel)
PYTEST_WORKERS ?= 3
# The suite's temporary files (repositories, SQLite files, logs: tens of thousands of files made
# and removed in a run) go to the memory file system at /dev/shm where there is one: on ext4 the
# kernel's search for a free inode past the recently deleted ones was a sixth of the CPU of a
# test that starts an application and makes one request. `make test TEST_TMPDIR=` keeps $TMPDIR.
TEST_TMPDIR ?= $(firstword $(wildcard /dev/shm))
test: BYTECODE_DIRS = kernel plugins tests bench
test: install-test postgres browser bytecode
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR) )$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxschedchunk 1 $(PYTEST_ARGS)

## The dashboard's browser tests, writing screenshots of every page (light and dark) to screenshots/
screenshots: install-test postgres browser
	CROSSLINK_TEST_SCREENSHOTS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests/plugins/dashboard $(PYTEST_ARGS)

## ruff (lint) and vulture (dead code), with the settings in pyproject.toml
lint: install-test
	$(BIN)/ruff check kernel plugins tests bench .ci
	$(BIN)/vulture

## Install the package (not editable) on the newest Python of pyenv and smoke-test it
NEWEST_PYTHON ?= $(shell ls -d $$HOME/.pyenv/versions/3.* 2>/dev/null | sort -V | tail -n 1)/bin/python
NEWEST_VENV := .venv-newest
$(NEWEST_VENV)/.installed: pyproject.toml $(shell find kernel plugins -name '*.py' -o -name '*.html' -o -name '*.js' -o -name '*.css' | sort)
	$(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	PYTHONWARNINGS=ignore $(NEWEST_VENV)/bin/pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(NEWEST_VENV)/bin/pip install --quiet .
	@touch $@
smoke-newest: $(NEWEST_VENV)/.installed
	$(NEWEST_VENV)/bin/python .ci/smoke.py

## The benchmark suite's full run (about 30 minutes): prints a table and writes BENCHMARKS.md
bench: | $(BIN)/uv
	$(INSTALL) -e '.[bench]'
	@command -v wrk >/dev/null || { \
	  echo "installing Debian's wrk for the benchmarks"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }; }
	$(BIN)/python -m bench $(BENCH_ARGS)

## The benchmark suite's smoke run (seconds): tiny data, each measurement once, no wrk needed
bench-smoke: install-test
	$(BIN)/python -m bench --smoke $(BENCH_ARGS)

## The scale curve: 10k, 100k and 1M issues, p50/p99 and growth per 10x (BENCH_ARGS='--sizes 10000,100000')
bench-scale: | $(BIN)/uv
	$(INSTALL) -e '.[bench]'
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

## The dashboard's page times (server and client) on a generated 100k-issue repository
bench-dashboard: install-test
	$(BIN)/python -m bench.dashboard $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
