"""The rollups: ``server_usage_hourly``, ``server_usage_daily`` and ``server_usage_monthly``,
kept by triggers.

One row per (UTC hour, day or month, agent, model) with the sums a summary needs. Triggers on the
CLI's ``token_usage`` table add every inserted row, subtract every deleted one and move an
updated one, so rows the crosslink CLI writes are counted exactly like the server's own (the
same way the issues plugin keeps its search queue). ``server_usage_estimated`` marks the rows
whose ``cost_estimate`` the server computed from its price table; a trigger on it moves that
cost into the ``estimated_*`` columns.

Columns besides the key: ``requests``, the four token sums, ``cost`` (the sum of every stored
``cost_estimate``), ``estimated_cost`` / ``estimated_requests`` (the part of it the server
estimated), and ``uncosted_*`` (the rows without any cost, and their tokens: a summary prices
them from the price table when it knows the model).

The triggers use built-in SQL only (the CLI, which knows nothing of this server, fires them).
When they are missing (the CLI rebuilt its table) or the rollups disagree with the table's row
count (rows copied in with the rollups), :meth:`Rollups.repair` puts the triggers back and
rebuilds the rollups from the table.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.storage.database import Database

log = logging.getLogger("crosslink.usage.rollup")

HOURLY = "server_usage_hourly"
DAILY = "server_usage_daily"
MONTHLY = "server_usage_monthly"
ESTIMATED = "server_usage_estimated"

#: The value columns of both rollups, in order.
VALUES = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cost",
    "estimated_cost",
    "estimated_requests",
    "uncosted_requests",
    "uncosted_input_tokens",
    "uncosted_output_tokens",
    "uncosted_cache_read_tokens",
    "uncosted_cache_creation_tokens",
)
REAL_VALUES = frozenset({"cost", "estimated_cost"})

#: (table, bucket column, characters of the timestamp text that make the bucket), finest first
BUCKETS = ((HOURLY, "hour", 13), (DAILY, "day", 10), (MONTHLY, "month", 7))
#: The rollup table of each bucket level.
TABLES = {bucket: table for table, bucket, _ in BUCKETS}

SQLITE_TRIGGERS = (
    "server_usage_rollup_insert",
    "server_usage_rollup_update",
    "server_usage_rollup_delete",
    "server_usage_estimated_insert",
)
POSTGRES_TRIGGERS = ("server_usage_rollup", "server_usage_estimated_added")

#: The CLI's columns a rollup depends on (an update of any other column changes nothing here).
WATCHED = ("agent_id", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_creation_tokens", "model", "cost_estimate")


def contributions(row: str, estimated: str) -> list[str]:
    """SQL for what one ``token_usage`` row (``row.`` prefix) adds to each value column;
    ``estimated`` is a boolean SQL expression: the server estimated its cost."""
    cost, uncosted = f"coalesce({row}.cost_estimate, 0)", f"{row}.cost_estimate IS NULL"
    cache_read, cache_creation = f"coalesce({row}.cache_read_tokens, 0)", f"coalesce({row}.cache_creation_tokens, 0)"
    return [
        "1",
        f"{row}.input_tokens",
        f"{row}.output_tokens",
        cache_read,
        cache_creation,
        cost,
        f"CASE WHEN {estimated} THEN {cost} ELSE 0 END",
        f"CASE WHEN {estimated} THEN 1 ELSE 0 END",
        f"CASE WHEN {uncosted} THEN 1 ELSE 0 END",
        f"CASE WHEN {uncosted} THEN {row}.input_tokens ELSE 0 END",
        f"CASE WHEN {uncosted} THEN {row}.output_tokens ELSE 0 END",
        f"CASE WHEN {uncosted} THEN {cache_read} ELSE 0 END",
        f"CASE WHEN {uncosted} THEN {cache_creation} ELSE 0 END",
    ]


# --- tables ------------------------------------------------------------------------------------


def table_ddl(dialect: str) -> list[str]:
    """The rollups, the estimate markers and their indexes."""
    integer = "INTEGER" if dialect == "sqlite" else "BIGINT"
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    text_key = "TEXT" if dialect == "sqlite" else 'TEXT COLLATE "C"'
    suffix = " WITHOUT ROWID" if dialect == "sqlite" else ""
    statements = []
    for table, bucket, _ in BUCKETS:
        columns = ",\n    ".join(
            f"{name} {real if name in REAL_VALUES else integer} NOT NULL DEFAULT 0" for name in VALUES
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table} (\n    {bucket} {text_key} NOT NULL,\n    agent_id TEXT NOT NULL,\n"
            f"    model TEXT NOT NULL,\n    {columns},\n    PRIMARY KEY ({bucket}, agent_id, model)\n){suffix}"
        )
        statements.append(f"CREATE INDEX IF NOT EXISTS {table}_agent ON {table} (agent_id, {bucket})")
    statements.append(f"CREATE TABLE IF NOT EXISTS {ESTIMATED} (usage_id {integer} PRIMARY KEY)")
    return statements


# --- triggers: SQLite --------------------------------------------------------------------------


def _sqlite_upsert(table: str, bucket: str, width: int, row: str, sign: int, estimated: str) -> str:
    values = contributions(row, estimated)
    if sign < 0:
        values = [f"-({value})" for value in values]
    updates = ", ".join(f"{name} = {name} + excluded.{name}" for name in VALUES)
    return (
        f"INSERT INTO {table} ({bucket}, agent_id, model, {', '.join(VALUES)}) "
        f"VALUES (substr({row}.timestamp, 1, {width}), {row}.agent_id, {row}.model, {', '.join(values)}) "
        f"ON CONFLICT ({bucket}, agent_id, model) DO UPDATE SET {updates};"
    )


def _sqlite_apply(row: str, sign: int) -> str:
    estimated = f"EXISTS (SELECT 1 FROM {ESTIMATED} WHERE usage_id = {row}.id)"
    return " ".join(_sqlite_upsert(table, bucket, width, row, sign, estimated) for table, bucket, width in BUCKETS)


def sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in WATCHED)
    marker_moves = " ".join(
        f"UPDATE {table} SET "
        "estimated_cost = estimated_cost + coalesce((SELECT cost_estimate FROM token_usage WHERE id = new.usage_id), 0), "
        "estimated_requests = estimated_requests + 1 "
        f"WHERE ({bucket}, agent_id, model) = "
        f"(SELECT substr(timestamp, 1, {width}), agent_id, model FROM token_usage WHERE id = new.usage_id);"
        for table, bucket, width in BUCKETS
    )
    return [
        "CREATE TRIGGER IF NOT EXISTS server_usage_rollup_insert AFTER INSERT ON token_usage "
        f"BEGIN {_sqlite_apply('new', 1)} END",
        f"CREATE TRIGGER IF NOT EXISTS server_usage_rollup_update AFTER UPDATE OF {', '.join(WATCHED)} ON token_usage "
        f"WHEN {changed} BEGIN {_sqlite_apply('old', -1)} {_sqlite_apply('new', 1)} END",
        "CREATE TRIGGER IF NOT EXISTS server_usage_rollup_delete AFTER DELETE ON token_usage "
        f"BEGIN {_sqlite_apply('old', -1)} DELETE FROM {ESTIMATED} WHERE usage_id = old.id; END",
        f"CREATE TRIGGER IF NOT EXISTS server_usage_estimated_insert AFTER INSERT ON {ESTIMATED} "
        f"BEGIN {marker_moves} END",
    ]


# --- triggers: PostgreSQL ----------------------------------------------------------------------


def _postgres_apply_function() -> str:
    parameters = (
        "p_timestamp text, p_agent text, p_model text, p_input bigint, p_output bigint, p_cache_read bigint, "
        "p_cache_creation bigint, p_cost double precision, p_estimated boolean, p_sign integer"
    )
    inner = contributions("r", "r.estimated")
    # contributions() speaks of a row "r"; in the function the values are its parameters
    names = {
        "r.cost_estimate": "p_cost", "r.input_tokens": "p_input", "r.output_tokens": "p_output",
        "r.cache_read_tokens": "p_cache_read", "r.cache_creation_tokens": "p_cache_creation",
        "r.estimated": "p_estimated",
    }
    values = []
    for value in inner:
        for old, new in names.items():
            value = value.replace(old, new)
        values.append(f"p_sign * ({value})")
    body = []
    for table, bucket, width in BUCKETS:
        updates = ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in VALUES)
        body.append(
            f"INSERT INTO {table} AS t ({bucket}, agent_id, model, {', '.join(VALUES)}) "
            f"VALUES (substr(p_timestamp, 1, {width}), p_agent, p_model, {', '.join(values)}) "
            f"ON CONFLICT ({bucket}, agent_id, model) DO UPDATE SET {updates};"
        )
    return (
        f"CREATE OR REPLACE FUNCTION server_usage_apply({parameters}) RETURNS void LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  {chr(10).join(body)}\nEND\n$$"
    )


def _postgres_call(row: str, sign: int) -> str:
    return (
        f"PERFORM server_usage_apply({row}.timestamp, {row}.agent_id, {row}.model, {row}.input_tokens, "
        f"{row}.output_tokens, {row}.cache_read_tokens, {row}.cache_creation_tokens, {row}.cost_estimate, "
        f"EXISTS (SELECT 1 FROM {ESTIMATED} WHERE usage_id = {row}.id), {sign});"
    )


def postgres_triggers() -> list[str]:
    marker_moves = "\n    ".join(
        f"UPDATE {table} SET estimated_cost = estimated_cost + coalesce(r.cost_estimate, 0), "
        f"estimated_requests = estimated_requests + 1 "
        f"WHERE {bucket} = substr(r.timestamp, 1, {width}) AND agent_id = r.agent_id AND model = r.model;"
        for table, bucket, width in BUCKETS
    )
    return [
        _postgres_apply_function(),
        "CREATE OR REPLACE FUNCTION server_usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN {_postgres_call('OLD', -1)} END IF;\n"
        f"  IF TG_OP IN ('INSERT', 'UPDATE') THEN {_postgres_call('NEW', 1)} END IF;\n"
        f"  IF TG_OP = 'DELETE' THEN DELETE FROM {ESTIMATED} WHERE usage_id = OLD.id; END IF;\n"
        "  RETURN NULL;\n"
        "END\n$$",
        "CREATE OR REPLACE FUNCTION server_usage_estimated_added() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE r record;\n"
        "BEGIN\n"
        "  SELECT timestamp, agent_id, model, cost_estimate INTO r FROM token_usage WHERE id = NEW.usage_id;\n"
        f"  IF FOUND THEN\n    {marker_moves}\n  END IF;\n"
        "  RETURN NULL;\n"
        "END\n$$",
        "DROP TRIGGER IF EXISTS server_usage_rollup ON token_usage",
        f"CREATE TRIGGER server_usage_rollup AFTER INSERT OR DELETE OR UPDATE OF {', '.join(WATCHED)} "
        "ON token_usage FOR EACH ROW EXECUTE FUNCTION server_usage_rollup()",
        f"DROP TRIGGER IF EXISTS server_usage_estimated_added ON {ESTIMATED}",
        f"CREATE TRIGGER server_usage_estimated_added AFTER INSERT ON {ESTIMATED} "
        "FOR EACH ROW EXECUTE FUNCTION server_usage_estimated_added()",
    ]


def trigger_ddl(dialect: str) -> list[str]:
    return sqlite_triggers() if dialect == "sqlite" else postgres_triggers()


# --- rebuilding ----------------------------------------------------------------------------------


def rebuild_statements() -> list[str]:
    """Empty the rollups and sum them again from ``token_usage``: hours from the rows, days
    from the hours, months from the days."""
    sums = ", ".join(f"sum({value})" for value in contributions("t", "e.usage_id IS NOT NULL"))
    rolled = ", ".join(f"sum({name})" for name in VALUES)
    columns = ", ".join(VALUES)
    statements = [
        f"DELETE FROM {ESTIMATED} WHERE NOT EXISTS (SELECT 1 FROM token_usage t WHERE t.id = {ESTIMATED}.usage_id)",
        *(f"DELETE FROM {table}" for table, _, _ in BUCKETS),
        f"INSERT INTO {HOURLY} (hour, agent_id, model, {columns}) "
        f"SELECT substr(t.timestamp, 1, 13), t.agent_id, t.model, {sums} "
        f"FROM token_usage t LEFT JOIN {ESTIMATED} e ON e.usage_id = t.id "
        "GROUP BY substr(t.timestamp, 1, 13), t.agent_id, t.model",
    ]
    for (finer, finer_bucket, _), (table, bucket, width) in zip(BUCKETS, BUCKETS[1:]):
        statements.append(
            f"INSERT INTO {table} ({bucket}, agent_id, model, {columns}) "
            f"SELECT substr({finer_bucket}, 1, {width}), agent_id, model, {rolled} FROM {finer} "
            f"GROUP BY substr({finer_bucket}, 1, {width}), agent_id, model"
        )
    return statements


async def install(db: Database) -> None:
    """Tables, triggers and rollups built from the rows already there (inside a transaction)."""
    for statement in table_ddl(db.dialect):
        await db.execute(statement)
    for statement in trigger_ddl(db.dialect):
        await db.execute(statement)
    for statement in rebuild_statements():
        await db.execute(statement)
    if not db.is_sqlite:  # statistics for the planner now, not at autovacuum's next round
        for table, _, _ in BUCKETS:
            await db.execute(f"ANALYZE {table}")


class Rollups:
    """Checks that the triggers are in place and that the rollups count every row."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def triggers_present(self) -> bool:
        """One quick read: are all of this plugin's triggers there?"""
        if self.db.is_sqlite:
            names = ", ".join(f"'{name}'" for name in SQLITE_TRIGGERS)
            row = await self.db.fetch_point(
                f"SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})"
            )
            return int(row["n"]) == len(SQLITE_TRIGGERS)
        names = ", ".join(f"'{name}'" for name in POSTGRES_TRIGGERS)
        count = await self.db.fetch_value(
            f"SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname IN ({names})"
        )
        return int(count) == len(POSTGRES_TRIGGERS)

    async def counts_agree(self) -> bool:
        """The table's row count equals what each rollup counted."""
        counts = ", ".join(
            f"(SELECT coalesce(sum(requests), 0) FROM {table}) AS {bucket}" for table, bucket, _ in BUCKETS
        )
        row = await self.db.fetch_one(f"SELECT (SELECT count(*) FROM token_usage) AS table_rows, {counts}")
        return all(int(row[bucket]) == int(row["table_rows"]) for _, bucket, _ in BUCKETS)

    async def ensure(self) -> None:
        """Inside a write transaction: put lost triggers back and rebuild the rollups; one
        quick read when nothing is lost. Only SQLite can lose them while the server runs (the
        CLI rebuilding its table); PostgreSQL is checked at startup (:meth:`check_at_startup`).
        """
        if self.db.is_sqlite and not await self.triggers_present():
            log.warning("the usage rollup triggers were missing; rebuilding the rollups from token_usage")
            await install(self.db)

    async def check(self) -> None:
        """Outside a transaction: repair when triggers are lost; cheap when nothing is."""
        if self.db.is_sqlite and not await self.triggers_present():
            await self.repair()

    async def check_at_startup(self) -> None:
        """Repair lost triggers, and rollups that disagree with the table's row count."""
        if not await self.triggers_present() or not await self.counts_agree():
            await self.repair()

    async def repair(self) -> None:
        """Reinstall the triggers and rebuild the rollups, in one transaction (a server that
        finds the work done meanwhile by another does nothing)."""
        async with self.db.transaction():
            await self.db.serialise("crosslink.usage.rollup")
            if await self.triggers_present() and await self.counts_agree():
                return
            log.warning("the usage rollups were incomplete (lost triggers, or rows copied in with them); "
                        "rebuilding them from token_usage")
            await install(self.db)
