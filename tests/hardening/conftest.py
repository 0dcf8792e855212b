"""Fixtures of the hardening tests: a PostgreSQL database that a test can use beside the
parametrised ``backend`` (to run both databases at once)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.support import PG_ADMIN_DSN


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
