"""Hook implementations of the knowledge plugin."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, hookimpl

from .config import KnowledgeConfig
from .events import KnowledgeChanged
from .routes import create_blueprint
from .service import SERVICE_NAME, KnowledgeService

PLUGIN = PluginInfo(
    name="knowledge",
    description="Knowledge pages on the crosslink/knowledge branch: list, read, search, create, update, delete",
    paths=("/api/v1/knowledge",),
)


@hookimpl
def crosslink_config_section():
    """Declare ``[plugins.knowledge]``: git timeouts."""
    return ConfigSection("knowledge", KnowledgeConfig, "git timeouts of the knowledge plugin")


@hookimpl
def crosslink_register_events():
    """Declare ``knowledge_changed`` on the ``knowledge`` channel."""
    return [KnowledgeChanged]


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``knowledge`` service (reads, search, writes as git commits)."""
    config = kernel.plugin_config("knowledge") or KnowledgeConfig()
    registry.provide(SERVICE_NAME, KnowledgeService(kernel, config))


@hookimpl
def crosslink_register_blueprints(kernel):
    """Mount the knowledge routes."""
    return [create_blueprint(kernel.services.require(SERVICE_NAME))]


@hookimpl
async def crosslink_search(kernel, query, limit):
    """Knowledge hits for ``GET /search``: one per matching page, scored by terms found."""
    return await kernel.services.require(SERVICE_NAME).search_hits(query, limit)


@hookimpl
async def crosslink_shutdown(kernel):
    """Let the page changes still running reach their commit before the server exits."""
    service = kernel.services.get(SERVICE_NAME)
    if service is not None:
        await service.settle(timeout=service.worktree.git.timeout)
