"""Issues through the crosslink hub: real repositories laid out as the CLI lays them out (V1 and V2
hubs, inline and file comments, milestones, counters), a bare remote, two clones as two machines
(each with an in-process server); the CLI's writes and hydration come from ``clihub.py``, written
from the hub format reference independently of the server's code."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.plugins.agents.hubbuilder import Hub
from tests.plugins.issues.clihub import CliIssues, cli_hydrate
from tests.plugins.sync.conftest import (  # noqa: F401  (fixtures)
    attach_hub,
    git_out,
    hub_path,
    machine_a,
    remote,
    server_a_factory,
    write_server_toml,
)
from tests.support import BACKENDS, LiveServer, git, open_ws, receive_json

T0 = datetime(2026, 3, 10, 3, 15, tzinfo=UTC)
COMMIT_MESSAGE = re.compile(r"^(?P<agent>[A-Za-z0-9_-]+): (?P<what>.+) at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
JSON_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")


async def call(server, method: str, path: str, body=None, expect: int | None = None):
    """One API call to an in-process server (``TestServer``) or a ``crosslink serve`` subprocess."""
    if isinstance(server, LiveServer):
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            response = await client.request(method.upper(), f"/api/v1{path}", json=body)
        status, data = response.status_code, response.json()
    else:
        response = await getattr(server.client, method)(f"/api/v1{path}", json=body)
        status, data = response.status_code, await response.get_json()
    if expect is not None:
        assert status == expect, (status, data)
    return data


ROW_QUERIES = {
    "issues": "SELECT id, uuid, title, description, status, priority, parent_id, created_by, created_at, "
              "updated_at, closed_at FROM issues",
    "labels": "SELECT issue_id, label FROM labels",
    "comments": "SELECT id, issue_id, uuid, author, content, created_at, kind FROM comments",
    "dependencies": "SELECT blocker_id, blocked_id FROM dependencies",
    "milestones": "SELECT id, uuid, name, description, status, created_at, closed_at FROM milestones",
    "milestone_issues": "SELECT milestone_id, issue_id FROM milestone_issues",
}


def _shape(table: str, rows: list[tuple]) -> dict | set:
    if table in ("issues", "milestones"):
        return {r[0]: tuple(r[1:]) for r in rows}
    return {tuple(r) for r in rows}


async def db_rows(server) -> dict:
    """The shared tables as ``cli_hydrate`` shapes them: through an in-process server's database,
    or straight from a SQLite file (a subprocess server's)."""
    out = {}
    for table, sql in ROW_QUERIES.items():
        if isinstance(server, Path):
            connection = sqlite3.connect(server)
            try:
                rows = list(connection.execute(sql))
            finally:
                connection.close()
        else:
            rows = [tuple(r.values()) for r in await server.kernel.db.fetch_all(sql)]
        out[table] = _shape(table, rows)
    return out


def db_file(machine: Path) -> Path:
    return machine / ".crosslink" / "issues.db"


async def uuid_of_file(machine: Path, issue_id: int) -> str:
    connection = sqlite3.connect(db_file(machine))
    try:
        return connection.execute("SELECT uuid FROM issues WHERE id = ?", [issue_id]).fetchone()[0]
    finally:
        connection.close()


async def uuid_of(server, issue_id: int) -> str:
    return await server.kernel.db.fetch_value("SELECT uuid FROM issues WHERE id = ?", [issue_id])


def assert_cli_json(text: str, keys: list[str]) -> dict:
    """serde's pretty output: 2-space indent, no trailing newline, exactly these keys in order."""
    data = json.loads(text)
    assert list(data) == keys
    assert text == json.dumps(data, indent=2, ensure_ascii=False)
    for key in ("created_at", "updated_at", "closed_at"):
        if key in data:
            assert JSON_TIME.match(data[key]), data[key]
    return data


def hub_subjects(checkout: Path, count: int) -> list[str]:
    return git_out(checkout, "log", f"-{count}", "--format=%s").splitlines()


async def wait_for(condition, timeout: float = 30.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await condition()
        if result:
            return result
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def configure(machine: Path, agent: str) -> None:
    write_server_toml(machine, f'[hub]\nagent_id = "{agent}"\n')


# --- write through the hub, V2, two machines ---------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_an_issue_made_on_machine_a_is_a_cli_hub_file_and_reaches_machine_b(
    app_factory, server_a_factory, repo, remote, machine_a
):
    configure(machine_a, "server-a")
    configure(repo, "server-b")
    a = server_a_factory("--plugins", "issues,sync")
    assert (await call(a, "post", "/sync/init", {}, 201))["source"] == "new"

    created = await call(a, "post", "/issues", {"title": "Fix auth", "description": "504s", "priority": "high"}, 201)
    assert created == {"id": 1, "display_id": 1, "hub": "pushed"}
    assert (await call(a, "post", "/issues", {"title": "Blocker"}, 201))["id"] == 2
    child = await call(a, "post", "/issues/1/subissue", {"title": "Child"}, 201)
    assert child["id"] == 3
    comment = await call(a, "post", "/issues/1/comments", {"content": "Reproduced", "kind": "observation"}, 201)
    assert comment["id"] == -1  # V2 comment files hydrate to -1, -2, ... as the CLI numbers them
    await call(a, "post", "/issues/1/labels", {"label": "bug"}, 200)
    await call(a, "post", "/issues/1/block", {"blocker_id": 2}, 200)
    milestone = await call(a, "post", "/milestones", {"name": "v1"}, 201)
    assert milestone == {"id": 1}
    await call(a, "post", "/milestones/1/assign", {"issue_id": 1}, 200)

    # the remote holds the CLI's files
    first, second = await uuid_of_file(machine_a, 1), await uuid_of_file(machine_a, 2)
    issue = assert_cli_json(remote.show(f"issues/{first}/issue.json"), [
        "uuid", "display_id", "title", "description", "status", "priority", "created_by", "created_at",
        "updated_at", "labels", "blockers", "milestone_uuid"])
    assert issue["display_id"] == 1 and issue["created_by"] == "server-a" and issue["labels"] == ["bug"]
    assert issue["blockers"] == [second]
    child_file = assert_cli_json(remote.show(f"issues/{await uuid_of_file(machine_a, 3)}/issue.json"), [
        "uuid", "display_id", "title", "status", "priority", "parent_uuid", "created_by", "created_at",
        "updated_at"])
    assert child_file["parent_uuid"] == first
    names = git_out(remote.path, "ls-tree", "-r", "--name-only", "crosslink/hub", f"issues/{first}/comments/")
    [comment_path] = names.splitlines()
    comment_file = assert_cli_json(remote.show(comment_path), [
        "uuid", "issue_uuid", "author", "content", "created_at", "kind"])
    assert comment_file["issue_uuid"] == first and comment_file["author"] == "server-a"
    assert json.loads(remote.show("meta/counters.json")) == {
        "next_display_id": 4, "next_comment_id": 2, "next_milestone_id": 2}
    [milestone_path] = git_out(remote.path, "ls-tree", "-r", "--name-only", "crosslink/hub",
                               "meta/milestones/").splitlines()
    assert_cli_json(remote.show(milestone_path), ["uuid", "display_id", "name", "status", "created_at"])
    subjects = remote.log()
    assert all(COMMIT_MESSAGE.match(s) and s.startswith("server-a: ") for s in subjects[:8]), subjects
    assert [COMMIT_MESSAGE.match(s)["what"] for s in subjects[:8]] == [
        "add 1 issue(s) to milestone #1", "create milestone: v1", "block issue #1 on #2", "label issue #1 with bug",
        "comment on issue #1", "create subissue under #1: Child", "create issue: Blocker", "create issue: Fix auth"]
    assert git_out(hub_path(machine_a), "status", "--porcelain") == ""

    # machine B attaches to the remote's hub: the same issues, through its API
    b = await app_factory(plugins="issues,sync")
    assert (await call(b, "post", "/sync/init", {}, 201))["source"] == "remote"
    detail = await call(b, "get", "/issues/1", expect=200)
    assert detail["title"] == "Fix auth" and detail["priority"] == "high" and detail["labels"] == ["bug"]
    assert detail["blockers"] == [2] and [s["id"] for s in detail["subissues"]] == [3]
    assert [c["content"] for c in detail["comments"]] == ["Reproduced"]
    assert detail["milestone"] == {"id": 1, "name": "v1", "status": "open"}
    assert (await call(b, "get", "/milestones/1", expect=200))["issue_count"] == 1

    # a hydration done the CLI's way gives exactly the rows both APIs show
    assert await db_rows(b) == cli_hydrate(hub_path(repo))
    assert await db_rows(db_file(machine_a)) == cli_hydrate(hub_path(machine_a))

    # A goes on; B sees it after a fetch
    await call(a, "post", "/issues/1/comments", {"content": "Root cause found", "kind": "resolution"}, 201)
    scratch = await call(a, "post", "/issues", {"title": "scratch"}, 201)
    scratch_uuid = await uuid_of_file(machine_a, scratch["id"])
    assert (await call(a, "delete", f"/issues/{scratch['id']}", expect=200)) == {"ok": True}
    assert COMMIT_MESSAGE.match(remote.log()[0])["what"] == f"delete issue #{scratch['id']}"
    assert scratch_uuid not in git_out(remote.path, "ls-tree", "-r", "--name-only", "crosslink/hub")
    ws, connection = await open_ws(b.client, channels=["issues"])
    try:
        await call(b, "post", "/sync/fetch", {}, 200)
        seen = set()
        while (1, "comments") not in seen:
            message = await receive_json(connection, 30)
            seen.add((message.get("issue_id"), message.get("field")))
    finally:
        await ws.__aexit__(None, None, None)
    comments = await call(b, "get", "/issues/1/comments", expect=200)
    assert [(c["content"], c["kind"]) for c in comments] == [("Reproduced", "observation"),
                                                             ("Root cause found", "resolution")]
    assert await db_rows(b) == cli_hydrate(hub_path(repo))

    # and back: B's change reaches A after A fetches
    assert (await call(b, "post", "/issues/2/close", {}, 200)) == {"ok": True}
    from_b = await call(b, "post", "/issues", {"title": "From B"}, 201)
    assert from_b["id"] == 5 and from_b["hub"] == "pushed"  # 4 was the scratch issue, deleted
    await call(a, "post", "/sync/fetch", {}, 200)
    assert (await call(a, "get", "/issues/5", expect=200))["title"] == "From B"
    assert (await call(a, "get", "/issues/2", expect=200))["status"] == "closed"
    assert await db_rows(db_file(machine_a)) == cli_hydrate(hub_path(machine_a))


async def test_two_servers_creating_at_once_get_distinct_display_ids(app_factory, server_a_factory, repo, remote,
                                                                    machine_a):
    configure(machine_a, "server-a")
    configure(repo, "server-b")
    a = server_a_factory("--plugins", "issues,sync")
    await call(a, "post", "/sync/init", {}, 201)
    await call(a, "post", "/issues", {"title": "first"}, 201)
    b = await app_factory(plugins="issues,sync")
    await call(b, "post", "/sync/init", {}, 201)

    answers = await asyncio.gather(
        *(call(a, "post", "/issues", {"title": f"a{n}"}, 201) for n in range(4)),
        *(call(b, "post", "/issues", {"title": f"b{n}"}, 201) for n in range(4)),
    )
    pushed = [answer["id"] for answer in answers if answer["hub"] == "pushed"]
    assert len(set(pushed)) == len(pushed) and all(2 <= i <= 9 for i in pushed)
    # one that lost every race would be an offline issue, promoted by the next push
    await call(a, "post", "/sync/push", {}, 200)
    await call(b, "post", "/sync/push", {}, 200)
    await call(a, "post", "/sync/fetch", {}, 200)
    for server in (a, b):
        listed = await call(server, "get", "/issues?status=all", expect=200)
        assert sorted(i["id"] for i in listed["items"]) == list(range(1, 10))
    titles_a = {i["id"]: i["title"] for i in (await call(a, "get", "/issues", expect=200))["items"]}
    titles_b = {i["id"]: i["title"] for i in (await call(b, "get", "/issues", expect=200))["items"]}
    assert titles_a == titles_b
    assert sorted(titles_a.values()) == ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "first"]
    assert json.loads(remote.show("meta/counters.json"))["next_display_id"] == 10


