"""``[plugins.dashboard]`` in ``.crosslink/server.toml``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DashboardConfig(BaseModel):
    """Settings of the dashboard."""

    page_size: int = Field(default=50, ge=5, le=500, description="Rows per page of the issue list")
    login_code_minutes: int = Field(
        default=24 * 60, ge=1, le=7 * 24 * 60, description="How long the printed one-time login link works"
    )
