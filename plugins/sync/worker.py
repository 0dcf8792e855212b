"""The auto-sync worker: fetch and push on a schedule, backing off while the remote is down.

``[plugins.sync] interval_seconds`` turns it on (off by default). Every interval it runs a push
(which fetches first and pushes only when there are local commits), published on the ``sync``
channel like a request's (``trigger: "auto"``). When the remote cannot be reached the next try
waits twice as long, up to ``max_backoff_seconds``; the first success goes back to the
interval. It is a singleton: on a team server one instance syncs. Without a hub checkout it
waits for one (``POST /sync/init`` or ``crosslink sync`` makes it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kernel.api import APIError

if TYPE_CHECKING:
    from kernel.workers import WorkerContext

    from .service import SyncService

log = logging.getLogger("crosslink.sync")

WORKER_NAME = "sync-auto"


def next_delay(interval: float, failures: int, ceiling: float) -> float:
    """The pause before the next run after ``failures`` unreachable tries in a row."""
    return min(interval * (2 ** failures), max(ceiling, interval))


async def run_auto_sync(service: SyncService, ctx: WorkerContext) -> None:
    """The worker's loop (see the module docstring)."""
    config = service.config
    interval = config.interval_seconds
    failures = 0
    while True:
        delay = next_delay(interval, failures, config.max_backoff_seconds)
        if not await ctx.sleep(delay):
            return
        if not service.owner.is_initialized():
            ctx.note("no hub checkout yet; waiting for POST /api/v1/sync/init or `crosslink sync`")
            continue
        try:
            body = await service.push(trigger="auto")
        except APIError as exc:
            if exc.status == 503:
                failures += 1
                ctx.note(f"remote unreachable ({failures} in a row); next try in "
                         f"{next_delay(interval, failures, config.max_backoff_seconds):.3g} s")
            else:
                failures = 0
                ctx.note(f"{exc.error}: {exc.detail}"[:200])
            continue
        failures = 0
        ctx.note(body["message"])
