"""Events of the ``sync`` channel: every sync operation's start, steps, result or error."""

from __future__ import annotations

from typing import Any, Literal

from kernel import Event

Operation = Literal["fetch", "push", "init"]
Trigger = Literal["api", "auto"]


class SyncStarted(Event):
    """A sync operation started (``trigger``: ``api`` for a request, ``auto`` for the schedule)."""

    type = "sync_started"
    channel = "sync"

    operation: Operation
    remote: str
    trigger: Trigger


class SyncProgress(Event):
    """A step of a running sync operation: ``waiting-for-cli-lock``, ``recovered`` (what the
    health check repaired), ``committed-local-changes``, ``fetching``, ``pushing``,
    ``retrying``."""

    type = "sync_progress"
    channel = "sync"

    operation: Operation
    step: str
    detail: str | None = None


class SyncCompleted(Event):
    """A sync operation succeeded; ``message`` says what moved, ``counts`` has the figures
    (``heartbeats``, ``lock_changes``, ``knowledge_pages``, ``issues``, ``commits``,
    ``pushed_commits``...)."""

    type = "sync_completed"
    channel = "sync"

    operation: Operation
    remote: str
    trigger: Trigger
    message: str
    counts: dict[str, Any]


class SyncFailed(Event):
    """A sync operation failed: ``error`` is the API error's category (``remote unreachable``,
    ``remote missing``, ``rebase conflict``...), ``detail`` what happened and what to do."""

    type = "sync_failed"
    channel = "sync"

    operation: Operation
    remote: str | None = None
    trigger: Trigger
    status: int
    error: str
    detail: str


EVENTS = [SyncStarted, SyncProgress, SyncCompleted, SyncFailed]
