"""Request and response shapes of the agents routes (they also feed ``/openapi.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel

AgentStatus = Literal["active", "idle", "stale", "unknown"]


class AgentSummary(BaseModel):
    """One agent; every key is present, ``null`` when unknown."""

    agent_id: str
    machine_id: str | None
    description: str | None
    status: AgentStatus
    last_heartbeat: str | None
    active_issue_id: int | None
    branch: str | None
    worktree_path: str | None
    locks: list[int]


class AgentList(RootModel[list[AgentSummary]]):
    """Every agent with a heartbeat or a lock, sorted by ``agent_id`` (a bare array)."""


class AgentDetail(AgentSummary):
    """An agent with its recent heartbeats (newest first) and kickoff status."""

    heartbeat_history: list[str]
    kickoff_status: str | None


class KickoffStatus(BaseModel):
    """The trimmed content of the agent's ``.worktrees/<slug>/.kickoff-status``."""

    status: str


class HeartbeatIn(BaseModel):
    """``POST /agents/:id/heartbeat``; the time is the server's, not the client's."""

    machine_id: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4096)
    active_issue_id: int | None = Field(default=None, ge=-(2**63), lt=2**63)


class RescanResult(BaseModel):
    """What a forced scan found: agents with a heartbeat, and events it published."""

    ok: bool
    agents: int
    events: int
