"""The kernel as a plugin sees it: :class:`PluginKernel`, the whole interface plugins may use.

Every hook is handed the :class:`kernel.app.Kernel`; this protocol names the part of it that is
a promise to plugins (a test walks ``plugins/`` and fails when a plugin reaches past it). The
rest of ``Kernel`` — calling the kernel's hooks, collecting what plugins register, the event
relay, the lifespan — is the runtime's own and may change without notice.

============================  ==================================================================
``settings``, ``clock``       the server's :class:`~kernel.settings.Settings`; its clock (tests move it)
``repo_root`` and friends     the repository served, its ``.crosslink/``, the main worktree's root
``db``                        the :class:`~kernel.storage.database.Database` (transactions, reads)
``publish(event)``            an event of a registered type, delivered after its transaction commits
``services``                  the :class:`~kernel.services.ServiceRegistry` plugins talk through
``plugin_config(name)``       a plugin's validated ``[plugins.<name>]`` section
``hook_config``               ``.crosslink/hook-config.json``, read and written as the CLI does
``workers``                   the background workers (``add``, ``wake``, ``get``); see hookspecs
``spawn(coroutine, name)``    a task for the life of the server
``keep_out_of_git(*paths)``   machine-local files under ``.crosslink/`` kept out of ``git status``
``browser_sessions``          cookie sessions standing in for the token in a browser
``search(query, limit)``      the unified search over every plugin's ``crosslink_search``
``is_enabled(name)``          whether a plugin is enabled in this deployment
``hook_results(hook, ...)``   call a hook a plugin added (``crosslink_add_hookspecs``)
``has_implementations(hook)`` whether any enabled plugin implements a hook
``event_types()``             every registered event type: its plugin, channel and fields
``last_event_id``             the newest event this instance delivered (where a page resumes)
============================  ==================================================================
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .browser_sessions import BrowserSessions
    from .events import Event
    from .hook_config import HookConfig
    from .search import SearchHit
    from .services import ServiceRegistry
    from .settings import Settings
    from .storage.database import Database
    from .timeutil import Clock
    from .workers import Workers


@runtime_checkable
class PluginKernel(Protocol):
    """What a plugin may use of the kernel it is handed (see the module docstring)."""

    settings: Settings
    clock: Clock
    db: Database
    services: ServiceRegistry
    hook_config: HookConfig
    workers: Workers
    browser_sessions: BrowserSessions

    @property
    def repo_root(self) -> Path:
        """The repository the server serves (a worktree, perhaps)."""
        ...

    @property
    def crosslink_dir(self) -> Path:
        """That repository's ``.crosslink/`` directory."""
        ...

    @property
    def main_repo_root(self) -> Path:
        """The main repository root (where the hub and knowledge caches live)."""
        ...

    def publish(self, event: Event) -> None:
        """Publish an event (deferred until commit inside ``db.transaction()``)."""
        ...

    def plugin_config(self, name: str) -> BaseModel | None:
        """The validated ``[plugins.<name>]`` section, or ``None`` if the plugin has none."""
        ...

    def is_enabled(self, name: str) -> bool:
        """Whether the plugin ``name`` is enabled in this deployment."""
        ...

    def keep_out_of_git(self, *paths: str) -> None:
        """Keep machine-local files under ``.crosslink/`` out of ``git status``."""
        ...

    def spawn(self, coroutine: Coroutine, name: str) -> asyncio.Task:
        """Run ``coroutine`` for the life of the server; it is cancelled at shutdown."""
        ...

    async def search(self, query: str, limit: int) -> list[SearchHit]:
        """The unified search: every plugin's ``crosslink_search`` hits for ``query``."""
        ...

    def hook_results(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a (synchronous) hook added by a plugin, implementation by implementation in
        dependency order: ``(plugin, result)`` pairs; an error names the failing plugin."""
        ...

    def has_implementations(self, hook: str) -> bool:
        """Whether any enabled plugin implements ``hook``."""
        ...

    @property
    def last_event_id(self) -> int:
        """The id of the newest event this instance has delivered to its clients."""
        ...

    def event_types(self) -> list[dict[str, Any]]:
        """Every registered event type: ``type``, ``plugin``, ``channel``, fields, description."""
        ...
