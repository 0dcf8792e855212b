"""The HTTP routes: the contract's Sessions section, plus breadcrumbs (``POST
/sessions/action``) and history (``GET /sessions``). Routes are relative to ``/api/v1``.

The agent is named by ``agent_id``, as a query parameter or as a JSON body field on every
route (the query parameter wins when both are given). A missing ``agent_id`` means the
sessions whose ``agent_id`` is null, never another agent's. Bodies are optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from kernel.api import error_responses, json_body, json_response, query_args, responds

from .schemas import (
    ActionIn,
    ActionOut,
    AgentIn,
    AgentQuery,
    CurrentSessionOut,
    EndIn,
    OkSessionOut,
    SessionListOut,
    SessionListQuery,
    StartOut,
    WorkIn,
)

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import SessionsService


def agent_of(query: AgentQuery, data: AgentIn) -> str | None:
    """The query parameter when given, else the body field, else ``None`` (no agent)."""
    return query.agent_id if query.agent_id is not None else data.agent_id


def create_blueprint(kernel: Kernel) -> Blueprint:
    """The sessions routes of one application."""
    sessions: SessionsService = kernel.services.require("sessions")
    bp = Blueprint("sessions", __name__)

    @bp.get("/sessions/current")
    @query_args(AgentQuery)
    @json_body(AgentIn)
    @responds(CurrentSessionOut)
    async def current_session(query: AgentQuery, data: AgentIn):
        """The agent's current session (its newest open one), or `null` when it has none."""
        return json_response(await sessions.current(agent_of(query, data)))

    @bp.post("/sessions/start")
    @query_args(AgentQuery)
    @json_body(AgentIn)
    @responds(StartOut, 201)
    @responds(StartOut, 200)
    async def start_session(query: AgentQuery, data: AgentIn):
        """Start a session: 201 with a new one, or 200 with the agent's active one (idempotent).

        `previous_handoff_notes` holds the handoff notes of the agent's last ended session.
        """
        session, created, previous = await sessions.start(agent_of(query, data))
        return json_response({**session, "previous_handoff_notes": previous}, 201 if created else 200)

    @bp.post("/sessions/end")
    @query_args(AgentQuery)
    @json_body(EndIn)
    @responds(OkSessionOut)
    @error_responses(404)
    async def end_session(query: AgentQuery, data: EndIn):
        """End the agent's current session; `notes` become its handoff notes (omitted: kept).

        404 when the agent has no active session.
        """
        session = await sessions.end(agent_of(query, data), data.notes)
        return json_response({"ok": True, "session": session})

    @bp.post("/sessions/work/<id:issue_id>")
    @query_args(AgentQuery)
    @json_body(WorkIn)
    @responds(OkSessionOut)
    @error_responses(409)
    async def work_on_issue(issue_id: int, query: AgentQuery, data: WorkIn):
        """Set the issue the agent's current session works on, and the breadcrumb `last_action`.

        404 when the issue does not exist; 409 when the agent has no active session.
        """
        session = await sessions.work(agent_of(query, data), issue_id, data.action)
        return json_response({"ok": True, "session": session})

    @bp.post("/sessions/action")
    @query_args(AgentQuery)
    @json_body(ActionIn)
    @responds(ActionOut)
    @error_responses(409)
    async def record_action(query: AgentQuery, data: ActionIn):
        """Record a breadcrumb (`last_action`) in the agent's current session without ending it.

        With `comment: true` it is also added as a `[action] ...` note on the active issue.
        409 when the agent has no active session.
        """
        session, comment_id = await sessions.record_action(agent_of(query, data), data.action, comment=data.comment)
        return json_response({**session, "comment_id": comment_id})

    @bp.get("/sessions")
    @query_args(SessionListQuery)
    @responds(SessionListOut)
    async def list_sessions(query: SessionListQuery):
        """The agent's sessions with their notes, newest first (`status`: active, ended, all)."""
        items, total = await sessions.history(
            query.agent_id, status=query.status, limit=query.limit, offset=query.offset
        )
        return json_response({"items": items, "total": total})

    return bp
