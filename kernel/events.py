"""Typed events, the registry of event types, and publication after commit.

A plugin declares each event as a small pydantic model with a wire ``type`` and a WebSocket
``channel``, and registers the classes through ``crosslink_register_events``. Publishing an
event inside ``kernel.db.transaction()`` defers it until the transaction commits; if the
transaction fails, its events are dropped. Outside a transaction an event goes out at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from .errors import StartupError

log = logging.getLogger("crosslink.events")


class HeldEvents:
    """The events held by :meth:`EventBus.deferred`, and whether their transaction committed."""

    def __init__(self) -> None:
        self.events: list[Event] = []
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
    """Publishes events to the WebSocket broadcaster and the ``crosslink_on_event`` hook."""

    def __init__(
        self,
        registry: EventRegistry,
        deliver: Callable[[Event], None],
        notify_plugins: Callable[[Event], Any] | None = None,
    ) -> None:
        self.registry = registry
        self._deliver = deliver
        self._notify_plugins = notify_plugins
        self._tasks: set[asyncio.Task] = set()

    def publish(self, event: Event) -> None:
        """Publish now, or when the surrounding transaction commits."""
        if type(event) not in self.registry:
            raise RuntimeError(
                f"event {type(event).__name__} ('{event.type}') is not registered by an "
                "enabled plugin"
            )
        pending = _deferred.get()
        if pending is not None:
            pending.append(event)
        else:
            self._dispatch(event)

    @asynccontextmanager
    async def deferred(self) -> AsyncIterator[HeldEvents]:
        """Hold events published inside the block; release them only if it succeeds, or if it
        fails after what they describe was committed (the block sets ``held.committed``)."""
        held = HeldEvents()
        if _deferred.get() is not None:  # nested: the outermost block decides
            yield held
            return
        token = _deferred.set(held.events)
        succeeded = False
        try:
            yield held
            succeeded = True
        finally:
            _deferred.reset(token)
            if succeeded or held.committed:
                for event in held.events:
                    self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        self._deliver(event)
        if self._notify_plugins is None:
            return
        task = asyncio.get_running_loop().create_task(self._notify(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, event: Event) -> None:
        try:
            await self._notify_plugins(event)
        except Exception:  # each subscriber is isolated inside; this is a last guard
            log.exception("event subscribers failed for %s", event.type)

    async def drain(self) -> None:
        """Wait for subscriber notifications still running (used at shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