# --- V1 hubs, CLI-written content, hydration -----------------------------------------------------


async def test_a_v1_hub_written_by_the_cli_hydrates_as_the_cli_hydrates_and_takes_inline_comments(
    app_factory, repo
):
    Hub(repo)  # a V1 hub (no meta/version.json), counters at 1
    cli = CliIssues(hub_path(repo), "cli-1")
    parent = cli.create("Parent", at=T0, description="from the CLI", labels=("bug", "ui"))
    child = cli.create("Child", at=T0 + timedelta(minutes=1), parent=parent, priority="low")
    other = cli.create("Other", at=T0 + timedelta(minutes=2))
    cli.create("Offline elsewhere", at=T0 + timedelta(minutes=3), display_id=None)
    cli.comment(parent, "first words", at=T0 + timedelta(minutes=4))
    milestone = cli.milestone("M1", at=T0)
    cli.edit(child, "block issue #2 on #3", blockers=[other], milestone_uuid=milestone)
    cli.edit(other, "close issue #3", status="closed", closed_at="2026-03-10T04:00:00.5Z")

    server = await app_factory(plugins="issues")
    assert await db_rows(server) == cli_hydrate(hub_path(repo))
    detail = await call(server, "get", "/issues/2", expect=200)
    assert detail["parent_id"] == 1 and detail["blockers"] == [3] and detail["milestone"]["name"] == "M1"
    assert (await call(server, "get", "/issues/-1", expect=200))["title"] == "Offline elsewhere"
    assert (await call(server, "get", "/issues/1/comments", expect=200))[0]["id"] == 1

    # API writes go inline, numbered from the counters (no remote: commits stay local)
    created = await call(server, "post", "/issues/1/comments", {"content": "second", "author": "me"}, 201)
    assert created == {"id": 2}
    await call(server, "delete", "/issues/1/labels/ui", expect=200)
    await call(server, "patch", "/issues/1", {"title": "Parent, renamed", "description": None}, 200)
    parent_file = assert_cli_json((hub_path(repo) / f"issues/{parent}.json").read_text(), [
        "uuid", "display_id", "title", "status", "priority", "created_by", "created_at", "updated_at", "labels",
        "comments"])
    assert parent_file["labels"] == ["bug"] and parent_file["created_by"] == "cli-1"
    assert [(c["id"], c["author"], c["content"]) for c in parent_file["comments"]] == [
        (1, "cli-1", "first words"), (2, "me", "second")]
    assert list(parent_file["comments"][1]) == ["id", "author", "content", "created_at", "kind"]
    assert not (hub_path(repo) / "issues" / parent).exists()  # V1 stays flat
    assert json.loads((hub_path(repo) / "meta/counters.json").read_text())["next_comment_id"] == 3
    assert await db_rows(server) == cli_hydrate(hub_path(repo))
    assert git_out(hub_path(repo), "status", "--porcelain") == ""

    # the rest of the writes, each a CLI-style change of the files
    await call(server, "delete", "/issues/2/block/3", expect=200)
    assert "blockers" not in json.loads((hub_path(repo) / f"issues/{child}.json").read_text())
    await call(server, "delete", "/milestones/1/issues/2", expect=200)
    await call(server, "post", "/milestones/1/close", {}, 200)
    milestone_file = json.loads((hub_path(repo) / f"meta/milestones/{milestone}.json").read_text())
    assert milestone_file["status"] == "closed" and JSON_TIME.match(milestone_file["closed_at"])
    await call(server, "post", "/issues/3/reopen", {}, 200)
    assert "closed_at" not in json.loads((hub_path(repo) / f"issues/{other}.json").read_text())
    assert (await call(server, "post", "/issues/3/reopen", {}, 200)) == {"ok": True}  # no-op, no commit
    await call(server, "delete", "/issues/1", expect=200)  # with its child, #2
    assert not (hub_path(repo) / f"issues/{parent}.json").exists()
    assert not (hub_path(repo) / f"issues/{child}.json").exists()
    assert [COMMIT_MESSAGE.match(m)["what"] for m in hub_subjects(hub_path(repo), 5)] == [
        "delete issue #1", "reopen issue #3", "close milestone #1", "remove issue #2 from milestone",
        "unblock issue #2 from #3"]
    assert sorted(i["id"] for i in (await call(server, "get", "/issues?status=all", expect=200))["items"]) == [-1, 3]
    assert await db_rows(server) == cli_hydrate(hub_path(repo))
    # errors are the API's usual ones
    assert (await call(server, "post", "/issues/3/labels", {"label": "x"}, 200)) == {"ok": True}
    assert (await call(server, "post", "/issues/3/labels", {"label": "x"}, 409))["error"] == "conflict"
    assert (await call(server, "delete", "/issues/3/labels/nope", expect=404))["error"] == "not found"
    assert (await call(server, "post", "/issues/99/comments", {"content": "x"}, 404))["error"] == "not found"

    # the CLI keeps writing to the checkout: the server follows, with events
    ws, connection = await open_ws(server.client, channels=["issues"])
    try:
        cli.comment(other, "from the CLI later", at=T0 + timedelta(hours=1))
        message = await receive_json(connection, 30)
        while message.get("type") != "issue_updated":
            message = await receive_json(connection, 30)
        assert (message["issue_id"], message["field"]) == (3, "comments")
    finally:
        await ws.__aexit__(None, None, None)
    assert await db_rows(server) == cli_hydrate(hub_path(repo))

    # no remote at all: nothing to collide with, so a create is numbered and kept local
    created = await call(server, "post", "/issues", {"title": "local only"}, 201)
    assert created == {"id": 4, "display_id": 4, "hub": "local"}
    local_uuid = await uuid_of(server, 4)
    assert json.loads((hub_path(repo) / f"issues/{local_uuid}.json").read_text())["display_id"] == 4


