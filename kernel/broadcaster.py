"""Fan-out of events to WebSocket clients, each with its own bounded queue.

Publishing never waits on a client: an event is serialised once and appended to every
matching client's queue. A client whose queue is full loses events; in their place it gets
one ``{"type": "gap", "dropped": n}`` message, at the point where they were lost, so it knows
to re-fetch. Every message a client receives carries its own increasing ``seq``.
"""

from __future__ import annotations

import asyncio
from collections import deque

from .events import Event
from .jsonutil import dumps


class _Gap:
    __slots__ = ("dropped",)

    def __init__(self) -> None:
        self.dropped = 1


class Subscription:
    """One connected client: its channel filter, its queue and its sequence counter."""

    def __init__(self, maxsize: int) -> None:
        self.channels: frozenset[str] | None = None  # None: every channel
        self.maxsize = maxsize
        self.seq = 0
        self.dropped_total = 0
        self._queue: deque[bytes | _Gap] = deque()
        self._ready = asyncio.Event()

    def offer(self, channel: str, body: bytes) -> None:
        """Queue an event body (JSON object bytes) if this client listens to ``channel``."""
        if self.channels is not None and channel not in self.channels:
            return
        if len(self._queue) >= self.maxsize:
            self.dropped_total += 1
            last = self._queue[-1]
            if isinstance(last, _Gap):
                last.dropped += 1
            else:
                self._queue.append(_Gap())
        else:
            self._queue.append(body)
        self._ready.set()

    def send_control(self, message: dict) -> None:
        """Queue a message for this client only (acknowledgements, errors); never dropped."""
        self._queue.append(dumps(message))
        self._ready.set()

    async def next_message(self) -> str:
        """Wait for the next message and return it as JSON text with its ``seq``."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        item = self._queue.popleft()
        self.seq += 1
        if isinstance(item, _Gap):
            return dumps({"seq": self.seq, "type": "gap", "dropped": item.dropped}).decode()
        return ('{"seq":%d,' % self.seq) + item[1:].decode()


class Broadcaster:
    """Holds the live subscriptions; :meth:`deliver` is the event bus's sink."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscriptions: set[Subscription] = set()

    def subscribe(self) -> Subscription:
        subscription = Subscription(self.queue_size)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def client_count(self) -> int:
        return len(self._subscriptions)

    def deliver(self, event: Event) -> None:
        body = dumps(event.wire())
        for subscription in list(self._subscriptions):
            subscription.offer(event.channel, body)
