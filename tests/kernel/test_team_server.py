"""A team server: two ``crosslink serve`` processes on one database (PostgreSQL, and two on one
SQLite file). Clients of each see every change made through either, in commit order, once;
a client that drops and resumes on the other instance gets exactly what it missed; lock claims
through both have one winner; ``kill -9`` of one loses nothing and the other takes over its
singleton workers."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import httpx
import pytest
import websockets

from tests.support import BACKENDS

pytestmark = [pytest.mark.parametrize("backend", BACKENDS, indirect=True), pytest.mark.slow]

PLUGINS = ("--plugins", "issues,locks,sessions")


async def collect(url: str, count: int, *, since: int | None = None, channels: str = "issues",
                  timeout: float = 30, ready: asyncio.Event | None = None) -> list[dict]:
    """Connect to ``url`` and return the next ``count`` event messages."""
    query = f"?channels={channels}" + (f"&since={since}" if since is not None else "")
    events: list[dict] = []
    async with websockets.connect(url + query, open_timeout=10) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello"
        if ready is not None:
            ready.set()
        deadline = time.monotonic() + timeout
        while len(events) < count:
            message = json.loads(await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.1)))
            if "event_id" in message:
                events.append(message)
    return events


async def create_issues(client: httpx.AsyncClient, url: str, titles: list[str]) -> list[int]:
    ids = []
    for title in titles:
        answer = await client.post(f"{url}/api/v1/issues", json={"title": title})
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


async def test_every_client_of_either_instance_sees_every_change_once_in_commit_order(live_server_factory):
    first, second = live_server_factory(*PLUGINS), live_server_factory(*PLUGINS)
    per_side = 25
    readies = [asyncio.Event() for _ in range(4)]
    watchers = [
        asyncio.ensure_future(collect(live.ws_url, 2 * per_side, ready=ready))
        for live, ready in zip((first, first, second, second), readies)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 20)
    async with httpx.AsyncClient(timeout=20) as client:
        made = await asyncio.gather(
            create_issues(client, first.url, [f"A{n}" for n in range(per_side)]),
            create_issues(client, second.url, [f"B{n}" for n in range(per_side)]),
        )
    seen = await asyncio.gather(*watchers)
    created = sorted(made[0] + made[1])
    reference = [m["event_id"] for m in seen[0]]
    assert reference == sorted(reference) and len(set(reference)) == 2 * per_side  # ordered, once
    for events in seen:
        assert [m["event_id"] for m in events] == reference  # the same order on both instances
        assert sorted(m["issue_id"] for m in events) == created
        assert {m["field"] for m in events} == {"created"}


async def test_a_client_that_drops_resumes_on_the_other_instance_with_exactly_what_it_missed(live_server_factory):
    first, second = live_server_factory(*PLUGINS), live_server_factory(*PLUGINS)
    async with httpx.AsyncClient(timeout=20) as client:
        ready = asyncio.Event()
        watcher = asyncio.ensure_future(collect(first.ws_url, 3, ready=ready))
        await ready.wait()
        await create_issues(client, second.url, ["one", "two", "three"])
        before = await watcher
        last_seen = before[-1]["event_id"]
        missed = await create_issues(client, first.url, [f"missed {n}" for n in range(10)])
        missed += await create_issues(client, second.url, [f"missed too {n}" for n in range(10)])
    resumed = await collect(second.ws_url, 20, since=last_seen)
    assert [m["issue_id"] for m in resumed] == missed
    ids = [m["event_id"] for m in resumed]
    assert ids == sorted(ids) and ids[0] > last_seen


async def test_concurrent_lock_claims_through_both_instances_have_one_winner(live_server_factory):
    first, second = live_server_factory(*PLUGINS), live_server_factory(*PLUGINS)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        (issue,) = await create_issues(client, first.url, ["contended"])

        async def claim(n: int) -> int | str:
            base = (first, second)[n % 2].url
            try:
                answer = await client.post(f"{base}/api/v1/locks/{issue}/claim", json={"agent_id": f"agent-{n}"})
            except httpx.TransportError as exc:
                return f"{type(exc).__name__}: {exc}"
            return answer.status_code

        codes = await asyncio.gather(*(claim(n) for n in range(200)))
    failures = [code for code in codes if isinstance(code, str)]
    assert not failures, (failures[:3], first.text()[-3000:], second.text()[-3000:])
    assert sum(200 <= code < 300 for code in codes) == 1, sorted(set(codes))
    assert codes.count(409) == 199


async def test_kill_9_of_one_instance_loses_nothing_and_the_other_takes_over(live_server_factory):
    first, second = live_server_factory(*PLUGINS), live_server_factory(*PLUGINS)
    async with httpx.AsyncClient(timeout=20) as client:
        made = await create_issues(client, first.url, [f"kept {n}" for n in range(20)])

        def prune_holder(live) -> bool:
            workers = {w["name"]: w for w in httpx.get(f"{live.url}/api/v1/workers", timeout=10).json()}
            return bool(workers["kernel-event-prune"]["holds_lease"])

        deadline = time.monotonic() + 15
        while not (prune_holder(first) or prune_holder(second)):
            assert time.monotonic() < deadline, "nobody took the prune worker's lease"
            time.sleep(0.1)
        victim, survivor = (first, second) if prune_holder(first) else (second, first)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)

        for issue in made:
            answer = await client.get(f"{survivor.url}/api/v1/issues/{issue}")
            assert answer.status_code == 200
        more = await create_issues(client, survivor.url, ["after the crash"])
        assert more[0] > max(made)
        deadline = time.monotonic() + 15
        while not prune_holder(survivor):
            assert time.monotonic() < deadline, "the survivor did not take the singleton over"
            time.sleep(0.2)


async def test_config_changes_through_both_instances_are_never_lost(live_server_factory):
    first, second = live_server_factory(*PLUGINS), live_server_factory(*PLUGINS)
    modes = ("strict", "normal", "relaxed")
    async with httpx.AsyncClient(timeout=30) as client:
        for round_ in range(30):
            timeout, mode = 100 + round_, modes[round_ % 3]
            answers = await asyncio.gather(
                client.patch(f"{first.url}/api/v1/config", json={"stale_lock_timeout_minutes": timeout}),
                client.patch(f"{second.url}/api/v1/config", json={"tracking_mode": mode}),
            )
            assert [a.status_code for a in answers] == [200, 200]
            for live in (first, second):
                seen = (await client.get(f"{live.url}/api/v1/config")).json()
                assert (seen["stale_lock_timeout_minutes"], seen["tracking_mode"]) == (timeout, mode), round_


async def test_list_totals_follow_changes_made_through_either_instance(live_server_factory):
    """Totals are cached while the data is unchanged: a change through A is in A's next answer,
    and in B's as soon as B has the event (on PostgreSQL the cache follows the event log)."""
    first, second = live_server_factory(*PLUGINS), live_server_factory(*PLUGINS)

    async def totals(client: httpx.AsyncClient, url: str) -> tuple[int, int, int]:
        answers = [await client.get(f"{url}/api/v1/issues{path}") for path in
                   ("?limit=0", "/ready?limit=0", "/blocked?limit=0")]
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        return tuple(a.json()["total"] for a in answers)

    async def eventually(client: httpx.AsyncClient, url: str, expected: tuple[int, int, int]) -> None:
        for _ in range(200):
            if await totals(client, url) == expected:
                return
            await asyncio.sleep(0.05)
        assert await totals(client, url) == expected

    async with httpx.AsyncClient(timeout=30) as client:
        a, b = await create_issues(client, first.url, ["first", "second"])
        for live in (first, second):  # fill both caches
            await eventually(client, live.url, (2, 2, 0))
        blocked = await client.post(f"{first.url}/api/v1/issues/{a}/block", json={"blocker_id": b})
        assert blocked.status_code in (200, 201), blocked.text
        assert await totals(client, first.url) == (2, 1, 1)  # the writer's own next answer
        await eventually(client, second.url, (2, 1, 1))
        closed = await client.post(f"{second.url}/api/v1/issues/{b}/close")
        assert closed.status_code == 200, closed.text
        assert await totals(client, second.url) == (1, 1, 0)
        await eventually(client, first.url, (1, 1, 0))
