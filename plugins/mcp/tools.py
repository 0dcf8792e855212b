"""The tool table: every tool an agent can call, what it needs, and what it does.

A tool is a :class:`ToolSpec`: a name, a one-line description, an arguments model
(:mod:`plugins.mcp.arguments`), the services it needs and a ``run(call, args)`` coroutine that
calls those services (``call.service("issues")``), never the HTTP API. A tool is offered only
when every service it needs is provided by an enabled plugin; ``tier`` says whether it is in
the default (``core``) set or only in ``all``.

Adding a tool is an arguments model, a ``run`` function and one entry in :data:`TOOLS` (see
``report_stage``, the orchestrator's: it is offered only when that plugin is enabled).

Errors are :class:`kernel.APIError`, as the services raise them; the server turns them into
MCP tool errors carrying the API's ``{"error", "detail"}`` body.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from kernel import APIError
from kernel.search import rank
from kernel.timeutil import to_api
from plugins.hub import is_valid_agent_id

from . import arguments as a

if TYPE_CHECKING:
    from kernel.app import Kernel

#: Agent ids as the sessions plugin takes them (locks and heartbeats take fewer characters).
SESSION_AGENT_ID = re.compile(r"[A-Za-z0-9._:@/-]{1,128}")
#: Items of ``find_ready_work``: what an agent needs to choose (``show_issue`` gives the rest).
READY_FIELDS = ("id", "title", "priority", "labels", "parent_id")


@dataclass(frozen=True)
class Caller:
    """Who calls: the connection's agent (``None``: not named) and where that name came from."""

    agent_id: str | None = None
    origin: str = "the connection"


class ToolCall:
    """What a tool's ``run`` is handed: the kernel's services and the caller's agent."""

    def __init__(self, kernel: Kernel, caller: Caller) -> None:
        self.kernel = kernel
        self.caller = caller

    def service(self, name: str) -> Any:
        """The service ``name`` (it exists: the tool is only offered when it does)."""
        return self.kernel.services.require(name)

    def agent(self, given: str | None, *, required: bool = False, hub_rules: bool = False) -> str | None:
        """The agent a call acts for: ``given``, else the connection's; checked as the API does.

        :param required: ``None`` is an error (locks and heartbeats need an agent).
        :param hub_rules: check with the hub's stricter rule (letters, digits, ``. _ : -``).
        """
        if given is not None:
            agent_id, where = given, "agent_id"
        else:
            agent_id, where = self.caller.agent_id, f"agent_id (from {self.caller.origin})"
        if agent_id is None:
            if required:
                raise APIError(400, "agent_id: required; pass agent_id or name the agent when connecting "
                                    "(X-Crosslink-Agent-Id header, ?agent_id= on the URL, or crosslink mcp --agent-id)",
                               fields=[{"field": "agent_id", "message": "field required"}])
            return None
        valid = is_valid_agent_id(agent_id) if hub_rules else bool(SESSION_AGENT_ID.fullmatch(agent_id))
        if not valid:
            allowed = "'.', '_', ':' or '-'" if hub_rules else "'.', '_', ':', '@', '/' or '-'"
            raise APIError(400, f"{where}: must be 1-128 letters, digits, {allowed}",
                           fields=[{"field": "agent_id", "message": "invalid agent id"}])
        return agent_id


Run = Callable[[ToolCall, Any], Awaitable[Any]]


@dataclass(frozen=True)
class ToolSpec:
    """One tool.

    :ivar name: the MCP tool name.
    :ivar description: one short, exact line for the agent.
    :ivar arguments: the pydantic model its arguments are validated with (and its schema).
    :ivar run: ``async run(call, args)``; returns what is answered (JSON-serialisable).
    :ivar needs: service names that must be provided (``"search"``: a plugin takes part in the
        kernel's unified search).
    :ivar tier: ``core`` tools are offered by default; ``extra`` ones with ``tools = "all"``.
    :ivar read_only: the tool changes nothing (announced to clients as ``readOnlyHint``).
    """

    name: str
    description: str
    arguments: type[BaseModel]
    run: Run
    needs: tuple[str, ...]
    tier: Literal["core", "extra"] = "core"
    read_only: bool = False

    def available(self, kernel: Kernel) -> bool:
        """Whether every service this tool needs is there."""
        return all(_provided(kernel, need) for need in self.needs)


def _provided(kernel: Kernel, need: str) -> bool:
    if need == "search":
        return kernel.has_implementations("crosslink_search")
    return kernel.services.get(need) is not None


# --- issues --------------------------------------------------------------------------------------


async def find_ready_work(call: ToolCall, args: a.ReadyWorkArgs) -> dict[str, Any]:
    items, total = await call.service("issues").ready(args.limit, 0)
    ready = [{field: item[field] for field in READY_FIELDS} for item in items]
    locks = call.kernel.services.get("locks")
    if locks is not None:
        holders = {entry["issue_id"]: entry["agent_id"] for entry in await locks.list_locks()}
        for item in ready:
            item["locked_by"] = holders.get(item["id"])
    return {"items": ready, "total": total}


