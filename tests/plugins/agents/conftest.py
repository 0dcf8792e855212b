"""Fixtures for the agents suite: a real hub checkout, a clock tests move by hand, WebSocket
helpers that tell "no event" apart from "not yet"."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kernel.timeutil import Clock
from tests.plugins.agents.hubbuilder import Hub
from tests.support import receive_json

#: The moment the injectable clock starts at in these tests.
T0 = datetime(2026, 3, 10, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    """A clock frozen at ``T0``; tests move it with ``clock.advance(...)``."""
    return Clock(lambda: T0)


@pytest.fixture
def hub(repo) -> Hub:
    """A committed ``crosslink/hub`` checkout at ``.crosslink/.hub-cache`` of ``repo``."""
    return Hub(repo)


def write_server_toml(repo, text: str) -> None:
    path = repo / ".crosslink" / "server.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_hook_config(repo, **values) -> None:
    path = repo / ".crosslink" / "hook-config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


async def next_events(connection, count: int, timeout: float = 5.0) -> list[dict]:
    """The next ``count`` event messages (control messages are skipped)."""
    found = []
    while len(found) < count:
        message = await receive_json(connection, timeout)
        if message["type"] not in ("hello", "subscribed", "pong", "gap"):
            found.append(message)
    return found


async def assert_no_pending_events(connection) -> None:
    """Everything published so far has been delivered: a ping's pong must come next."""
    await connection.send(json.dumps({"type": "ping"}))
    message = await receive_json(connection)
    assert message["type"] == "pong", f"unexpected event: {message}"


def strip_seq(messages: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k not in ("seq", "event_id")} for m in messages]
