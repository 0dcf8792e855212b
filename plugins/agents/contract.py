"""The ``agents`` service, as other plugins may call it: ``kernel.services.get("agents")``.

Plugins must not import this plugin; this module only documents the duck type. Heartbeat
records are :class:`plugins.hub.Heartbeat` instances (the shared hub library's type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from plugins.hub import Heartbeat


class AgentsServiceContract(Protocol):
    async def latest_heartbeats(self) -> dict[str, Heartbeat]:
        """Every agent's newest heartbeat (hub V1 + V2 + server), keyed by agent id."""

    async def rescan(self) -> tuple[int, int]:
        """Scan now and publish what changed: ``(agents with a heartbeat, events sent)``."""
