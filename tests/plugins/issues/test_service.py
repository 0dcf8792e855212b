"""The ``issues`` service other plugins call (``kernel.services.get("issues")``)."""

from __future__ import annotations

import pytest

from kernel import APIError
from plugins.issues.contract import IssuesAPI
from tests.support import BACKENDS, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def service(api):
    return api.kernel.services.require("issues")


async def test_the_service_is_provided_and_follows_the_contract(api, service):
    assert isinstance(service, IssuesAPI)
    assert api.kernel.services.provider_of("issues") == "issues"


async def test_exists_get_and_detail(api, service):
    issue_id = await api.create("Via the API", description="d", priority="high")
    assert await service.exists(issue_id) is True
    assert await service.exists(999) is False
    detail = await api.issue(issue_id)
    issue = await service.get(issue_id)
    assert issue == {key: detail[key] for key in issue}
    assert set(issue) == {"id", "title", "description", "status", "priority", "parent_id", "created_at",
                          "updated_at", "closed_at"}
    assert await service.get(999) is None
    assert await service.detail(issue_id) == detail
    assert await service.detail(999) is None


async def test_add_comment_inserts_and_emits(api, service):
    issue_id = await api.create("t")
    ws, conn = await open_ws(api.client, channels=["issues"])
    try:
        comment_id = await service.add_comment(issue_id, "Session ended: handoff notes", kind="result", author="worker-1")
        event = await receive_json(conn)
        assert (event["type"], event["issue_id"], event["field"]) == ("issue_updated", issue_id, "comments")
    finally:
        await ws.__aexit__(None, None, None)
    [comment] = await api.get(f"/issues/{issue_id}/comments")
    assert (comment["id"], comment["content"], comment["kind"]) == (comment_id, "Session ended: handoff notes", "result")
    row = await api.kernel.db.fetch_one("SELECT author, uuid, created_at FROM comments WHERE id = ?", [comment_id])
    assert row["author"] == "worker-1" and len(row["uuid"]) == 36 and row["created_at"].endswith("+00:00")
    assert await service.add_comment(issue_id, "default kind") > comment_id
    assert (await api.get(f"/issues/{issue_id}/comments"))[-1]["kind"] == "note"


async def test_add_comment_errors_are_api_errors(api, service):
    issue_id = await api.create("t")
    with pytest.raises(APIError) as missing:
        await service.add_comment(999, "x")
    assert missing.value.status == 404 and "999" in missing.value.detail
    for content, kind in (("", "note"), ("x", "gossip"), ("x" * (1024 * 1024 + 1), "note")):
        with pytest.raises(APIError) as invalid:
            await service.add_comment(issue_id, content, kind=kind)
        assert invalid.value.status == 400
    assert await api.get(f"/issues/{issue_id}/comments") == []


async def test_reads_inside_a_transaction_see_its_uncommitted_writes(api, service):
    db = api.kernel.db
    async with db.transaction():
        new_id = await db.insert(
            "INSERT INTO issues (title, status, priority, created_at, updated_at) "
            "VALUES ('in flight', 'open', 'low', '2026-03-10T03:15:00.123456+00:00', '2026-03-10T03:15:00.123456+00:00')"
        )
        assert await service.exists(new_id)
        assert (await service.get(new_id))["title"] == "in flight"
        await db.execute("UPDATE issues SET title = 'renamed in flight' WHERE id = ?", [new_id])
        assert (await service.detail(new_id))["title"] == "renamed in flight"
    assert (await api.issue(new_id))["title"] == "renamed in flight"


async def test_reads_after_an_outside_write_see_it(api, service, backend):
    issue_id = await api.create("before")
    if backend == "sqlite":
        import sqlite3

        outside = sqlite3.connect(api.kernel.db.sqlite_path(), isolation_level=None)
        outside.execute("UPDATE issues SET title = 'written by the CLI' WHERE id = ?", (issue_id,))
        outside.close()
    else:
        await api.kernel.db.execute("UPDATE issues SET title = 'written by the CLI' WHERE id = ?", [issue_id])
    assert (await service.get(issue_id))["title"] == "written by the CLI"
    assert (await api.issue(issue_id))["title"] == "written by the CLI"


async def test_writes_other_plugins_use_match_the_routes(api, service):
    parent = await service.create("Phase", "the phase", "high")
    child = await service.create("Stage", None, "high", parent)
    other = await service.create("Other stage", parent_id=parent)
    await service.add_label(child, "stage")
    with pytest.raises(APIError) as duplicate:
        await service.add_label(child, "stage")
    assert duplicate.value.status == 409
    await service.add_blocker(other, child)
    with pytest.raises(APIError) as cycle:
        await service.add_blocker(child, other)
    assert cycle.value.status == 400 and "cycle" in cycle.value.detail
    detail = await api.issue(other)
    assert detail["parent_id"] == parent and detail["blockers"] == [child]
    assert (await api.issue(child))["labels"] == ["stage"]
    assert await service.set_status(child, "closed") is True
    assert await service.set_status(child, "closed") is False
    assert (await api.issue(child))["status"] == "closed"


async def test_milestones_through_the_service(api, service):
    milestone = await service.create_milestone("[Orchestrator] Phase 1", "first phase")
    issue = await api.create("work")
    assert await service.assign_milestone(milestone, issue) is True
    assert await service.assign_milestone(milestone, issue) is False
    detail = await service.get_milestone(milestone)
    assert detail == await api.get(f"/milestones/{milestone}")
    assert (detail["name"], detail["issue_count"], detail["status"]) == ("[Orchestrator] Phase 1", 1, "open")
    assert (await api.issue(issue))["milestone"]["id"] == milestone
    assert await service.set_milestone_status(milestone, "closed") is True
    assert await service.set_milestone_status(milestone, "closed") is False
    assert (await api.get(f"/milestones/{milestone}"))["status"] == "closed"
    assert await service.get_milestone(9999) is None
    for call, status in ((service.assign_milestone(9999, issue), 404), (service.set_milestone_status(milestone, "done"), 400),
                         (service.create_milestone("  "), 400), (service.assign_milestone(milestone, 9999), 404)):
        with pytest.raises(APIError) as error:
            await call
        assert error.value.status == status


async def test_create_with_labels_and_milestone_in_one_transaction(api, service):
    milestone = await service.create_milestone("M")
    parent = await service.create("Parent")
    ws, conn = await open_ws(api.client, channels=["issues"])
    try:
        child = await service.create("Child", "d", "high", parent, labels=["stage", "orchestrator", "stage"],
                                     milestone_id=milestone)
        fields = [((await receive_json(conn))["field"]) for _ in range(4)]
    finally:
        await ws.__aexit__(None, None, None)
    assert fields == ["created", "labels", "milestone", "subissues"]
    detail = await api.issue(child)
    assert detail["labels"] == ["orchestrator", "stage"] and detail["milestone"]["id"] == milestone
    assert detail["parent_id"] == parent and detail["priority"] == "high"
    before = (await api.get("/issues", query_string={"status": "all"}))["total"]
    for kwargs, status in (({"milestone_id": 999}, 404), ({"labels": [""]}, 400), ({"labels": ["x" * 129]}, 400)):
        with pytest.raises(APIError) as error:
            await service.create("Nope", **kwargs)
        assert error.value.status == status
    assert (await api.get("/issues", query_string={"status": "all"}))["total"] == before  # nothing half-made
