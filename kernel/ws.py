"""The ``/ws`` endpoint: the contract's subscription protocol over the broadcaster.

On connect the client gets ``{"type": "hello", "channels": [...]}`` listing the live channels,
and receives every channel until it sends ``{"type": "subscribe", "channels": [...]}``, which
replaces its set and is acknowledged with ``{"type": "subscribed", "channels": [...]}``. A
malformed or unknown message is answered with ``{"type": "error", ...}``; the socket stays
open. ``{"type": "ping"}`` is answered with ``{"type": "pong"}``.
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


def _error(detail: str) -> dict[str, Any]:
    return {"type": "error", "error": "bad request", "detail": detail}


def handle_client_message(raw: str | bytes, subscription: Subscription, channels: list[str]):
    """Apply one client message to ``subscription``; return the reply to queue."""
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
    if kind != "subscribe":
        return _error(f"unknown message type {kind!r}; expected 'subscribe' or 'ping'")
    wanted = message.get("channels")
    if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
        return _error("'channels' must be a list of channel names")
    unknown = sorted(set(wanted) - set(channels))
    if unknown:
        return {
            **_error(f"unknown channel(s): {', '.join(unknown)}; available: {', '.join(channels)}"),
            "channels": channels,
        }
    subscription.channels = frozenset(wanted)
    return {"type": "subscribed", "channels": sorted(subscription.channels)}


async def serve_websocket(kernel: Kernel) -> None:
    """Run one client connection until it closes."""
    channels = kernel.events.registry.channels
    subscription = kernel.broadcaster.subscribe()
    try:
        await websocket.accept()
        subscription.send_control({"type": "hello", "channels": channels})

        async def sender() -> None:
            while True:
                await websocket.send(await subscription.next_message())

        async def receiver() -> None:
            while True:
                raw = await websocket.receive()
                subscription.send_control(handle_client_message(raw, subscription, channels))

        send_task = asyncio.ensure_future(sender())
        try:
            await receiver()
        finally:
            send_task.cancel()
            await asyncio.gather(send_task, return_exceptions=True)
    finally:
        kernel.broadcaster.unsubscribe(subscription)
