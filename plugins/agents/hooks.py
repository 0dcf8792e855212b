"""Hook implementations of the agents plugin."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StorageSpec, hookimpl

from plugins.hub import start_tracking

from .config import AgentsConfig
from .events import EVENTS
from .migrations import MIGRATIONS
from .routes import create_blueprint
from .service import AgentsService
from .tracker import AgentTracker

PLUGIN = PluginInfo(
    name="agents",
    description="Agents and heartbeats: hub (V1+V2) and server heartbeats, status events",
)


def _service(kernel) -> AgentsService:
    return kernel.services.require("agents")


@hookimpl
def crosslink_config_section():
    """Declare ``[plugins.agents]`` (poll interval, file watching, history size)."""
    return ConfigSection("agents", AgentsConfig, "Agents: heartbeat watching and history")


@hookimpl
def crosslink_register_models():
    """Declare the ``server_agent_heartbeats`` table."""
    return StorageSpec("agents", models=["plugins.agents.models"], migrations=MIGRATIONS)


@hookimpl
def crosslink_register_events():
    """``heartbeat`` and ``agent_status`` on the ``agents`` channel."""
    return EVENTS


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``agents`` service (merged heartbeats, forced re-scan)."""
    config = kernel.plugin_config("agents") or AgentsConfig()
    registry.provide("agents", AgentsService(kernel, config))


@hookimpl
def crosslink_register_blueprints(kernel):
    """The agent routes: contract reads, heartbeat posting, forced re-scan."""
    return [create_blueprint(kernel, _service(kernel))]


@hookimpl
async def crosslink_startup(kernel):
    """Record the current heartbeats, then watch the hub for the life of the server."""
    service = _service(kernel)
    await start_tracking(service, lambda signal: AgentTracker(kernel, service, signal), kernel.spawn, "agents")


@hookimpl
def crosslink_shutdown(kernel):
    """Stop watching the hub."""
    tracker = _service(kernel).tracker
    if tracker is not None:
        tracker.signal.stop()
