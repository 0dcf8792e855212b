"""Sessions: the domain logic behind the routes and the ``sessions`` service.

Every session belongs to one agent (``agent_id``), or to no agent (``agent_id IS NULL``, as the
crosslink CLI writes it without ``.crosslink/agent.json``); every operation is scoped to exactly
one of those, so an agent never reads, ends or steers another agent's session. "Current" is the
agent's open session (``ended_at IS NULL``) with the highest id, as the CLI picks it.

Every write runs in ``kernel.db.transaction()``: ``BEGIN IMMEDIATE`` on SQLite (one writer at a
time, the CLI included), and on PostgreSQL a transaction-scoped advisory lock keyed on the
agent is taken first, so the check-then-write of ``start`` (and of end, work, action) is
serialised per agent and two concurrent starts never open two sessions. Events are published
inside the transaction; the kernel sends them after the commit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kernel.api import APIError, Conflict, IntegrityError, NotFound, to_api

from .events import SessionChanged
from .models import Session

if TYPE_CHECKING:
    from kernel.app import Kernel

log = logging.getLogger("crosslink.sessions")

COLUMNS = ("id", "started_at", "ended_at", "active_issue_id", "handoff_notes", "last_action", "agent_id")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM sessions"
RETURNING = ", ".join(COLUMNS)

#: The namespace this plugin serialises its writes on, per agent (kernel.db.serialise).
LOCK_NAMESPACE = "crosslink.sessions"


def shape(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API answers it: every key present, timestamps RFC 3339 ``Z``."""
    return {
        "id": int(row["id"]),
        "started_at": to_api(row["started_at"]),
        "ended_at": to_api(row["ended_at"]),
        "active_issue_id": None if row["active_issue_id"] is None else int(row["active_issue_id"]),
        "handoff_notes": row["handoff_notes"],
        "last_action": row["last_action"],
        "agent_id": row["agent_id"],
    }


def format_issue_id(issue_id: int) -> str:
    """As the CLI shows ids: ``#42``, and ``L1`` for the offline issue ``-1``."""
    return f"L{-issue_id}" if issue_id < 0 else f"#{issue_id}"


def whose(agent_id: str | None) -> str:
    return f"agent '{agent_id}'" if agent_id is not None else "no agent_id (sessions whose agent_id is null)"


def _scope(agent_id: str | None) -> tuple[str, list[Any]]:
    """The WHERE condition selecting exactly this agent's sessions (NULL-safe on both dialects)."""
    if agent_id is None:
        return "agent_id IS NULL", []
    return "agent_id = ?", [agent_id]


