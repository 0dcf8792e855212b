"""Work that must not stop half-way when the task awaiting it is cancelled.

A request's task is cancelled when its client disconnects. Most of its work may stop anywhere
(a transaction not yet committed is rolled back), but a commit that has begun must end, and its
outcome must be known: otherwise the change is in the database while its events are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def finish_even_if_cancelled(work: Awaitable[None]) -> None:
    """Run ``work`` in its own task. If the caller is cancelled meanwhile, wait until ``work``
    has finished anyway, then let the cancellation go on."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait([task])
        raise
