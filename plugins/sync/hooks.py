"""Hook implementations of the sync plugin."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StorageSpec, Worker, hookimpl

from .config import SyncConfig
from .events import EVENTS
from .migrations import MIGRATIONS
from .routes import create_blueprint
from .service import SyncService
from .worker import WORKER_NAME, run_auto_sync

PLUGIN = PluginInfo(
    name="sync",
    description="Hub sync over real git: status, fetch, push, init, optional auto-sync, sync events",
    paths=("/api/v1/sync",),
)

#: How long shutdown waits for a fetch or push still running (a rebase must not be cut short).
SHUTDOWN_WAIT_SECONDS = 30.0


def _service(kernel) -> SyncService:
    return kernel.services.require("sync")


@hookimpl
def crosslink_config_section():
    """Declare ``[plugins.sync]`` (auto-sync interval and back-off, push attempts, waiting)."""
    return ConfigSection("sync", SyncConfig, "Sync: auto-sync schedule, push retries")


@hookimpl
def crosslink_register_models():
    """Declare the ``server_sync_state`` table."""
    return StorageSpec("sync", migrations=MIGRATIONS)


@hookimpl
def crosslink_register_events():
    """``sync_started``, ``sync_progress``, ``sync_completed``, ``sync_failed`` on ``sync``."""
    return EVENTS


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``sync`` service (status, fetch, push, init)."""
    config = kernel.plugin_config("sync") or SyncConfig()
    registry.provide("sync", SyncService(kernel, config))


@hookimpl
def crosslink_register_blueprints(kernel):
    """The sync routes: status, fetch, push (contract) and init."""
    return [create_blueprint(_service(kernel))]


@hookimpl
def crosslink_register_workers(kernel):
    """``sync-auto`` when ``interval_seconds`` is set: a singleton that fetches and pushes on a
    schedule and backs off while the remote is down."""
    service = _service(kernel)
    if service.config.interval_seconds is None:
        return []
    return [
        Worker(WORKER_NAME, lambda ctx: run_auto_sync(service, ctx), singleton=True,
               stop_timeout=SHUTDOWN_WAIT_SECONDS,
               description=f"fetches and pushes the hub every {service.config.interval_seconds:g} s")
    ]


@hookimpl
async def crosslink_shutdown(kernel):
    """Let a fetch or push still running reach its end before the server exits."""
    await _service(kernel).owner.settle(SHUTDOWN_WAIT_SECONDS)
