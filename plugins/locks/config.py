"""``[plugins.locks]`` in ``.crosslink/server.toml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LocksConfig(BaseModel):
    """Settings of the locks plugin (all optional). The staleness timeout and auto-steal are
    not here: they come from ``hook-config.json``, shared with the CLI."""

    model_config = ConfigDict(extra="forbid")

    #: Longest time between two scans of the hub's locks when no notification arrives (seconds).
    poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: Use filesystem notifications (watchfiles) on the hub checkout; polling remains the fallback.
    watch_files: bool = True
    #: Release the server's lock on an issue when the issue is closed or deleted (as the CLI's
    #: ``issue close`` does).
    release_on_close: bool = True
