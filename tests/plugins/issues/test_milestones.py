"""Milestones: create (name or its alias title), list by status, progress, assign moves, close."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import assert_error

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

MILESTONE_KEYS = {
    "id", "name", "description", "status", "created_at", "closed_at", "issue_count", "completed_count", "progress_percent",
}


async def test_create_and_get(api):
    status, body = await api.post("/milestones", {"name": " v1.0 ", "description": "First stable release"})
    assert status == 201 and set(body) == {"id"}
    milestone = await api.get(f"/milestones/{body['id']}")
    assert set(milestone) == MILESTONE_KEYS
    assert (milestone["name"], milestone["description"], milestone["status"]) == ("v1.0", "First stable release", "open")
    assert (milestone["issue_count"], milestone["completed_count"], milestone["progress_percent"]) == (0, 0, 0.0)
    assert milestone["closed_at"] is None and milestone["created_at"].endswith("Z")


async def test_title_is_an_alias_of_name(api):
    milestone_id = await api.post("/milestones", {"title": "from the dashboard"}, expect=201)
    assert (await api.get(f"/milestones/{milestone_id[1]['id']}"))["name"] == "from the dashboard"


async def test_name_is_required_and_validated(api):
    assert_error(await api.post("/milestones", {}), 400, "name")
    assert_error(await api.post("/milestones", {"name": "  "}), 400, "name")
    assert_error(await api.post("/milestones", {"name": "x" * 513}), 400, "name")
    assert_error(await api.post("/milestones", {"name": 1}), 400, "name")
    assert_error(await api.post("/milestones", {"name": "v", "description": "a" * (64 * 1024 + 1)}), 400, "description")


async def test_list_defaults_to_open_and_filters_by_status(api):
    old, current = await api.milestone("old"), await api.milestone("current")
    await api.post(f"/milestones/{old}/close", expect=200)
    body = await api.get("/milestones")
    assert [m["id"] for m in body["items"]] == [current] and body["total"] == 1
    assert [m["id"] for m in (await api.get("/milestones", query_string={"status": "closed"}))["items"]] == [old]
    assert [m["id"] for m in (await api.get("/milestones", query_string={"status": "all"}))["items"]] == [current, old]
    assert_error(await api.call("GET", "/milestones", query_string={"status": "archived"}), 400, "status")
    page = await api.get("/milestones", query_string={"status": "all", "limit": 1, "offset": 1})
    assert [m["id"] for m in page["items"]] == [old] and page["total"] == 2


async def test_missing_milestone_is_404(api):
    body = assert_error(await api.call("GET", "/milestones/999"), 404, "999")
    assert body["error"] == "not found"
    assert_error(await api.post("/milestones/999/close"), 404, "999")
    assert_error(await api.call("GET", "/milestones/v1"), 400, "milestone")


async def test_progress_counts_closed_issues_rounded_to_one_decimal(api):
    milestone = await api.milestone()
    issues = [await api.create(f"i{n}") for n in range(3)]
    for issue_id in issues:
        await api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id}, expect=200)
    await api.close(issues[0])
    got = await api.get(f"/milestones/{milestone}")
    assert (got["issue_count"], got["completed_count"], got["progress_percent"]) == (3, 1, 33.3)
    await api.close(issues[1])
    assert (await api.get(f"/milestones/{milestone}"))["progress_percent"] == 66.7
    await api.kernel.db.execute("UPDATE issues SET status = 'archived' WHERE id = ?", [issues[2]])
    got = await api.get(f"/milestones/{milestone}")
    assert (got["completed_count"], got["progress_percent"]) == (2, 66.7)  # archived is not completed


async def test_progress_rounds_half_up(api):
    milestone = await api.milestone()
    issues = [await api.create(f"i{n}") for n in range(16)]
    for issue_id in issues:
        await api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id}, expect=200)
    await api.close(issues[0])
    assert (await api.get(f"/milestones/{milestone}"))["progress_percent"] == 6.3  # 6.25 -> 6.3
    for issue_id in issues[1:]:
        await api.close(issue_id)
    listed = (await api.get("/milestones"))["items"][0]
    assert (listed["completed_count"], listed["progress_percent"]) == (16, 100.0)


async def test_assign_moves_the_issue_and_shows_in_the_issue_detail(api):
    first, second = await api.milestone("first"), await api.milestone("second")
    issue_id = await api.create("t")
    assert await api.post(f"/milestones/{first}/assign", {"issue_id": issue_id}) == (200, {"ok": True})
    assert (await api.issue(issue_id))["milestone"] == {"id": first, "name": "first", "status": "open"}
    await api.post(f"/milestones/{second}/assign", {"issue_id": issue_id}, expect=200)
    await api.post(f"/milestones/{second}/assign", {"issue_id": issue_id}, expect=200)  # again: fine
    assert (await api.issue(issue_id))["milestone"] == {"id": second, "name": "second", "status": "open"}
    assert (await api.get(f"/milestones/{first}"))["issue_count"] == 0
    assert (await api.get(f"/milestones/{second}"))["issue_count"] == 1


async def test_assign_404s_and_validation(api):
    milestone, issue_id = await api.milestone(), await api.create("t")
    assert_error(await api.post("/milestones/999/assign", {"issue_id": issue_id}), 404, "999")
    assert_error(await api.post(f"/milestones/{milestone}/assign", {"issue_id": 998}), 404, "998")
    assert_error(await api.post(f"/milestones/{milestone}/assign", {}), 400, "issue_id")
    assert_error(await api.post(f"/milestones/{milestone}/assign", {"issue_id": "1"}), 400, "issue_id")


async def test_close_is_idempotent_and_reopen_is_additive(api):
    milestone = await api.milestone()
    assert await api.post(f"/milestones/{milestone}/close") == (200, {"ok": True})
    closed = await api.get(f"/milestones/{milestone}")
    assert closed["status"] == "closed" and closed["closed_at"].endswith("Z")
    api.kernel.clock.advance(minutes=2)
    await api.post(f"/milestones/{milestone}/close", expect=200)
    assert await api.get(f"/milestones/{milestone}") == closed
    issue_id = await api.create("t")
    await api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id}, expect=200)  # closed: allowed
    assert (await api.issue(issue_id))["milestone"]["status"] == "closed"
    await api.post(f"/milestones/{milestone}/reopen", expect=200)
    reopened = await api.get(f"/milestones/{milestone}")
    assert (reopened["status"], reopened["closed_at"]) == ("open", None)


async def test_unassign(api):
    milestone, issue_id = await api.milestone(), await api.create("t")
    await api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id}, expect=200)
    assert await api.delete(f"/milestones/{milestone}/issues/{issue_id}") == (200, {"ok": True})
    assert (await api.issue(issue_id))["milestone"] is None
    assert_error(await api.delete(f"/milestones/{milestone}/issues/{issue_id}"), 404, str(issue_id))
    assert_error(await api.delete(f"/milestones/999/issues/{issue_id}"), 404, "999")