async def test_sessions_and_server_tables_survive_hydration(app_factory, repo):
    Hub(repo)
    cli = CliIssues(hub_path(repo), "cli-1")
    cli.create("Worked on", at=T0)
    server = await app_factory(plugins="issues")
    await server.kernel.db.execute(
        "INSERT INTO sessions (started_at, active_issue_id, agent_id) VALUES (?, 1, 'w')", ["2026-03-10T03:15:00+00:00"]
    )
    second = cli.create("Another", at=T0 + timedelta(minutes=1))
    cli.edit(second, "update issue #2", title="Another, renamed")
    await server.kernel.services.require("issues").hub.hydrate()
    assert await server.kernel.db.fetch_value("SELECT active_issue_id FROM sessions") == 1
    assert (await call(server, "get", "/issues/2", expect=200))["title"] == "Another, renamed"


# --- offline --------------------------------------------------------------------------------------


async def test_offline_creates_are_l_issues_promoted_after_the_next_push(app_factory, repo, remote, caplog):
    configure(repo, "server-b")
    server = await app_factory(plugins="issues,sync")
    await call(server, "post", "/sync/init", {}, 201)
    assert (await call(server, "post", "/issues", {"title": "online"}, 201))["id"] == 1
    cli = CliIssues(hub_path(repo), "cli-other")
    cli.create("someone else's offline issue", at=T0, display_id=None)

    git(repo, "remote", "set-url", "origin", str(repo.parent / "gone.git"))
    first = await call(server, "post", "/issues", {"title": "offline one"}, 201)
    second = await call(server, "post", "/issues", {"title": "offline two"}, 201)
    assert first["display_id"] is None and first["hub"] == "offline"
    assert {first["id"], second["id"]} == {-2, -3}  # -1 is the other agent's (created first)
    offline_uuid = await uuid_of(server, first["id"])
    data = json.loads((hub_path(repo) / f"issues/{offline_uuid}/issue.json").read_text())
    assert data["display_id"] is None and data["created_by"] == "server-b"
    assert json.loads((hub_path(repo) / "meta/counters.json").read_text())["next_display_id"] == 2
    assert COMMIT_MESSAGE.match(hub_subjects(hub_path(repo), 1)[0])["what"] == "create issue: offline two"
    assert (await call(server, "get", f"/issues/{first['id']}", expect=200))["title"] == "offline one"

    git(repo, "remote", "set-url", "origin", str(remote.path))
    with caplog.at_level(logging.INFO, logger="crosslink.issues.hub"):
        await call(server, "post", "/sync/push", {}, 200)
    listed = {i["title"]: i["id"] for i in (await call(server, "get", "/issues", expect=200))["items"]}
    assert listed == {"online": 1, "offline one": 2, "offline two": 3, "someone else's offline issue": -1}
    assert json.loads(remote.show(f"issues/{offline_uuid}/issue.json"))["display_id"] == 2
    assert COMMIT_MESSAGE.match(remote.log()[0])["what"] == "promote 2 offline issue(s)"
    assert "promoted 2 offline issue(s) of server-b" in caplog.text
    assert await db_rows(server) == cli_hydrate(hub_path(repo))


