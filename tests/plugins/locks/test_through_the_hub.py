"""Locks through the hub: two machines (two clones of one bare remote), each with its own server,
and the crosslink CLI's files. A lock claimed through one machine's API is a hub file in the
CLI's format on the remote and refuses a claim through the other machine's API (and the other
way round with a lock the CLI wrote); releases and steals reach the other machine; a push the
remote refuses grants nothing and leaves the checkout clean; offline claims stay local until
the next push; a repository without a hub writes nothing to git."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kernel.timeutil import Clock, parse
from tests.plugins.agents.conftest import T0, assert_no_pending_events
from tests.plugins.agents.hubbuilder import Hub
from tests.plugins.sync.conftest import (  # noqa: F401  (fixtures)
    CliHub,
    attach_hub,
    git_out,
    hub_path,
    machine_a,
    remote,
    server_a_factory,
)
from tests.support import BACKENDS, git, open_ws, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

PLUGINS = "issues,locks,sync"


class Api:
    """One machine's server, in-process (Quart test client) or a ``crosslink serve`` subprocess."""

    def __init__(self, server=None, url: str | None = None) -> None:
        self.server = server
        self.url = url

    async def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        if self.url is not None:
            async with httpx.AsyncClient(base_url=self.url, timeout=60) as client:
                response = await client.request(method, f"/api/v1{path}",
                                                json=None if method == "GET" else (body or {}))
                return response.status_code, response.json()
        if method == "GET":
            response = await self.server.client.get(f"/api/v1{path}")
        else:
            response = await self.server.client.open(f"/api/v1{path}", method=method, json=body or {})
        return response.status_code, await response.get_json()