async def search(call: ToolCall, args: a.SearchArgs) -> dict[str, Any]:
    hits = rank(await call.kernel.search(args.query, args.limit), args.limit)
    return {"items": [hit.model_dump(exclude_none=True) for hit in hits], "total": len(hits)}


async def show_issue(call: ToolCall, args: a.IssueArgs) -> dict[str, Any]:
    detail = await call.service("issues").detail(args.issue_id)
    if detail is None:
        raise APIError(404, f"Issue #{args.issue_id} does not exist")
    return detail


async def create_issue(call: ToolCall, args: a.CreateIssueArgs) -> dict[str, Any]:
    issue_id = await call.service("issues").create(
        args.title, args.description, args.priority, args.parent_id, created_by=call.agent(None)
    )
    return {"id": issue_id}


async def comment(call: ToolCall, args: a.CommentArgs) -> dict[str, Any]:
    comment_id = await call.service("issues").add_comment(
        args.issue_id, args.content, args.kind, author=call.agent(None)
    )
    return {"id": comment_id}


async def label_issue(call: ToolCall, args: a.LabelArgs) -> dict[str, Any]:
    await call.service("issues").add_label(args.issue_id, args.label)
    return {"ok": True}


async def block_issue(call: ToolCall, args: a.BlockArgs) -> dict[str, Any]:
    await call.service("issues").add_blocker(args.issue_id, args.blocker_id)
    return {"ok": True}


async def close_issue(call: ToolCall, args: a.CloseArgs) -> dict[str, Any]:
    issues = call.service("issues")
    comment_id = None
    if args.comment is not None:
        comment_id = await issues.add_comment(args.issue_id, args.comment, "resolution", author=call.agent(None))
    changed = await issues.set_status(args.issue_id, "closed")
    return {"ok": True, "changed": changed, "comment_id": comment_id}


# --- sessions ------------------------------------------------------------------------------------


async def start_session(call: ToolCall, args: a.AgentArgs) -> dict[str, Any]:
    session, created, previous = await call.service("sessions").start(call.agent(args.agent_id))
    return {**session, "created": created, "previous_handoff_notes": previous}


async def work_on_issue(call: ToolCall, args: a.WorkOnArgs) -> dict[str, Any]:
    return await call.service("sessions").work(call.agent(args.agent_id), args.issue_id)


async def end_session(call: ToolCall, args: a.EndSessionArgs) -> dict[str, Any]:
    return await call.service("sessions").end(call.agent(args.agent_id), args.notes)


# --- locks and heartbeats ------------------------------------------------------------------------


async def claim_lock(call: ToolCall, args: a.LockArgs) -> dict[str, Any]:
    agent_id = call.agent(args.agent_id, required=True, hub_rules=True)
    entry, created = await call.service("locks").claim(args.issue_id, agent_id, args.branch)
    return {**entry, "created": created}


async def release_lock(call: ToolCall, args: a.ReleaseArgs) -> dict[str, Any]:
    """Idempotent: releasing a lock nobody holds answers ``released: false`` (the lock may have
    gone with the issue's close); a lock someone else holds is still a 409."""
    agent_id = call.agent(args.agent_id, required=True, hub_rules=True)
    try:
        await call.service("locks").release(args.issue_id, agent_id)
    except APIError as exc:
        if exc.status != 404:
            raise
        return {"ok": True, "released": False}
    return {"ok": True, "released": True}


async def steal_lock(call: ToolCall, args: a.LockArgs) -> dict[str, Any]:
    agent_id = call.agent(args.agent_id, required=True, hub_rules=True)
    entry, _ = await call.service("locks").steal(args.issue_id, agent_id, args.branch)
    return entry


async def heartbeat(call: ToolCall, args: a.HeartbeatArgs) -> dict[str, Any]:
    agent_id = call.agent(args.agent_id, required=True, hub_rules=True)
    beat = await call.service("agents").record_heartbeat(
        agent_id, description=args.description, active_issue_id=args.active_issue_id
    )
    return {"agent_id": beat.agent_id, "timestamp": to_api(beat.timestamp), "active_issue_id": beat.active_issue_id}


# --- knowledge -----------------------------------------------------------------------------------


async def search_knowledge(call: ToolCall, args: a.PageSearchArgs) -> dict[str, Any]:
    ranked = await call.service("knowledge").search(args.query)
    pages = [
        {
            "slug": page.hits.slug,
            "title": page.title,
            "matches": [{"line": match.line_number, "lines": match.context_lines} for match in page.hits.matches],
        }
        for page in ranked[: args.limit]
    ]
    return {"items": pages, "total": len(ranked)}


async def read_page(call: ToolCall, args: a.PageArgs) -> dict[str, Any]:
    return (await call.service("knowledge").get_page(args.slug)).detail()