# --- rows only in SQLite ------------------------------------------------------------------------


async def test_a_sqlite_only_issue_survives_and_reaches_the_hub(app_factory, server_a_factory, repo, remote,
                                                               machine_a, caplog):
    configure(machine_a, "server-a")
    configure(repo, "server-b")
    a = server_a_factory("--plugins", "issues,sync")
    await call(a, "post", "/sync/init", {}, 201)
    await call(a, "post", "/issues", {"title": "hub issue"}, 201)

    b = await app_factory(plugins="issues,sync")  # no hub on B yet: SQLite only, as before
    assert (await call(b, "post", "/issues", {"title": "made before the hub"}, 201)) == {"id": 1}
    await call(b, "post", "/issues/1/comments", {"content": "old words"}, 201)
    await call(b, "post", "/issues/1/labels", {"label": "legacy"}, 200)
    assert (await call(b, "post", "/issues", {"title": "kept number", "parent_id": 1}, 201)) == {"id": 2}
    # an issue an MCP agent made through an older server carries created_by
    assert await b.kernel.services.require("issues").create("by an agent", created_by="agent-x") == 3
    # a SQLite-only id that the hub does not use keeps its number
    await b.kernel.db.execute("UPDATE issues SET id = 7 WHERE id = 2")

    with caplog.at_level(logging.WARNING, logger="crosslink.issues.hub"):
        await call(b, "post", "/sync/init", {}, 201)
    assert "issue #1" in caplog.text and "as #2 (#1 is taken)" in caplog.text
    listed = {i["title"]: i["id"] for i in (await call(b, "get", "/issues", expect=200))["items"]}
    assert listed == {"hub issue": 1, "made before the hub": 2, "by an agent": 3, "kept number": 7}
    moved = await call(b, "get", "/issues/2", expect=200)
    assert moved["labels"] == ["legacy"] and [c["content"] for c in moved["comments"]] == ["old words"]
    assert [s["id"] for s in moved["subissues"]] == [7]
    assert await db_rows(b) == cli_hydrate(hub_path(repo))

    moved_uuid = await uuid_of(b, 2)
    data = json.loads(remote.show(f"issues/{moved_uuid}/issue.json"))
    assert data["display_id"] == 2 and data["created_by"] == "server-b" and data["labels"] == ["legacy"]
    await call(a, "post", "/sync/fetch", {}, 200)
    assert (await call(a, "get", "/issues/7", expect=200))["parent_id"] == 2
    assert json.loads(remote.show("meta/counters.json"))["next_display_id"] == 8


