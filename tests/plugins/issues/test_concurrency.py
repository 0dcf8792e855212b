"""Many clients at once against a real ``crosslink serve`` over HTTP: nothing fails, nothing is
lost, ids are unique."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support import BACKENDS

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]

CLIENTS = 20
PER_CLIENT = 5


async def test_concurrent_clients_create_issues_and_comments(live_server_factory):
    live = live_server_factory("--plugins", "issues")
    base = live.url + "/api/v1"

    async def worker(n: int) -> tuple[list[int], list[int], list[int]]:
        statuses, issues, comments = [], [], []
        async with httpx.AsyncClient(timeout=30) as client:
            for k in range(PER_CLIENT):
                response = await client.post(f"{base}/issues", json={"title": f"client {n} issue {k}"})
                statuses.append(response.status_code)
                issue_id = response.json()["id"]
                issues.append(issue_id)
                response = await client.post(f"{base}/issues/{issue_id}/comments", json={"content": f"from {n}"})
                statuses.append(response.status_code)
                comments.append(response.json()["id"])
                response = await client.post(f"{base}/issues/{issues[0]}/labels", json={"label": f"l{k}"})
                statuses.append(response.status_code)
        return statuses, issues, comments

    results = await asyncio.gather(*(worker(n) for n in range(CLIENTS)))
    statuses = [s for result in results for s in result[0]]
    issues = [i for result in results for i in result[1]]
    comments = [c for result in results for c in result[2]]
    assert set(statuses) <= {200, 201} and statuses.count(201) == 2 * CLIENTS * PER_CLIENT
    assert len(set(issues)) == len(issues) == CLIENTS * PER_CLIENT
    assert len(set(comments)) == len(comments) == CLIENTS * PER_CLIENT

    async with httpx.AsyncClient(timeout=30) as client:
        listing = (await client.get(f"{base}/issues", params={"status": "all"})).json()
        assert listing["total"] == CLIENTS * PER_CLIENT
        assert sorted(item["id"] for item in listing["items"]) == sorted(issues)
        first = (await client.get(f"{base}/issues/{results[0][1][0]}")).json()
        assert first["labels"] == [f"l{k}" for k in range(PER_CLIENT)]
        assert [c["content"] for c in first["comments"]] == ["from 0"]
        found = (await client.get(f"{base}/issues", params={"search": "CLIENT 7 ISSUE"})).json()
        assert found["total"] == PER_CLIENT
    assert live.stop() == 0


async def test_concurrent_reverse_blocks_never_close_a_cycle(api):
    pairs = [(await api.create(f"a{n}"), await api.create(f"b{n}")) for n in range(10)]
    results = await asyncio.gather(*(
        api.post(f"/issues/{x}/block", {"blocker_id": y})
        for a, b in pairs for x, y in ((a, b), (b, a))
    ))
    for n in range(len(pairs)):
        assert sorted(status for status, _ in results[2 * n : 2 * n + 2]) == [200, 400]
    edges = await api.kernel.db.fetch_all("SELECT blocker_id, blocked_id FROM dependencies")
    assert len(edges) == len(pairs)
    assert not {(e["blocker_id"], e["blocked_id"]) for e in edges} & {(e["blocked_id"], e["blocker_id"]) for e in edges}


async def test_concurrent_assignments_leave_each_issue_in_one_milestone(api):
    first, second = await api.milestone("first"), await api.milestone("second")
    issues = [await api.create(f"i{n}") for n in range(10)]
    results = await asyncio.gather(*(
        api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id})
        for issue_id in issues for milestone in (first, second)
    ))
    assert {status for status, _ in results} == {200}
    rows = await api.kernel.db.fetch_all("SELECT issue_id, count(*) AS n FROM milestone_issues GROUP BY issue_id")
    assert len(rows) == len(issues) and {row["n"] for row in rows} == {1}


async def test_concurrent_comments_and_a_delete(api):
    issue_id = await api.create("doomed")
    results = await asyncio.gather(
        *(api.post(f"/issues/{issue_id}/comments", {"content": f"c{n}"}) for n in range(10)),
        api.delete(f"/issues/{issue_id}"),
        *(api.post(f"/issues/{issue_id}/comments", {"content": f"d{n}"}) for n in range(10)),
    )
    assert {status for status, _ in results} <= {200, 201, 404}  # never a 500
    assert results[10][0] == 200
    assert await api.kernel.db.fetch_value("SELECT count(*) AS n FROM comments") == 0
