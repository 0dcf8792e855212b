"""Every hook the kernel calls, grouped by the phase in which it runs.

Plugins implement these with ``@kernel.hookimpl``. Only the kernel calls hooks, always with
keyword arguments. A plugin may implement a hook with fewer arguments than the spec names
(pluggy's opt-in arguments), so specs can grow without breaking plugins.

The kernel calls each of these hooks implementation by implementation, in plugin dependency
order (a plugin after the plugins it ``requires``), so that an error names its plugin and an
isolated hook (``crosslink_on_event``, ``crosslink_search``) keeps going when one plugin fails.
Pluggy's ``hookwrapper``/``wrapper`` and ``tryfirst``/``trylast`` cannot take effect that way,
so the kernel refuses them on its hooks at load time. A plugin calls the hookspecs it adds (in
``crosslink_add_hookspecs``) the same way, through ``kernel.hook_results(hook, ...)``.

Every hook that takes ``kernel`` is handed a :class:`kernel.interface.PluginKernel`: the part
of the kernel that is a promise to plugins.

Build-phase hooks are synchronous and run once inside :func:`kernel.create_app`. Runtime hooks
(``crosslink_startup``, ``crosslink_startup_lines``, ``crosslink_shutdown``,
``crosslink_on_event``, ``crosslink_search``) may be ``async def``: the kernel awaits whatever
they return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from .eventlog import LogEntry
    from .events import Event
    from .interface import PluginKernel as Kernel
    from .plugin_info import ConfigSection
    from .search import SearchHit
    from .services import ServiceProvider
    from .storage.spec import StorageSpec
    from .workers import Worker

PROJECT = "crosslink"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- build phase -------------------------------------------------------------------------------


@hookspec(historic=True)
def crosslink_add_hookspecs(pm: pluggy.PluginManager) -> None:
    """Add a plugin's own hookspecs to the plugin manager.

    Called once for every plugin, also for plugins registered later (historic hook). A plugin
    that defines hooks of its own calls ``pm.add_hookspecs(its_hookspec_module)`` here; other
    plugins implement those hooks with ``@hookimpl(optionalhook=True)`` so that disabling the
    defining plugin does not break them.

    :param pm: the application's plugin manager.
    """


@hookspec
def crosslink_config_section() -> ConfigSection | None:
    """Declare this plugin's configuration section.

    The kernel reads ``[plugins.<name>]`` from the server config file
    (``.crosslink/server.toml`` or ``--config``), validates it with the given pydantic model
    and hands the result out through ``kernel.plugin_config(name)``. An invalid section is a
    startup error naming the field.

    :return: ``ConfigSection(name, model)`` or ``None``.
    """


@hookspec
def crosslink_register_models() -> StorageSpec | None:
    """Declare this plugin's Tortoise app: model modules and versioned migrations.

    Called once by ``create_app`` before the ORM starts. The kernel merges every enabled
    plugin's spec into one Tortoise config on one connection, then applies pending migrations
    in plugin-dependency order.

    :return: ``StorageSpec(app_label, models=[...], migrations=[...])`` or ``None``.
    """


@hookspec
def crosslink_register_events() -> list[type[Event]] | None:
    """Declare the typed event classes this plugin publishes.

    Each class names its wire ``type`` and its WebSocket ``channel``. A channel exists only
    while a plugin that registers events on it is enabled. Two classes with one ``type`` are a
    startup error.

    :return: a list of :class:`kernel.Event` subclasses.
    """


@hookspec
def crosslink_register_services(kernel: Kernel, registry: ServiceProvider) -> None:
    """Offer services that other plugins may call.

    Plugins never import each other's internals; they call ``kernel.services.get(name)``.
    Provide with ``registry.provide(name, obj)``. Two plugins providing one name are a
    startup error.

    :param kernel: the application kernel.
    :param registry: where to provide services.
    """


@hookspec
def crosslink_register_blueprints(kernel: Kernel) -> list[Any] | None:
    """Return this plugin's Quart blueprints, freshly built for this application.

    The kernel mounts each blueprint under ``/api/v1``. Build blueprints inside the hook (a
    factory), never at import time, so each application gets its own.

    :param kernel: the application kernel (settings, database, events, services).
    :return: a list of :class:`quart.Blueprint`.
    """


@hookspec
def crosslink_register_asgi_apps(kernel: Kernel) -> dict[str, Any] | None:
    """Mount raw ASGI applications under path prefixes, beside the Quart routes.

    For a protocol that is not a Quart blueprint (an SDK that hands out its own ASGI app).
    Return ``{"/prefix": app}``: every HTTP request whose path is the prefix or below it goes
    to ``app`` (``path`` unchanged, ``root_path`` extended by the prefix), after the same Host,
    Origin and bearer-token guards as the API (see :mod:`kernel.mounts`); refusals are the
    API's JSON errors. A prefix is lower-case segments (``/mcp``, ``/x/y``), must not overlap
    another mount or the kernel's paths (``/api``, ``/ws``, ``/docs``, ``/openapi.json``).
    Mounted apps get no ASGI lifespan events: start what they need from a worker or
    ``crosslink_startup``. WebSocket requests are not dispatched to them.

    :param kernel: the application kernel.
    :return: a mapping of path prefix to ASGI application, or ``None``.
    """


@hookspec
def crosslink_register_web_blueprints(kernel: Kernel) -> list[Any] | None:
    """Return Quart blueprints for pages people open in a browser, mounted at the site root.

    Unlike ``crosslink_register_blueprints`` these are not put under ``/api/v1``: a blueprint
    keeps its own ``url_prefix`` (none means ``/``). A route under ``/api/``, ``/ws``,
    ``/docs`` or ``/openapi.json`` is a startup error, so a page never shadows the API. The
    security guards (Host, Origin, body size) apply as everywhere; a page that shows data
    checks authentication itself (``kernel.browser_sessions``).

    :param kernel: the application kernel.
    :return: a list of :class:`quart.Blueprint`.
    """


@hookspec
def crosslink_register_commands(cli: click.Group) -> None:
    """Add click commands to the ``crosslink`` command line.

    Called lazily when the command line is built, for the plugins that are enabled by
    default (built-ins and installed entry points).

    :param cli: the top-level click group; call ``cli.add_command(...)``.
    """


# --- runtime phase -----------------------------------------------------------------------------


@hookspec
def crosslink_startup(kernel: Kernel) -> Any:
    """Run once after the database is ready and before the first request is served.

    Called plugin by plugin in dependency order (a plugin after the plugins it requires).
    Long-lived work belongs in a worker (``crosslink_register_workers``), which the kernel
    restarts when it fails and stops on time; ``kernel.spawn(coro)`` is for short tasks. Raise
    :class:`kernel.StartupError` to refuse to start. May be async.

    :param kernel: the application kernel.
    """


@hookspec
def crosslink_register_workers(kernel: Kernel) -> list[Worker] | None:
    """Declare this plugin's background workers (:class:`kernel.Worker`).

    Called once, after every ``crosslink_startup`` hook has run; the workers start right after
    and are stopped before ``crosslink_shutdown``. A worker is long-running (``every=None``,
    ``run(ctx)`` loops until ``ctx.stopping``) or periodic (``every=seconds``); one that raises is
    logged and restarted with backoff; ``singleton=True`` runs it on exactly one instance of a
    team server (a PostgreSQL advisory-lock lease, or a file lock beside the SQLite database).
    ``kernel.workers.wake(name)`` runs a periodic worker now. ``GET /api/v1/workers`` lists them.

    :param kernel: the application kernel.
    :return: a list of :class:`kernel.Worker` or ``None``.
    """


@hookspec
def crosslink_startup_lines(kernel: Kernel, base_url: str) -> list[str] | None:
    """Lines to print under ``crosslink serve``'s startup banner, once the server listens.

    Called after every ``crosslink_startup`` hook, when the real address is known (also for
    ``--port 0``). Return lines such as ``"  Dashboard: http://127.0.0.1:3100/"``; keep them
    short and indented like the banner's own. May be async.

    :param kernel: the application kernel.
    :param base_url: where the server answers, e.g. ``http://127.0.0.1:3100`` (no slash).
    :return: a list of lines, or ``None``.
    """


@hookspec
def crosslink_shutdown(kernel: Kernel) -> Any:
    """Run once when the server stops, in reverse dependency order. May be async.

    :param kernel: the application kernel.
    """


@hookspec
def crosslink_on_event(kernel: Kernel, event: Event, entry: LogEntry) -> Any:
    """Observe every event of the durable log, after the transaction that produced it committed.

    Called on **every** instance of a team server, for the events of every instance, in log
    (commit) order. ``entry.local`` is true only on the instance that published the event: an
    implementation that must act once per event (a database write) acts only there; one that
    keeps something of its instance up to date (a cache, a worker to wake) acts everywhere.
    Each implementation runs isolated: an exception is logged and the others still run.
    Implementations must be quick and idempotent; long work belongs in a worker. May be async.

    :param kernel: the application kernel.
    :param event: the event instance.
    :param entry: its log entry: ``id`` (the ``event_id`` clients see), ``local``, ``instance``,
        ``created_at``.
    """


@hookspec
def crosslink_search(kernel: Kernel, query: str, limit: int) -> list[SearchHit] | None:
    """Contribute matches to the unified search ``GET /api/v1/search?q=``.

    Return at most ``limit`` hits, each with a ``score`` in 0..1 (1 is an exact, complete
    match). The kernel merges every plugin's hits into one list ranked by score. May be async.

    :param kernel: the application kernel.
    :param query: the user's query, stripped, never empty.
    :param limit: the largest number of hits worth returning.
    :return: a list of :class:`kernel.SearchHit` or ``None``.
    """
