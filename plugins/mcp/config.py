"""``[plugins.mcp]`` in ``.crosslink/server.toml``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class McpConfig(BaseModel):
    """Settings of the mcp plugin (all optional)."""

    model_config = ConfigDict(extra="forbid")

    #: Which tools are offered: ``"core"`` (the default, a small set for a day of work),
    #: ``"all"``, or a list of tool names. A tool whose plugin is disabled is never offered.
    tools: Literal["core", "all"] | list[str] = "core"
    #: Serve ``/mcp`` without HTTP sessions (each request stands alone, answered as JSON), so any
    #: instance of a team server can answer any request. ``false`` keeps per-instance sessions
    #: with server-sent-event streams (a load balancer must then be sticky).
    stateless: bool = True