async def write_page(call: ToolCall, args: a.WritePageArgs) -> dict[str, Any]:
    """Create the page when ``version`` is not given, update it when it is."""
    knowledge = call.service("knowledge")
    contributor = call.agent(args.agent_id)
    if args.version is None:
        if args.title is None:
            raise APIError(400, "title: required to create a page (to change a page, pass the version "
                                "read_page gave)", fields=[{"field": "title", "message": "field required"}])
        page = await knowledge.create_page(
            args.slug, title=args.title, content=args.content or "", tags=args.tags or (), contributor=contributor
        )
        return {"slug": page.slug, "version": page.version, "created": True}
    changes = {name: value for name in ("title", "content", "tags") if (value := getattr(args, name)) is not None}
    page = await knowledge.update_page(args.slug, expected={args.version}, contributor=contributor, **changes)
    return {"slug": page.slug, "version": page.version, "created": False}


# --- orchestrator --------------------------------------------------------------------------------


async def report_stage(call: ToolCall, args: a.ReportStageArgs) -> dict[str, Any]:
    """Report a stage as ``running`` (you took it), ``done`` or ``failed``."""
    return await call.service("orchestrator").report_stage(
        args.stage_id, args.status, agent_id=call.agent(args.agent_id), message=args.message
    )


# --- the table -----------------------------------------------------------------------------------

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("find_ready_work", "Open issues with no open blocker, oldest first (locked_by: who holds it).",
             a.ReadyWorkArgs, find_ready_work, needs=("issues",), read_only=True),
    ToolSpec("search", "Search issues, comments and knowledge pages; best matches first.",
             a.SearchArgs, search, needs=("search",), read_only=True),
    ToolSpec("show_issue", "An issue with its labels, comments, blockers, subissues and milestone.",
             a.IssueArgs, show_issue, needs=("issues",), read_only=True),
    ToolSpec("create_issue", "Create an issue (a subissue with parent_id); answers its id.",
             a.CreateIssueArgs, create_issue, needs=("issues",)),
    ToolSpec("comment", "Comment on an issue.", a.CommentArgs, comment, needs=("issues",)),
    ToolSpec("close_issue", "Close an issue, optionally with a resolution comment.",
             a.CloseArgs, close_issue, needs=("issues",)),
    ToolSpec("label_issue", "Add a label to an issue.", a.LabelArgs, label_issue, needs=("issues",), tier="extra"),
    ToolSpec("block_issue", "Record that issue_id is blocked by blocker_id.",
             a.BlockArgs, block_issue, needs=("issues",), tier="extra"),
    ToolSpec("start_session", "Start your work session (or get the open one) with your last session's handoff notes.",
             a.AgentArgs, start_session, needs=("sessions",)),
    ToolSpec("work_on_issue", "Set the issue your current session works on.",
             a.WorkOnArgs, work_on_issue, needs=("sessions",)),
    ToolSpec("end_session", "End your session; notes become the handoff notes of your next one.",
             a.EndSessionArgs, end_session, needs=("sessions",)),
    ToolSpec("claim_lock", "Claim an issue's lock; answers the fencing token, or an error naming the holder.",
             a.LockArgs, claim_lock, needs=("locks",)),
    ToolSpec("release_lock", "Release your lock on an issue.", a.ReleaseArgs, release_lock, needs=("locks",)),
    ToolSpec("steal_lock", "Take over a stale lock (its holder sent no heartbeat for the stale timeout).",
             a.LockArgs, steal_lock, needs=("locks",), tier="extra"),
    ToolSpec("heartbeat", "Tell the server you are alive; keeps your locks from going stale.",
             a.HeartbeatArgs, heartbeat, needs=("agents",)),
    ToolSpec("search_knowledge", "Search knowledge pages: matching lines with context.",
             a.PageSearchArgs, search_knowledge, needs=("knowledge",), tier="extra", read_only=True),
    ToolSpec("read_page", "Read a knowledge page: content, tags and version.",
             a.PageArgs, read_page, needs=("knowledge",), tier="extra", read_only=True),
    ToolSpec("write_page", "Create a knowledge page, or change one given the version you read.",
             a.WritePageArgs, write_page, needs=("knowledge",), tier="extra"),
    ToolSpec("report_stage", "Report an orchestrator stage you work on: running, done or failed.",
             a.ReportStageArgs, report_stage, needs=("orchestrator",)),
)

TOOL_NAMES = frozenset(tool.name for tool in TOOLS)


def selected_tools(kernel: Kernel, choice: str | list[str], table: tuple[ToolSpec, ...] = TOOLS) -> list[ToolSpec]:
    """The tools offered for ``[plugins.mcp] tools`` (``"core"``, ``"all"`` or names), in table
    order, leaving out those whose plugin is not enabled."""
    if choice == "core":
        wanted = [tool for tool in table if tool.tier == "core"]
    elif choice == "all":
        wanted = list(table)
    else:
        names = set(choice)
        wanted = [tool for tool in table if tool.name in names]
    return [tool for tool in wanted if tool.available(kernel)]


def unknown_tool_names(choice: str | list[str], table: tuple[ToolSpec, ...] = TOOLS) -> list[str]:
    """Names in a ``tools = [...]`` list that no tool has."""
    if isinstance(choice, str):
        return []
    known = {tool.name for tool in table}
    return sorted(set(choice) - known)
