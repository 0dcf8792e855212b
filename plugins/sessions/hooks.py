"""The sessions plugin's hook implementations (and nothing else)."""

from __future__ import annotations

from kernel import PluginInfo, StorageSpec, hookimpl

PLUGIN = PluginInfo(
    name="sessions",
    requires=("issues",),
    description="Agent work sessions with handoff notes and breadcrumbs, on the crosslink CLI's sessions table",
    paths=("/api/v1/sessions",),
)


@hookimpl
def crosslink_register_models():
    """The Tortoise model over the CLI's ``sessions`` table, and this plugin's index."""
    from .migrations import MIGRATIONS

    return StorageSpec("sessions", models=["plugins.sessions.models"], migrations=MIGRATIONS)


@hookimpl
def crosslink_register_events():
    """``session_changed`` on the ``sessions`` channel."""
    from .events import SessionChanged

    return [SessionChanged]


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``sessions`` service (see :mod:`plugins.sessions.contract`)."""
    from .service import SessionsService

    registry.provide("sessions", SessionsService(kernel))


@hookimpl
def crosslink_register_blueprints(kernel):
    """The sessions routes."""
    from .routes import create_blueprint

    return [create_blueprint(kernel)]
