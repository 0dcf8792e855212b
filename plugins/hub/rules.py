"""The two time rules every plugin shares: agent status and lock staleness.

Agent status from the age of the newest heartbeat (a future timestamp counts as age 0):
``active`` below 5 minutes, ``idle`` from 5 up to 30 minutes, ``stale`` from 30 minutes on,
``unknown`` without a heartbeat. Exactly 5 minutes is ``idle``, exactly 30 is ``stale``.

Lock staleness, the one rule for ``/locks``, ``/locks/stale``, sync status and steal: a lock is
stale when its holder's newest heartbeat is at least ``stale_lock_timeout_minutes`` old; when
the holder has no heartbeat at all, the claim's age is compared instead. ``age_seconds`` is
always the claim's age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACTIVE_SECONDS = 5 * 60
IDLE_SECONDS = 30 * 60

STATUSES = ("active", "idle", "stale", "unknown")


def _age_seconds(since: datetime, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds())


def agent_status(last_heartbeat: datetime | None, now: datetime) -> str:
    """``active`` | ``idle`` | ``stale`` from the heartbeat's age; ``unknown`` without one."""
    if last_heartbeat is None:
        return "unknown"
    age = _age_seconds(last_heartbeat, now)
    if age < ACTIVE_SECONDS:
        return "active"
    if age < IDLE_SECONDS:
        return "idle"
    return "stale"


def next_status_change(last_heartbeat: datetime | None, now: datetime) -> datetime | None:
    """When time alone will next change the status derived from ``last_heartbeat``."""
    if last_heartbeat is None:
        return None
    for boundary in (ACTIVE_SECONDS, IDLE_SECONDS):
        moment = last_heartbeat + timedelta(seconds=boundary)
        if moment > now:
            return moment
    return None


@dataclass(frozen=True)
class LockStaleness:
    """How stale one lock is.

    :ivar is_stale: the holder has been silent for at least the timeout.
    :ivar age_seconds: whole seconds since the claim (never negative).
    :ivar silent_seconds: seconds since the holder's newest heartbeat, or since the claim
        when the holder has none (what the timeout is compared with).
    :ivar basis: ``"heartbeat"`` or ``"claim"``: which of the two was compared.
    """

    is_stale: bool
    age_seconds: int
    silent_seconds: float
    basis: str


def lock_staleness(
    claimed_at: datetime,
    holder_heartbeat: datetime | None,
    now: datetime,
    timeout_minutes: int,
) -> LockStaleness:
    """Apply the one staleness rule to a lock claimed at ``claimed_at``."""
    reference = holder_heartbeat if holder_heartbeat is not None else claimed_at
    silent = _age_seconds(reference, now)
    return LockStaleness(
        is_stale=silent >= timeout_minutes * 60,
        age_seconds=int(_age_seconds(claimed_at, now)),
        silent_seconds=silent,
        basis="heartbeat" if holder_heartbeat is not None else "claim",
    )
