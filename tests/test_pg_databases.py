"""A PostgreSQL database a test gives back is reset to the migrated template's state and handed
to a later test (:mod:`tests.pg_databases`); one whose schema a test changed is dropped."""

from __future__ import annotations

import asyncpg
import pytest

from kernel.app import create_app
from tests.pg_databases import FINGERPRINT, SpareDatabases, create_database, drop_database, new_database_name
from tests.support import PG_ADMIN_DSN

BASE = PG_ADMIN_DSN.rsplit("/", 1)[0]


@pytest.fixture
def spares(pg_template):
    spares = SpareDatabases(PG_ADMIN_DSN, pg_template)
    yield spares
    spares.close()


async def _fingerprint_and_rows(name: str) -> tuple[str, dict[str, int]]:
    connection = await asyncpg.connect(f"{BASE}/{name}")
    try:
        tables = [row[0] for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        counts = {table: await connection.fetchval(f'SELECT count(*) FROM "{table}"') for table in tables}
        return await connection.fetchval(FINGERPRINT), counts
    finally:
        await connection.close()


async def _exists(name: str) -> bool:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def test_a_used_database_comes_back_as_a_new_copy_would(spares, pg_template, settings_factory):
    pristine = new_database_name()
    await create_database(PG_ADMIN_DSN, pristine, pg_template)
    try:
        expected = await _fingerprint_and_rows(pristine)
    finally:
        await drop_database(PG_ADMIN_DSN, pristine)

    name = await spares.take()
    app = create_app(settings_factory(db_url=f"{BASE}/{name}"))
    async with app.test_app() as running:  # the test's server ends before the database goes back
        client = running.test_client()
        for title in ("first", "second", "third"):
            assert (await client.post("/api/v1/issues", json={"title": title})).status_code == 201
        started = await client.post("/api/v1/sessions/start", json={"agent_id": "agent-a"})
        assert started.status_code in (200, 201)
    spares.give_back(name)
    assert spares.settle()
    assert spares.counts["reset"] == 1 and spares.counts["dropped"] == 0

    taken = {await spares.take(), await spares.take()}
    assert name in taken  # handed out again rather than copied anew
    assert await _fingerprint_and_rows(name) == expected
    async with create_app(settings_factory(db_url=f"{BASE}/{name}")).test_app() as running:
        client = running.test_client()
        listed = await (await client.get("/api/v1/issues?status=all")).get_json()
        assert listed["items"] == []
        created = await (await client.post("/api/v1/issues", json={"title": "after the reset"})).get_json()
        assert created["id"] == 1  # the sequences are back where the template has them
    for taken_name in taken:
        spares.give_back(taken_name)


async def test_a_database_whose_schema_changed_is_dropped(spares):
    name = await spares.take()
    connection = await asyncpg.connect(f"{BASE}/{name}")
    try:
        await connection.execute("CREATE TABLE a_test_plugins_table (id integer)")
    finally:
        await connection.close()
    spares.give_back(name)
    assert spares.settle()
    assert spares.counts["dropped"] == 1 and spares.counts["reset"] == 0
    assert not await _exists(name)
