"""Building the plugin manager: selection, entry points, replacement, requirements, order.

Discovery order:

1. The selection (``--plugins``) is parsed before anything is imported: ``all`` (the default),
   a list such as ``issues,locks``, and exclusions such as ``all,-orchestrator``. The built-in
   interfaces (``kernel.builtin_plugins.INTERFACES``: the dashboard, the MCP tools) follow any
   selection unless excluded by name.
2. Third-party plugins come from the entry-point group ``crosslink.plugins`` (unless autoload
   is off). An entry point that fails to import is reported by name and skipped; with
   ``strict`` it stops the server. An entry point with a built-in's name replaces it.
3. The selected built-ins (``kernel.builtin_plugins``) that were not replaced are imported.
4. ``check_pending()`` rejects implementations of hooks that do not exist (typos).
5. Each plugin's ``requires`` must be enabled; the plugins are put in dependency order.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from .builtin_plugins import BUILTIN_PLUGINS, INTERFACES
from .errors import PluginLoadError, StartupError
from .plugin_info import PluginInfo
from .version import __version__

log = logging.getLogger("crosslink.plugins")

ENTRY_POINT_GROUP = "crosslink.plugins"


@dataclass
class PluginRecord:
    """One plugin known to this server, enabled or not (``crosslink plugins`` prints these)."""

    name: str
    source: str
    version: str
    enabled: bool = False
    replaces_builtin: bool = False
    error: str | None = None
    info: PluginInfo | None = None
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "version": self.version,
            "enabled": self.enabled,
            "replaces_builtin": self.replaces_builtin,
            "requires": list(self.info.requires) if self.info else [],
            "description": self.info.description if self.info else "",
            "hooks": self.hooks,
            "error": self.error,
        }


@dataclass(frozen=True)
class Selection:
    """The parsed ``--plugins`` value."""

    everything: bool
    include: frozenset[str]
    exclude: frozenset[str]

    def wants(self, name: str, *, interface: bool = False) -> bool:
        """Whether ``name`` is selected; an interface plugin is, unless excluded by name."""
        if name in self.exclude:
            return False
        return self.everything or interface or name in self.include


def parse_selection(spec: str | None) -> Selection:
    tokens = [token.strip() for token in (spec or "all").split(",") if token.strip()]
    everything, include, exclude = False, set(), set()
    for token in tokens:
        if token == "all":
            everything = True
        elif token.startswith("-"):
            exclude.add(token[1:].strip())
        else:
            include.add(token)
    if not include and not everything:  # only exclusions: start from everything
        everything = True
    if "" in exclude:
        raise StartupError("--plugins: '-' must be followed by a plugin name")
    both = include & exclude
    if both:
        raise StartupError(f"--plugins names {', '.join(sorted(both))} both to enable and to disable")
    return Selection(everything, frozenset(include), frozenset(exclude))


@dataclass
class LoadedPlugins:
    """The result of :func:`load_plugins`: the manager, the enabled order, every record."""

    pm: pluggy.PluginManager
    order: list[str]
    records: dict[str, PluginRecord]
    failures: list[PluginRecord] = field(default_factory=list)

    def all_records(self) -> list[PluginRecord]:
        """Every record, plus third-party plugins that failed and were replaced by a built-in.

        A disabled built-in is described too (description, requirements, hooks): its module is
        imported for that, never registered."""
        failed = [f for f in self.failures if f is not self.records.get(f.name)]
        for record in self.records.values():
            _describe_builtin(record)
        return sorted([*self.records.values(), *failed], key=lambda r: (r.name, r.source))

    def disabled_owner(self, path: str) -> str | None:
        """The disabled built-in that serves ``path`` (by its ``PluginInfo.paths``), or ``None``."""
        for record in self.records.values():
            if record.enabled:
                continue
            info = _describe_builtin(record)
            if info is not None and any(path == p or path.startswith(p.rstrip("/") + "/") for p in info.paths):
                return record.name
        return None

    def info(self, name: str) -> PluginInfo:
        record = self.records[name]
        return record.info or PluginInfo(name=name)


def _describe_builtin(record: PluginRecord) -> PluginInfo | None:
    """Fill a disabled built-in's ``info`` and ``hooks`` from its module (imported once, never
    registered); the record's info when it has one already."""
    if record.info is not None or record.enabled or record.source != "built-in":
        return record.info
    module_path = BUILTIN_PLUGINS.get(record.name)
    if module_path is None:
        return None
    try:
        module = importlib.import_module(module_path)
        record.info = _plugin_info(record.name, module)
    except Exception as exc:  # describing must not fail the listing
        log.warning("cannot describe the disabled plugin '%s': %s", record.name, exc)
        return None
    marker = f"{hookspecs.PROJECT}_impl"
    record.hooks = sorted(
        name for name in dir(module) if name.startswith("crosslink_") and hasattr(getattr(module, name), marker)
    )
    return record.info


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.crosslink_add_hookspecs.call_historic(kwargs={"pm": pm})
    return pm


