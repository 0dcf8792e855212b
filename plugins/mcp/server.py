"""The MCP server of one application: the SDK's low-level ``Server`` over the tool table.

:class:`CrosslinkMcp` is built once per application (at build time, when every plugin's
services are known) and hands out SDK servers for the HTTP endpoint and for ``crosslink mcp``.
The low-level server was chosen over the SDK's decorator layer because this one publishes
exactly the schemas :mod:`plugins.mcp.arguments` writes (small ones: they cost the agent
context), validates the arguments itself, and turns every failure into a tool result the model
can read (``isError`` with the API's ``{"error", "detail"}``) instead of a protocol error.

The caller's agent: on HTTP, the ``X-Crosslink-Agent-Id`` request header or ``?agent_id=`` on
the endpoint URL; on stdio, ``crosslink mcp --agent-id`` (or ``.crosslink/agent.json``). Tools
that act for an agent also take ``agent_id``, which wins.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

import mcp_types as types
from pydantic import ValidationError

from kernel import APIError, __version__
from kernel.errors import category
from kernel.jsonutil import dumps
from kernel.validation import describe_errors
from mcp.server.lowlevel import Server

from . import resources
from .arguments import input_schema
from .tools import Caller, ToolCall, ToolSpec, selected_tools

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .config import McpConfig

log = logging.getLogger("crosslink.mcp")

SERVER_NAME = "crosslink"
AGENT_HEADER = "x-crosslink-agent-id"
#: The order in which a day of work uses the tools; the instructions name those offered.
WORKFLOW = ("start_session", "find_ready_work", "claim_lock", "work_on_issue", "comment", "close_issue",
            "release_lock", "end_session")


def tool_error(status: int, detail: str, **extra: Any) -> types.CallToolResult:
    """A tool result the model reads as a failure: the API's error body as JSON text."""
    body = {"error": category(status), "detail": detail, **extra}
    return types.CallToolResult(content=[types.TextContent(text=dumps(body).decode())], is_error=True)


def tool_answer(value: Any) -> types.CallToolResult:
    """A successful tool result: the answer as compact JSON text."""
    return types.CallToolResult(content=[types.TextContent(text=dumps(value).decode())])


def describe_tool(tool: ToolSpec) -> types.Tool:
    """The ``tools/list`` entry of a tool."""
    annotations = types.ToolAnnotations(read_only_hint=True) if tool.read_only else None
    return types.Tool(name=tool.name, description=tool.description, input_schema=input_schema(tool.arguments),
                      annotations=annotations)


class CrosslinkMcp:
    """The tools and resources of one application, and the SDK servers that offer them, built by
    the ``mcp`` service on first use (:mod:`plugins.mcp.service`; ``crosslink mcp`` serves it
    over stdio in-process).

    The tool set is worked out on first use, once every plugin has provided its services.
    """

    def __init__(self, kernel: Kernel, config: McpConfig) -> None:
        self.kernel = kernel
        self.config = config

    @cached_property
    def tools(self) -> dict[str, ToolSpec]:
        """The tools offered, by name, in table order."""
        return {tool.name: tool for tool in selected_tools(self.kernel, self.config.tools)}

    @cached_property
    def listing(self) -> list[types.Tool]:
        """The ``tools/list`` answer."""
        return [describe_tool(tool) for tool in self.tools.values()]

    @property
    def instructions(self) -> str:
        """The server's one-line instructions: what it is, and the day's order of its tools."""
        steps = [name for name in WORKFLOW if name in self.tools]
        text = "crosslink: shared issues, work sessions and locks for coding agents."
        if steps:
            text += " A day of work: " + " -> ".join(steps) + "."
        return text

    # --- calls -------------------------------------------------------------------------------

    async def call(self, name: str, arguments: dict[str, Any] | None, caller: Caller) -> types.CallToolResult:
        """Run tool ``name``; every failure is a tool error, never an exception."""
        tool = self.tools.get(name)
        if tool is None:
            offered = ", ".join(self.tools) or "none"
            return tool_error(404, f"Unknown tool '{name[:100]}'; this server offers: {offered}")
        try:
            args = tool.arguments.model_validate(arguments or {})
        except ValidationError as exc:
            detail, fields = describe_errors(exc, source="arguments")
            return tool_error(400, detail, fields=fields)
        try:
            return tool_answer(await tool.run(ToolCall(self.kernel, caller), args))
        except APIError as exc:
            return types.CallToolResult(content=[types.TextContent(text=dumps(exc.body()).decode())], is_error=True)
        except Exception:
            log.exception("mcp: tool '%s' failed", name)
            return tool_error(500, "The server hit an unexpected error; it has been logged.")

    # --- SDK servers ---------------------------------------------------------------------------

    def server(self, default: Caller | None = None) -> Server:
        """A low-level SDK server for one transport; ``default`` is the caller when the request
        itself names no agent (stdio)."""
        fallback = default or Caller()

        def caller_of(ctx: Any) -> Caller:
            request = getattr(ctx, "request", None)
            if request is None:
                return fallback
            header = request.headers.get(AGENT_HEADER)
            if header is not None:
                return Caller(header, "the X-Crosslink-Agent-Id header")
            query = request.query_params.get("agent_id")
            if query is not None:
                return Caller(query, "?agent_id= on the MCP URL")
            return Caller()

        async def list_tools(ctx, params) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.listing)

        async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
            return await self.call(params.name, params.arguments, caller_of(ctx))

        async def list_resources(ctx, params) -> types.ListResourcesResult:
            return types.ListResourcesResult(resources=resources.available_resources(self.kernel))

        async def read_resource(ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
            return await resources.read_resource(self.kernel, caller_of(ctx), str(params.uri))

        return Server(
            SERVER_NAME,
            version=__version__,
            instructions=self.instructions,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_list_resources=list_resources,
            on_read_resource=read_resource,
        )
