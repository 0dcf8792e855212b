"""The ``mcp`` service: what the rest of the server holds of this plugin, without the MCP SDK.

The SDK (``mcp``, ``mcp_types`` and what they import: starlette, httpx, cryptography,
opentelemetry...) costs about 25 MB of resident memory and, on the benchmark machine, more time
to import than Quart and uvicorn together; most servers never get an MCP request. So start-up
imports none of it: :class:`McpService` holds the ``/mcp`` endpoint and builds the
:class:`plugins.mcp.server.CrosslinkMcp` (which imports the SDK) on first use, i.e. on the
first ``/mcp`` request (imported off the event loop, see :mod:`plugins.mcp.http`) or when
``crosslink mcp`` serves stdio.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from .http import McpEndpoint

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .config import McpConfig
    from .server import CrosslinkMcp


class McpService:
    """The ``mcp`` service: the ``/mcp`` endpoint now, the tools and SDK servers on first use."""

    def __init__(self, kernel: Kernel, config: McpConfig) -> None:
        self.kernel = kernel
        self.config = config
        #: The ASGI application of ``/mcp`` and its worker.
        self.endpoint = McpEndpoint(self, kernel.settings.max_body_bytes)

    @cached_property
    def app(self) -> CrosslinkMcp:
        """The tools and resources, and the SDK servers that offer them (imports the SDK)."""
        from .server import CrosslinkMcp

        return CrosslinkMcp(self.kernel, self.config)

    def server(self, default: Any = None) -> Any:
        """A low-level SDK server for one transport (see :meth:`CrosslinkMcp.server`)."""
        return self.app.server(default)

    def __getattr__(self, name: str) -> Any:
        # tools, listing, instructions, call: the CrosslinkMcp's (built on first use)
        if name.startswith("__") or name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)