# --- failures and recovery ------------------------------------------------------------------------


async def test_a_push_failing_for_another_reason_is_an_error_and_leaves_the_checkout_clean(
    app_factory, repo, remote
):
    configure(repo, "server-b")
    server = await app_factory(plugins="issues,sync")
    await call(server, "post", "/sync/init", {}, 201)
    await call(server, "post", "/issues", {"title": "fine"}, 201)
    head = git_out(hub_path(repo), "rev-parse", "HEAD")
    git(repo, "config", "remote.origin.pushurl", "ext::false")  # a transport git refuses: not "offline"

    response = await server.client.post("/api/v1/issues", json={"title": "refused"})
    body = await response.get_json()
    assert response.status_code == 500 and body["error"] == "git failed", body
    assert "Traceback" not in json.dumps(body)
    assert git_out(hub_path(repo), "rev-parse", "HEAD") == head
    assert git_out(hub_path(repo), "status", "--porcelain", "--untracked-files=all") == ""
    listed = await call(server, "get", "/issues", expect=200)
    assert [i["title"] for i in listed["items"]] == ["fine"]


async def test_a_commit_not_hydrated_before_a_crash_is_hydrated_at_the_next_start(live_server_factory, repo):
    Hub(repo).set_layout(2)
    cli = CliIssues(hub_path(repo), "cli-1")
    cli.commit("layout", "meta/version.json")
    server = live_server_factory("--plugins", "issues")
    created = await call(server, "post", "/issues", {"title": "through the API"}, 201)
    assert created == {"id": 1, "display_id": 1, "hub": "local"}  # no remote at all: numbered, kept local
    server.stop(signal.SIGKILL)  # gone without a word
    # a commit lands in the checkout meanwhile, and SQLite lost what the server had hydrated
    cli.create("committed, never hydrated", at=T0)
    connection = sqlite3.connect(db_file(repo))
    with connection:
        connection.execute("DELETE FROM issues")
    connection.close()
    restarted = live_server_factory("--plugins", "issues")
    assert "Issues:    through the crosslink hub (layout V2, agent id crosslink-server-" in restarted.text()
    listed = {i["title"]: i["id"] for i in (await call(restarted, "get", "/issues", expect=200))["items"]}
    assert listed == {"through the API": 1, "committed, never hydrated": 2}
    assert await db_rows(db_file(repo)) == cli_hydrate(hub_path(repo))


