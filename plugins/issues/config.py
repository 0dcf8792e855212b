"""The ``[plugins.issues]`` section of the server config file (``.crosslink/server.toml``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IssuesConfig(BaseModel):
    search_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        description=(
            "SQLite only: how often the search index takes in the changes the crosslink CLI "
            "queued, so the first search after many CLI writes stays fast; 0 = only before a "
            "search (which always happens)."
        ),
    )
    count_cache_size: int = Field(
        default=256,
        ge=0,
        description=(
            "SQLite only: how many list totals (`total` of a list, search, ready or blocked) are "
            "kept until the next write to the database, by anyone; 0 = count every time."
        ),
    )
