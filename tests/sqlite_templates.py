"""Migrated SQLite files, copied into each test's repository instead of migrating it again.

An in-process test on SQLite starts the server on a fresh ``.crosslink/issues.db``, and applying
every migration to an empty file is most of a start (about 50 ms of 70). The first test of a
process with a given migration plan migrates its own file as usual and keeps a copy of the
result; later tests with the same plan start on a copy of that copy, which is what a server
finds when it starts again on a repository it has served before.

Left alone, so that they still migrate an empty file: a test whose repository already holds a
database (one the CLI wrote, say), a test with plugins of its own (their migrations may be
written to be observed), a test on PostgreSQL (it has its own template), and any test marked
``fresh_database``.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any


def _plan_key(kernel: Any) -> str:
    """A name for the kernel's migration plan: every app label and migration name, in order."""
    digest = hashlib.sha256()
    for app, migrations in kernel._migration_plan():
        for migration in migrations:
            digest.update(f"{app}:{migration.name}\n".encode())
    return digest.hexdigest()[:16]


def _save(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` (its write-ahead log included) written to ``target``."""
    partial = target.with_suffix(".partial")
    src, dst = sqlite3.connect(source), sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    partial.replace(target)


class SqliteTemplates:
    """One migrated file per migration plan, in ``directory`` (one per test process)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def prepare(self, kernel: Any) -> None:
        """Give ``kernel``'s SQLite file the migrated schema before the server starts on it:
        copied from the template of its plan, or migrated here and kept as that template."""
        path = kernel.db.sqlite_path()
        if path is None or path.exists():
            return
        template = self.directory / f"{_plan_key(kernel)}.db"
        if template.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, path)
            return
        await kernel.migrate()
        await asyncio.to_thread(_save, path, template)
