"""The resources: what an agent's current session hands it, readable without a tool call.

* ``crosslink://session/handoff`` (``text/markdown``): the handoff notes the agent's current
  session starts from, i.e. those its last ended session left (what ``start_session`` answers
  as ``previous_handoff_notes``); empty text when there are none.
* ``crosslink://session/issue`` (``application/json``): the issue the agent's current session
  works on (``show_issue``'s answer); an error when there is no open session or it has no issue.

The agent is the connection's (see :class:`plugins.mcp.tools.Caller`), or the one named by
``?agent_id=`` in the URI (``crosslink://session/issue?agent_id=worker-1``). Both need the
``sessions`` plugin (which itself requires ``issues``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import mcp_types as types

from kernel import APIError
from kernel.jsonutil import dumps
from mcp.shared.exceptions import MCPError

from .tools import Caller, ToolCall

if TYPE_CHECKING:
    from kernel.app import Kernel

#: The JSON-RPC error code MCP gives an unknown or unreadable resource.
RESOURCE_NOT_FOUND = -32002
HANDOFF_URI = "crosslink://session/handoff"
ISSUE_URI = "crosslink://session/issue"

RESOURCES = (
    types.Resource(uri=HANDOFF_URI, name="handoff-notes", mime_type="text/markdown",
                   description="Handoff notes your last session left for this one."),
    types.Resource(uri=ISSUE_URI, name="active-issue", mime_type="application/json",
                   description="The issue your current session works on."),
)


def available_resources(kernel: Kernel) -> list[types.Resource]:
    """The resources this server offers (none without the sessions plugin)."""
    return list(RESOURCES) if kernel.services.get("sessions") is not None else []


def _address(uri: str) -> tuple[str, str | None]:
    """``(the URI without its query, the agent_id it names)``; an unknown URI is an error."""
    parts = urlsplit(uri)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if base not in (HANDOFF_URI, ISSUE_URI):
        raise MCPError(RESOURCE_NOT_FOUND,
                       f"Unknown resource '{uri[:200]}'; this server has {HANDOFF_URI} and {ISSUE_URI}")
    agents = parse_qs(parts.query).get("agent_id")
    return base, agents[0] if agents else None


async def read_resource(kernel: Kernel, caller: Caller, uri: str) -> types.ReadResourceResult:
    """Read one resource for ``caller``; an :class:`MCPError` carries the API's detail."""
    if kernel.services.get("sessions") is None:
        raise MCPError(RESOURCE_NOT_FOUND, "The sessions plugin is not enabled on this server")
    base, named = _address(uri)
    call = ToolCall(kernel, caller)
    try:
        agent_id = call.agent(named)
        sessions = call.service("sessions")
        if base == HANDOFF_URI:
            notes = await sessions.last_handoff_notes(agent_id)
            return types.ReadResourceResult(
                contents=[types.TextResourceContents(uri=uri, mime_type="text/markdown", text=notes or "")]
            )
        current = await sessions.current(agent_id)
        if current is None:
            raise APIError(404, f"No active session for {_whose(agent_id)}; call start_session first")
        if current["active_issue_id"] is None:
            raise APIError(404, f"The current session of {_whose(agent_id)} has no issue; call work_on_issue")
        detail = await call.service("issues").detail(current["active_issue_id"])
        if detail is None:
            raise APIError(404, f"Issue #{current['active_issue_id']} does not exist")
    except APIError as exc:
        code = types.INVALID_PARAMS if exc.status == 400 else RESOURCE_NOT_FOUND
        raise MCPError(code, exc.detail, data=exc.body()) from None
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=dumps(detail).decode())]
    )


def _whose(agent_id: str | None) -> str:
    return f"agent '{agent_id}'" if agent_id is not None else "the sessions without an agent"
