"""Hook implementations of the locks plugin."""

from __future__ import annotations

import logging

from kernel import ConfigSection, PluginInfo, StorageSpec, hookimpl

from .config import LocksConfig
from .events import EVENTS
from .migrations import MIGRATIONS
from .routes import create_blueprint
from .service import LocksService
from .tracker import LockTracker

log = logging.getLogger("crosslink.locks")

PLUGIN = PluginInfo(
    name="locks",
    requires=("issues",),
    description="Issue locks: hub locks (V1+V2), atomic claims with fencing tokens, lock events",
    paths=("/api/v1/locks",),
)


def _service(kernel) -> LocksService:
    return kernel.services.require("locks")


@hookimpl
def crosslink_config_section():
    """Declare ``[plugins.locks]`` (poll interval, file watching, release on close)."""
    return ConfigSection("locks", LocksConfig, "Locks: hub watching and lock release on close")


@hookimpl
def crosslink_register_models():
    """Declare the ``server_locks``, ``server_lock_counter`` and ``server_locks_announced`` tables."""
    return StorageSpec("locks", models=["plugins.locks.models"], migrations=MIGRATIONS)


@hookimpl
def crosslink_register_events():
    """``lock_changed`` on the ``locks`` channel."""
    return EVENTS


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``locks`` service (effective locks, entries, forced re-scan)."""
    config = kernel.plugin_config("locks") or LocksConfig()
    registry.provide("locks", LocksService(kernel, config))


@hookimpl
def crosslink_startup_lines(kernel, base_url):
    """Say whether locks go through the hub (written to git as the CLI writes them) or not."""
    service = _service(kernel)
    owner = service.owner
    if service.writes_through_hub():
        try:
            remote = owner.remote_name()
        except Exception:  # a bad tracker_remote: the status page says why
            remote = "the configured remote"
        return [f"  Locks:     through the hub ({owner.hub.branch}, layout {owner.layout_version()}, pushed to {remote})"]
    return ["  Locks:     server only (no crosslink hub in use: the database only, nothing written to git)"]


@hookimpl
def crosslink_register_blueprints(kernel):
    """The lock routes: contract reads, atomic claim/release/steal, forced re-scan."""
    return [create_blueprint(kernel, _service(kernel))]


@hookimpl
async def crosslink_startup(kernel):
    """Record the hub's current locks (when nothing was announced before) and follow the hub
    through its owner's notifications."""
    service = _service(kernel)
    tracker = LockTracker(kernel, service)
    await tracker.prime()
    service.tracker = tracker
    config = service.config
    service.owner.subscribe("locks", tracker.on_hub_moved, poll_seconds=config.poll_seconds,
                            watch_files=config.watch_files)


@hookimpl
async def crosslink_on_event(kernel, event, entry):
    """Release the server's lock on an issue that was deleted or closed (as the CLI's
    ``issue close`` releases the lock); on the instance that closed it only."""
    if event.type != "issue_updated" or not entry.local:
        return
    service = _service(kernel)
    if not service.config.release_on_close:
        return
    issue_id, field = getattr(event, "issue_id", None), getattr(event, "field", None)
    if not isinstance(issue_id, int) or field not in ("deleted", "status"):
        return
    if field == "status":
        issue = await kernel.services.require("issues").get(issue_id)
        if issue is None or issue.get("status") not in ("closed", "archived"):
            return
    if await service.release_for_issue(issue_id):
        log.info("locks: released the lock on #%s (issue %s)", issue_id, field)
