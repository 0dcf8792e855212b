"""Work that must not stop half-way when the task awaiting it is cancelled.

A request's task is cancelled when its client disconnects. Most of its work may stop anywhere
(a transaction not yet committed is rolled back), but a commit that has begun must end, and its
outcome must be known: otherwise the change is in the database while its events are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def run_to_end(work: Awaitable[T]) -> tuple[T, bool]:
    """Run ``work`` in its own task to its end, even if the caller is cancelled meanwhile;
    return its result and whether the caller was cancelled (the caller re-raises later)."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            return await asyncio.shield(task), cancelled
        except asyncio.CancelledError:
            if task.done():
                raise  # the work itself was cancelled
            cancelled = True


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
