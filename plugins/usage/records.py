"""Rows of the CLI's ``token_usage`` table: writing them as the CLI does, reading them back.

A row is written with the CLI's columns and timestamp format (``to_db``: UTC, ``+00:00``,
microseconds), so the crosslink CLI reads it as its own. Costs the server estimated are marked
in ``server_usage_estimated`` (the CLI's table has no place for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.api import to_api

from .prices import PriceTable
from .rollup import ESTIMATED
from .summary import Filters, raw_conditions, time_column

if TYPE_CHECKING:
    from kernel.storage.database import Database

COLUMNS = ("agent_id", "session_id", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_creation_tokens", "model", "cost_estimate")
#: Rows per INSERT statement (9 parameters each, well under SQLite's oldest limit of 999).
INSERT_CHUNK = 100
IN_CHUNK = 500


@dataclass(frozen=True)
class NewRow:
    """A row about to be inserted, its cost already settled (``estimated``: by the server)."""

    agent_id: str
    session_id: int | None
    timestamp: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int | None
    cache_creation_tokens: int | None
    model: str
    cost_estimate: float | None
    estimated: bool

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in COLUMNS]


def chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Records:
    """Insert and list ``token_usage`` rows."""

    def __init__(self, db: Database, prices: PriceTable) -> None:
        self.db = db
        self.prices = prices

    def shape(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row as the API answers it; a row stored without a cost is priced now if possible."""
        cost = row["cost_estimate"]
        source = None
        if cost is not None:
            cost = float(cost)
            source = "estimated" if row.get("estimated") else "reported"
        else:
            cost = self.prices.estimate(row["model"], int(row["input_tokens"] or 0), int(row["output_tokens"] or 0),
                                        int(row["cache_read_tokens"] or 0), int(row["cache_creation_tokens"] or 0))
            source = None if cost is None else "estimated"
        return {
            "id": int(row["id"]),
            "agent_id": row["agent_id"],
            "session_id": None if row["session_id"] is None else int(row["session_id"]),
            "timestamp": to_api(row["timestamp"]),
            "input_tokens": int(row["input_tokens"]),
            "output_tokens": int(row["output_tokens"]),
            "cache_read_tokens": None if row["cache_read_tokens"] is None else int(row["cache_read_tokens"]),
            "cache_creation_tokens": None if row["cache_creation_tokens"] is None else int(row["cache_creation_tokens"]),
            "model": row["model"],
            "cost_estimate": cost,
            "cost_source": source,
        }

    async def missing_sessions(self, session_ids: set[int]) -> set[int]:
        """Those of ``session_ids`` that no row of ``sessions`` has."""
        wanted, found = sorted(session_ids), set()
        for chunk in chunks(wanted, IN_CHUNK):
            rows = await self.db.fetch_all(
                f"SELECT id FROM sessions WHERE id IN ({', '.join('?' for _ in chunk)})", chunk
            )
            found |= {int(r["id"]) for r in rows}
        return session_ids - found

    async def insert(self, rows: Sequence[NewRow]) -> list[int]:
        """Insert ``rows`` (inside the caller's transaction); their new ids, in the same order.

        The ids follow the order of ``rows``. On PostgreSQL a batch of several agents or models
        reserves its ids first and then writes the rows sorted by agent and model, so that two
        concurrent batches update the rollup rows (through the triggers) in one order and cannot
        deadlock; SQLite has one writer at a time.
        """
        if self.db.is_sqlite or len({(row.agent_id, row.model) for row in rows}) == 1:
            ids = await self._insert(rows)  # one rollup row per level: no order to keep
        else:
            reserved = await self.db.fetch_all(
                "SELECT nextval(pg_get_serial_sequence('token_usage', 'id')) AS id FROM generate_series(1, ?)",
                [len(rows)],
            )
            ids = sorted(int(r["id"]) for r in reserved)
            order = sorted(range(len(rows)), key=lambda i: (rows[i].agent_id, rows[i].model, i))
            await self._insert([rows[i] for i in order], [ids[i] for i in order])
        marked = sorted((row.agent_id, row.model, usage_id) for usage_id, row in zip(ids, rows) if row.estimated)
        for chunk in chunks([usage_id for _, _, usage_id in marked], INSERT_CHUNK):
            await self.db.execute(
                f"INSERT INTO {ESTIMATED} (usage_id) VALUES {', '.join('(?)' for _ in chunk)}", chunk
            )
        return ids

    async def _insert(self, rows: Sequence[NewRow], ids: Sequence[int] | None = None) -> list[int]:
        columns = (("id",) if ids is not None else ()) + COLUMNS
        placeholders = "(" + ", ".join("?" for _ in columns) + ")"
        returned_ids: list[int] = []
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start:start + INSERT_CHUNK]
            params = []
            for offset, row in enumerate(chunk):
                if ids is not None:
                    params.append(ids[start + offset])
                params += row.values()
            returned = await self.db.fetch_all(
                f"INSERT INTO token_usage ({', '.join(columns)}) VALUES "
                f"{', '.join(placeholders for _ in chunk)} RETURNING id",
                params,
            )
            # SQLite numbers the rows of a multi-row insert in row order
            returned_ids += sorted(int(r["id"]) for r in returned)
        return returned_ids

    async def page(self, start: datetime | None, end: datetime | None, filters: Filters,
                   limit: int, offset: int) -> list[dict[str, Any]]:
        """One page of rows, newest first (timestamp, then id, descending)."""
        conditions, params = raw_conditions(self.db, (start, end), filters)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        column = time_column(self.db, "t.timestamp")
        rows = await self.db.fetch_all(
            f"SELECT t.id, {', '.join(f't.{c}' for c in COLUMNS)}, "
            f"(SELECT 1 FROM {ESTIMATED} e WHERE e.usage_id = t.id) AS estimated "
            f"FROM token_usage t{where} ORDER BY {column} DESC, t.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [self.shape(row) for row in rows]

    async def count(self, start: datetime | None, end: datetime | None, filters: Filters) -> int:
        """Rows matching, counted in the table (used for a session's rows)."""
        conditions, params = raw_conditions(self.db, (start, end), filters)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return int(await self.db.fetch_value(f"SELECT count(*) FROM token_usage t{where}", params))
