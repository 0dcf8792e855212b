"""HTTP routes of the agents plugin (mounted under ``/api/v1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from quart import Blueprint

from kernel.api import APIError, NotFound, json_body, json_response, responds
from kernel.validation import path_args
from plugins.hub import AGENT_ID_SCHEMA, is_valid_agent_id

from .schemas import AgentDetail, AgentList, AgentSummary, HeartbeatIn, KickoffStatus, RescanResult

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import AgentsService


#: The path's agent id as ``/openapi.json`` shows it (the route checks it: 400).
AgentIdPath = Annotated[str, Field(json_schema_extra=AGENT_ID_SCHEMA)]


def checked_agent_id(agent_id: str) -> str:
    """The agent id from the URL, or 400 when it is not a valid id."""
    if not is_valid_agent_id(agent_id):
        raise APIError(
            400,
            f"invalid agent id {agent_id[:140]!r}: use 1-128 letters, digits, '.', '_', ':' or '-'",
        )
    return agent_id


def create_blueprint(kernel: Kernel, service: AgentsService) -> Blueprint:
    bp = Blueprint("agents", __name__)

    @bp.get("/agents")
    @responds(AgentList, 200)
    async def list_agents():
        """Every agent with a heartbeat or a lock, sorted by id (a bare array)."""
        return json_response(await service.list_agents())

    @bp.post("/agents/rescan")
    @responds(RescanResult, 200)
    async def rescan():
        """Scan heartbeats now and publish what changed (also time-based status changes)."""
        agents, events = await service.rescan()
        return json_response({"ok": True, "agents": agents, "events": events})

    @bp.get("/agents/<agent_id>")
    @path_args(agent_id=AgentIdPath)
    @responds(AgentDetail, 200)
    async def get_agent(agent_id: str):
        """One agent: summary, recent heartbeats (newest first) and kickoff status; 404 when
        no heartbeat, lock or worktree names it."""
        detail = await service.get_agent(checked_agent_id(agent_id))
        if detail is None:
            raise NotFound(f"Agent '{agent_id}' not found: no heartbeat, lock or worktree")
        return json_response(detail)

    @bp.get("/agents/<agent_id>/status")
    @path_args(agent_id=AgentIdPath)
    @responds(KickoffStatus, 200)
    async def kickoff_status(agent_id: str):
        """The agent's ``.kickoff-status`` content; 404 when the agent or the file is missing."""
        known, status = await service.kickoff_status(checked_agent_id(agent_id))
        if not known:
            raise NotFound(f"Agent '{agent_id}' not found: no heartbeat, lock or worktree")
        if status is None:
            raise NotFound(f"Agent '{agent_id}' has no .kickoff-status file")
        return json_response({"status": status})

    @bp.post("/agents/<agent_id>/heartbeat")
    @path_args(agent_id=AgentIdPath)
    @json_body(HeartbeatIn)
    @responds(AgentSummary, 200)
    async def post_heartbeat(agent_id: str, data: HeartbeatIn):
        """Record a heartbeat at the server's time; answers the agent's summary."""
        agent_id = checked_agent_id(agent_id)
        await service.record_heartbeat(
            agent_id,
            machine_id=data.machine_id,
            description=data.description,
            active_issue_id=data.active_issue_id,
        )
        detail = await service.get_agent(agent_id)
        summary = {key: value for key, value in detail.items() if key in AgentSummary.model_fields}
        return json_response(summary)

    return bp
