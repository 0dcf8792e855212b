"""The one event this plugin publishes."""

from __future__ import annotations

from typing import Literal

from kernel import Event


class SessionChanged(Event):
    """An agent's session changed; sent after the change is committed.

    ``action`` says how: ``started`` (a new session; an idempotent start of an active session
    sends nothing), ``ended`` (one event per ended session), ``work`` (``POST
    /sessions/work/{id}``: ``active_issue_id`` is the new issue) or ``action`` (a breadcrumb
    through ``POST /sessions/action``). ``agent_id`` is ``null`` for sessions without an agent.
    ``active_issue_id`` is the session's issue after the change, or ``null``.
    """

    type = "session_changed"
    channel = "sessions"
    session_id: int
    agent_id: str | None
    action: Literal["started", "ended", "work", "action"]
    active_issue_id: int | None
