"""Unified search: each plugin contributes hits through ``crosslink_search``; one ranked list."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    """One match. ``kind`` names what matched (``issue``, ``comment``, ``knowledge``, ...)."""

    kind: str
    id: str
    title: str
    snippet: str = ""
    score: float = Field(ge=0.0, le=1.0)
    issue_id: int | None = None
    url: str | None = None


def rank(hits: list[SearchHit], limit: int) -> list[SearchHit]:
    """Best score first; ties keep kind then id order so the answer is stable."""
    ordered = sorted(hits, key=lambda hit: (-hit.score, hit.kind, hit.id))
    return ordered[:limit]
