"""The ``agents`` service, as other plugins may call it: ``kernel.services.get("agents")``.

Plugins must not import this plugin; this module only documents the duck type. Heartbeat
records are :class:`plugins.hub.Heartbeat` instances (the shared hub library's type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from plugins.hub import Heartbeat


class AgentsServiceContract(Protocol):
    async def latest_heartbeats(self) -> dict[str, Heartbeat]:
        """Every agent's newest heartbeat (hub V1 + V2 + server), keyed by agent id."""

    async def list_agents(self) -> list[dict[str, Any]]:
        """Every agent as ``GET /agents`` answers it (``AgentSummary`` dicts), by id."""

    async def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        """One agent as ``GET /agents/{id}`` answers it (``AgentDetail``), or ``None``."""

    async def rescan(self) -> tuple[int, int]:
        """Scan now and publish what changed: ``(agents with a heartbeat, events sent)``."""
