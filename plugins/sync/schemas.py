"""Request and response shapes of the sync routes (they also feed ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SyncRequest(BaseModel):
    """``POST /sync/fetch``, ``/sync/push``, ``/sync/init``: every field optional (no body works).

    ``remote`` names another configured git remote than ``tracker_remote`` for this call; it
    must be a plain remote name (a leading ``-`` or odd characters are a 400 before git runs).
    """

    remote: str | None = Field(default=None, max_length=200)


class SyncError(BaseModel):
    """``{"error", "detail"}`` plus the operation and, when it matters, the remote."""

    error: str
    detail: str
    operation: str | None = None
    remote: str | None = None


class KnowledgeState(BaseModel):
    initialized: bool
    branch: str
    head: str | None
    ahead: int | None
    behind: int | None


class AutoSync(BaseModel):
    enabled: bool
    interval_seconds: float | None


class HubWrites(BaseModel):
    """Per area: ``true`` when the API's changes go through the hub, ``false`` for the database only."""

    issues: bool
    locks: bool


class SyncStatusResponse(BaseModel):
    """The contract's ``SyncStatusResponse`` (first six keys) and what a person needs besides.

    ``ahead``/``behind``: hub commits not on the remote / on the remote's branch as of the last
    fetch, ``null`` without a remote-tracking branch. ``remote_reachable``/``remote_has_hub``:
    as of the last attempt (``null``: not tried yet). ``hub_in_use``: the checkout is a worktree
    of crosslink/hub. ``hub_writes``: whether issues and locks changed through the API are
    written to the hub (committed and pushed as the CLI writes them) or to the database only.
    """

    hub_initialized: bool
    hub_branch: str
    remote: str
    last_fetch_at: str | None
    active_lock_count: int
    stale_lock_count: int
    hub_in_use: bool
    hub_writes: HubWrites
    hub_path: str
    layout_version: int | None
    head: str | None
    uncommitted_changes: int
    ahead: int | None
    behind: int | None
    remote_configured: bool
    remote_url: str | None
    remote_problem: str | None
    remote_reachable: bool | None
    remote_has_hub: bool | None
    last_attempt_at: str | None
    last_push_at: str | None
    last_error: dict[str, Any] | None
    last_result: dict[str, Any] | None
    in_progress: str | None
    knowledge: KnowledgeState
    auto_sync: AutoSync


class SyncActionResponse(BaseModel):
    """The contract's ``{success, message}`` plus the counts the message is made of."""

    success: bool
    message: str
    remote: str | None = None
    heartbeats: int | None = None
    lock_changes: int | None = None
    knowledge_pages: int | None = None
    commits: int | None = None
    pushed_commits: int | None = None
    knowledge_pushed_commits: int | None = None
    attempts: int | None = None


class SyncInitResponse(BaseModel):
    """``POST /sync/init``: 201 when the checkout was created, 200 when it existed."""

    success: bool
    message: str
    created: bool
    source: str
    remote: str | None
    head: str | None
