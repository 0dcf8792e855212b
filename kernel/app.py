"""The application factory and the :class:`Kernel` every plugin is handed.

``create_app(settings)`` loads the selected plugins, collects their config sections, events,
models, services and blueprints (in dependency order), mounts the kernel's own routes and
``/ws``, and installs one lifespan: start the database, apply migrations, run the plugins'
``crosslink_startup`` hooks; at the end, the reverse.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from quart import Quart
from quart.globals import request_ctx
from quart_schema import Info, QuartSchema, hide, tag_blueprint

from .broadcaster import Broadcaster
from .browser_sessions import BrowserSessions
from .errors import StartupError, install_error_handlers
from .eventlog import EVENT_LOG_SCHEMA, EventLog, LogEntry
from .events import Event, EventBus, EventRegistry
from .gitignore import keep_out_of_git
from .hook_config import LOCK_FILE_NAME as HOOK_CONFIG_LOCK
from .hook_config import HookConfig
from .jsonutil import install_json_provider
from .leases import FileLeases, PostgresLeases
from .mounts import mount_asgi_apps
from .openapi import CrosslinkOpenAPIProvider
from .plugin_info import ConfigSection
from .plugins import LoadedPlugins, load_plugins
from .relay import EventRelay
from .routes import create_api_blueprint, create_docs_blueprint
from .routing import CONVERTERS, reserve_static_segments, routing_error
from .search import SearchHit
from .security import install_security
from .services import ServiceRegistry
from .settings import Settings
from .storage.checkpointer import CHECKPOINT_SECONDS, WalCheckpointer
from .storage.cli_schema import CLI_SCHEMA
from .storage.database import KERNEL_APP, Database
from .storage.migrations import apply_migrations
from .storage.spec import StorageSpec
from .validation import describe_errors
from .version import __version__
from .workers import Worker, Workers
from .ws import serve_websocket

log = logging.getLogger("crosslink.kernel")

API_PREFIX = "/api/v1"
RELAY_WORKER = "kernel-event-relay"
PRUNE_WORKER = "kernel-event-prune"
PRUNE_SECONDS = 60.0
CHECKPOINT_WORKER = "kernel-wal-checkpoint"


async def await_me_maybe(value: Any) -> Any:
    """Await ``value`` if a hook implementation returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def _arguments(impl: Any, plugin: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments an implementation asks for; a callable value is made per plugin."""
    return {
        arg: kwargs[arg](plugin) if callable(kwargs[arg]) and arg in _PER_PLUGIN else kwargs[arg]
        for arg in impl.argnames
    }


_PER_PLUGIN = frozenset({"registry"})


class Kernel:
    """What plugins are handed. The part that is a promise to them is
    :class:`kernel.interface.PluginKernel`; the rest is the runtime's own."""

    def __init__(self, settings: Settings, loaded: LoadedPlugins) -> None:
        self.settings = settings
        self.clock = settings.clock
        self.plugins = loaded
        #: This process among the instances of a team server (it marks its events in the log).
        self.instance = uuid.uuid4().hex[:12]
        self.broadcaster = Broadcaster(settings.ws_queue_size)
        self.events = EventBus(EventRegistry(), settings.clock.now)
        self.db = Database(settings.database_url, self.events, pool_size=settings.db_pool)
        self.event_log = EventLog(self.db, self.instance)
        self.events.attach(self.db, self.event_log)
        self.workers = Workers(_leases_for(self.db))
        self._checkpointer = WalCheckpointer(self.db) if self.db.is_sqlite else None
        self.relay = EventRelay(self.db, self.event_log, self._deliver, lambda: self.workers.wake(RELAY_WORKER))
        self.events.on_committed = self.relay.committed
        self.db.follow_changes(lambda: self.relay.last_id)
        self._observers = bool(self._impls("crosslink_on_event"))
        self._observed: deque[LogEntry] = deque()
        self._observer: asyncio.Task | None = None
        self.services = ServiceRegistry()
        self.hook_config = HookConfig(settings.crosslink_dir)
        #: Session cookies that stand in for the bearer token in a browser (see the module).
        self.browser_sessions = BrowserSessions(settings.token, settings.clock)
        #: Machine-local files under ``.crosslink/`` kept out of ``git status`` (:mod:`.gitignore`).
        self._local_files: set[str] = {HOOK_CONFIG_LOCK}
        sqlite = self.db.sqlite_path()
        if sqlite is not None and sqlite.parent.resolve() == settings.crosslink_dir.resolve():
            self._local_files |= {sqlite.name, f"{sqlite.name}-wal", f"{sqlite.name}-shm",
                                  f"{self.db.runtime_dir().name}/"}
        self.storage_specs: list[tuple[str, StorageSpec]] = []
        self._plugin_config: dict[str, BaseModel] = {}
        self._tasks: set[asyncio.Task] = set()
        self.started = False

    # --- what plugins use -------------------------------------------------------------------

    @property
    def repo_root(self) -> Path:
        return self.settings.repo_root

    @property
    def crosslink_dir(self) -> Path:
        return self.settings.crosslink_dir

    @property
    def main_repo_root(self) -> Path:
        """The main repository root (where the hub and knowledge caches live)."""
        return self.settings.main_repo_root

    def publish(self, event: Event) -> None:
        """Publish an event (deferred until commit inside ``db.transaction()``)."""
        self.events.publish(event)

    def plugin_config(self, name: str) -> BaseModel | None:
        """The validated ``[plugins.<name>]`` section, or ``None`` if the plugin has none."""
        return self._plugin_config.get(name)

    def is_enabled(self, name: str) -> bool:
        """Whether the plugin ``name`` is enabled in this deployment."""
        return name in self.plugins.order

    def hook_results(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a (synchronous) hook a plugin added, in dependency order: ``(plugin, result)``."""
        return self._call_build(hook, **kwargs)

    def has_implementations(self, hook: str) -> bool:
        """Whether any enabled plugin implements ``hook``."""
        return bool(self._impls(hook))

    @property
    def last_event_id(self) -> int:
        """The id of the newest event this instance has delivered to its clients (a page
        rendered now resumes its WebSocket from there)."""
        return self.relay.last_id

    def event_types(self) -> list[dict[str, Any]]:
        """Every registered event type: ``type``, ``plugin``, ``channel``, description, schema."""
        return self.events.registry.describe()

    def keep_out_of_git(self, *paths: str) -> None:
        """Keep machine-local files of a plugin (paths inside ``.crosslink/``, directories with a
        trailing ``/``) out of ``git status``; call it during startup (see :mod:`kernel.gitignore`)."""
        self._local_files.update(paths)

    def spawn(self, coroutine: Coroutine, name: str) -> asyncio.Task:
        """Run ``coroutine`` for the life of the server; it is cancelled at shutdown."""
        task = asyncio.get_running_loop().create_task(self._guard(coroutine, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def search(self, query: str, limit: int) -> list[SearchHit]:
        """The unified search: every plugin's ``crosslink_search`` hits for ``query``."""
        hits: list[SearchHit] = []
        for plugin, result in await self._call_runtime("crosslink_search", kernel=self, query=query, limit=limit):
            for hit in result or []:
                if isinstance(hit, SearchHit):
                    hits.append(hit)
                else:
                    log.warning("plugin '%s' returned a search hit that is not a SearchHit", plugin)
        return hits

    # --- the runtime's own (not for plugins: see kernel.interface) -------------------------

    def _impls(self, hook: str) -> dict[str, Any]:
        caller = getattr(self.plugins.pm.hook, hook)
        return {impl.plugin_name: impl for impl in caller.get_hookimpls()}

    def _call_build(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a build-phase hook plugin by plugin, in dependency order."""
        impls = self._impls(hook)
        results = []
        for name in self.plugins.order:
            impl = impls.get(name)
            if impl is None:
                continue
            try:
                result = impl.function(**_arguments(impl, name, kwargs))
            except StartupError:
                raise
            except Exception as exc:
                raise StartupError(f"plugin '{name}' failed in {hook}: {type(exc).__name__}: {exc}") from exc
            results.append((name, result))
        return results

    async def _call_runtime(
        self, hook: str, *, reverse: bool = False, isolate: bool = True, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Call a runtime hook plugin by plugin, awaiting each; errors logged when isolated."""
        impls = self._impls(hook)
        order = reversed(self.plugins.order) if reverse else self.plugins.order
        results = []
        for name in order:
            impl = impls.get(name)
            if impl is None:
                continue
            try:
                result = await await_me_maybe(impl.function(**_arguments(impl, name, kwargs)))
            except Exception as exc:
                if not isolate:
                    if isinstance(exc, StartupError):
                        raise
                    raise StartupError(f"plugin '{name}' failed in {hook}: {type(exc).__name__}: {exc}") from exc
                log.exception("plugin '%s' failed in %s", name, hook)
                continue
            results.append((name, result))
        return results

    # --- event delivery (the relay's sink) ---------------------------------------------------

    def _deliver(self, entry: LogEntry) -> None:
        self.broadcaster.deliver(entry)
        if self._observers:
            self._observed.append(entry)
            if self._observer is None or self._observer.done():
                self._observer = asyncio.get_running_loop().create_task(self._observe(), name="event-observers")

    async def _observe(self) -> None:
        """Call ``crosslink_on_event`` for each delivered entry, in log order."""
        while self._observed:
            entry = self._observed.popleft()
            event = entry.event
            if event is None:  # another instance's event: rebuild it, if this server knows it
                event_class = self.events.registry.get(entry.type)
                if event_class is None:
                    continue
                try:
                    event = event_class.model_validate_json(entry.payload)
                except ValueError:
                    log.warning("event %s (%s) in the log does not match its class; not observed", entry.id, entry.type)
                    continue
            await self._call_runtime("crosslink_on_event", kernel=self, event=event, entry=entry)

    async def _guard(self, coroutine: Awaitable, name: str) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task '%s' failed", name)

    # --- build and lifecycle ---------------------------------------------------------------

    def _collect(self) -> None:
        """Gather config sections, events, storage specs and services from the plugins."""
        for plugin, section in self._call_build("crosslink_config_section"):
            if section is None:
                continue
            if not isinstance(section, ConfigSection):
                raise StartupError(f"plugin '{plugin}': crosslink_config_section must return a ConfigSection")
            raw = self.settings.plugin_settings.get(section.name, {})
            try:
                self._plugin_config[section.name] = section.model.model_validate(raw)
            except ValidationError as exc:
                detail, _ = describe_errors(exc)
                raise StartupError(f"config section [plugins.{section.name}]: {detail}") from None
        for plugin, event_classes in self._call_build("crosslink_register_events"):
            for event_class in event_classes or []:
                self.events.registry.add(plugin, event_class)
        labels: dict[str, str] = {}
        for plugin, spec in self._call_build("crosslink_register_models"):
            if spec is None:
                continue
            if not isinstance(spec, StorageSpec):
                raise StartupError(f"plugin '{plugin}': crosslink_register_models must return a StorageSpec")
            if spec.app_label in labels or spec.app_label == KERNEL_APP:
                raise StartupError(
                    f"plugins '{labels.get(spec.app_label, 'kernel')}' and '{plugin}' both use the "
                    f"storage app label '{spec.app_label}'"
                )
            labels[spec.app_label] = plugin
            self.storage_specs.append((plugin, spec))
        self._call_build(
            "crosslink_register_services",
            kernel=self,
            registry=lambda plugin: self.services.scoped(plugin),
        )

    def _migration_plan(self) -> list[tuple[str, list]]:
        kernel_migrations = [CLI_SCHEMA, EVENT_LOG_SCHEMA]
        return [(KERNEL_APP, kernel_migrations)] + [(spec.app_label, list(spec.migrations)) for _, spec in self.storage_specs]

    async def migrate(self) -> list[str]:
        """Apply pending migrations without serving (``crosslink db migrate``)."""
        await self.db.start([spec for _, spec in self.storage_specs])
        try:
            return await apply_migrations(self.db, self._migration_plan())
        finally:
            await self.db.stop()

    async def start(self) -> None:
        specs = [spec for _, spec in self.storage_specs]
        await self.db.start(specs)
        try:
            await apply_migrations(self.db, self._migration_plan())
            await self.relay.start()
            self._add_kernel_workers()
            self.workers.start([RELAY_WORKER])
            await self._call_runtime("crosslink_startup", isolate=False, kernel=self)
            await asyncio.to_thread(keep_out_of_git, self.crosslink_dir, self._local_files)
            self._collect_workers()
        except BaseException:
            await self.workers.stop()
            await self._stop_tasks()
            await self.db.stop()
            raise
        self.workers.start()
        self.started = True

    def _add_kernel_workers(self) -> None:
        settings = self.settings
        self.workers.add(
            Worker(RELAY_WORKER, self.relay.run, stop_timeout=3.0,
                   description="delivers the event log to this instance's clients, in commit order"),
            plugin="kernel",
        )

        async def prune(ctx) -> None:
            removed = await self.event_log.prune(
                self.clock.now(), timedelta(seconds=settings.event_retention_seconds), settings.event_retention_count
            )
            ctx.note(f"removed {removed} old event(s)" if removed else "nothing to remove")

        self.workers.add(
            Worker(PRUNE_WORKER, prune, every=PRUNE_SECONDS, singleton=True,
                   description="removes events beyond the retention (age and count)"),
            plugin="kernel",
        )
        if self._checkpointer is not None:
            self.workers.add(
                Worker(CHECKPOINT_WORKER, self._checkpointer.run, every=CHECKPOINT_SECONDS,
                       description="copies the SQLite write-ahead log into the database file (no request waits)"),
                plugin="kernel",
            )

    def _collect_workers(self) -> None:
        for plugin, workers in self._call_build("crosslink_register_workers", kernel=self):
            for worker in workers or []:
                if not isinstance(worker, Worker):
                    raise StartupError(f"plugin '{plugin}': crosslink_register_workers must return Worker objects")
                self.workers.add(worker, plugin=plugin)

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        await self.workers.stop()
        if self._checkpointer is not None:
            self._checkpointer.close()
        await self._call_runtime("crosslink_shutdown", reverse=True, kernel=self)
        await self._stop_tasks()
        await self.events.drain()
        if self._observer is not None:
            await asyncio.gather(self._observer, return_exceptions=True)
        await self.db.stop()

    async def _stop_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _leases_for(db: Database):
    """Singleton leases: advisory locks on PostgreSQL, file locks beside an SQLite file."""
    if db.is_sqlite:
        return FileLeases(db.runtime_dir() / "leases")
    return PostgresLeases(db.url)


class CrosslinkQuart(Quart):
    """Quart, logging a :class:`StartupError` as its message instead of a traceback, and
    answering routing failures without redirects (:func:`kernel.routing.routing_error`)."""

    def raise_routing_exception(self, request) -> NoReturn:
        try:
            adapter = request_ctx.url_adapter
        except RuntimeError:  # a WebSocket: no HTTP methods to list
            adapter = None
        raise routing_error(adapter, request.routing_exception, request.method)

    def log_exception(self, exception_info) -> None:
        if isinstance(exception_info[1], StartupError):
            self.logger.error("%s", exception_info[1])
            return
        super().log_exception(exception_info)


def configure_routing(app: Quart, settings: Settings) -> None:
    """The kernel's converters; no redirects, no automatic OPTIONS; the body time limit.

    Werkzeug would answer ``//issues`` and a missing trailing slash with a 308 HTML redirect
    and every ``OPTIONS`` with an empty 200: here they are JSON 404/405 (preflights of allowed
    origins are answered by :mod:`kernel.security`). Runs before any rule is added.
    """
    app.url_map.converters.update(CONVERTERS)
    app.url_map.merge_slashes = False
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["BODY_TIMEOUT"] = settings.body_timeout


def create_app(settings: Settings, *, extra_plugins: dict[str, Any] | None = None) -> Quart:
    """Build the application for ``settings``; raises :class:`StartupError` on bad set-ups."""
    settings.check()
    loaded = load_plugins(
        settings.plugins,
        autoload=settings.autoload,
        strict=settings.strict_plugins,
        extra=extra_plugins,
    )
    app = CrosslinkQuart("crosslink")
    configure_routing(app, settings)
    QuartSchema(
        app,
        info=Info(title="crosslink-server", version=__version__),
        openapi_path="/openapi.json",
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        openapi_provider_class=CrosslinkOpenAPIProvider,
    )
    install_json_provider(app)
    install_error_handlers(app, loaded.disabled_owner)
    policy = install_security(app, settings)

    kernel = Kernel(settings, loaded)
    app.extensions["crosslink"] = kernel
    kernel._collect()

    app.register_blueprint(create_api_blueprint(kernel), url_prefix=API_PREFIX)
    app.register_blueprint(create_docs_blueprint())
    for plugin, blueprints in kernel._call_build("crosslink_register_blueprints", kernel=kernel):
        for blueprint in blueprints or []:
            tag_blueprint(blueprint, [plugin])
            try:
                app.register_blueprint(blueprint, url_prefix=API_PREFIX + (blueprint.url_prefix or ""))
            except ValueError as exc:
                raise StartupError(f"plugin '{plugin}': blueprint '{blueprint.name}': {exc}") from exc
    mount_asgi_apps(app, kernel, policy)

    for plugin, blueprints in kernel._call_build("crosslink_register_web_blueprints", kernel=kernel):
        for blueprint in blueprints or []:
            _register_web_blueprint(app, plugin, blueprint)

    @app.websocket("/ws")
    async def ws():
        await serve_websocket(kernel)

    reserve_static_segments(app.url_map)

    @app.after_request
    async def events_before_response(response):
        """An event a request caused outside a transaction is in the event log (and so before
        any later WebSocket client's starting point) by the time its response leaves."""
        await kernel.events.settle()
        return response

    @app.while_serving
    async def lifespan():
        await kernel.start()
        yield
        await kernel.stop()

    return app


#: Paths a browser page may not take: the API, the WebSocket and the API docs (and below them).
RESERVED_PATHS = ("/api", "/ws", "/docs", "/openapi.json")


def _is_reserved(path: str) -> bool:
    return any(path == reserved or path.startswith(reserved + "/") for reserved in RESERVED_PATHS)


def _hidden(view: Any) -> Any:
    """``view`` left out of ``/openapi.json`` (a bound method, such as a blueprint's static
    route, is wrapped: attributes cannot be set on it)."""
    if inspect.ismethod(view):
        bound = view

        @functools.wraps(bound)
        async def view(*args: Any, **kwargs: Any) -> Any:
            return await await_me_maybe(bound(*args, **kwargs))

    return hide(view)


def _register_web_blueprint(app: Quart, plugin: str, blueprint: Any) -> None:
    """Mount a page blueprint at the root, out of the API document; refuse one that would
    shadow a reserved path."""
    before = {id(rule) for rule in app.url_map.iter_rules()}
    try:
        app.register_blueprint(blueprint)
    except ValueError as exc:
        raise StartupError(f"plugin '{plugin}': web blueprint '{blueprint.name}': {exc}") from exc
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if id(rule) in before or not rule.endpoint.startswith(blueprint.name + "."):
            continue
        if _is_reserved(path):
            raise StartupError(
                f"plugin '{plugin}': web blueprint '{blueprint.name}' has the route {path}, which is "
                "reserved for the API, /ws or the API docs"
            )
        app.view_functions[rule.endpoint] = _hidden(app.view_functions[rule.endpoint])


def kernel_of(app: Quart) -> Kernel:
    return app.extensions["crosslink"]


__all__ = ["Kernel", "create_app", "kernel_of"]
