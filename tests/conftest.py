"""Fixtures shared by every test: real git repositories, real databases, real servers.

* ``repo``: a fresh git repository (``git init``) in a temporary directory.
* ``backend``: ``"sqlite"`` unless a module parametrises it; plugin suites write
  ``pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)`` to run on SQLite
  and on the PostgreSQL server at 127.0.0.1:5432 (each test gets its own database).
* ``app_factory`` / ``server``: the application with its lifespan running and a Quart test
  client; ``live_server_factory``: ``crosslink serve`` started as a subprocess.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import pytest

from kernel.app import create_app, kernel_of
from kernel.settings import Settings
from tests.support import LiveServer, TestServer, git, start_live_server

# Installed third-party plugins must not leak into tests; tests that want entry points say so.
os.environ["CROSSLINK_DISABLE_PLUGIN_AUTOLOAD"] = "1"

PG_ADMIN_DSN = os.environ.get("CROSSLINK_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit, as a user's project would be."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "tester@example.com")
    git(root, "config", "user.name", "Tester")
    (root / "README.md").write_text("project\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
async def database_url(backend: str, repo: Path):
    """``None`` (the default SQLite file in the repo) or a fresh PostgreSQL database URL."""
    if backend == "sqlite":
        yield None
        return
    name = f"crosslink_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings_factory(repo: Path, database_url: str | None):
    def make(**overrides) -> Settings:
        overrides.setdefault("autoload", False)
        overrides.setdefault("db_url", database_url)
        return Settings.for_repo(repo, **overrides)

    return make


@pytest.fixture
async def app_factory(settings_factory):
    """``await app_factory(plugins="all", extra_plugins=None, **settings)`` -> TestServer."""
    running = []

    async def make(plugins: str = "all", extra_plugins=None, **overrides) -> TestServer:
        app = create_app(settings_factory(plugins=plugins, **overrides), extra_plugins=extra_plugins)
        test_app = app.test_app()
        await test_app.__aenter__()
        running.append(test_app)
        return TestServer(app=app, client=test_app.test_client(), kernel=kernel_of(app))

    yield make
    for test_app in reversed(running):
        await test_app.__aexit__(None, None, None)


@pytest.fixture
async def server(app_factory) -> TestServer:
    """The full application (every built-in plugin) on the selected backend."""
    return await app_factory()


@pytest.fixture
def live_server_factory(repo: Path, database_url: str | None):
    """Start ``crosslink serve`` as a real subprocess: ``live_server_factory(*args, env=...)``."""
    started: list[LiveServer] = []

    def start(*args: str, env: dict[str, str] | None = None, repo_path: Path | None = None) -> LiveServer:
        extra = list(args)
        if database_url and "--db" not in extra:
            extra += ["--db", database_url]
        live = start_live_server(repo_path or repo, extra, env)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


@pytest.fixture(scope="session")
def testdist_path(tmp_path_factory) -> Path:
    """The test distribution (crosslink-testplugins) installed with pip into its own directory.

    Its entry points (``broken``, ``burst``, ``issues``) are real: put the directory on
    ``sys.path`` (in-process) or ``PYTHONPATH`` (subprocesses) to make them visible.
    """
    import subprocess
    import sys

    target = tmp_path_factory.mktemp("testdist")
    source = Path(__file__).parent / "fixtures" / "testdist"
    build = tmp_path_factory.mktemp("testdist-build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        check=True,
        cwd=build,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return target


@pytest.fixture
def with_testdist(testdist_path: Path, monkeypatch) -> Path:
    """Make the test distribution's entry points visible to this process."""
    import importlib

    monkeypatch.syspath_prepend(str(testdist_path))
    importlib.invalidate_caches()
    return testdist_path
