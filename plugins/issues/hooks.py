"""The issues plugin's hook implementations (and nothing else)."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StorageSpec, hookimpl

from .search import FOLD_FUNCTION, fold

PLUGIN = PluginInfo(
    name="issues",
    description="Issues, comments, labels, dependencies and milestones on the crosslink CLI's tables",
    paths=("/api/v1/issues", "/api/v1/milestones"),
)


@hookimpl
def crosslink_config_section():
    """``[plugins.issues]``: search index refresh interval."""
    from .config import IssuesConfig

    return ConfigSection("issues", IssuesConfig, "Issues plugin settings")


@hookimpl
def crosslink_register_models():
    """The Tortoise models over the CLI's tables, and this plugin's migrations."""
    from .migrations import MIGRATIONS
    from .search import QUEUE_TABLE

    return StorageSpec("issues", models=["plugins.issues.models"], migrations=MIGRATIONS, derived=[QUEUE_TABLE])


@hookimpl
def crosslink_register_events():
    """``issue_updated`` on the ``issues`` channel."""
    from .events import IssueUpdated

    return [IssueUpdated]


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``issues`` service (see :mod:`plugins.issues.contract`)."""
    from .service import IssuesService

    registry.provide("issues", IssuesService(kernel))


@hookimpl
def crosslink_register_blueprints(kernel):
    """The issues and milestones routes."""
    from .routes import create_blueprint

    return [create_blueprint(kernel)]


@hookimpl
async def crosslink_startup(kernel):
    """Register SQL helpers (``server_fold``); check the search index (repair lost triggers,
    index what is queued); on a hub repository hydrate from the hub (repairing a crash between a
    hub commit and its hydration), and follow the hub through its owner's notifications."""
    issues = kernel.services.require("issues")
    issues.counts.size = kernel.plugin_config("issues").count_cache_size
    await kernel.db.register_sqlite_function(FOLD_FUNCTION, 1, fold)
    await issues.search.start()
    await issues.hub.startup()
    from plugins.hub import get_hub

    get_hub(kernel).subscribe("issues", issues.hub.on_hub_moved)


@hookimpl
def crosslink_startup_lines(kernel, base_url):
    """Where issues are written: through the crosslink hub (and as whom), or SQLite only."""
    return [kernel.services.require("issues").hub.describe()]


@hookimpl
def crosslink_register_workers(kernel):
    """SQLite: the search index worker (takes queued changes in, and a first big index)."""
    from .search import WORKER

    interval = kernel.plugin_config("issues").search_refresh_seconds
    worker = kernel.services.require("issues").search.worker(lambda: kernel.workers.wake(WORKER), interval)
    return [worker] if worker is not None else []


@hookimpl
async def crosslink_search(kernel, query, limit):
    """Issue and comment hits for ``GET /api/v1/search``."""
    return await kernel.services.require("issues").search.hits(query, limit)
