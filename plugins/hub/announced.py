"""What a hub watcher last announced, kept in the database so that every change is announced once.

A watcher (the agents plugin's heartbeats, the locks plugin's hub locks) turns the difference
between what it sees now and what it announced before into events. Kept in memory, that
"before" would be per process: two instances of a team server would each announce every change,
and a restarted server would forget what it had said. Kept here, in one row of the plugin's own
table, and read and written inside the transaction that publishes the events (serialised with
:meth:`kernel.storage.database.Database.serialise`), exactly one transaction announces each
change, whichever instance runs it, and a restarted server announces what changed while it was
down.

The stored state also records which checkout it was read from (``origin``: host and path) and
that checkout's HEAD. An instance on another host whose checkout does not yet contain that
commit (it has not fetched it) must not announce its older view as a change back:
:func:`view_is_behind` says when to leave the hub part of the state alone.

The table is the plugin's (its migrations create it with :func:`state_table_migration`); the
first time, when there is no row, the state is recorded without announcing anything (the state
at startup is not news).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kernel import Migration
from kernel.timeutil import to_db

from .git import check_commit_id

if TYPE_CHECKING:
    from kernel.storage.database import Database

    from .owner import HubOwner


def state_table_migration(name: str, table: str) -> Migration:
    """The migration creating ``table(name TEXT PRIMARY KEY, state TEXT, updated_at TEXT)``."""
    statement = (
        f"CREATE TABLE {table} (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    return Migration(name, sqlite=[statement], postgres=[statement])


class AnnouncedState:
    """One named JSON document in ``table``; use :meth:`load` and :meth:`save` inside one
    ``kernel.db.transaction()`` after :meth:`lock`."""

    def __init__(self, db: Database, table: str, name: str) -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table!r}")
        self.db = db
        self.table = table
        self.name = name

    async def lock(self) -> None:
        """Wait for other transactions announcing the same state (a no-op on SQLite, where
        every write transaction already excludes the others)."""
        await self.db.serialise(self.table, self.name)

    async def load(self) -> dict[str, Any] | None:
        """The stored document, or ``None`` when nothing was announced yet."""
        row = await self.db.fetch_one(f"SELECT state FROM {self.table} WHERE name = ?", (self.name,))
        if row is None:
            return None
        try:
            value = json.loads(row["state"])
        except (TypeError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    async def save(self, state: dict[str, Any], now) -> None:
        """Store ``state`` (replacing the previous one)."""
        await self.db.execute(
            f"""INSERT INTO {self.table} (name, state, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at""",
            (self.name, json.dumps(state, sort_keys=True), to_db(now)),
        )


async def view_is_behind(hub: HubOwner, stored: dict[str, Any] | None, head: str | None) -> bool:
    """True when the stored state was read from another checkout whose HEAD this checkout does
    not contain: this instance has not fetched what was announced, and its view is older."""
    if not stored:
        return False
    origin, stored_head = stored.get("origin"), check_commit_id(stored.get("head"))
    if origin in (None, hub.origin) or stored_head is None or stored_head == head:
        return False
    if head is None:
        return True
    return not await hub.hub.contains(stored_head)
