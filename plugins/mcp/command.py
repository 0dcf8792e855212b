"""``crosslink mcp``: the MCP tools over stdio, for clients that start their servers as processes.

* ``crosslink mcp --url http://127.0.0.1:3100`` forwards to a running ``crosslink serve``
  (its ``/mcp``), with ``--token`` / ``CROSSLINK_TOKEN`` (:mod:`plugins.mcp.proxy`).
* ``crosslink mcp`` without ``--url`` serves the repository itself: it builds the same
  application ``crosslink serve`` would (same plugins, database, config), starts it without
  listening on any port, and offers the same tools in-process.

The agent is ``--agent-id`` / ``CROSSLINK_AGENT_ID``, else the ``agent_id`` of the repository's
``.crosslink/agent.json`` (the crosslink CLI's identity file), else none. Logs go to stderr;
stdout carries only the protocol.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from kernel.errors import StartupError
from kernel.plugins import parse_selection
from kernel.settings import CROSSLINK_DIR, find_repo_root

from . import MOUNT

log = logging.getLogger("crosslink.mcp")


def endpoint_url(url: str) -> str:
    """The MCP endpoint for a server URL: ``http://host:port`` becomes ``http://host:port/mcp``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--url")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path if path.endswith(MOUNT) else path + MOUNT, parts.query, ""))


def identity_agent(repo: Path | None) -> str | None:
    """``agent_id`` of ``.crosslink/agent.json`` in the repository, when it has one."""
    try:
        root = find_repo_root(repo or Path.cwd())
        data = json.loads((root / CROSSLINK_DIR / "agent.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, StartupError):
        return None
    agent_id = data.get("agent_id") if isinstance(data, dict) else None
    return agent_id if isinstance(agent_id, str) and agent_id else None


def with_mcp(spec: str) -> str:
    """The plugin selection with this plugin in it (its tools are what this command serves)."""
    chosen = parse_selection(spec)
    if "mcp" in chosen.exclude:
        raise click.BadParameter("crosslink mcp serves the mcp plugin's tools: do not disable it",
                                 param_hint="--plugins")
    return spec if chosen.wants("mcp") else f"{spec},mcp"


async def serve_repository(app, caller) -> None:
    """Start the application without a listener and serve its MCP tools over stdio."""
    from kernel.app import kernel_of
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await app.startup()
        try:
            server = kernel_of(app).services.require("mcp").server(caller)
            await server.run(read, write, server.create_initialization_options())
        finally:
            await app.shutdown()


def _autoload_default() -> bool:
    """Third-party plugins load unless ``CROSSLINK_DISABLE_PLUGIN_AUTOLOAD`` says not (as for serve)."""
    return os.environ.get("CROSSLINK_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true", "yes")


@click.command(name="mcp")
@click.option("--url", default=None, envvar="CROSSLINK_URL",
              help="A running crosslink serve to forward to (http://127.0.0.1:3100); without it, serve the repository.")
@click.option("--token", default=None, envvar="CROSSLINK_TOKEN", help="The server's bearer token (with --url).")
@click.option("--agent-id", default=None, envvar="CROSSLINK_AGENT_ID",
              help="The agent these tools act for (default: .crosslink/agent.json).")
@click.option("--poll", "poll_seconds", default=10.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="With --url: seconds between two looks at the server's tool list.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Repository to serve (default: found from the current directory).")
@click.option("--db", "db_url", default=None, envvar="CROSSLINK_DB", help="Database URL (as for crosslink serve).")
@click.option("--plugins", "plugin_spec", default="all", show_default=True, envvar="CROSSLINK_PLUGINS",
              help="Plugins to enable (as for crosslink serve; mcp is always added).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Server config file (default .crosslink/server.toml).")
@click.option("--no-autoload", is_flag=True, help="Do not load third-party plugins from entry points.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def mcp_command(url, token, agent_id, poll_seconds, repo, db_url, plugin_spec, config_file, no_autoload,
                log_level) -> None:
    """Serve the MCP tools over stdio: forwarded to --url, or for this repository in-process."""
    logging.getLogger().setLevel(log_level.upper())
    origin = "--agent-id"
    if agent_id is None:
        agent_id, origin = identity_agent(repo), ".crosslink/agent.json"
    if url:
        from .proxy import McpProxy

        proxy = McpProxy(endpoint_url(url), token=token, agent_id=agent_id, poll_seconds=poll_seconds)
        asyncio.run(proxy.serve_stdio())
        return

    from kernel.app import create_app
    from kernel.settings import Settings

    from .tools import Caller

    try:
        settings = Settings.for_repo(
            repo,
            db_url=db_url,
            plugins=with_mcp(plugin_spec),
            autoload=not no_autoload and _autoload_default(),
            config_file=config_file,
        )
        app = create_app(settings)
        asyncio.run(serve_repository(app, Caller(agent_id, origin)))
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
