"""Response and request shapes of the kernel's own routes (they appear in /openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .search import SearchHit
from .validation import text_schema


class FieldProblemOut(BaseModel):
    """One invalid field of a request: its path (``title``, ``tags.2``) and what is wrong."""

    field: str
    message: str


class ApiErrorOut(BaseModel):
    """Every error response: a short category and what exactly went wrong (some errors add
    keys, e.g. the holder of a lock)."""

    error: str = Field(description="A short category: `bad request`, `not found`, `conflict`...")
    detail: str = Field(description="What exactly went wrong, naming the field or the resource.")
    fields: list[FieldProblemOut] | None = Field(default=None, description="Validation errors: each invalid field.")


class HealthOut(BaseModel):
    status: str
    version: str


class PluginOut(BaseModel):
    name: str
    source: str
    version: str
    enabled: bool
    replaces_builtin: bool
    requires: list[str]
    description: str
    hooks: list[str]
    error: str | None


class EventTypeOut(BaseModel):
    """One event type of ``GET /api/v1/events``."""

    type: str
    channel: str
    plugin: str
    description: str
    event_schema: dict[str, Any] = Field(alias="schema", description="The event's JSON Schema.")


class SearchQuery(BaseModel):
    """``GET /api/v1/search``: ``q`` is required and must hold more than whitespace."""

    q: str = Field(json_schema_extra=text_schema(not_blank=True))
    limit: int = Field(default=50, ge=1, le=500)


class SearchOut(BaseModel):
    items: list[SearchHit]
    total: int


class WorkerOut(BaseModel):
    """One background worker as ``GET /api/v1/workers`` shows it."""

    name: str
    plugin: str
    description: str
    kind: str = Field(description="periodic | long-running")
    every_seconds: float | None
    singleton: bool
    state: str = Field(description="pending | standby | running | idle | backoff | stopping | stopped | finished")
    holds_lease: bool | None = Field(description="singletons: whether this instance holds the lease")
    runs: int
    restarts: int
    last_error: str | None
    last_error_at: str | None
    started_at: str | None
    last_run_at: str | None
    note: str | None


class EventLogQuery(BaseModel):
    """``GET /api/v1/events/log``: the durable event log, after a cursor."""

    after: int | None = Field(default=None, ge=0, lt=2**63, description="the last event_id seen; omitted: start at the newest")
    limit: int = Field(default=100, ge=1, le=1000)
    wait: float = Field(default=0, ge=0, le=60, description="seconds to wait for a new event when none is there (long-polling)")
    channels: str | None = Field(default=None, description="comma-separated channels (default: every channel)")


class EventLogItem(BaseModel):
    event_id: int
    channel: str
    created_at: str
    event: dict


class EventLogOut(BaseModel):
    items: list[EventLogItem]
    last_id: int = Field(description="pass it as `after` next time")
    gap: bool = Field(description="events after `after` are no longer kept (or unknown): re-fetch state, continue from last_id")
