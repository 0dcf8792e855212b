"""``[plugins.agents]`` in ``.crosslink/server.toml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AgentsConfig(BaseModel):
    """Settings of the agents plugin (all optional)."""

    model_config = ConfigDict(extra="forbid")

    #: Longest time between two scans of the hub when no notification arrives (seconds).
    poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: Use filesystem notifications (watchfiles) on the hub checkout; polling remains the fallback.
    watch_files: bool = True
    #: Heartbeats kept per agent for ``heartbeat_history`` (older server heartbeats are pruned).
    history_size: int = Field(default=20, ge=1, le=1000)
    #: Also read past heartbeats from the hub's git log (``heartbeat: <agent> at <time>`` commits).
    git_history: bool = True
