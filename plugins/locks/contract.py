"""The ``locks`` service, as other plugins may call it: ``kernel.services.get("locks")``.

Plugins must not import this plugin; this module only documents the duck type. Lock records
are :class:`plugins.hub.Lock` instances (the shared hub library's type); entries are the API's
``LockEntry`` dictionaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from plugins.hub import Lock


class LocksServiceContract(Protocol):
    async def held_locks(self) -> list[Lock]:
        """Every effective lock (hub and server merged per issue), by issue id."""

    async def list_locks(self) -> list[dict[str, Any]]:
        """Every lock as a ``LockEntry`` (``is_stale`` under the one staleness rule)."""

    async def stale_locks(self) -> list[dict[str, Any]]:
        """Only the stale entries of :meth:`list_locks`."""

    async def rescan(self) -> tuple[int, int]:
        """Read the hub's locks now and publish changes: ``(hub locks, events sent)``."""
