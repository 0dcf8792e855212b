"""``/mcp`` of ``crosslink serve``: the SDK's streamable HTTP transport, mounted in the kernel.

The kernel dispatches every HTTP request for ``/mcp`` to :class:`McpEndpoint` after its Host,
Origin and bearer-token guards (``crosslink_register_asgi_apps``), so the SDK's own DNS-rebinding
checks are switched off here: they would only repeat the kernel's, with other answers.

The SDK's ``StreamableHTTPSessionManager`` must be running (``async with manager.run()``) while
requests arrive. It runs in a long-running kernel worker, ``mcp-http``: the worker creates a
manager, enters it and waits until the server stops; a manager can run only once, so a
restarted worker makes a new one. A request that arrives before the manager runs waits for it
(at most ``READY_TIMEOUT`` seconds, then 503). The worker waits for the first request before it
imports the SDK (in a thread, off the event loop) and starts the manager: a server that never
gets an MCP request never pays for the SDK (about 25 MB, and more import time than Quart). In the default stateless mode nothing is kept
between requests, so every instance of a team server answers every request the same way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kernel import Worker
from kernel.errors import category
from kernel.jsonutil import dumps

from . import MOUNT


class _RoutineManagerMessages(logging.Filter):
    """The SDK announces each start and stop of its session manager at INFO: routine, not news
    (what it says about sessions stays)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("StreamableHTTP session manager")


logging.getLogger("mcp.server.streamable_http_manager").addFilter(_RoutineManagerMessages())

if TYPE_CHECKING:
    from kernel import WorkerContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from .service import McpService

WORKER = "mcp-http"
#: Seconds a request waits for the session manager to be running before it is answered 503.
READY_TIMEOUT = 10.0


def _import_sdk(service: McpService) -> None:
    """Import the SDK and build the tool table (in a thread: seconds on a busy machine)."""
    import mcp.server.streamable_http_manager  # noqa: F401
    import mcp.server.transport_security  # noqa: F401

    service.app.listing  # noqa: B018 - the tool table and its schemas, built once


async def _answer(send: Any, status: int, detail: str) -> None:
    body = dumps({"error": category(status), "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class McpEndpoint:
    """The ASGI application mounted at ``/mcp``, and the worker that runs its session manager."""

    def __init__(self, mcp: McpService, max_body: int) -> None:
        self.mcp = mcp
        self.max_body = max_body
        self._manager: StreamableHTTPSessionManager | None = None
        self._ready = asyncio.Event()
        self._wanted = False  # a request has arrived: the worker starts the manager

    def worker(self) -> Worker:
        """The ``mcp-http`` worker that keeps the session manager running."""
        return Worker(WORKER, self._serve, description="Runs the MCP streamable HTTP session manager of /mcp")

    async def _serve(self, ctx: WorkerContext) -> None:
        while not self._wanted:  # until the first request (kernel.workers.wake) or shutdown
            if not await ctx.sleep(None):
                return
        await asyncio.to_thread(_import_sdk, self.mcp)
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        stateless = self.mcp.config.stateless
        manager = StreamableHTTPSessionManager(
            app=self.mcp.server(),
            stateless=stateless,
            json_response=stateless,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=self.max_body,
        )
        async with manager.run():
            self._manager = manager
            self._ready.set()
            try:
                while await ctx.sleep(None):
                    pass
            finally:
                self._ready.clear()
                self._manager = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["path"] not in (MOUNT, MOUNT + "/"):
            await _answer(send, 404, f"No such route: {scope['path'][:200]} (the MCP endpoint is {MOUNT})")
            return
        manager = self._manager
        if manager is None:
            if not self._wanted:
                self._wanted = True
                self.mcp.kernel.workers.wake(WORKER)
            try:
                await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT)
            except TimeoutError:
                pass
            manager = self._manager
        if manager is None:
            await _answer(send, 503, "The MCP endpoint is not running (the server is starting or stopping)")
            return
        await manager.handle_request(scope, receive, send)
