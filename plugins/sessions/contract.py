"""The ``sessions`` service other plugins may call: ``kernel.services.get("sessions")``.

Plugins must not import this plugin; this module only documents the duck type. Sessions are
the API's Session dictionaries (``{id, started_at, ended_at, active_issue_id, handoff_notes,
last_action, agent_id}``, RFC 3339 ``Z`` timestamps). ``agent_id=None`` means the sessions
whose ``agent_id`` is null, never "any agent". Errors are :class:`kernel.APIError`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class SessionsAPI(Protocol):
    async def current(self, agent_id: str | None) -> dict[str, Any] | None:
        """The agent's current session (its newest open one), or ``None``."""

    async def last_handoff_notes(self, agent_id: str | None) -> str | None:
        """The handoff notes of the agent's last ended session, or ``None``."""

    async def history(
        self, agent_id: str | None, *, status: str = "all", limit: int = 20, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """The agent's sessions newest first (``status``: active, ended, all) and their total."""

    async def agents(self, limit: int = 100) -> list[str | None]:
        """The agents that have sessions, most recently started first (``None``: no agent)."""

    async def open_sessions(self, limit: int = 100) -> list[dict[str, Any]]:
        """Every agent's open sessions, newest first (the dashboard's "current sessions")."""

    async def record_action(
        self, agent_id: str | None, action: str, *, comment: bool = False
    ) -> tuple[dict[str, Any], int | None]:
        """Set ``last_action`` of the agent's current session (409 when there is none).

        The text is stored as given: validate it as the route does (not blank, <= 64 KiB).
        """
