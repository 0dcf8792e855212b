"""Request and response shapes of the locks routes (they also feed ``/openapi.json``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, RootModel

from plugins.hub import AGENT_ID_SCHEMA


class HubLockWrite(BaseModel):
    """What a claim, release or steal did on the hub (only on a repository whose hub is in use).

    ``written``: a commit was made (``commit``); ``false`` when the hub already said so.
    ``pushed``: it reached the remote. ``offline``: the remote could not be reached or none is
    configured: the commit stays in the local checkout and the next successful push publishes
    it (``detail`` says so); other machines do not see the lock until then."""

    layout_version: int
    written: bool
    commit: str | None
    pushed: bool
    offline: bool
    detail: str | None


class LockEntry(BaseModel):
    """A lock. The contract's keys, every one present (``null`` when unknown), plus where the
    lock lives (``source``: ``server``, ``hub-v1`` or ``hub-v2``) and, for server locks, the
    fencing token."""

    issue_id: int
    agent_id: str
    branch: str | None
    claimed_at: str
    signed_by: str | None
    age_seconds: int
    is_stale: bool
    source: str
    fencing_token: int | None
    hub: HubLockWrite | None = Field(default=None, description="on a claim or steal through the hub only")


class LockList(RootModel[list[LockEntry]]):
    """Locks sorted by ``issue_id`` (a bare array)."""


class ClaimIn(BaseModel):
    """``POST /locks/:issue_id/claim`` and ``/steal``."""

    agent_id: str = Field(min_length=1, max_length=128, json_schema_extra=AGENT_ID_SCHEMA)
    branch: str | None = Field(default=None, max_length=256)


class ReleaseIn(BaseModel):
    """``POST /locks/:issue_id/release``: only the holder may release."""

    agent_id: str = Field(min_length=1, max_length=128, json_schema_extra=AGENT_ID_SCHEMA)


class ReleaseOut(BaseModel):
    """``ok``, and on a repository whose hub is in use what the release wrote there (``hub``)."""

    ok: bool
    hub: HubLockWrite | None = None


class LockConflict(BaseModel):
    """409: someone else holds the lock (``holder``); ``stale`` says whether a steal would work.
    A claim that lost a race too many times answers 409 with ``error`` and ``detail`` only."""

    error: str
    detail: str
    holder: str | None = None
    stale: bool | None = None
    source: str | None = None


class RescanResult(BaseModel):
    """What a forced scan of the hub's locks found, and the events it published."""

    ok: bool
    locks: int
    events: int