async def test_without_a_hub_nothing_is_written_to_git(app_factory, repo):
    server = await app_factory(plugins="issues")
    assert await call(server, "post", "/issues", {"title": "plain"}, 201) == {"id": 1}
    assert not hub_path(repo).exists()
    assert git_out(repo, "log", "--format=%s") == "initial"


async def test_stale_counters_are_raised_above_the_ids_on_disk_and_duplicate_ids_hydrate_once(app_factory, repo):
    Hub(repo)  # V1, counters at 1
    cli = CliIssues(hub_path(repo), "cli-1")
    first = cli.create("first", at=T0)
    cli.comment(first, "inline", at=T0)
    older = cli.create("duplicate, older", at=T0, display_id=5)
    newer = cli.create("duplicate, newer", at=T0 + timedelta(minutes=1), display_id=5)
    # another machine's counters lag behind what is on disk
    (hub_path(repo) / "meta/counters.json").write_text(json.dumps(
        {"next_display_id": 2, "next_comment_id": 1, "next_milestone_id": 1}, indent=2))
    cli.commit("counters reset", "meta/counters.json")

    server = await app_factory(plugins="issues")
    assert (await call(server, "get", "/issues/5", expect=200))["title"] == "duplicate, newer"
    assert await db_rows(server) == cli_hydrate(hub_path(repo))
    assert {older, newer} <= {p.stem for p in (hub_path(repo) / "issues").glob("*.json")}  # both stay on the hub

    created = await call(server, "post", "/issues", {"title": "after the reset"}, 201)
    assert created["id"] == 6  # not 2: the counter is raised above the highest display id on disk
    comment = await call(server, "post", f"/issues/{created['id']}/comments", {"content": "no clash"}, 201)
    assert comment == {"id": 2}  # not 1: inline comment ids stay unique across the hub
    assert json.loads((hub_path(repo) / "meta/counters.json").read_text()) == {
        "next_display_id": 7, "next_comment_id": 3, "next_milestone_id": 1}
    milestone = await call(server, "post", "/milestones", {"name": "m"}, 201)
    assert milestone == {"id": 1}
    assert await db_rows(server) == cli_hydrate(hub_path(repo))
