"""Two machines, one bare remote: what machine A's CLI commits reaches machine B's server and its
WebSocket clients through push and fetch; two servers pushing at once both get through."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from plugins.hub import HubChange, get_hub
from tests.plugins.agents.conftest import T0, assert_no_pending_events
from tests.plugins.sync.conftest import CliHub, git_out, hub_path
from tests.support import BACKENDS, git, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def collect(connection, wanted: int, timeout: float = 20.0) -> list[dict]:
    """The next ``wanted`` events of the agents and locks channels (others skipped)."""
    found = []
    while len(found) < wanted:
        message = await receive_json(connection, timeout)
        if message["type"] in ("heartbeat", "agent_status", "lock_changed"):
            found.append({k: v for k, v in message.items() if k not in ("seq", "event_id")})
    return found


async def post(client, path: str, **body):
    response = await client.post(f"/api/v1{path}", json=body)
    return response.status_code, await response.get_json()


@pytest.mark.slow
async def test_cli_commits_of_machine_a_reach_machine_b_and_its_websocket(
    app_factory, repo, remote, machine_a, server_a_factory, clock
):
    server_a = server_a_factory("--plugins", "agents,sync")
    async with httpx.AsyncClient(base_url=server_a.url, timeout=60) as a:
        created = await a.post("/api/v1/sync/init")
        assert created.status_code == 201 and created.json()["source"] == "new"
        cli_a = CliHub(machine_a)
        cli_a.heartbeat_v1("cli-v1", T0, active_issue_id=3)
        cli_a.lock_v1(3, "cli-v1", T0)
        cli_a.heartbeat_v2("cli-v2", T0)
        cli_a.lock_v2(4, "cli-v2", T0)
        pushed = await a.post("/api/v1/sync/push")
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["pushed_commits"] == 5  # the first commit and the CLI's four
        assert pushed.json()["message"] == "Pushed 5 commits to origin/crosslink/hub"
        assert remote.branch_head() == git_out(hub_path(machine_a), "rev-parse", "HEAD")

        server_b = await app_factory(clock=clock)
        ws, conn = await open_ws(server_b.client, channels=["agents", "locks"])
        try:
            status, body = await post(server_b.client, "/sync/init")
            assert (status, body["source"]) == (201, "remote")
            events = await collect(conn, 6)
            assert sorted(events, key=str) == sorted([
                {"type": "heartbeat", "agent_id": "cli-v1", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": 3},
                {"type": "agent_status", "agent_id": "cli-v1", "status": "active"},
                {"type": "heartbeat", "agent_id": "cli-v2", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": None},
                {"type": "agent_status", "agent_id": "cli-v2", "status": "active"},
                {"type": "lock_changed", "issue_id": 3, "action": "claimed", "agent_id": "cli-v1"},
                {"type": "lock_changed", "issue_id": 4, "action": "claimed", "agent_id": "cli-v2"},
            ], key=str)

            # machine A's CLI goes on: a newer V1 heartbeat, a V1 release, a V2 claim
            cli_a.heartbeat_v1("cli-v1", T0 + timedelta(minutes=1), active_issue_id=5)
            cli_a.unlock_v1(3)
            cli_a.lock_v2(5, "cli-v2", T0 + timedelta(minutes=1))
            assert (await a.post("/api/v1/sync/push")).json()["pushed_commits"] == 3

            status, body = await post(server_b.client, "/sync/fetch")
            assert status == 200, body
            assert body["message"] == "Fetched 1 new heartbeat, 2 lock changes, 0 knowledge pages"
            assert (body["heartbeats"], body["lock_changes"], body["knowledge_pages"], body["commits"]) == (1, 2, 0, 3)
            # the events came before the answer: they are waiting on the socket already
            events = await collect(conn, 3)
            assert sorted(events, key=str) == sorted([
                {"type": "heartbeat", "agent_id": "cli-v1", "timestamp": "2026-03-10T03:16:00Z", "active_issue_id": 5},
                {"type": "lock_changed", "issue_id": 3, "action": "released", "agent_id": "cli-v1"},
                {"type": "lock_changed", "issue_id": 5, "action": "claimed", "agent_id": "cli-v2"},
            ], key=str)
            # exactly once: forced scans (and the hub watcher, which saw the files too) add nothing
            await server_b.client.post("/api/v1/agents/rescan")
            await server_b.client.post("/api/v1/locks/rescan")
            await assert_no_pending_events(conn)

            agent = await (await server_b.client.get("/api/v1/agents/cli-v1")).get_json()
            assert (agent["last_heartbeat"], agent["active_issue_id"]) == ("2026-03-10T03:16:00Z", 5)
            locks = await (await server_b.client.get("/api/v1/locks")).get_json()
            assert [(lock["issue_id"], lock["agent_id"], lock["source"]) for lock in locks] == [
                (4, "cli-v2", "hub-v2"), (5, "cli-v2", "hub-v2"),
            ]
        finally:
            await ws.__aexit__(None, None, None)


@pytest.mark.slow
async def test_two_servers_pushing_at_once_both_get_through(app_factory, repo, remote, machine_a, server_a_factory,
                                                             clock):
    server_a = server_a_factory("--plugins", "sync")
    server_b = await app_factory(plugins="sync", clock=clock)
    async with httpx.AsyncClient(base_url=server_a.url, timeout=120) as a:
        assert (await a.post("/api/v1/sync/init")).status_code == 201
        assert (await a.post("/api/v1/sync/push")).status_code == 200
        assert (await post(server_b.client, "/sync/init"))[0] == 201
        cli_a, cli_b = CliHub(machine_a), CliHub(repo)
        for round_ in range(3):
            cli_a.heartbeat_v1(f"agent-a{round_}", T0 + timedelta(seconds=round_))
            cli_b.heartbeat_v1(f"agent-b{round_}", T0 + timedelta(seconds=round_))
            answer_a, answer_b = await asyncio.gather(a.post("/api/v1/sync/push"),
                                                      post(server_b.client, "/sync/push"))
            assert answer_a.status_code == 200, answer_a.text
            assert answer_b[0] == 200, answer_b[1]
    subjects = remote.log()
    for round_ in range(3):
        assert any(s.startswith(f"heartbeat: agent-a{round_} at") for s in subjects)
        assert any(s.startswith(f"heartbeat: agent-b{round_} at") for s in subjects)


def install_interloper(tmp_path: Path, machine_a: Path) -> Path:
    """A ``git`` that, at the first ``push``, lets machine A push first (a real push from a real
    clone), then runs the real git: the race of two machines pushing, made certain."""
    marker = tmp_path / "interlope-once"
    marker.write_text("")
    script = tmp_path / "git-with-interloper"
    real = git_out(tmp_path, "--exec-path")
    script.write_text(
        "#!/bin/sh\n"
        f"for arg in \"$@\"; do if [ \"$arg\" = push ] && [ -e '{marker}' ]; then rm -f '{marker}'; "
        f"git -C '{hub_path(machine_a)}' push -q origin crosslink/hub; break; fi; done\n"
        f"exec '{real}/git' \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.slow
async def test_a_rejected_push_is_rebased_and_retried(app_factory, repo, remote, machine_a, server_a_factory,
                                                       tmp_path, clock):
    server_a = server_a_factory("--plugins", "sync")
    server_b = await app_factory(plugins="sync", clock=clock)
    async with httpx.AsyncClient(base_url=server_a.url, timeout=60) as a:
        assert (await a.post("/api/v1/sync/init")).status_code == 201
        assert (await a.post("/api/v1/sync/push")).status_code == 200
    assert (await post(server_b.client, "/sync/init"))[0] == 201
    CliHub(machine_a).heartbeat_v1("from-a", T0)  # committed on A, pushed by the interloper
    CliHub(repo).heartbeat_v1("from-b", T0)
    get_hub(server_b.kernel).git.executable = str(install_interloper(tmp_path, machine_a))

    status, body = await post(server_b.client, "/sync/push")
    assert status == 200, body
    assert body["attempts"] == 2
    assert body["message"] == "Pushed 1 commit to origin/crosslink/hub (after 1 retry)"
    subjects = remote.log()
    assert subjects[0].startswith("heartbeat: from-b at") and subjects[1].startswith("heartbeat: from-a at")
    assert (hub_path(repo) / "heartbeats" / "from-a.json").exists()


async def test_a_hub_write_prepares_again_after_a_rejection(app_factory, repo, remote, machine_a, server_a_factory,
                                                            clock):
    """The owner's write (what writers of issues through the hub use): the CLI's optimistic
    concurrency on ``meta/counters.json`` — a rejected push drops the commit, pulls, and asks
    ``prepare`` again with the new state."""
    server_a = server_a_factory("--plugins", "sync")
    server_b = await app_factory(plugins="sync", clock=clock)
    async with httpx.AsyncClient(base_url=server_a.url, timeout=60) as a:
        assert (await a.post("/api/v1/sync/init")).status_code == 201
        assert (await a.post("/api/v1/sync/push")).status_code == 200
        assert (await post(server_b.client, "/sync/init"))[0] == 201
        cli_a = CliHub(machine_a)
        cli_a.write("meta/counters.json", {"next_display_id": 8})
        cli_a.commit("machine-a: create issue: first at 2026-03-10T03:15:00Z")
        assert (await a.post("/api/v1/sync/push")).json()["pushed_commits"] == 1

    seen: list[tuple[int, int]] = []

    async def prepare(hub: Path, attempt: int) -> HubChange:
        counters = hub / "meta" / "counters.json"
        current = json.loads(counters.read_text())["next_display_id"] if counters.exists() else 1
        seen.append((attempt, current))
        return HubChange(
            {"meta/counters.json": json.dumps({"next_display_id": current + 1}, indent=2).encode(),
             f"issues/issue-{current}.json": b"{}"},
            f"server: create issue: #{current} at 2026-03-10T03:15:00Z",
        )

    report = await get_hub(server_b.kernel).write(prepare)
    assert report.pushed and report.attempts == 2
    assert seen == [(1, 1), (2, 8)]  # the second attempt read machine A's counter
    assert remote.show("meta/counters.json") == '{\n  "next_display_id": 9\n}'
    assert git_out(hub_path(repo), "status", "--porcelain") == ""
    assert remote.log()[:2] == ["server: create issue: #8 at 2026-03-10T03:15:00Z",
                                "machine-a: create issue: first at 2026-03-10T03:15:00Z"]
    git(repo, "fetch", "-q", "origin")  # the checkout is exactly the remote's branch
    assert git_out(hub_path(repo), "rev-parse", "HEAD") == remote.branch_head()
