"""HTTP routes of the locks plugin (mounted under ``/api/v1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from kernel.api import APIError, NotFound, error_responses, json_body, json_response, responds
from plugins.hub import is_valid_agent_id

from .schemas import ClaimIn, LockConflict, LockEntry, LockList, ReleaseIn, ReleaseOut, RescanResult

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import LocksService


def checked_agent_id(agent_id: str) -> str:
    if not is_valid_agent_id(agent_id):
        raise APIError(
            400,
            "agent_id: must be 1-128 letters, digits, '.', '_', ':' or '-'",
            fields=[{"field": "agent_id", "message": "invalid agent id"}],
        )
    return agent_id


def create_blueprint(kernel: Kernel, service: LocksService) -> Blueprint:
    bp = Blueprint("locks", __name__)

    @bp.get("/locks")
    @responds(LockList, 200)
    async def list_locks():
        """Every lock, hub and server, by issue id (a bare array)."""
        return json_response(await service.list_locks())

    @bp.get("/locks/stale")
    @responds(LockList, 200)
    async def list_stale_locks():
        """Only the stale locks: the holder's newest heartbeat (or, without one, the claim) is
        at least ``stale_lock_timeout_minutes`` old."""
        return json_response(await service.stale_locks())

    @bp.post("/locks/rescan")
    @responds(RescanResult, 200)
    async def rescan():
        """Read the hub's locks now and publish what changed since the last scan."""
        locks, events = await service.rescan()
        return json_response({"ok": True, "locks": locks, "events": events})

    @bp.get("/locks/<id:issue_id>")
    @responds(LockEntry, 200)
    async def get_lock(issue_id: int):
        """The lock on one issue; 404 when it is not locked."""
        entry = await service.get_lock(issue_id)
        if entry is None:
            raise NotFound(f"Issue #{issue_id} is not locked")
        return json_response(entry)

    @bp.post("/locks/<id:issue_id>/claim")
    @json_body(ClaimIn)
    @responds(LockEntry, 201)
    @responds(LockEntry, 200)
    @responds(LockConflict, 409)
    async def claim(issue_id: int, data: ClaimIn):
        """Claim the lock: 201 with a new fencing token, 200 (same token) when the caller
        already holds it, 409 naming the holder otherwise, 404 for an unknown issue. On a
        repository whose hub is in use the claim is first written to the hub as the CLI writes
        it and pushed (``hub`` says what happened; offline it stays a local commit)."""
        entry, created = await service.claim(issue_id, checked_agent_id(data.agent_id), data.branch)
        return json_response(entry, 201 if created else 200)

    @bp.post("/locks/<id:issue_id>/release")
    @json_body(ReleaseIn)
    @responds(ReleaseOut, 200)
    @error_responses(409)
    async def release(issue_id: int, data: ReleaseIn):
        """Release the caller's lock: 409 when someone else holds it, 404 when not locked; on a
        hub repository the hub lock is released as the CLI releases it (``hub``)."""
        hub = await service.release(issue_id, checked_agent_id(data.agent_id))
        return json_response({"ok": True} if hub is None else {"ok": True, "hub": hub})

    @bp.post("/locks/<id:issue_id>/steal")
    @json_body(ClaimIn)
    @responds(LockEntry, 200)
    @responds(LockConflict, 409)
    async def steal(issue_id: int, data: ClaimIn):
        """Take over a stale lock (409 when it is not stale); a comment on the issue records it.
        On a hub repository the steal is written to the hub as the CLI's ``locks steal``."""
        entry, _ = await service.steal(issue_id, checked_agent_id(data.agent_id), data.branch)
        return json_response(entry)

    return bp
