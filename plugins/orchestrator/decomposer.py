"""What a decomposer is, and the registry of the ones the plugins offer.

A decomposer turns a design document into a *raw* plan (the LLM envelope's shape); the
orchestrator validates it with :func:`plugins.orchestrator.plan.build_plan`. Decomposers come
from the ``crosslink_orchestrator_decomposers`` hook (:mod:`.hookspecs`), the built-in ones
included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kernel import APIError, StartupError

if TYPE_CHECKING:
    from kernel.app import Kernel

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class DecomposeRequest:
    """What a decomposer is given: the document (Markdown, never blank) and its slug (``None``
    when the client gave none; the orchestrator then derives one from the plan's title)."""

    document: str
    slug: str | None = None


@runtime_checkable
class Decomposer(Protocol):
    """A decomposer (duck type): ``name``, ``description``, ``async decompose(request)``."""

    name: str
    description: str

    async def decompose(self, request: DecomposeRequest) -> dict[str, Any]:
        """The raw plan: ``{"title"?, "phases": [...], "estimated_hours"?}``."""


class Registry:
    """Named objects offered by plugins through one hook (decomposers or launchers)."""

    def __init__(self, what: str, hook: str) -> None:
        self.what = what
        self.hook = hook
        self._items: dict[str, Any] = {}
        self._owners: dict[str, str] = {}

    def collect(self, kernel: Kernel) -> None:
        """Ask every enabled plugin (in dependency order) for its objects."""
        for plugin, items in kernel.hook_results(self.hook, kernel=kernel):
            for item in items or []:
                self.add(plugin, item)

    def add(self, plugin: str, item: Any) -> None:
        """Register ``item`` for ``plugin``; a clash of names is a startup error naming both."""
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not NAME.match(name):
            raise StartupError(f"plugin '{plugin}' offers a {self.what} without a valid name ({name!r})")
        if name in self._items:
            raise StartupError(
                f"{self.what} '{name}' is offered twice: by plugin '{self._owners[name]}' and by plugin '{plugin}'"
            )
        self._items[name] = item
        self._owners[name] = plugin

    def get(self, name: str) -> Any:
        """The object called ``name``; a 400 naming the available ones when there is none."""
        item = self._items.get(name)
        if item is None:
            raise APIError(
                400,
                f"{self.what}: no {self.what} is called '{name}'; available: {', '.join(sorted(self._items)) or 'none'}",
                fields=[{"field": self.what, "message": "unknown name"}],
            )
        return item

    def find(self, name: str) -> Any | None:
        """The object called ``name``, or ``None``."""
        return self._items.get(name)

    def describe(self, default: str) -> list[dict[str, Any]]:
        """Every entry for the listing routes (``default`` marks the configured one)."""
        return [
            {
                "name": name,
                "plugin": self._owners[name],
                "description": getattr(item, "description", "") or "",
                "default": name == default,
            }
            for name, item in sorted(self._items.items())
        ]

    def names(self) -> list[str]:
        """Every name, sorted."""
        return sorted(self._items)
