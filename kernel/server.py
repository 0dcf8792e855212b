"""Running the application under uvicorn (uvloop + httptools), and announcing where it listens.

The banner lists the API, the WebSocket, the docs and the plugins; plugins add lines of their
own through ``crosslink_startup_lines`` (a page's address, for instance).

uvicorn was chosen by measurement: with Quart in front, uvicorn and granian serve within a few
percent of each other and about twice as fast as hypercorn (see README and BENCHMARKS.md);
uvicorn is the one that runs in-process with a plain ``Server.serve()`` and clean Ctrl-C.
Its httptools protocol is extended with a header deadline and JSON errors (:mod:`.protocol`).
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import TYPE_CHECKING

import uvicorn
from quart import Quart

from .protocol import protocol_class
from .settings import Settings

if TYPE_CHECKING:
    from .app import Kernel

STARTUP_FAILED = 3


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the real URL (also for ``--port 0``) once it listens."""

    def __init__(self, config: uvicorn.Config, plugins: list[str], token: bool, kernel: Kernel | None,
                 settings: Settings | None = None) -> None:
        super().__init__(config)
        self._kernel = kernel
        self._plugins = plugins
        self._token = token
        self._settings = settings

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if not self.started or not self.servers:
            return
        port = self.servers[0].sockets[0].getsockname()[1]
        base = f"http://{_format_host(self.config.host)}:{port}"
        if self._settings is not None:
            self._settings.listening_url = base
        lines = [
            f"crosslink serve: listening on {base}",
            f"  API:       {base}/api/v1/health",
            f"  WebSocket: ws://{_format_host(self.config.host)}:{port}/ws",
            f"  API docs:  {base}/docs",
            f"  Plugins:   {', '.join(self._plugins) or 'none'}",
        ]
        if self._token:
            lines.append("  Auth:      Authorization: Bearer <your --token> on /api and /ws")
        if self._kernel is not None:  # a plain Quart app (the benchmark's hello) has no plugins
            for _plugin, extra in await self._kernel._call_runtime(
                "crosslink_startup_lines", kernel=self._kernel, base_url=base
            ):
                lines.extend(str(line) for line in extra or [])
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), flush=True)
        # what start-up built lives as long as the process: out of the collector's way, so it
        # is not walked again by every full collection while serving, nor by the one at exit
        gc.freeze()


#: uvicorn's routine lifecycle messages: the startup lines say the same once, and better.
ROUTINE_UVICORN_MESSAGES = (
    "Started server process",
    "Waiting for application startup",
    "Application startup complete",
    "Uvicorn running on",
    "Waiting for application shutdown",
    "Application shutdown complete",
    "Finished server process",
)


class RoutineMessages(logging.Filter):
    """Drops uvicorn's lifecycle chatter (its "Press CTRL+C" line repeats ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and str(record.msg).startswith(ROUTINE_UVICORN_MESSAGES))


def quiet_routine_logging() -> None:
    """Keep the console to what a person needs: our startup lines, warnings and errors."""
    logging.getLogger("uvicorn.error").addFilter(RoutineMessages())
    logging.getLogger("tortoise").setLevel(logging.WARNING)


def run(app: Quart, settings: Settings, plugins: list[str], log_level: str = "info") -> int:
    """Serve until Ctrl-C or SIGTERM; returns the process exit code."""
    quiet_routine_logging()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=protocol_class(settings.header_timeout),  # httptools, with a header deadline
        ws="websockets-sansio",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        ws_max_size=1024 * 1024,
        timeout_graceful_shutdown=10,
    )
    kernel = app.extensions.get("crosslink")
    server = AnnouncingServer(config, plugins, token=bool(settings.token), kernel=kernel, settings=settings)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    if not server.started:
        print("crosslink serve: the server did not start (see the error above)", file=sys.stderr)
        return STARTUP_FAILED
    print("crosslink serve: stopped", flush=True)
    return 0
