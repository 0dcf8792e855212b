"""``[plugins.sync]`` in ``.crosslink/server.toml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SyncConfig(BaseModel):
    """Settings of the sync plugin (all optional)."""

    model_config = ConfigDict(extra="forbid")

    #: Fetch and push on a schedule, every this many seconds; off (``None``) by default.
    interval_seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    #: While the remote is down the schedule backs off (doubling), up to this many seconds.
    max_backoff_seconds: float = Field(default=900, gt=0, le=7 * 24 * 3600)
    #: Pushes per branch before giving up when others keep pushing first (rejected pushes).
    push_attempts: int = Field(default=3, ge=1, le=20)
    #: How long a sync request waits for another hub operation of this server before a 409.
    wait_seconds: float = Field(default=120, gt=0, le=3600)
