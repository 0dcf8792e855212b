"""Hook implementations of the mcp plugin."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StartupError, hookimpl

PLUGIN = PluginInfo(
    name="mcp",
    description="Model Context Protocol: the server's services as agent tools at /mcp and over stdio (crosslink mcp)",
    paths=("/mcp",),
)

SERVICE = "mcp"


@hookimpl
def crosslink_config_section():
    """``[plugins.mcp]``: the tools offered, stateless or stateful HTTP."""
    from .config import McpConfig

    return ConfigSection("mcp", McpConfig, "MCP tools offered and HTTP session mode")


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``mcp`` service (:class:`plugins.mcp.service.McpService`: the MCP SDK is
    imported on first use, not at start-up), after checking the names of a ``tools = [...]`` list."""
    from .config import McpConfig
    from .service import McpService
    from .tools import TOOL_NAMES, unknown_tool_names

    config = kernel.plugin_config("mcp") or McpConfig()
    unknown = unknown_tool_names(config.tools)
    if unknown:
        raise StartupError(
            f"[plugins.mcp] tools names unknown tool(s): {', '.join(unknown)}; known: {', '.join(sorted(TOOL_NAMES))}"
        )
    registry.provide(SERVICE, McpService(kernel, config))


@hookimpl
def crosslink_register_asgi_apps(kernel):
    """Mount the streamable HTTP endpoint at ``/mcp``."""
    from . import MOUNT

    return {MOUNT: kernel.services.require(SERVICE).endpoint}


@hookimpl
def crosslink_register_workers(kernel):
    """``mcp-http``: keeps the SDK's session manager of ``/mcp`` running."""
    return [kernel.services.require(SERVICE).endpoint.worker()]


@hookimpl
def crosslink_register_commands(cli):
    """``crosslink mcp``: MCP over stdio (a proxy to ``--url``, or this repository in-process)."""
    from .command import mcp_command

    cli.add_command(mcp_command)
