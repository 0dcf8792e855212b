"""The locks domain: the hub's locks, the server's atomic locks, one staleness rule.

Effective lock of an issue: the newer claim of the hub's lock and the server's lock (the
server's on a tie).

**Through the hub.** On a repository whose hub is in use, a claim, release or steal is first
written to the hub as the CLI writes it (:mod:`.hubwrites`: the remote integrated, V1
``locks.json`` or V2 lock events and compaction, committed and pushed under the CLI's write
lock) and refused when the hub shows another live holder; only then is the server's row (with
its fencing token) written, with the hub's claim time, so both say the same. The hub watcher
(:mod:`.tracker`) announces the hub change as ``lock_changed``. Without a hub in use, locks live
in the database only and nothing is written to git.

Atomicity: a claim is one conditional write, ``INSERT ... ON CONFLICT (issue_id) DO NOTHING``,
inside ``kernel.db.transaction()``; taking over a stale lock is one conditional ``UPDATE ...
WHERE issue_id = ? AND agent_id = ? AND token = ?``. Exactly one of many concurrent callers
wins on SQLite (``BEGIN IMMEDIATE``) and on PostgreSQL (the unique key, and the row lock of the
conditional update). The winner takes the next fencing token from a one-row counter, updated
in the same transaction, so tokens grow in commit order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel.api import APIError, Conflict, NotFound
from kernel.timeutil import parse, to_api, to_db
from plugins.hub import (
    Lock,
    LockStaleness,
    get_hub,
    lock_staleness,
    read_heartbeats,
    read_locks,
)

from .config import LocksConfig
from .events import LockChanged
from .hubwrites import HeldByOther, HubLockWriter, HubWrite, check_cli_agent_id

if TYPE_CHECKING:
    from kernel.app import Kernel

log = logging.getLogger("crosslink.locks")

#: How often a claim or steal re-reads the state when it lost a race in between.
MAX_ATTEMPTS = 5

_SELECT = "SELECT issue_id, agent_id, branch, claimed_at, token FROM server_locks"


def _lock_from_row(row: dict[str, Any]) -> Lock:
    return Lock(
        issue_id=int(row["issue_id"]),
        agent_id=row["agent_id"],
        claimed_at=parse(row["claimed_at"]) or datetime.fromtimestamp(0, UTC),
        branch=row["branch"],
        signed_by=None,
        source="server",
        token=int(row["token"]),
    )


def effective_lock(hub_lock: Lock | None, server_lock: Lock | None) -> Lock | None:
    """The lock that counts for an issue: the newer claim (the server's on a tie)."""
    if hub_lock is None or server_lock is None:
        return server_lock or hub_lock
    return hub_lock if hub_lock.claimed_at > server_lock.claimed_at else server_lock


class LocksService:
    """What the routes, the watcher and other plugins (``"locks"``) use."""

    def __init__(self, kernel: Kernel, config: LocksConfig) -> None:
        self.kernel = kernel
        self.config = config
        #: The server's one owner of the hub checkout (shared with the other hub plugins).
        self.owner = get_hub(kernel)
        #: The hub checkout of the main working tree (where the CLI keeps it).
        self.hub: Path = self.owner.hub.path
        #: Set by the plugin at startup; forced scans of the hub go through it.
        self.tracker = None
        #: Writes the API's claims, releases and steals to the hub when it is in use.
        self.hub_writer = HubLockWriter(kernel, self.owner)

    def writes_through_hub(self) -> bool:
        """Claims, releases and steals are written to the hub (it is in use), not only to the database."""
        return self.hub_writer.active()

    # --- configuration ---------------------------------------------------------------------

    @property
    def timeout_minutes(self) -> int:
        """``stale_lock_timeout_minutes`` from hook-config.json (default 30)."""
        return self.kernel.hook_config.stale_lock_timeout_minutes

    def auto_steal_multiplier(self) -> int | None:
        """hook-config.json's auto-steal multiplier, read as ``GET /config`` reads it."""
        return self.kernel.hook_config.auto_steal_multiplier()

    # --- reading ---------------------------------------------------------------------------

    async def hub_locks(self) -> dict[int, Lock]:
        return await asyncio.to_thread(read_locks, self.hub)

    async def server_locks(self) -> dict[int, Lock]:
        rows = await self.kernel.db.fetch_all(_SELECT)
        return {lock.issue_id: lock for lock in map(_lock_from_row, rows)}

    async def server_lock(self, issue_id: int) -> Lock | None:
        row = await self.kernel.db.fetch_one(f"{_SELECT} WHERE issue_id = ?", (issue_id,))
        return None if row is None else _lock_from_row(row)

    async def heartbeats(self) -> dict[str, datetime]:
        """Each agent's newest heartbeat time: the agents service's (hub + server) when that
        plugin is enabled, the hub's otherwise."""
        agents = self.kernel.services.get("agents")
        if agents is not None:
            beats = await agents.latest_heartbeats()
        else:
            beats = await asyncio.to_thread(read_heartbeats, self.hub)
        return {agent_id: beat.timestamp for agent_id, beat in beats.items()}

    async def staleness(self, lock: Lock, heartbeats: dict[str, datetime] | None = None) -> LockStaleness:
        beats = await self.heartbeats() if heartbeats is None else heartbeats
        return lock_staleness(lock.claimed_at, beats.get(lock.agent_id), self.kernel.clock.now(), self.timeout_minutes)

    async def held_locks(self) -> list[Lock]:
        """Every effective lock (hub and server merged per issue), by issue id.

        Part of the ``locks`` service contract: the agents plugin lists an agent's locks here.
        """
        hub, server = await self.hub_locks(), await self.server_locks()
        merged = (effective_lock(hub.get(i), server.get(i)) for i in sorted(set(hub) | set(server)))
        return [lock for lock in merged if lock is not None]

    def entry(self, lock: Lock, heartbeats: dict[str, datetime], now: datetime | None = None) -> dict[str, Any]:
        """The API form of a lock (``LockEntry``) under the one staleness rule."""
        verdict = lock_staleness(
            lock.claimed_at, heartbeats.get(lock.agent_id), now or self.kernel.clock.now(), self.timeout_minutes
        )
        return {
            "issue_id": lock.issue_id,
            "agent_id": lock.agent_id,
            "branch": lock.branch,
            "claimed_at": to_api(lock.claimed_at),
            "signed_by": lock.signed_by,
            "age_seconds": verdict.age_seconds,
            "is_stale": verdict.is_stale,
            "source": lock.source,
            "fencing_token": lock.token,
        }

    async def list_locks(self) -> list[dict[str, Any]]:
        """Every lock as a ``LockEntry``, by issue id (the sync plugin counts these)."""
        locks = await self.held_locks()
        heartbeats = await self.heartbeats()
        now = self.kernel.clock.now()
        return [self.entry(lock, heartbeats, now) for lock in locks]

    async def stale_locks(self) -> list[dict[str, Any]]:
        return [entry for entry in await self.list_locks() if entry["is_stale"]]

    async def get_lock(self, issue_id: int) -> dict[str, Any] | None:
        lock = effective_lock((await self.hub_locks()).get(issue_id), await self.server_lock(issue_id))
        return None if lock is None else self.entry(lock, await self.heartbeats())

    # --- writing ---------------------------------------------------------------------------

    async def _require_issue(self, issue_id: int) -> None:
        if not await self.kernel.services.require("issues").exists(issue_id):
            raise NotFound(f"Issue #{issue_id} does not exist")

    def _conflict(self, lock: Lock, verdict: LockStaleness, detail: str | None = None) -> APIError:
        where = "on the server" if lock.source == "server" else "in the hub"
        return Conflict(
            detail or f"Issue #{lock.issue_id} is locked by agent '{lock.agent_id}' ({where})"
            + (" and the lock is stale: steal it with POST /api/v1/locks/"
               f"{lock.issue_id}/steal" if verdict.is_stale else ""),
            holder=lock.agent_id,
            stale=verdict.is_stale,
            source=lock.source,
        )

    def _auto_steal_allows(self, verdict: LockStaleness) -> bool:
        multiplier = self.auto_steal_multiplier()
        return (
            verdict.is_stale
            and multiplier is not None
            and verdict.silent_seconds >= multiplier * self.timeout_minutes * 60
        )

    async def _next_token(self) -> int:
        row = await self.kernel.db.fetch_one(
            "UPDATE server_lock_counter SET value = value + 1 WHERE id = 1 RETURNING value"
        )
        return int(row["value"])

    def _publish(self, issue_id: int, action: str, agent_id: str) -> None:
        self.kernel.publish(LockChanged(issue_id=issue_id, action=action, agent_id=agent_id))

    async def _insert(self, issue_id: int, agent_id: str, branch: str | None, previous: Lock | None, *,
                      now: datetime | None = None, publish: bool = True) -> Lock | None:
        """Claim a free issue: one conditional insert. ``None`` when another lock exists.

        ``publish=False`` when the claim was written to the hub: the hub watcher announces it."""
        now = now or self.kernel.clock.now()
        async with self.kernel.db.transaction():
            row = await self.kernel.db.fetch_one(
                """INSERT INTO server_locks (issue_id, agent_id, branch, claimed_at, token)
                   VALUES (?, ?, ?, ?, 0) ON CONFLICT (issue_id) DO NOTHING RETURNING issue_id""",
                (issue_id, agent_id, branch, to_db(now)),
            )
            if row is None:
                return None
            token = await self._next_token()
            await self.kernel.db.execute("UPDATE server_locks SET token = ? WHERE issue_id = ?", (token, issue_id))
            if publish:
                if previous is not None:
                    self._publish(issue_id, "released", previous.agent_id)
                self._publish(issue_id, "claimed", agent_id)
        return Lock(issue_id, agent_id, now, branch, None, "server", token)

    async def _replace(self, current: Lock, agent_id: str, branch: str | None, previous: Lock, *,
                       now: datetime | None = None, publish: bool = True) -> Lock | None:
        """Take over the server lock ``current``: one conditional update on its holder and
        token. ``None`` when it changed in between. ``previous`` is announced as released.

        Like :meth:`_insert`, the lock row is written before the counter row, so concurrent
        claims always take the two row locks in the same order (no deadlock on PostgreSQL).
        """
        now = now or self.kernel.clock.now()
        async with self.kernel.db.transaction():
            row = await self.kernel.db.fetch_one(
                """UPDATE server_locks SET agent_id = ?, branch = ?, claimed_at = ?
                   WHERE issue_id = ? AND agent_id = ? AND token = ? RETURNING issue_id""",
                (agent_id, branch, to_db(now), current.issue_id, current.agent_id, current.token),
            )
            if row is None:
                return None
            token = await self._next_token()
            await self.kernel.db.execute(
                "UPDATE server_locks SET token = ? WHERE issue_id = ?", (token, current.issue_id)
            )
            if publish:
                self._publish(current.issue_id, "released", previous.agent_id)
                self._publish(current.issue_id, "claimed", agent_id)
        return Lock(current.issue_id, agent_id, now, branch, None, "server", token)

    async def _take_over(self, issue_id: int, agent_id: str, branch: str | None, victim: Lock, server: Lock | None,
                         **options) -> Lock | None:
        """Replace ``victim`` (server or hub lock) by a server lock of ``agent_id``."""
        if server is not None:
            return await self._replace(server, agent_id, branch, previous=victim, **options)
        return await self._insert(issue_id, agent_id, branch, previous=victim, **options)

    async def claim(self, issue_id: int, agent_id: str, branch: str | None = None) -> tuple[dict[str, Any], bool]:
        """Claim ``issue_id`` for ``agent_id``: ``(lock entry, newly claimed)``.

        Claiming a lock one already holds answers it unchanged (same token). A lock held by
        another agent is a 409 naming the holder, unless it is stale and hook-config's
        ``auto_steal_stale_locks`` multiplier says it has been stale long enough, in which case
        it is taken over and the take-over recorded on the issue.

        On a repository whose hub is in use the claim is written to the hub first
        (:meth:`_claim_through_hub`) and the entry carries what happened there (``hub``).
        """
        await self._require_issue(issue_id)
        if self.hub_writer.active():
            return await self._claim_through_hub(issue_id, agent_id, branch)
        for _ in range(MAX_ATTEMPTS):
            hub_lock = (await self.hub_locks()).get(issue_id)
            server = await self.server_lock(issue_id)
            current = effective_lock(hub_lock, server)
            if current is not None and current.agent_id != agent_id:
                verdict = await self.staleness(current)
                if not self._auto_steal_allows(verdict):
                    raise self._conflict(current, verdict)
                taken = await self._take_over(issue_id, agent_id, branch, current, server)
                if taken is not None:
                    await self._record_steal(taken, current, verdict, automatic=True)
                    return self.entry(taken, await self.heartbeats()), True
                continue
            if server is not None and server.agent_id == agent_id:
                return self.entry(server, await self.heartbeats()), False
            if server is not None:
                # an older server lock of another agent, superseded by this agent's hub claim
                taken = await self._replace(server, agent_id, branch, previous=server)
            else:
                taken = await self._insert(issue_id, agent_id, branch, previous=None)
            if taken is not None:
                return self.entry(taken, await self.heartbeats()), True
            # lost a race (someone wrote in between): look again; it may even be our own claim
        raise Conflict(f"The lock on issue #{issue_id} kept changing; try again")

    async def steal(self, issue_id: int, agent_id: str, branch: str | None = None) -> tuple[dict[str, Any], bool]:
        """Take a *stale* lock over (409 when it is not stale); recorded on the issue."""
        await self._require_issue(issue_id)
        if self.hub_writer.active():
            return await self._steal_through_hub(issue_id, agent_id, branch)
        for _ in range(MAX_ATTEMPTS):
            hub_lock = (await self.hub_locks()).get(issue_id)
            server = await self.server_lock(issue_id)
            current = effective_lock(hub_lock, server)
            if current is None:
                raise NotFound(f"Issue #{issue_id} is not locked; claim it instead")
            if current.agent_id == agent_id:
                return await self.claim(issue_id, agent_id, branch)
            verdict = await self.staleness(current)
            if not verdict.is_stale:
                raise self._conflict(
                    current,
                    verdict,
                    f"Issue #{issue_id} is locked by agent '{current.agent_id}' and the lock is not "
                    f"stale (stale after {self.timeout_minutes} minutes without a heartbeat)",
                )
            taken = await self._take_over(issue_id, agent_id, branch, current, server)
            if taken is not None:
                await self._record_steal(taken, current, verdict, automatic=False)
                return self.entry(taken, await self.heartbeats()), True
        raise Conflict(f"The lock on issue #{issue_id} kept changing; try again")

    async def release(self, issue_id: int, agent_id: str) -> dict[str, Any] | None:
        """Release the server lock of ``agent_id`` on ``issue_id``: 409 when another agent
        holds it (or, without a hub in use, it is held in the hub), 404 when not locked.
        Returns what was written to the hub (``None`` when no hub is in use)."""
        if self.hub_writer.active():
            return await self._release_through_hub(issue_id, agent_id)
        async with self.kernel.db.transaction():
            row = await self.kernel.db.fetch_one(
                "DELETE FROM server_locks WHERE issue_id = ? AND agent_id = ? RETURNING token",
                (issue_id, agent_id),
            )
            if row is not None:
                self._publish(issue_id, "released", agent_id)
                return None
        server = await self.server_lock(issue_id)
        if server is not None:
            raise self._conflict(
                server, await self.staleness(server),
                f"Issue #{issue_id} is locked by agent '{server.agent_id}', not by '{agent_id}'",
            )
        hub_lock = (await self.hub_locks()).get(issue_id)
        if hub_lock is not None:
            raise self._conflict(
                hub_lock, await self.staleness(hub_lock),
                f"Issue #{issue_id} is locked in the hub by agent '{hub_lock.agent_id}'; the server "
                "does not write the hub: release it with the crosslink CLI (`crosslink locks release`)",
            )
        raise NotFound(f"Issue #{issue_id} is not locked")

    # --- through the hub ----------------------------------------------------------------------

    def _hub_entry(self, lock: Lock, written: HubWrite | None, offline: str | None,
                   heartbeats: dict[str, datetime]) -> dict[str, Any]:
        entry = self.entry(lock, heartbeats)
        entry["hub"] = self._hub_answer(written, offline)
        return entry

    def _hub_answer(self, written: HubWrite | None, offline: str | None) -> dict[str, Any]:
        answer = (written or HubWrite(self.owner.layout_version())).as_dict()
        if offline is not None and not answer["pushed"]:
            answer["offline"] = True
            answer["detail"] = answer["detail"] or (
                f"the remote could not be reached ({offline}); the hub was read as this checkout has it")
        return answer

    async def _held_by_other(self, exc: HeldByOther) -> APIError:
        """The 409 for a holder the hub showed while writing (it arrived after the first look)."""
        found = (await self.hub_locks()).get(exc.issue_id)
        if found is None or found.agent_id != exc.holder:
            found = Lock(exc.issue_id, exc.holder, self.kernel.clock.now(),
                         source=f"hub-v{2 if self.owner.layout_version() >= 2 else 1}")
        return self._conflict(found, await self.staleness(found))

    async def _claim_through_hub(self, issue_id: int, agent_id: str, branch: str | None, *,
                                 offline: str | None = None, refreshed: bool = False) -> tuple[dict[str, Any], bool]:
        """A claim on a hub repository: the remote integrated, the hub's holder decides, the claim
        written to the hub as the CLI writes it and pushed, then the server's row (fencing token)."""
        check_cli_agent_id(agent_id)
        if not refreshed:
            offline = await self.hub_writer.refresh()
        hub_lock = (await self.hub_locks()).get(issue_id)
        server = await self.server_lock(issue_id)
        current = effective_lock(hub_lock, server)
        if current is not None and current.agent_id != agent_id:
            verdict = await self.staleness(current)
            if not self._auto_steal_allows(verdict):
                raise self._conflict(current, verdict)
            return await self._steal_in_hub(issue_id, agent_id, branch, current, hub_lock, server, verdict,
                                            automatic=True, offline=offline)
        try:
            written = await self.hub_writer.claim(issue_id, agent_id, branch)
        except HeldByOther as exc:
            raise await self._held_by_other(exc) from None
        heartbeats = await self.heartbeats()
        if server is not None and server.agent_id == agent_id:
            return self._hub_entry(server, written, offline, heartbeats), False
        claimed_at = written.claimed_at or self.kernel.clock.now()
        if server is not None:  # an older server lock of another agent, superseded by this agent's hub claim
            taken = await self._replace(server, agent_id, branch, previous=server, now=claimed_at, publish=False)
        else:
            taken = await self._insert(issue_id, agent_id, branch, previous=None, now=claimed_at, publish=False)
        if taken is None:  # this agent's concurrent claim made the row first
            server = await self.server_lock(issue_id)
            if server is not None and server.agent_id == agent_id:
                return self._hub_entry(server, written, offline, heartbeats), False
            raise Conflict(f"The lock on issue #{issue_id} kept changing; try again")
        return self._hub_entry(taken, written, offline, heartbeats), True

    async def _steal_in_hub(self, issue_id: int, agent_id: str, branch: str | None, current: Lock,
                            hub_lock: Lock | None, server: Lock | None, verdict: LockStaleness, *,
                            automatic: bool, offline: str | None) -> tuple[dict[str, Any], bool]:
        """Take a stale lock over in the hub (the CLI's steal), then on the server; recorded."""
        victim = hub_lock.agent_id if hub_lock is not None and hub_lock.agent_id != agent_id else None
        try:
            written = await self.hub_writer.claim(issue_id, agent_id, branch, steal_from=victim)
        except HeldByOther as exc:
            raise await self._held_by_other(exc) from None
        claimed_at = written.claimed_at or self.kernel.clock.now()
        taken = await self._take_over(issue_id, agent_id, branch, current, server, now=claimed_at, publish=False)
        if taken is None:
            raise Conflict(f"The lock on issue #{issue_id} changed while it was being taken over; try again")
        await self._record_steal(taken, current, verdict, automatic=automatic)
        return self._hub_entry(taken, written, offline, await self.heartbeats()), True

    async def _steal_through_hub(self, issue_id: int, agent_id: str, branch: str | None) -> tuple[dict[str, Any], bool]:
        check_cli_agent_id(agent_id)
        offline = await self.hub_writer.refresh()
        hub_lock = (await self.hub_locks()).get(issue_id)
        server = await self.server_lock(issue_id)
        current = effective_lock(hub_lock, server)
        if current is None:
            raise NotFound(f"Issue #{issue_id} is not locked; claim it instead")
        if current.agent_id == agent_id:
            return await self._claim_through_hub(issue_id, agent_id, branch, offline=offline, refreshed=True)
        verdict = await self.staleness(current)
        if not verdict.is_stale:
            raise self._conflict(
                current,
                verdict,
                f"Issue #{issue_id} is locked by agent '{current.agent_id}' and the lock is not "
                f"stale (stale after {self.timeout_minutes} minutes without a heartbeat)",
            )
        return await self._steal_in_hub(issue_id, agent_id, branch, current, hub_lock, server, verdict,
                                        automatic=False, offline=offline)

    async def _release_through_hub(self, issue_id: int, agent_id: str) -> dict[str, Any]:
        """A release on a hub repository: written to the hub as the CLI writes it, then the row."""
        offline = await self.hub_writer.refresh()
        hub_lock = (await self.hub_locks()).get(issue_id)
        server = await self.server_lock(issue_id)
        current = effective_lock(hub_lock, server)
        if current is None:
            raise NotFound(f"Issue #{issue_id} is not locked")
        if current.agent_id != agent_id:
            raise self._conflict(
                current, await self.staleness(current),
                f"Issue #{issue_id} is locked by agent '{current.agent_id}', not by '{agent_id}'",
            )
        in_hub = hub_lock is not None and hub_lock.agent_id == agent_id
        if in_hub:
            check_cli_agent_id(agent_id)
        # the row goes first, so that when the hub watcher announces the release every reader
        # already sees it; a hub write that fails puts the row back as it was
        removed = await self._delete_row(server, agent_id, publish=not in_hub)
        written = None
        if in_hub:
            try:
                written = await self.hub_writer.release(issue_id, agent_id)
            except HeldByOther as exc:
                await self._restore_row(removed)
                raise await self._held_by_other(exc) from None
            except BaseException:
                await self._restore_row(removed)
                raise
            if written.outcome == "not-locked":  # the lock is in the other layout's file
                await self._restore_row(removed)
                where = "locks.json" if hub_lock.source == "hub-v1" else f"locks/{issue_id}.json"
                raise self._conflict(
                    hub_lock, await self.staleness(hub_lock),
                    f"Issue #{issue_id} is locked by agent '{agent_id}' in {where}, which the crosslink CLI does not "
                    f"write on this layout-{written.layout} hub; release it with the crosslink CLI "
                    "(`crosslink locks release`)",
                )
        return self._hub_answer(written, offline)

    async def _delete_row(self, server: Lock | None, agent_id: str, *, publish: bool) -> Lock | None:
        """Delete ``server`` (the server's row) when ``agent_id`` holds it; the row deleted, if any."""
        if server is None or server.agent_id != agent_id:
            return None
        async with self.kernel.db.transaction():
            row = await self.kernel.db.fetch_one(
                "DELETE FROM server_locks WHERE issue_id = ? AND agent_id = ? AND token = ? RETURNING token",
                (server.issue_id, agent_id, server.token),
            )
            if row is not None and publish:
                self._publish(server.issue_id, "released", agent_id)
        return server if row is not None else None

    async def _restore_row(self, lock: Lock | None) -> None:
        """Put a deleted row back with its own token (a release that did not happen)."""
        if lock is None:
            return
        async with self.kernel.db.transaction():
            await self.kernel.db.execute(
                """INSERT INTO server_locks (issue_id, agent_id, branch, claimed_at, token)
                   VALUES (?, ?, ?, ?, ?) ON CONFLICT (issue_id) DO NOTHING""",
                (lock.issue_id, lock.agent_id, lock.branch, to_db(lock.claimed_at), lock.token),
            )

    async def release_for_issue(self, issue_id: int) -> bool:
        """Drop the server lock of a closed or deleted issue (announced as released); on a hub
        repository its holder's hub lock is released too (as the CLI's ``issue close`` does)."""
        if self.hub_writer.active():
            server = await self.server_lock(issue_id)
            hub_lock = (await self.hub_locks()).get(issue_id)
            if (server is not None and hub_lock is not None and hub_lock.agent_id == server.agent_id
                    and hub_lock.source == f"hub-v{2 if self.owner.layout_version() >= 2 else 1}"):
                removed = await self._delete_row(server, server.agent_id, publish=False)
                try:
                    check_cli_agent_id(server.agent_id)
                    await self.hub_writer.release(issue_id, server.agent_id)
                except Exception:  # the issue is closed; the lock stays, the holder's to release
                    log.exception("locks: could not release the hub lock on #%s", issue_id)
                    await self._restore_row(removed)
                    return False
                return True
        async with self.kernel.db.transaction():
            row = await self.kernel.db.fetch_one(
                "DELETE FROM server_locks WHERE issue_id = ? RETURNING agent_id", (issue_id,)
            )
            if row is not None:
                self._publish(issue_id, "released", row["agent_id"])
        return row is not None

    async def _record_steal(self, taken: Lock, previous: Lock, verdict: LockStaleness, *, automatic: bool) -> None:
        minutes = int(verdict.silent_seconds // 60)
        since = "last heartbeat" if verdict.basis == "heartbeat" else "claim, no heartbeat"
        if automatic:
            threshold = (self.auto_steal_multiplier() or 1) * self.timeout_minutes
            text = (
                f"[auto-steal] Lock auto-stolen from agent '{previous.agent_id}' by agent "
                f"'{taken.agent_id}' (stale for {minutes} min since {since}, threshold: {threshold} min)"
            )
        else:
            text = (
                f"[steal] Lock stolen from agent '{previous.agent_id}' by agent '{taken.agent_id}' "
                f"(stale for {minutes} min since {since}; stale after {self.timeout_minutes} min)"
            )
        try:
            await self.kernel.services.require("issues").add_comment(
                taken.issue_id, text, kind="observation", author=taken.agent_id
            )
        except Exception:  # the steal happened; a missing audit comment must not undo it
            log.exception("locks: could not record the steal of #%s as a comment", taken.issue_id)

    async def rescan(self) -> tuple[int, int]:
        """Scan the hub's locks now: ``(hub locks, events sent)``."""
        if self.tracker is None:
            return len(await self.hub_locks()), 0
        return await self.tracker.scan()
