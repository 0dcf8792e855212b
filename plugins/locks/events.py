"""Events of the ``locks`` channel."""

from __future__ import annotations

from typing import Literal

from kernel import Event


class LockChanged(Event):
    """An issue lock was claimed or released: through the API (claim, release, steal, or the
    issue being closed or deleted) or seen in the hub checkout. A steal is a ``released`` for
    the previous holder followed by a ``claimed`` for the new one."""

    type = "lock_changed"
    channel = "locks"

    issue_id: int
    action: Literal["claimed", "released"]
    agent_id: str


EVENTS = [LockChanged]