async def call(api, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    if not isinstance(api, Api):
        api = Api(api)
    return await api.call(method, path, body)


async def new_issue(server, title: str = "shared work") -> int:
    status, body = await call(server, "POST", "/issues", {"title": title})
    assert status == 201, body
    return body["id"]


def pull(machine: Path) -> None:
    """What the CLI's ``sync.fetch()`` does with nothing local: take the remote's hub."""
    git(machine, "fetch", "-q", "origin", "crosslink/hub")
    git(hub_path(machine), "reset", "-q", "--hard", "origin/crosslink/hub")


def clean(machine: Path) -> bool:
    return git_out(hub_path(machine), "status", "--porcelain") == ""


CHRONO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
SUBJECT_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def chrono_time(text: str) -> str:
    """``text`` when it is a timestamp as chrono's serde writes it (``Z``, 0/3/6/9 digits, the
    shortest that shows every non-zero digit)."""
    assert CHRONO.match(text), text
    fraction = text[20:-1]
    assert not fraction.endswith("000"), text
    return text


async def two_v2_machines(app_factory, server_a_factory, clock_b: Clock | None = None):
    """Machine A (a ``crosslink serve`` subprocess) creates a V2 hub and pushes it; machine B
    (in-process) attaches to it."""
    a = Api(url=server_a_factory("--plugins", PLUGINS).url)
    assert (await a.call("POST", "/sync/init"))[0] == 201
    assert (await a.call("POST", "/sync/push"))[0] == 200
    b = Api(await app_factory(plugins=PLUGINS, clock=clock_b or Clock()))
    status, body = await b.call("POST", "/sync/init")
    assert (status, body["source"]) == (201, "remote")
    return a, b


async def test_v2_claims_through_either_api_exclude_each_other(app_factory, repo, remote, machine_a,
                                                                server_a_factory):
    clock_b = Clock()
    a, b = await two_v2_machines(app_factory, server_a_factory, clock_b)
    issue_a = await new_issue(a)  # written through A's hub, pushed
    assert (await b.call("POST", "/sync/fetch"))[0] == 200
    assert issue_a == 1 and (await b.call("GET", f"/issues/{issue_a}"))[0] == 200  # B sees it by the same id

    status, lock = await call(a, "POST", "/locks/1/claim", {"agent_id": "agent-a", "branch": "feature/x"})
    assert status == 201, lock
    assert lock["hub"] == {"layout_version": 2, "written": True, "commit": remote.branch_head(), "pushed": True,
                           "offline": False, "detail": None}
    assert (lock["agent_id"], lock["source"]) == ("agent-a", "server")
    # on the remote, exactly what the CLI's claim_lock_v2 commits
    assert re.fullmatch(f"agent-a: claim lock on #1 at {SUBJECT_TIME}", remote.log()[0])
    claimed = json.loads(remote.show("locks/1.json"))["claimed_at"]
    assert parse(chrono_time(claimed)) == parse(lock["claimed_at"])
    assert remote.show("locks/1.json") == (
        '{\n  "issue_id": 1,\n  "agent_id": "agent-a",\n  "branch": "feature/x",\n'
        f'  "claimed_at": "{claimed}"\n}}'
    )
    assert remote.show("agents/agent-a/events.log") == (
        f'{{"agent_id":"agent-a","agent_seq":1,"timestamp":"{claimed}",'
        '"event":{"type":"LockClaimed","issue_display_id":1,"branch":"feature/x"}}\n'
    )
    state_text = remote.show("checkpoint/state.json")
    assert not state_text.endswith("\n") and state_text.startswith('{\n  "next_display_id": 1,')
    state = json.loads(state_text)
    assert state == {
        "next_display_id": 1, "next_comment_id": 1, "display_id_map": {},
        "locks": {"1": {"agent_id": "agent-a", "branch": "feature/x", "claimed_at": claimed}},
        "issues": {},
        "unsigned_event_warnings": [{"agent_id": "agent-a", "agent_seq": 1, "timestamp": claimed}],
        "watermark": {"timestamp": claimed, "agent_id": "agent-a", "agent_seq": 1},
    }
    assert list(state) == ["next_display_id", "next_comment_id", "display_id_map", "locks", "issues",
                           "unsigned_event_warnings", "watermark"]
    assert remote.show("checkpoint/skew_warnings.json") == "[]"
    assert clean(machine_a)

    # machine B's API fetches first: the claim is refused, naming the holder
    status, body = await call(b, "POST", "/locks/1/claim", {"agent_id": "agent-b"})
    assert status == 409, body
    assert (body["holder"], body["source"], body["stale"]) == ("agent-a", "hub-v2", False)
    assert (await call(b, "GET", "/locks/1"))[1]["agent_id"] == "agent-a"
    assert (await call(b, "POST", "/locks/1/release", {"agent_id": "agent-b"}))[0] == 409

    # A releases: B may claim, and then A is refused
    status, body = await call(a, "POST", "/locks/1/release", {"agent_id": "agent-a"})
    assert status == 200 and body["ok"] is True and body["hub"]["pushed"] is True, body
    assert re.fullmatch(f"agent-a: release lock on #1 at {SUBJECT_TIME}", remote.log()[0])
    status, body = await call(b, "POST", "/locks/1/claim", {"agent_id": "agent-b"})
    assert status == 201, body
    assert re.fullmatch(f"agent-b: claim lock on #1 at {SUBJECT_TIME}", remote.log()[0])
    status, body = await call(a, "POST", "/locks/1/claim", {"agent_id": "agent-a"})
    assert (status, body["holder"]) == (409, "agent-b"), body
    assert json.loads(remote.show("locks/1.json"))["agent_id"] == "agent-b"
    events = [json.loads(line) for line in remote.show("agents/agent-a/events.log").splitlines()]
    assert [(e["agent_seq"], e["event"]["type"]) for e in events] == [(1, "LockClaimed"), (2, "LockReleased")]

    # B's lock goes stale (no heartbeat for longer than the timeout, as B's clock says):
    # B's agent-c steals it; A sees the new holder
    clock_b.advance(hours=2)
    status, body = await call(b, "POST", "/locks/1/steal", {"agent_id": "agent-c"})
    assert status == 200, body
    assert (body["agent_id"], body["hub"]["pushed"]) == ("agent-c", True)
    # the steal's claim, then the issue comment the locks plugin writes about it (through the hub too)
    claim, comment = remote.log()[1], remote.log()[0]
    assert re.fullmatch(f"agent-c: claim lock on #1 at {SUBJECT_TIME}", claim)
    assert re.fullmatch(f"crosslink-server-[\\w-]+: comment on issue #1 at {SUBJECT_TIME}", comment)
    assert json.loads(remote.show("locks/1.json"))["agent_id"] == "agent-c"
    assert json.loads(remote.show("checkpoint/state.json"))["locks"]["1"]["agent_id"] == "agent-c"
    assert remote.show("agents/agent-b/events.log") == ""  # the stale holder's compacted events pruned
    status, seen = await call(a, "POST", "/locks/1/claim", {"agent_id": "agent-a"})
    assert (status, seen["holder"]) == (409, "agent-c"), seen
    assert clean(repo) and clean(machine_a)


async def test_a_v1_lock_written_by_the_cli_refuses_an_api_claim_and_the_reverse(app_factory, repo, remote,
                                                                                 machine_a):
    cli = Hub(machine_a)  # a V1 hub (no meta/version.json), as CLI v0.5.0 lays it out
    git(cli.path, "push", "-q", "origin", "crosslink/hub")
    attach_hub(repo)
    clock = Clock(lambda: T0)
    b = await app_factory(plugins=PLUGINS, clock=clock)
    issue = await new_issue(b)

    # machine A's CLI claims and pushes; B's claim (which fetches first) is refused
    git(cli.path, "pull", "-q", "--rebase", "origin", "crosslink/hub")  # the server's issue file
    cli.heartbeat_v1("cli-agent", T0)
    cli.lock_v1(issue, "cli-agent", T0 - timedelta(minutes=1), branch="feature/cli")
    git(cli.path, "push", "-q", "origin", "crosslink/hub")
    status, body = await call(b, "POST", f"/locks/{issue}/claim", {"agent_id": "api-agent"})
    assert status == 409, body
    assert (body["holder"], body["source"]) == ("cli-agent", "hub-v1")

    # the CLI releases; now B's claim is written as the CLI writes locks.json
    git(cli.path, "pull", "-q", "--rebase", "origin", "crosslink/hub")
    cli.unlock_v1(issue)
    git(cli.path, "push", "-q", "origin", "crosslink/hub")
    ws, conn = await open_ws(b.client, channels=["locks"])
    try:
        status, lock = await call(b, "POST", f"/locks/{issue}/claim", {"agent_id": "api-agent"})
        assert status == 201, lock
        # the fetch brings the CLI's release, the write the server's claim: each announced once
        seen = [await receive_until(conn, "lock_changed", 20) for _ in range(2)]
        assert [(e["action"], e["agent_id"]) for e in seen] == [("released", "cli-agent"), ("claimed", "api-agent")]
        await assert_no_pending_events(conn)
    finally:
        await ws.__aexit__(None, None, None)
    assert lock["hub"]["layout_version"] == 1 and lock["hub"]["pushed"] is True
    assert remote.log()[0] == f"api-agent: claim lock on #{issue}"
    assert remote.show("locks.json") == (
        '{\n  "version": 1,\n  "locks": {\n    "1": {\n      "agent_id": "api-agent",\n      "branch": null,\n'
        '      "claimed_at": "2026-03-10T03:15:00Z",\n      "signed_by": "api-agent"\n    }\n  },\n'
        '  "settings": {\n    "stale_lock_timeout_minutes": 60\n  }\n}'
    )
    files = git_out(remote.path, "ls-tree", "-r", "--name-only", "refs/heads/crosslink/hub").splitlines()
    assert {"heartbeats/cli-agent.json", "locks.json", "meta/counters.json"} <= set(files)
    # no V2 files on a V1 hub: the server's issue is a flat issues/<uuid>.json, as V1 has it
    assert not [f for f in files if f.startswith(("agents/", "checkpoint/", "locks/", "meta/version"))], files
    assert [f for f in files if f.startswith("issues/")] and all(
        f.count("/") == 1 and f.endswith(".json") for f in files if f.startswith("issues/"))

    # machine A's CLI sees the server's lock after its fetch, as its own read of locks.json
    pull(machine_a)
    seen = json.loads((cli.path / "locks.json").read_text())["locks"][str(issue)]
    assert (seen["agent_id"], seen["signed_by"]) == ("api-agent", "api-agent")

    # the API releases; the CLI's file no longer has the lock
    status, body = await call(b, "POST", f"/locks/{issue}/release", {"agent_id": "api-agent"})
    assert status == 200 and body["hub"]["written"] is True
    assert remote.log()[0] == f"api-agent: release lock on #{issue}"
    assert json.loads(remote.show("locks.json"))["locks"] == {}
    assert (await call(b, "GET", f"/locks/{issue}"))[0] == 404
    assert clean(repo)


async def test_a_push_the_remote_refuses_grants_nothing_and_leaves_the_checkout_clean(app_factory, repo, remote,
                                                                                      machine_a, server_a_factory):
    a, b = await two_v2_machines(app_factory, server_a_factory)
    issue = await new_issue(b)
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'hub is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = git_out(hub_path(repo), "rev-parse", "HEAD")

    status, body = await call(b, "POST", f"/locks/{issue}/claim", {"agent_id": "agent-b"})
    assert status == 409, body
    assert body["error"] == "push rejected" and "not granted" in body["detail"]
    assert git_out(hub_path(repo), "rev-parse", "HEAD") == before
    assert clean(repo)
    assert not (hub_path(repo) / "locks" / f"{issue}.json").exists()
    assert (await call(b, "GET", f"/locks/{issue}"))[0] == 404
    assert (await call(b, "GET", "/locks"))[1] == []

    hook.unlink()
    status, lock = await call(b, "POST", f"/locks/{issue}/claim", {"agent_id": "agent-b"})
    assert status == 201, lock
    # a release the remote refuses is not a release: the lock and its fencing token stay
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    status, body = await call(b, "POST", f"/locks/{issue}/release", {"agent_id": "agent-b"})
    assert (status, body["error"]) == (409, "push rejected"), body
    status, still = await call(b, "GET", f"/locks/{issue}")
    assert (status, still["agent_id"], still["fencing_token"]) == (200, "agent-b", lock["fencing_token"])
    assert (hub_path(repo) / "locks" / f"{issue}.json").exists() and clean(repo)


async def test_offline_claims_are_committed_locally_and_pushed_later(app_factory, repo, remote, machine_a,
                                                                     server_a_factory):
    a, b = await two_v2_machines(app_factory, server_a_factory)
    issue = await new_issue(b)
    git(repo, "remote", "set-url", "origin", str(remote.path.parent / "gone.git"))
    status, lock = await call(b, "POST", f"/locks/{issue}/claim", {"agent_id": "agent-b"})
    assert status == 201, lock
    assert (lock["hub"]["written"], lock["hub"]["pushed"], lock["hub"]["offline"]) == (True, False, True)
    assert "next successful push" in lock["hub"]["detail"]
    assert re.fullmatch(f"agent-b: claim lock on #1 at {SUBJECT_TIME}",
                        git_out(hub_path(repo), "log", "-1", "--format=%s"))
    assert clean(repo)
    with pytest.raises(subprocess.CalledProcessError):  # not on the remote
        remote.show(f"locks/{issue}.json")

    git(repo, "remote", "set-url", "origin", str(remote.path))
    status, body = await call(b, "POST", "/sync/push")
    assert status == 200 and body["pushed_commits"] == 1, body
    assert json.loads(remote.show(f"locks/{issue}.json"))["agent_id"] == "agent-b"
    await new_issue(a)
    status, body = await call(a, "POST", f"/locks/{issue}/claim", {"agent_id": "agent-a"})
    assert (status, body["holder"]) == (409, "agent-b")


async def test_without_a_hub_locks_stay_in_the_database(app_factory, repo):
    server = await app_factory(plugins=PLUGINS)
    issue = await new_issue(server)
    status, lock = await call(server, "POST", f"/locks/{issue}/claim", {"agent_id": "a.b:c"})
    assert status == 201 and "hub" not in lock
    assert (await call(server, "POST", f"/locks/{issue}/release", {"agent_id": "a.b:c"}))[1] == {"ok": True}
    assert not hub_path(repo).exists()
    assert git_out(repo, "branch", "--list", "crosslink/*") == ""
    status, state = await call(server, "GET", "/sync/status")
    assert state["hub_writes"] == {"issues": False, "locks": False}
    lines = dict(await server.kernel._call_runtime("crosslink_startup_lines", kernel=server.kernel,
                                                  base_url="http://h:1"))["locks"]
    assert "  Locks:     server only (no crosslink hub in use: the database only, nothing written to git)" in lines


async def test_the_status_and_startup_lines_say_locks_go_through_the_hub(app_factory, repo, remote):
    server = await app_factory(plugins=PLUGINS)
    assert (await call(server, "POST", "/sync/init"))[0] == 201
    status, state = await call(server, "GET", "/sync/status")
    assert state["hub_writes"] == {"issues": True, "locks": True}
    lines = dict(await server.kernel._call_runtime("crosslink_startup_lines", kernel=server.kernel,
                                                  base_url="http://h:1"))["locks"]
    assert "  Locks:     through the hub (crosslink/hub, layout 2, pushed to origin)" in lines
    # an agent id the CLI would not accept cannot be written to the hub
    issue = await new_issue(server)
    status, body = await call(server, "POST", f"/locks/{issue}/claim", {"agent_id": "a.b:c"})
    assert status == 400 and "crosslink CLI" in body["detail"]


async def test_concurrent_claims_through_the_hub_have_one_winner(app_factory, repo, remote):
    server = await app_factory(plugins=PLUGINS)
    assert (await call(server, "POST", "/sync/init"))[0] == 201
    assert (await call(server, "POST", "/sync/push"))[0] == 200
    issue = await new_issue(server)

    async def claim(n: int):
        return await call(server, "POST", f"/locks/{issue}/claim", {"agent_id": f"agent-{n}"})

    results = await asyncio.gather(*(claim(n) for n in range(6)))
    winners = [body for status, body in results if status == 201]
    assert len(winners) == 1 and sorted(status for status, _ in results) == [201] + [409] * 5, results
    assert {body["holder"] for status, body in results if status == 409} == {winners[0]["agent_id"]}
    assert json.loads(remote.show(f"locks/{issue}.json"))["agent_id"] == winners[0]["agent_id"]
    assert sum(1 for subject in remote.log() if "claim lock" in subject) == 1
    assert clean(repo)


async def test_closing_the_issue_releases_its_hub_lock(app_factory, repo, remote):
    server = await app_factory(plugins=PLUGINS)
    assert (await call(server, "POST", "/sync/init"))[0] == 201
    issue = await new_issue(server)
    assert (await call(server, "POST", f"/locks/{issue}/claim", {"agent_id": "worker"}))[0] == 201
    assert json.loads(remote.show(f"locks/{issue}.json"))["agent_id"] == "worker"
    ws, conn = await open_ws(server.client, channels=["locks"])
    try:
        assert (await call(server, "POST", f"/issues/{issue}/close"))[0] == 200
        event = await receive_until(conn, "lock_changed", 20)
        assert (event["action"], event["agent_id"]) == ("released", "worker")
        await assert_no_pending_events(conn)
    finally:
        await ws.__aexit__(None, None, None)
    # the close (written through the hub by the issues plugin) and the release it causes, in
    # whichever order the two writes reached the hub owner
    for _ in range(200):  # the release follows the close's event: wait until it is pushed
        latest = remote.log()[:2]
        if any(s.startswith(f"worker: release lock on #{issue} ") for s in latest):
            break
        await asyncio.sleep(0.1)
    assert any(re.fullmatch(f"worker: release lock on #{issue} at {SUBJECT_TIME}", s) for s in latest), latest
    assert any(re.fullmatch(f"crosslink-server-[\\w-]+: close issue #{issue} at {SUBJECT_TIME}", s) for s in latest), latest
    assert not (hub_path(repo) / "locks" / f"{issue}.json").exists()
    assert (await call(server, "GET", "/locks"))[1] == []


def nanos(moment: datetime) -> str:
    """A timestamp as the CLI writes most of them: nine fractional digits and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}789Z"


def cli_event(seq: int, stamp: str, issue: int, kind: str) -> str:
    return json.dumps({"agent_id": "cli-agent", "agent_seq": seq, "timestamp": stamp,
                       "event": {"type": kind, "issue_display_id": issue}}, separators=(",", ":")) + "\n"


def cli_state(locks: dict, warnings: list, watermark: dict) -> str:
    return json.dumps({"next_display_id": 1, "next_comment_id": 1, "display_id_map": {}, "locks": locks,
                       "issues": {}, "unsigned_event_warnings": warnings, "watermark": watermark}, indent=2)


async def test_a_v2_lock_written_by_the_cli_refuses_an_api_claim_and_the_reverse(app_factory, repo, remote,
                                                                                 machine_a):
    """Machine A's CLI claims and releases with V2 events, compaction and ``locks/<id>.json`` (its
    timestamps in nanoseconds); machine B's API is refused, then claims after the CLI's
    watermark; an uncompacted earlier claim of the CLI wins over the API's."""
    b = await app_factory(plugins=PLUGINS)
    assert (await call(b, "POST", "/sync/init"))[0] == 201
    assert (await call(b, "POST", "/sync/push"))[0] == 200
    first, second = await new_issue(b), await new_issue(b, "second")
    attach_hub(machine_a)
    cli = CliHub(machine_a)
    now = datetime.now(UTC)
    cli.heartbeat_v2("cli-agent", now)

    claimed = nanos(now - timedelta(minutes=1))
    warned = [{"agent_id": "cli-agent", "agent_seq": 1, "timestamp": claimed}]
    cli.write("agents/cli-agent/events.log", cli_event(1, claimed, first, "LockClaimed"))
    cli.write("checkpoint/state.json", cli_state({str(first): {"agent_id": "cli-agent", "claimed_at": claimed}},
                                                warned, {"timestamp": claimed, "agent_id": "cli-agent", "agent_seq": 1}))
    cli.write(f"locks/{first}.json", json.dumps({"issue_id": first, "agent_id": "cli-agent", "claimed_at": claimed},
                                                indent=2))
    cli.commit(f"cli-agent: claim lock on #{first} at 2026-12-01T10:00:00Z")
    cli.push()
    status, body = await call(b, "POST", f"/locks/{first}/claim", {"agent_id": "agent-b"})
    assert status == 409, body
    assert (body["holder"], body["source"], body["stale"]) == ("cli-agent", "hub-v2", False)

    released = nanos(datetime.now(UTC))
    log = cli_event(1, claimed, first, "LockClaimed") + cli_event(2, released, first, "LockReleased")
    warned.append({"agent_id": "cli-agent", "agent_seq": 2, "timestamp": released})
    cli.write("agents/cli-agent/events.log", log)
    cli.write("checkpoint/state.json", cli_state({}, warned, {"timestamp": released, "agent_id": "cli-agent",
                                                              "agent_seq": 2}))
    cli.remove(f"locks/{first}.json")
    cli.commit(f"cli-agent: release lock on #{first} at 2026-12-01T10:01:00Z")
    cli.push()
    status, lock = await call(b, "POST", f"/locks/{first}/claim", {"agent_id": "agent-b"})
    assert status == 201, lock
    state = json.loads(remote.show("checkpoint/state.json"))
    mine = state["locks"][str(first)]["claimed_at"]
    assert state["locks"] == {str(first): {"agent_id": "agent-b", "claimed_at": mine}}
    assert parse(mine) > parse(released)
    assert state["unsigned_event_warnings"] == warned + [{"agent_id": "agent-b", "agent_seq": 1, "timestamp": mine}]
    assert state["watermark"] == {"timestamp": mine, "agent_id": "agent-b", "agent_seq": 1}
    assert remote.show("agents/cli-agent/events.log") == log  # the CLI's own log untouched
    assert json.loads(remote.show(f"locks/{first}.json")) == {"issue_id": first, "agent_id": "agent-b",
                                                             "claimed_at": mine}

    # the CLI appended a claim on the second issue but never compacted it (a crash): the
    # compaction the API's claim runs gives it to the earlier claim, so the API is refused
    pull(machine_a)
    early = nanos(datetime.now(UTC))
    cli.write("agents/cli-agent/events.log", log + cli_event(3, early, second, "LockClaimed"))
    cli.commit("sync: auto-stage dirty hub state (recovery)")
    cli.push()
    head = remote.branch_head()
    status, body = await call(b, "POST", f"/locks/{second}/claim", {"agent_id": "agent-b"})
    assert (status, body["holder"]) == (409, "cli-agent"), body
    assert remote.branch_head() == head and clean(repo)


async def test_a_push_that_fails_outright_drops_the_commit(app_factory, repo, remote):
    """A push that neither reaches the remote nor is rejected (here: it times out) is an error;
    the commit is dropped and nothing is granted."""
    from plugins.hub import get_hub

    server = await app_factory(plugins=PLUGINS)
    assert (await call(server, "POST", "/sync/init"))[0] == 201
    assert (await call(server, "POST", "/sync/push"))[0] == 200
    issue = await new_issue(server)
    before = git_out(hub_path(repo), "rev-parse", "HEAD")
    get_hub(server.kernel).git.remote_timeout = 0.001  # every fetch and push times out
    status, body = await call(server, "POST", f"/locks/{issue}/claim", {"agent_id": "agent-b"})
    assert status == 500 and body["error"] == "git failed" and "timed out" in body["detail"], body
    assert git_out(hub_path(repo), "rev-parse", "HEAD") == before
    assert clean(repo)
    assert (await call(server, "GET", "/locks"))[1] == []
