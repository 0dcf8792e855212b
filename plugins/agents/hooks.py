"""Hook implementations of the agents plugin."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StorageSpec, Worker, hookimpl

from .config import AgentsConfig
from .events import EVENTS
from .migrations import MIGRATIONS
from .routes import create_blueprint
from .service import AgentsService
from .tracker import STATUS_WORKER, AgentTracker

PLUGIN = PluginInfo(
    name="agents",
    description="Agents and heartbeats: hub (V1+V2) and server heartbeats, status events",
    paths=("/api/v1/agents",),
)


def _service(kernel) -> AgentsService:
    return kernel.services.require("agents")


@hookimpl
def crosslink_config_section():
    """Declare ``[plugins.agents]`` (poll interval, file watching, history size)."""
    return ConfigSection("agents", AgentsConfig, "Agents: heartbeat watching and history")


@hookimpl
def crosslink_register_models():
    """Declare the ``server_agent_heartbeats`` and ``server_agents_announced`` tables."""
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
    """Record the current heartbeats (when nothing was announced before) and follow the hub
    through its owner's notifications."""
    service = _service(kernel)
    tracker = AgentTracker(kernel, service)
    await tracker.prime()
    service.tracker = tracker
    config = service.config
    service.owner.subscribe("agents", tracker.on_hub_moved, poll_seconds=config.poll_seconds,
                            watch_files=config.watch_files)


@hookimpl
def crosslink_register_workers(kernel):
    """``agents-status``: announces status changes that time alone makes (active -> idle ->
    stale), at the moment they happen; a singleton on a team server."""
    tracker = _service(kernel).tracker
    return [
        Worker(STATUS_WORKER, tracker.run_status_clock, singleton=True,
               description="announces agent status changes made by time alone (active -> idle -> stale)")
    ]
