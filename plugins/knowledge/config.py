"""The ``[plugins.knowledge]`` section of ``.crosslink/server.toml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KnowledgeConfig(BaseModel):
    """Timeouts for the git commands the plugin runs."""

    model_config = ConfigDict(extra="forbid")

    git_timeout_seconds: float = Field(
        default=60, gt=0, le=3600, description="longest a local git command may run"
    )
    remote_timeout_seconds: float = Field(
        default=30, gt=0, le=3600,
        description="longest `git ls-remote` / `git fetch` may take when the worktree is first created",
    )
