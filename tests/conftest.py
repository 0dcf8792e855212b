"""Fixtures shared by every test: real git repositories, real databases, real servers.

* ``repo``: a git repository with one commit in a temporary directory (a copy of one made
  once per test process).
* ``backend``: ``"sqlite"`` unless a module parametrises it; plugin suites write
  ``pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)`` to run on SQLite
  and on the PostgreSQL server at 127.0.0.1:5432 (each test gets its own database).
* ``app_factory`` / ``server``: the application with its lifespan running and a Quart test
  client (on SQLite, its file starts as a copy of an already migrated one: see
  :mod:`tests.sqlite_templates`); ``live_server_factory``: ``crosslink serve`` started as a
  subprocess.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import asyncpg
import pytest

from kernel.app import create_app, kernel_of
from kernel.settings import Settings
from tests.pg_databases import SpareDatabases, create_database, drop_database, new_database_name
from tests.sqlite_templates import SqliteTemplates
from tests.support import (
    CROSSLINK,
    PG_ADMIN_DSN,
    LiveServer,
    TestServer,
    copy_repository,
    git,
    start_live_server,
)
from tests.url_builders import memoize_url_builders

# Installed third-party plugins must not leak into tests; tests that want entry points say so.
os.environ["CROSSLINK_DISABLE_PLUGIN_AUTOLOAD"] = "1"
memoize_url_builders()


#: Fixtures of the tests that start processes (``crosslink serve``, Chromium): seconds each.
_PROCESS_FIXTURES = {"live_server_factory", "browser"}


def _takes_long(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None or not _PROCESS_FIXTURES.isdisjoint(
        getattr(item, "fixturenames", ())
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the tests are collected, this process's heap so far (every module, every test item)
    is moved out of the garbage collector's way (``gc.freeze``), and the youngest generation is
    collected every 10,000 allocations rather than 700. A test creates a whole application
    (about 100,000 objects) and the collector walked the frozen part again and again: it was a
    fifth of the CPU time of a test that starts a server and makes one request. Garbage is
    still collected; only less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that take long (marked ``slow``, or starting a server or a browser) first,
    each group in its usual order. ``make test`` hands tests to pytest-xdist's workers one at
    a time in this order (``--maxschedchunk 1``), so the run ends on quick tests that even out
    the workers, not on a half-minute test that keeps one busy while the others wait."""
    items.sort(key=lambda item: not _takes_long(item))


@pytest.fixture(scope="session")
def repo_template(tmp_path_factory) -> Path:
    """A git repository with one commit, made once per test process and copied for each test
    (five git commands per test cost more than a copy of a few dozen small files).

    Made without git's template directory (``--template=``): no sample hooks, no
    ``info/exclude``, no ``description``, which nothing here reads. That halves the files a copy
    writes (25 rather than 43), and the server must cope with a repository without them anyway."""
    root = tmp_path_factory.mktemp("repo-template") / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", "--template=")
    git(root, "config", "user.email", "tester@example.com")
    git(root, "config", "user.name", "Tester")
    (root / "README.md").write_text("project\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def repo(tmp_path: Path, repo_template: Path) -> Path:
    """A git repository with one commit, as a user's project would be (a copy of
    :func:`repo_template`: a test may change it freely)."""
    return copy_repository(repo_template, tmp_path / "project")


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "sqlite")


def _migration_digest() -> str:
    """A digest of every migration the built-in plugins and the kernel apply (the template's name)."""
    import hashlib
    import inspect
    import tempfile

    from kernel.app import create_app

    with tempfile.TemporaryDirectory() as scratch:
        kernel = kernel_of(create_app(Settings.for_repo(scratch, plugins="all", autoload=False)))
        digest = hashlib.sha256()
        for app, migrations in kernel._migration_plan():
            for migration in migrations:
                for step in (migration.sqlite, migration.postgres):
                    text = inspect.getsource(step) if callable(step) else "\n".join(step)
                    digest.update(f"{app}:{migration.name}:{text}".encode())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def pg_template() -> str:
    """A PostgreSQL database migrated with every built-in plugin, copied for each test (a
    ``CREATE DATABASE ... TEMPLATE`` takes a fraction of a second; migrating takes seconds).

    Named by a digest of the migrations, so a changed migration makes a new one; made once per
    machine (the first session that needs it takes an advisory lock and runs
    ``crosslink db migrate``).
    """
    import asyncio
    import subprocess

    name = f"crosslink_tpl_{_migration_digest()}"

    async def ensure() -> None:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute("SELECT pg_advisory_lock(hashtext('crosslink-test-template'))")
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                scratch = f"{name}_building"
                await admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{scratch}"')
                done = subprocess.run(
                    [CROSSLINK, "db", "migrate", "--db", f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{scratch}"],
                    capture_output=True, text=True, timeout=300,
                )
                assert done.returncode == 0, done.stdout + done.stderr
                await admin.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{name}"')
        finally:
            await admin.execute("SELECT pg_advisory_unlock(hashtext('crosslink-test-template'))")
            await admin.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # first asked for inside a running event loop
        pool.submit(asyncio.run, ensure()).result()
    return name


@pytest.fixture(scope="session")
def spare_databases(pg_template: str):
    """The session's :class:`~tests.pg_databases.SpareDatabases` (what it still holds is
    dropped at the end)."""
    spares = SpareDatabases(PG_ADMIN_DSN, pg_template)
    yield spares
    spares.close()


@pytest.fixture
async def database_url(backend: str, repo: Path, request):
    """``None`` (the default SQLite file in the repo) or the URL of a PostgreSQL database of
    the test's own: one in the migrated template's state (a new copy, or a used one reset: see
    :mod:`tests.pg_databases`), or an empty database for tests marked ``fresh_database``."""
    if backend == "sqlite":
        yield None
        return
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    if request.node.get_closest_marker("fresh_database") is not None:
        name = new_database_name()
        await create_database(PG_ADMIN_DSN, name, None)
        yield f"{base}/{name}"
        await drop_database(PG_ADMIN_DSN, name)
        return
    spares = request.getfixturevalue("spare_databases")
    name = await spares.take()
    yield f"{base}/{name}"
    spares.give_back(name)


@pytest.fixture
def settings_factory(repo: Path, database_url: str | None):
    def make(**overrides) -> Settings:
        overrides.setdefault("autoload", False)
        overrides.setdefault("db_url", database_url)
        return Settings.for_repo(repo, **overrides)

    return make


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory) -> SqliteTemplates:
    """This process's migrated SQLite files (see :mod:`tests.sqlite_templates`)."""
    return SqliteTemplates(tmp_path_factory.mktemp("sqlite-templates"))


@pytest.fixture
async def app_factory(settings_factory, sqlite_templates, request):
    """``await app_factory(plugins="all", extra_plugins=None, **settings)`` -> TestServer."""
    running = []
    from_template = request.node.get_closest_marker("fresh_database") is None

    async def make(plugins: str = "all", extra_plugins=None, **overrides) -> TestServer:
        app = create_app(settings_factory(plugins=plugins, **overrides), extra_plugins=extra_plugins)
        if from_template and extra_plugins is None:
            await sqlite_templates.prepare(kernel_of(app))
        test_app = app.test_app()
        # Quart's test default (6 s) is shorter than the kernel's own shutdown deadlines (a
        # worker's stop_timeout, a hub operation running to its end): on a loaded machine a
        # shutdown cut off there leaves Tortoise's global context behind and every later test
        # of that worker fails to start. ``crosslink serve`` allows 10 s; so does this.
        test_app.shutdown_timeout = 10
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
