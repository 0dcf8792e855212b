"""The ``/ws`` endpoint: the contract's subscription protocol over the event log.

On connect the client gets ``{"type": "hello", "channels": [...], "last_event_id": N}``
listing the live channels and the newest event id, and receives every channel until it sends
``{"type": "subscribe", "channels": [...]}``, which replaces its set and is acknowledged with
``{"type": "subscribed", "channels": [...], "unknown": [...]}`` (names this server does not
have are left out and listed, so a dashboard asking for ``execution`` on a server without the
orchestrator still gets its other channels). ``{"type": "ping"}`` is answered with
``{"type": "pong"}``; a malformed or unknown message with ``{"type": "error", ...}`` (the socket
stays open; the reply never echoes more than a few characters of the input).

**Resume.** Every event message carries ``event_id``, its id in the durable log. A client that
reconnects with ``/ws?since=<event_id>`` (optionally ``&channels=a,b`` for its subscription) or
sends ``{"type": "resume", "since": <event_id>}`` receives exactly the events after that id
that match its channels, then live ones, followed by
``{"type": "resumed", "since": n, "replayed": k, "last_event_id": m}``. When events after that
id are no longer kept (retention) or the id is unknown to this database, it gets
``{"type": "gap", "reason": "expired" | "unknown", ...}`` instead and should re-fetch.

A client that keeps sending while not reading the replies is disconnected (close code 1008)
once ``MAX_CONTROL_BACKLOG`` replies wait for it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from quart import websocket

from .broadcaster import Subscription

if TYPE_CHECKING:
    from .app import Kernel

MAX_CLIENT_MESSAGE = 64 * 1024
#: Log entries read per page while replaying a resume.
REPLAY_PAGE = 500
#: Close code for a client that floods the socket without reading (policy violation).
FLOOD_CLOSE_CODE = 1008


def _error(detail: str) -> dict[str, Any]:
    return {"type": "error", "error": "bad request", "detail": detail}


def _short(value: Any, limit: int = 40) -> str:
    """A quoted, length-limited rendering of client input for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _event_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 2**63:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


class ClientSession:
    """One connection: its subscription and how its messages are answered."""

    def __init__(self, kernel: Kernel, subscription: Subscription) -> None:
        self.kernel = kernel
        self.subscription = subscription
        self.channels = kernel.events.registry.channels

    def subscribe(self, wanted: list[str]) -> dict[str, Any]:
        known = sorted(set(wanted) & set(self.channels))
        unknown = sorted(set(wanted) - set(self.channels))
        self.subscription.channels = frozenset(known)
        return {"type": "subscribed", "channels": known, "unknown": unknown}

    async def resume(self, since: int) -> dict[str, Any] | None:
        """Arrange the events after ``since``; the reply to queue first, or ``None`` when a
        replay will answer (its ``resumed`` message follows the replayed events)."""
        relay, log = self.kernel.relay, self.kernel.event_log
        subscription = self.subscription
        # One synchronous step: every event after ``upto`` arrives live from here on.
        upto = relay.last_id
        subscription.clear_events()
        subscription.replay = None
        pruned = await log.pruned_through()
        head = max(await log.head(), upto)
        if since > head:
            return {"type": "gap", "reason": "unknown", "since": since, "last_event_id": head,
                    "detail": f"event {since} is not in this server's log; re-fetch what you show"}
        if since < pruned:
            return {"type": "gap", "reason": "expired", "since": since, "oldest_event_id": pruned + 1,
                    "last_event_id": head,
                    "detail": f"events after {since} are no longer kept; re-fetch what you show"}
        if since >= upto:  # the client is ahead of this instance's relay (it saw them elsewhere)
            subscription.skip_through = since
            return {"type": "resumed", "since": since, "replayed": 0, "last_event_id": head}
        subscription.request_replay(since, upto)
        return None

    async def handle(self, raw: str | bytes) -> dict[str, Any] | None:
        """Apply one client message; return the reply to queue (``None``: answered later)."""
        if len(raw) > MAX_CLIENT_MESSAGE:
            return _error(f"message larger than {MAX_CLIENT_MESSAGE} bytes")
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error("message is not valid JSON")
        if not isinstance(message, dict):
            return _error("message must be a JSON object with a 'type'")
        kind = message.get("type")
        if kind == "ping":
            return {"type": "pong"}
        if kind == "subscribe":
            wanted = message.get("channels")
            if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
                return _error("'channels' must be a list of channel names")
            return self.subscribe(wanted)
        if kind == "resume":
            since = _event_id(message.get("since"))
            if since is None:
                return _error("'since' must be an event id (a non-negative integer)")
            return await self.resume(since)
        return _error(f"unknown message type {_short(kind)}; expected 'subscribe', 'resume' or 'ping'")

    async def replay(self, send) -> None:
        """Send the pending replay from the log, page by page, then its ``resumed`` message."""
        subscription = self.subscription
        assert subscription.replay is not None
        since, upto = subscription.replay
        cursor, sent = since, 0
        while cursor < upto:
            if subscription.replay != (since, upto):  # superseded by a newer resume
                return
            entries = await self.kernel.event_log.read(
                cursor, limit=REPLAY_PAGE, upto=upto, channels=subscription.channels
            )
            for entry in entries:
                await send(subscription.stamp(entry.ws_body()))
            sent += len(entries)
            if len(entries) < REPLAY_PAGE:
                break
            cursor = entries[-1].id
        if subscription.replay != (since, upto):
            return
        subscription.replay = None
        subscription.send_control(
            {"type": "resumed", "since": since, "replayed": sent, "last_event_id": upto}, first=True
        )


async def serve_websocket(kernel: Kernel) -> None:
    """Run one client connection until it closes."""
    subscription = kernel.broadcaster.subscribe()
    session = ClientSession(kernel, subscription)
    try:
        await websocket.accept()
        hello: dict[str, Any] = {"type": "hello", "channels": session.channels,
                                 "last_event_id": kernel.relay.last_id}
        wanted = websocket.args.get("channels")
        if wanted is not None:
            ack = session.subscribe([name.strip() for name in wanted.split(",") if name.strip()])
            hello["subscribed"], hello["unknown"] = ack["channels"], ack["unknown"]
        subscription.send_control(hello, first=True)
        since = websocket.args.get("since")
        if since is not None:
            since_id = _event_id(since)
            reply = _error("'since' must be an event id (a non-negative integer)") if since_id is None \
                else await session.resume(since_id)
            if reply is not None:
                subscription.send_control(reply, first=True)

        async def sender() -> None:
            while True:
                message = await subscription.next_message()
                if message is None:
                    await session.replay(websocket.send)
                else:
                    await websocket.send(message)

        async def receiver() -> None:
            while True:
                raw = await websocket.receive()
                reply = await session.handle(raw)
                first = reply is not None and reply["type"] in ("gap", "resumed")
                if reply is not None and not subscription.send_control(reply, first=first):
                    await websocket.close(FLOOD_CLOSE_CODE, "too many unread replies")
                    return

        send_task = asyncio.ensure_future(sender())
        try:
            await receiver()
        finally:
            send_task.cancel()
            await asyncio.gather(send_task, return_exceptions=True)
    finally:
        kernel.broadcaster.unsubscribe(subscription)