class SessionsService:
    """Agent work sessions; also the object other plugins get as ``services.get("sessions")``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.db = kernel.db

    # --- helpers -----------------------------------------------------------------------------

    @property
    def _issues(self) -> Any:
        return self.kernel.services.require("issues")

    def _emit(self, row: dict[str, Any], action: str) -> None:
        self.kernel.publish(
            SessionChanged(
                session_id=int(row["id"]),
                agent_id=row["agent_id"],
                action=action,
                active_issue_id=None if row["active_issue_id"] is None else int(row["active_issue_id"]),
            )
        )

    async def _serialise(self, agent_id: str | None) -> None:
        """Inside a transaction: wait for the agent's other session writes (PostgreSQL).

        On SQLite the transaction's ``BEGIN IMMEDIATE`` already excludes every other writer.
        """
        # '' is never a valid agent_id, so it stands for the sessions without an agent.
        await self.db.serialise(LOCK_NAMESPACE, agent_id or "")

    async def _current_row(self, agent_id: str | None) -> dict[str, Any] | None:
        where, params = _scope(agent_id)
        return await self.db.fetch_one(
            f"{SELECT} WHERE ended_at IS NULL AND {where} ORDER BY id DESC LIMIT 1", params
        )

    async def _last_ended_row(self, agent_id: str | None) -> dict[str, Any] | None:
        where, params = _scope(agent_id)
        return await self.db.fetch_one(
            f"{SELECT} WHERE ended_at IS NOT NULL AND {where} ORDER BY id DESC LIMIT 1", params
        )

    def _no_session(self, agent_id: str | None, status: int) -> APIError:
        detail = f"No active session for {whose(agent_id)}"
        if status == 409:
            return Conflict(detail + "; call POST /api/v1/sessions/start first")
        return NotFound(detail)

    # --- reading -----------------------------------------------------------------------------

    async def current(self, agent_id: str | None) -> dict[str, Any] | None:
        """The agent's current session (its newest open one), or ``None``."""
        row = await self._current_row(agent_id)
        return None if row is None else shape(row)

    async def last_handoff_notes(self, agent_id: str | None) -> str | None:
        """The handoff notes of the agent's last ended session (``None`` when none)."""
        row = await self._last_ended_row(agent_id)
        return None if row is None else row["handoff_notes"]

    async def history(
        self, agent_id: str | None, *, status: str = "all", limit: int = 20, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """The agent's sessions, newest first; and how many there are in all."""
        query = Session.filter(agent_id=agent_id) if agent_id is not None else Session.filter(agent_id__isnull=True)
        if status == "active":
            query = query.filter(ended_at__isnull=True)
        elif status == "ended":
            query = query.filter(ended_at__isnull=False)
        rows = await query.order_by("-id").offset(offset).limit(limit).values(*COLUMNS)
        if len(rows) < limit and (rows or not offset):
            return [shape(row) for row in rows], offset + len(rows)
        return [shape(row) for row in rows], await query.count()

    async def agents(self, limit: int = 100) -> list[str | None]:
        """The agents that have sessions, most recently started first (``None``: no agent)."""
        rows = await self.db.fetch_all(
            "SELECT agent_id, max(id) AS newest FROM sessions GROUP BY agent_id ORDER BY newest DESC LIMIT ?",
            [limit],
        )
        return [row["agent_id"] for row in rows]

    async def open_sessions(self, limit: int = 100) -> list[dict[str, Any]]:
        """Every agent's open sessions, newest first (at most ``limit``)."""
        rows = await self.db.fetch_all(f"{SELECT} WHERE ended_at IS NULL ORDER BY id DESC LIMIT ?", [limit])
        return [shape(row) for row in rows]

    # --- writing -----------------------------------------------------------------------------

    async def start(self, agent_id: str | None) -> tuple[dict[str, Any], bool, str | None]:
        """Start a session unless the agent has one: ``(session, created, previous notes)``."""
        async with self.db.transaction():
            await self._serialise(agent_id)
            row = await self._current_row(agent_id)
            created = row is None
            if created:
                row = await self.db.fetch_one(
                    f"INSERT INTO sessions (started_at, agent_id) VALUES (?, ?) RETURNING {RETURNING}",
                    [self.kernel.clock.stored_now(), agent_id],
                )
                self._emit(row, "started")
            previous = await self._last_ended_row(agent_id)
        return shape(row), created, None if previous is None else previous["handoff_notes"]

    async def end(self, agent_id: str | None, notes: str | None) -> dict[str, Any]:
        """End the agent's current session; ``notes`` (when not ``None``) become its handoff notes.

        Open sessions of the same agent older than the current one (left by the CLI, or by
        servers that allowed several) are ended with it, their notes untouched, so that the
        agent has no current session afterwards. 404 when the agent has no open session.
        """
        where, params = _scope(agent_id)
        async with self.db.transaction():
            await self._serialise(agent_id)
            open_ids = [
                int(r["id"])
                for r in await self.db.fetch_all(
                    f"SELECT id FROM sessions WHERE ended_at IS NULL AND {where} ORDER BY id DESC", params
                )
            ]
            if not open_ids:
                raise self._no_session(agent_id, 404)
            now = self.kernel.clock.stored_now()
            if notes is None:
                sql, values = "UPDATE sessions SET ended_at = ?", [now]
            else:
                sql, values = "UPDATE sessions SET ended_at = ?, handoff_notes = ?", [now, notes]
            current = await self.db.fetch_one(
                f"{sql} WHERE id = ? AND ended_at IS NULL RETURNING {RETURNING}", [*values, open_ids[0]]
            )
            self._emit(current, "ended")
            for older in open_ids[1:]:
                row = await self.db.fetch_one(
                    f"UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL RETURNING {RETURNING}",
                    [now, older],
                )
                self._emit(row, "ended")
        return shape(current)

    async def work(self, agent_id: str | None, issue_id: int, action: str | None = None) -> dict[str, Any]:
        """Point the agent's current session at an issue and record the breadcrumb.

        404 when the issue does not exist (checked first, as the original server did); 409 when
        the agent has no open session.
        """
        try:
            async with self.db.transaction():
                await self._serialise(agent_id)
                issue = await self._issues.get(issue_id)
                if issue is None:
                    raise NotFound(f"Issue #{issue_id} does not exist")
                row = await self._current_row(agent_id)
                if row is None:
                    raise self._no_session(agent_id, 409)
                if action is None:
                    action = f"Working on {format_issue_id(issue_id)}: {issue['title']}"
                row = await self.db.fetch_one(
                    f"UPDATE sessions SET active_issue_id = ?, last_action = ? WHERE id = ? RETURNING {RETURNING}",
                    [issue_id, action, row["id"]],
                )
                self._emit(row, "work")
        except IntegrityError:
            # The issue was deleted between the check and the write (PostgreSQL's foreign key).
            raise NotFound(f"Issue #{issue_id} does not exist") from None
        return shape(row)

    async def record_action(
        self, agent_id: str | None, action: str, *, comment: bool = False
    ) -> tuple[dict[str, Any], int | None]:
        """Record a breadcrumb in the agent's current session: ``(session, comment id)``.

        With ``comment``, ``[action] <text>`` is also added as a note comment on the session's
        active issue (after the session is updated; skipped when there is no active issue or
        the issue has gone). 409 when the agent has no open session.
        """
        async with self.db.transaction():
            await self._serialise(agent_id)
            row = await self._current_row(agent_id)
            if row is None:
                raise self._no_session(agent_id, 409)
            row = await self.db.fetch_one(
                f"UPDATE sessions SET last_action = ? WHERE id = ? RETURNING {RETURNING}", [action, row["id"]]
            )
            self._emit(row, "action")
        session = shape(row)
        comment_id = None
        if comment and session["active_issue_id"] is not None:
            try:
                comment_id = await self._issues.add_comment(
                    session["active_issue_id"], f"[action] {action}", "note", author=agent_id
                )
            except APIError as exc:
                if exc.status != 404:
                    raise
                log.info("issue #%s is gone; breadcrumb not commented", session["active_issue_id"])
        return session, comment_id
