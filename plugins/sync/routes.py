"""HTTP routes of the sync plugin (mounted under ``/api/v1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from kernel.api import json_body, json_response, responds

from .schemas import SyncActionResponse, SyncError, SyncInitResponse, SyncRequest, SyncStatusResponse

if TYPE_CHECKING:
    from .service import SyncService


def create_blueprint(service: SyncService) -> Blueprint:
    bp = Blueprint("sync", __name__)

    @bp.get("/sync/status")
    @responds(SyncStatusResponse, 200)
    async def status():
        """The hub's sync state: initialised, remote, last successful fetch, lock counts, commits
        ahead and behind, the remote as of the last try, the last error, the knowledge branch."""
        return json_response(await service.status())

    @bp.post("/sync/fetch")
    @json_body(SyncRequest)
    @responds(SyncActionResponse, 200)
    @responds(SyncError, 409)
    @responds(SyncError, 503)
    async def fetch(data: SyncRequest):
        """Fetch the hub (and the knowledge branch) from ``tracker_remote``, keep unpushed local
        commits by rebasing them; agents and locks reflect the result before this answers.
        409 when the hub is not initialized (``POST /sync/init``) or no such remote is
        configured, 503 when the remote cannot be reached."""
        return json_response(await service.fetch(data.remote))

    @bp.post("/sync/push")
    @json_body(SyncRequest)
    @responds(SyncActionResponse, 200)
    @responds(SyncError, 409)
    @responds(SyncError, 503)
    async def push(data: SyncRequest):
        """Commit dirty hub state, fetch, push; a rejected push is rebased and retried."""
        return json_response(await service.push(data.remote))

    @bp.post("/sync/init")
    @json_body(SyncRequest)
    @responds(SyncInitResponse, 201)
    @responds(SyncInitResponse, 200)
    @responds(SyncError, 503)
    async def init(data: SyncRequest):
        """*Beyond the contract.* Create the hub checkout when it is missing: attach to the
        remote's crosslink/hub when it has one, else start a new branch as the CLI does."""
        body = await service.init(data.remote)
        return json_response(body, 201 if body["created"] else 200)

    return bp