def _plugin_info(name: str, plugin: Any) -> PluginInfo:
    info = getattr(plugin, "PLUGIN", None)
    if info is None:
        return PluginInfo(name=name)
    if not isinstance(info, PluginInfo):
        raise PluginLoadError(f"plugin '{name}': PLUGIN must be a kernel.PluginInfo")
    if info.name != name:
        raise PluginLoadError(
            f"plugin registered as '{name}' declares PLUGIN.name = '{info.name}'; they must match"
        )
    return info


def _discover_entry_points() -> list[EntryPoint]:
    seen: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        seen.setdefault(ep.name, ep)  # the first on sys.path wins, as imports do
    return sorted(seen.values(), key=lambda ep: ep.name)


def _dist_label(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "entry point", "unknown"
    return dist.metadata["Name"] or dist.name, dist.version or "unknown"


def load_plugins(
    selection: str | None = "all",
    *,
    autoload: bool = True,
    strict: bool = False,
    extra: dict[str, Any] | None = None,
) -> LoadedPlugins:
    """Build a fresh plugin manager with the selected plugins registered and ordered.

    Third-party plugins (given, then installed entry points) are imported first, so that one
    named like a built-in replaces it; then the built-ins not replaced; the selection is checked
    against what exists; everything chosen is registered and put in dependency order.

    :param extra: plugins given as objects (name -> module or object), registered like
        third-party plugins; tests and embedders use it.
    """
    chosen = parse_selection(selection)
    candidates: list[tuple[str, Any]] = list((extra or {}).items())
    if autoload:
        candidates += [(ep.name, ep) for ep in _discover_entry_points()]
    records, objects, failures = _import_third_party(candidates, chosen, strict)
    _import_builtins(records, objects, chosen)
    _check_selection(chosen, set(records) | {f.name for f in failures})
    pm = _register(objects, records)
    order = dependency_order({name: records[name].info for name in objects}, selection or "all")
    return LoadedPlugins(pm=pm, order=order, records=records, failures=failures)


def _import_third_party(
    candidates: list[tuple[str, Any]], chosen: Selection, strict: bool
) -> tuple[dict[str, PluginRecord], dict[str, Any], list[PluginRecord]]:
    """Import the chosen third-party plugins (the first of a name wins); a broken one is
    recorded and skipped, or fatal in strict mode."""
    records: dict[str, PluginRecord] = {}
    objects: dict[str, Any] = {}
    failures: list[PluginRecord] = []
    for name, candidate in candidates:
        if name in records:
            continue
        if isinstance(candidate, EntryPoint):
            dist, version = _dist_label(candidate)
            record = PluginRecord(name, f"{dist} (entry point {candidate.value})", version)
        else:
            record = PluginRecord(name, "given", "-")
        record.replaces_builtin = name in BUILTIN_PLUGINS
        records[name] = record
        if not chosen.wants(name):
            continue
        try:
            objects[name] = candidate.load() if isinstance(candidate, EntryPoint) else candidate
        except Exception as exc:  # a broken third-party plugin must not take the server down
            record.error = f"{type(exc).__name__}: {exc}"
            message = f"plugin '{name}' from {record.source} failed to import: {record.error}"
            if strict:
                raise PluginLoadError(message + " (strict mode)") from exc
            log.error("%s; it is skipped", message)
            failures.append(record)
    return records, objects, failures


def _import_builtins(records: dict[str, PluginRecord], objects: dict[str, Any], chosen: Selection) -> None:
    """Import the chosen built-ins that no third-party plugin replaced (a broken replacement
    falls back to the built-in); record every built-in, enabled or not."""
    for name, module_path in BUILTIN_PLUGINS.items():
        if name in objects:  # replaced by a third-party plugin that loaded
            continue
        if name in records and records[name].error is not None:
            log.warning("plugin '%s': using the built-in one instead", name)
        wanted = chosen.wants(name, interface=name in INTERFACES)
        if name not in records or records[name].error is not None or not wanted:
            records[name] = PluginRecord(name, "built-in", __version__)
        if not wanted:
            continue
        try:
            objects[name] = importlib.import_module(module_path)
        except Exception as exc:
            raise PluginLoadError(f"built-in plugin '{name}' ({module_path}) failed to import: {exc}") from exc


def _check_selection(chosen: Selection, known: set[str]) -> None:
    """An unknown name to enable is an error listing what exists; an unknown one to disable
    is only a warning."""
    unknown = chosen.include - known
    if unknown:
        raise StartupError(
            f"--plugins names unknown plugin(s): {', '.join(sorted(unknown))}; "
            f"available: {', '.join(sorted(known)) or 'none'}"
        )
    for name in sorted(chosen.exclude - known):  # disabling what is not installed is harmless
        log.warning("--plugins disables '%s', which is not installed", name)


def _register(objects: dict[str, Any], records: dict[str, PluginRecord]) -> pluggy.PluginManager:
    """A plugin manager with every chosen plugin registered and its hooks checked."""
    pm = new_plugin_manager()
    for name, plugin in objects.items():
        record = records[name]
        record.info = _plugin_info(name, plugin)
        try:
            pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginLoadError(f"plugin '{name}' cannot be registered: {exc}") from exc
        record.enabled = True
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginLoadError(f"plugin '{name}' implements an unknown hook: {exc}") from exc
    _refuse_call_options(pm)
    for name in objects:
        records[name].hooks = sorted(caller.name for caller in pm.get_hookcallers(pm.get_plugin(name)) or [])
    return pm


#: Options of pluggy that the kernel's own hooks cannot honour (see :func:`_refuse_call_options`).
_CALL_OPTIONS = ("hookwrapper", "wrapper", "tryfirst", "trylast")


def _refuse_call_options(pm: pluggy.PluginManager) -> None:
    """The kernel calls each of its own hooks implementation by implementation, in plugin
    dependency order, so that an error names its plugin and one failing observer does not stop
    the others (``Kernel._call_build`` / ``_call_runtime``). Pluggy's ``hookwrapper``/``wrapper``
    and ``tryfirst``/``trylast`` would silently do nothing there, so a plugin that asks for them
    on a kernel hook is refused with a message that says what to do instead. Hooks a plugin
    defines itself (through ``crosslink_add_hookspecs``) are its own to call: with
    ``kernel.hook_results`` (the same order and errors), or through the ``pm`` it was handed,
    with every pluggy feature."""
    kernel_hooks = {name for name in dir(hookspecs) if name.startswith("crosslink_")} - {"crosslink_add_hookspecs"}
    for hook in sorted(kernel_hooks):
        caller = getattr(pm.hook, hook, None)
        for impl in caller.get_hookimpls() if caller is not None else []:
            asked = [option for option in _CALL_OPTIONS if getattr(impl, option, False)]
            if asked:
                raise PluginLoadError(
                    f"plugin '{impl.plugin_name}' implements {hook} with {', '.join(asked)}: the kernel "
                    "calls its hooks one plugin at a time in dependency order, so that would be ignored; "
                    "declare PluginInfo(requires=...) to run after another plugin instead"
                )


def _listed(names: set[str], selection: str) -> str:
    """A ``--plugins`` list of ``names``, without the interfaces that come along anyway."""
    named = parse_selection(selection).include
    return ",".join(sorted(n for n in names if n not in INTERFACES or n in named)) or "all"


def _without_suggestion(name: str, infos: dict[str, PluginInfo], selection: str) -> str:
    """How to start without ``name``: drop it from an explicit list, or exclude it from ``all``."""
    chosen = parse_selection(selection)
    if chosen.everything:
        return f", or disable '{name}' with --plugins {selection},-{name}"
    rest = sorted(set(infos) - {name})
    # what the rest needs that is not enabled either would fail next: offer only a list that starts
    if not [n for n in rest if n not in INTERFACES] or any(
        r not in rest for other in rest for r in infos[other].requires
    ):
        return ""
    return f", or leave '{name}' out with --plugins {_listed(set(rest), selection)}"


def dependency_order(infos: dict[str, PluginInfo], selection: str) -> list[str]:
    """Enabled plugin names, each after the plugins it requires (ties by name)."""
    for name, info in infos.items():
        missing = [required for required in info.requires if required not in infos]
        if missing:
            raise StartupError(
                f"plugin '{name}' requires {', '.join(repr(m) for m in missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not enabled (--plugins {selection}). "
                f"Enable {'it' if len(missing) == 1 else 'them'} with --plugins {_listed({*infos, *missing}, selection)}"
                f"{_without_suggestion(name, infos, selection)}"
            )
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise StartupError(f"plugins require each other in a cycle: {' -> '.join([*path, name])}")
        state[name] = "visiting"
        for required in sorted(infos[name].requires):
            visit(required, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in sorted(infos):
        visit(name, [])
    return order
