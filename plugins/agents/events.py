"""Events of the ``agents`` channel."""

from __future__ import annotations

from typing import Literal

from kernel import Event


class HeartbeatReceived(Event):
    """An agent's newest heartbeat changed (a new hub heartbeat or a POSTed one).

    ``timestamp`` is the heartbeat's time (RFC 3339, ``Z``); ``active_issue_id`` the issue the
    agent reported working on, or null.
    """

    type = "heartbeat"
    channel = "agents"

    agent_id: str
    timestamp: str
    active_issue_id: int | None = None


class AgentStatusChanged(Event):
    """An agent's derived status changed: after a heartbeat, or because time passed
    (active -> idle after 5 minutes, idle -> stale after 30), or ``unknown`` when its
    heartbeat disappeared."""

    type = "agent_status"
    channel = "agents"

    agent_id: str
    status: Literal["active", "idle", "stale", "unknown"]


EVENTS = [HeartbeatReceived, AgentStatusChanged]
