"""Fan-out of logged events to WebSocket clients, each with its own bounded queue.

Delivering never waits on a client: an entry's message is built once and appended to every
matching client's queue. A client whose queue is full loses events; in their place it gets one
``{"type": "gap", "dropped": n}`` message, at the point where they were lost, so it knows to
re-fetch (or to resume from the last ``event_id`` it saw). Every message a client receives
carries its own increasing ``seq``; event messages also carry the log's ``event_id``.

A client's own replies (acknowledgements, errors, pongs) are bounded too: a client that sends
messages without reading the answers is cut off instead of growing the server
(:meth:`Subscription.send_control` returns ``False``).
"""

from __future__ import annotations

import asyncio
from collections import deque

from .eventlog import LogEntry
from .jsonutil import dumps

#: Unread replies to a client's own messages before it is disconnected.
MAX_CONTROL_BACKLOG = 64


class _Gap:
    __slots__ = ("dropped",)

    def __init__(self) -> None:
        self.dropped = 1


class _Event:
    __slots__ = ("id", "body")

    def __init__(self, event_id: int, body: bytes) -> None:
        self.id = event_id
        self.body = body


class Subscription:
    """One connected client: its channel filter, its queue, its sequence counter, and a pending
    replay of the log (after a resume)."""

    def __init__(self, maxsize: int) -> None:
        self.channels: frozenset[str] | None = None  # None: every channel
        self.maxsize = maxsize
        self.seq = 0
        #: Live events up to this id are not sent (the client saw them on another instance).
        self.skip_through = 0
        #: ``(after, upto)``: log entries to send before the queue, set by a resume.
        self.replay: tuple[int, int] | None = None
        self._queue: deque[_Event | bytes | _Gap] = deque()
        self._events = 0
        self._controls = 0
        self._ready = asyncio.Event()

    def offer(self, channel: str, event_id: int, body: bytes) -> None:
        """Queue an event message if this client listens to ``channel``."""
        if self.channels is not None and channel not in self.channels:
            return
        if event_id <= self.skip_through:
            return
        if self._events >= self.maxsize:
            last = self._queue[-1] if self._queue else None
            if isinstance(last, _Gap):
                last.dropped += 1
            else:
                self._queue.append(_Gap())
        else:
            self._queue.append(_Event(event_id, body))
            self._events += 1
        self._ready.set()

    def send_control(self, message: dict, *, first: bool = False) -> bool:
        """Queue a reply for this client only (never dropped); ``first`` puts it before every
        queued event (after the replies already waiting). ``False`` when the client has too
        many unread replies already."""
        if self._controls >= MAX_CONTROL_BACKLOG:
            return False
        if first:  # after the replies already waiting, before every queued event
            position = next((i for i, item in enumerate(self._queue) if not isinstance(item, bytes)), None)
            if position is None:
                self._queue.append(dumps(message))
            else:
                self._queue.insert(position, dumps(message))
        else:
            self._queue.append(dumps(message))
        self._controls += 1
        self._ready.set()
        return True

    def clear_events(self) -> None:
        """Forget queued events and gaps (a resume replays them from the log instead)."""
        self._queue = deque(item for item in self._queue if isinstance(item, bytes))
        self._events = 0

    def request_replay(self, after: int, upto: int) -> None:
        self.replay = (after, upto)
        self._ready.set()

    def stamp(self, body: bytes) -> str:
        """Give a message body (a JSON object) this client's next ``seq``."""
        self.seq += 1
        return f'{{"seq":{self.seq},' + body[1:].decode()

    async def next_message(self) -> str | None:
        """Wait for the next message and return it as JSON text with its ``seq``; ``None`` when
        a replay is due first."""
        while not self._queue and self.replay is None:
            self._ready.clear()
            await self._ready.wait()
        if self.replay is not None and not (self._queue and isinstance(self._queue[0], bytes)):
            return None  # replies already waiting go first, then the replay, then events
        item = self._queue.popleft()
        if isinstance(item, _Gap):
            return self.stamp(dumps({"type": "gap", "dropped": item.dropped}))
        if isinstance(item, _Event):
            self._events -= 1
            return self.stamp(item.body)
        self._controls -= 1
        return self.stamp(item)


class Broadcaster:
    """Holds the live subscriptions; :meth:`deliver` is the relay's sink."""

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

    def deliver(self, entry: LogEntry) -> None:
        if not self._subscriptions:
            return
        body = entry.ws_body()
        for subscription in list(self._subscriptions):
            subscription.offer(entry.channel, entry.id, body)
