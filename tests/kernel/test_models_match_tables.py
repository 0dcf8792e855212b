"""Every Tortoise model a plugin registers matches the table its migrations create, on SQLite
and on PostgreSQL: the same columns, the same nullability, the same primary key. The tables are
written by hand once per dialect (see ``kernel/storage/spec.py``), so this is what keeps the two
definitions and the ORM's view of them in agreement."""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def columns_of(db, table: str) -> dict[str, dict]:
    """``{column: {"nullable": bool, "pk": bool}}`` as the database has it."""
    if db.is_sqlite:
        rows = await db.fetch_all(f'PRAGMA table_info("{table}")')
        return {r["name"]: {"nullable": not r["notnull"] and not r["pk"], "pk": bool(r["pk"])} for r in rows}
    rows = await db.fetch_all(
        "SELECT c.column_name AS name, c.is_nullable = 'YES' AS nullable, "
        "EXISTS (SELECT 1 FROM information_schema.table_constraints t "
        "        JOIN information_schema.key_column_usage k USING (constraint_name, table_schema, table_name) "
        "        WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_name = c.table_name "
        "          AND t.table_schema = c.table_schema AND k.column_name = c.column_name) AS pk "
        "FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = ?",
        [table],
    )
    return {r["name"]: {"nullable": bool(r["nullable"]), "pk": bool(r["pk"])} for r in rows}


async def test_every_model_matches_its_table(app_factory):
    server = await app_factory(plugins="all")
    models = [model for app in Tortoise.apps.values() for model in app.values()]
    assert len(models) >= 8
    problems = []
    for model in models:
        meta = model._meta
        table = await columns_of(server.kernel.db, meta.db_table)
        if not table:
            problems.append(f"{model.__name__}: no table {meta.db_table}")
            continue
        for field_name, column in meta.fields_db_projection.items():
            field = meta.fields_map[field_name]
            if column not in table:
                problems.append(f"{model.__name__}.{field_name}: no column {meta.db_table}.{column}")
                continue
            if field.pk != table[column]["pk"]:
                problems.append(f"{model.__name__}.{field_name}: primary key {field.pk}, table says {table[column]['pk']}")
            elif not field.pk and field.null != table[column]["nullable"]:
                problems.append(
                    f"{model.__name__}.{field_name}: null={field.null}, {meta.db_table}.{column} "
                    f"nullable={table[column]['nullable']}"
                )
        required_unmapped = set(table) - set(meta.fields_db_projection.values())
        for column in sorted(required_unmapped):
            if not table[column]["nullable"] and not table[column]["pk"]:
                problems.append(f"{model.__name__}: {meta.db_table}.{column} is NOT NULL but not in the model")
    assert problems == []
