"""Typed events, the registry of event types, and publication after commit.

A plugin declares each event as a small pydantic model with a wire ``type`` and a WebSocket
``channel``, and registers the classes through ``crosslink_register_events``. Publishing an
event inside ``kernel.db.transaction()`` writes it to the durable event log
(:mod:`kernel.eventlog`) in that transaction; if the transaction fails, its events are dropped.
Outside a transaction an event is logged in a small transaction of its own. Delivery (WebSocket
clients, the ``crosslink_on_event`` hook) follows the log, in commit order (:mod:`kernel.relay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from .errors import StartupError
from .eventlog import EventLog, LogEntry
from .timeutil import utcnow

if TYPE_CHECKING:
    from .storage.database import Database

log = logging.getLogger("crosslink.events")


class HeldEvents:
    """The events held by :meth:`EventBus.deferred`, their log entries once written, and whether
    their transaction committed."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.entries: list[LogEntry] = []
        self.outermost = False
        self.committed = False


_deferred: ContextVar[list[Event] | None] = ContextVar("crosslink_deferred_events", default=None)


class Event(BaseModel):
    """Base class of every event. Subclasses set ``type`` and ``channel`` and add fields.

    The wire form is ``{"type": <type>, **fields}``; the WebSocket adds a per-client ``seq``.
    """

    model_config = ConfigDict(frozen=True)

    type: ClassVar[str]
    channel: ClassVar[str]

    def wire(self) -> dict[str, Any]:
        return {"type": self.type, **self.model_dump(mode="json")}


class EventRegistry:
    """Every enabled plugin's event classes, by wire type; the set of live channels."""

    def __init__(self) -> None:
        self._by_type: dict[str, type[Event]] = {}
        self._owner: dict[str, str] = {}

    def add(self, plugin: str, event_class: type[Event]) -> None:
        if not (isinstance(event_class, type) and issubclass(event_class, Event)):
            raise StartupError(f"plugin '{plugin}' registered {event_class!r}, not an Event class")
        for attribute in ("type", "channel"):
            if not isinstance(getattr(event_class, attribute, None), str):
                raise StartupError(
                    f"event {event_class.__name__} of plugin '{plugin}' has no '{attribute}'"
                )
        if not (event_class.__doc__ or "").strip():
            raise StartupError(f"event {event_class.__name__} of plugin '{plugin}' has no docstring")
        existing = self._by_type.get(event_class.type)
        if existing is not None and existing is not event_class:
            raise StartupError(
                f"event type '{event_class.type}' is registered twice: by plugin "
                f"'{self._owner[event_class.type]}' and by plugin '{plugin}'"
            )
        self._by_type[event_class.type] = event_class
        self._owner[event_class.type] = plugin

    def get(self, event_type: str) -> type[Event] | None:
        """The class registered for a wire ``type`` (``None``: no enabled plugin has it)."""
        return self._by_type.get(event_type)

    def __contains__(self, event_class: type[Event]) -> bool:
        return self._by_type.get(event_class.type) is event_class

    @property
    def channels(self) -> list[str]:
        return sorted({cls.channel for cls in self._by_type.values()})

    def describe(self) -> list[dict[str, Any]]:
        """Each event type with its channel, owner, docstring and JSON schema."""
        return [
            {
                "type": name,
                "channel": cls.channel,
                "plugin": self._owner[name],
                "description": (cls.__doc__ or "").strip(),
                "schema": cls.model_json_schema(),
            }
            for name, cls in sorted(self._by_type.items())
        ]


class EventBus:
    """Publication: events go into the durable log with the change that caused them, and the
    relay (:mod:`kernel.relay`) delivers what the log holds, in commit order.

    Inside ``kernel.db.transaction()`` an event is held and written to the log just before the
    transaction commits; if it fails, its events are dropped. Outside a transaction an event is
    queued and written by a flusher in a small transaction of its own, in publication order.
    """

    def __init__(self, registry: EventRegistry, clock: Callable[[], datetime] | None = None) -> None:
        self.registry = registry
        self._clock = clock or utcnow
        self.log: EventLog | None = None
        self.db: Database | None = None
        #: Called with the entries a local transaction committed (the relay's fast path).
        self.on_committed: Callable[[list[LogEntry]], None] | None = None
        self._loose: list[Event] = []
        self._flusher: asyncio.Task | None = None

    def attach(self, db: Database, log_: EventLog) -> None:
        self.db = db
        self.log = log_

    def publish(self, event: Event) -> None:
        """Publish with the surrounding transaction, or on its own soon after."""
        if type(event) not in self.registry:
            raise RuntimeError(
                f"event {type(event).__name__} ('{event.type}') is not registered by an "
                "enabled plugin"
            )
        pending = _deferred.get()
        if pending is not None:
            pending.append(event)
            return
        self._loose.append(event)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name="event-log-flush")

    @asynccontextmanager
    async def deferred(self) -> AsyncIterator[HeldEvents]:
        """Hold events published inside the block. The outermost block's owner writes them to
        the log (``held.entries``) before it commits; they are released to the relay only if
        the block succeeds, or if it fails after the commit (``held.committed``)."""
        held = HeldEvents()
        if _deferred.get() is not None:  # nested: the outermost block decides
            yield held
            return
        held.outermost = True
        token = _deferred.set(held.events)
        succeeded = False
        try:
            yield held
            succeeded = True
        finally:
            _deferred.reset(token)
            if (succeeded or held.committed) and held.entries and self.on_committed is not None:
                self.on_committed(held.entries)

    async def write(self, events: list[Event]) -> list[LogEntry]:
        """Log ``events`` inside the current transaction (called by ``Database.transaction``)."""
        assert self.log is not None
        return await self.log.append(events, self._clock())

    async def _flush(self) -> None:
        """Write the events published outside a transaction, oldest first, until none wait."""
        delay = 0.05
        while self._loose:
            batch, self._loose = self._loose, []
            try:
                assert self.db is not None
                async with self.db.transaction():
                    for event in batch:
                        self.publish(event)
                delay = 0.05
            except asyncio.CancelledError:
                self._loose[:0] = batch
                raise
            except Exception as exc:  # the database is busy or away: keep the events, try again
                self._loose[:0] = batch
                log.warning("writing %d event(s) to the event log failed (%s); retrying", len(batch), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout``) until the events queued outside a transaction are in the
        log and handed to the relay: a response then follows the events its request caused."""
        flusher = self._flusher
        if flusher is None or flusher.done():
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(flusher), timeout)

    async def drain(self) -> None:
        """Write what is still queued (used at shutdown, before the database closes)."""
        if self._flusher is not None and not self._flusher.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._flusher), 10)
            except TimeoutError:
                log.error("%d event(s) could not be written to the event log at shutdown", len(self._loose))
                self._flusher.cancel()
