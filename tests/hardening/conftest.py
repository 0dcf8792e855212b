"""Fixtures of the hardening tests: a second project repository and a PostgreSQL database that
a test can use beside the parametrised ``backend`` (to run both databases at once)."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.support import PG_ADMIN_DSN, git


def fresh_repo(root: Path) -> Path:
    """A git repository with one commit at ``root``, as the ``repo`` fixture makes."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "tester@example.com")
    git(root, "config", "user.name", "Tester")
    (root / "README.md").write_text("project\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
async def postgres_url():
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"crosslink_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
