"""What the sync plugin remembers in ``server_sync_state``: the last contacts with the remote.

``last_fetch_at`` is the time of the last *successful* fetch (by a sync request, the auto-sync
worker, or any other hub operation that fetched, such as a write's retry), not a directory's
modification time; it survives restarts and is the same on every instance of a team server.
``remote_reachable`` and ``remote_has_hub`` are as of the last attempt. The last error stays
until another one replaces it (the last result says whether the latest operation succeeded).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.timeutil import to_api, to_db
from plugins.hub import RemoteContact

if TYPE_CHECKING:
    from kernel.storage.database import Database


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


class SyncState:
    """Reads and updates the one row of ``server_sync_state``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record_contact(self, contact: RemoteContact) -> None:
        """One attempt to reach the remote."""
        at = to_db(contact.at)
        sets = [
            "remote = ?", "last_attempt_at = ?", "last_operation = ?", "remote_configured = ?",
            "remote_reachable = ?",
        ]
        values: list[Any] = [contact.remote, at, contact.operation, int(contact.configured), int(contact.reachable)]
        if contact.has_hub is not None:
            sets.append("remote_has_hub = ?")
            values.append(_flag(contact.has_hub))
        if contact.fetched:
            sets.append("last_fetch_at = ?")
            values.append(at)
        if contact.pushed:
            sets.append("last_push_at = ?")
            values.append(at)
        async with self.db.transaction():
            await self.db.execute(f"UPDATE server_sync_state SET {', '.join(sets)} WHERE id = 1", values)

    async def record_result(self, operation: str, message: str, at: datetime) -> None:
        """An operation that succeeded."""
        async with self.db.transaction():
            await self.db.execute(
                """UPDATE server_sync_state SET last_result_operation = ?, last_result_success = 1,
                   last_result_message = ?, last_result_at = ? WHERE id = 1""",
                (operation, message, to_db(at)),
            )

    async def record_error(self, operation: str, status: int, detail: str, at: datetime) -> None:
        """An operation that failed (its API error)."""
        async with self.db.transaction():
            await self.db.execute(
                """UPDATE server_sync_state SET last_error = ?, last_error_status = ?, last_error_operation = ?,
                   last_error_at = ?, last_result_operation = ?, last_result_success = 0, last_result_message = ?,
                   last_result_at = ? WHERE id = 1""",
                (detail, status, operation, to_db(at), operation, detail, to_db(at)),
            )

    async def load(self) -> dict[str, Any]:
        """The stored state in the API's form (timestamps with ``Z``, flags as booleans)."""
        row = await self.db.fetch_one("SELECT * FROM server_sync_state WHERE id = 1") or {}
        error = None
        if row.get("last_error"):
            error = {
                "operation": row.get("last_error_operation"),
                "status": row.get("last_error_status"),
                "detail": row.get("last_error"),
                "at": to_api(row.get("last_error_at")),
            }
        result = None
        if row.get("last_result_operation"):
            result = {
                "operation": row.get("last_result_operation"),
                "success": bool(row.get("last_result_success")),
                "message": row.get("last_result_message"),
                "at": to_api(row.get("last_result_at")),
            }
        return {
            "last_fetch_at": to_api(row.get("last_fetch_at")),
            "last_push_at": to_api(row.get("last_push_at")),
            "last_attempt_at": to_api(row.get("last_attempt_at")),
            "last_attempt_remote": row.get("remote"),
            "remote_reachable": _bool(row.get("remote_reachable")),
            "remote_has_hub": _bool(row.get("remote_has_hub")),
            "last_error": error,
            "last_result": result,
        }
