"""Issues: create, read, update, close/reopen, delete (cascading), subissues, tree, lists."""

from __future__ import annotations

import re

import pytest

from tests.support import BACKENDS

from .conftest import assert_error

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

ISSUE_KEYS = {"id", "title", "description", "status", "priority", "parent_id", "created_at", "updated_at", "closed_at"}
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


# --- create and read ---------------------------------------------------------------------------


async def test_create_answers_201_with_the_id_and_the_detail_has_every_key(api):
    status, body = await api.post("/issues", {"title": "  Add dark mode  ", "description": "Users want it."})
    assert status == 201 and set(body) == {"id"} and isinstance(body["id"], int)
    issue = await api.issue(body["id"])
    assert set(issue) == ISSUE_KEYS | {"labels", "comments", "blockers", "blocking", "subissues", "milestone"}
    assert issue["title"] == "Add dark mode"  # trimmed
    assert issue["description"] == "Users want it."
    assert (issue["status"], issue["priority"], issue["parent_id"], issue["closed_at"]) == ("open", "medium", None, None)
    assert issue["created_at"] == issue["updated_at"]
    assert RFC3339_Z.match(issue["created_at"])
    assert (issue["labels"], issue["comments"], issue["blockers"], issue["blocking"], issue["subissues"]) == ([], [], [], [], [])
    assert issue["milestone"] is None


async def test_create_accepts_every_priority_including_critical(api):
    for priority in ("low", "medium", "high", "critical"):
        issue_id = await api.create("p", priority=priority)
        assert (await api.issue(issue_id))["priority"] == priority


async def test_create_validates_title(api):
    assert_error(await api.post("/issues", {}), 400, "title")
    assert_error(await api.post("/issues", {"title": "   "}), 400, "title", "empty")
    assert_error(await api.post("/issues", {"title": "x" * 513}), 400, "title", "512")
    assert_error(await api.post("/issues", {"title": 42}), 400, "title")
    assert_error(await api.post("/issues", {"title": None}), 400, "title")
    long_id = await api.create("é" * 512)  # characters, not bytes
    assert (await api.issue(long_id))["title"] == "é" * 512


async def test_create_validates_description_size_in_bytes(api):
    limit = 64 * 1024
    ok = await api.create("d", description="a" * limit)
    assert len((await api.issue(ok))["description"]) == limit
    assert_error(await api.post("/issues", {"title": "d", "description": "a" * (limit + 1)}), 400, "description")
    assert_error(await api.post("/issues", {"title": "d", "description": "é" * (limit // 2 + 1)}), 400, "description")


async def test_create_validates_priority_and_lists_the_valid_values(api):
    body = assert_error(await api.post("/issues", {"title": "t", "priority": "urgent"}), 400, "priority")
    for value in ("low", "medium", "high", "critical"):
        assert value in body["detail"]


async def test_create_with_a_missing_parent_is_400_naming_it(api):
    assert_error(await api.post("/issues", {"title": "child", "parent_id": 999}), 400, "parent_id", "999")
    assert_error(await api.post("/issues", {"title": "child", "parent_id": "1"}), 400, "parent_id")
    assert (await api.get("/issues", query_string={"status": "all"}))["total"] == 0


async def test_create_with_a_parent_makes_a_subissue(api):
    parent = await api.create("parent")
    child = await api.create("child", parent_id=parent)
    assert (await api.issue(child))["parent_id"] == parent
    assert [s["id"] for s in (await api.issue(parent))["subissues"]] == [child]


async def test_malformed_and_non_json_bodies_are_json_errors(api):
    assert_error(
        await api.call("POST", "/issues", data=b"{not json", headers={"Content-Type": "application/json"}), 400
    )
    assert_error(await api.call("POST", "/issues", data=b"title=x", headers={"Content-Type": "text/plain"}), 415)
    assert_error(await api.post("/issues", ["title"]), 400, "object")


async def test_unknown_fields_are_ignored(api):
    issue_id = await api.create("t", status="closed", color="blue")
    assert (await api.issue(issue_id))["status"] == "open"


async def test_get_missing_issue_is_404_json(api):
    body = assert_error(await api.call("GET", "/issues/999"), 404, "999")
    assert body["error"] == "not found"


async def test_get_with_a_non_integer_id_is_400(api):
    assert_error(await api.call("GET", "/issues/abc"), 400, "abc")
    assert_error(await api.call("GET", "/issues/99999999999999999999"), 400)


async def test_negative_ids_of_cli_local_issues_are_served(api):
    await api.kernel.db.execute(
        "INSERT INTO issues (id, title, status, priority, created_at, updated_at, uuid) "
        "VALUES (-1, 'offline issue', 'open', 'low', '2026-03-10T03:15:00.123456+00:00', "
        "'2026-03-10T03:15:00.123456+00:00', 'b7e8a2ab-8a7e-4a6e-9d5e-0a0b8a3b1c11')"
    )
    issue = await api.issue(-1)
    assert (issue["id"], issue["title"], issue["created_at"]) == (-1, "offline issue", "2026-03-10T03:15:00.123456Z")
    await api.post("/issues/-1/comments", {"content": "works"}, expect=201)
    await api.post("/issues/-1/close", expect=200)
    assert (await api.issue(-1))["status"] == "closed"


async def test_detail_orders_its_parts(api):
    issue_id = await api.create("main")
    for label in ("zeta", "alpha", "Mid"):
        await api.label(issue_id, label)
    first = await api.comment(issue_id, "first")
    api.kernel.clock.advance(seconds=1)
    second = await api.comment(issue_id, "second")
    children = [await api.create(f"child {n}", parent_id=issue_id) for n in range(3)]
    grandchild = await api.create("grandchild", parent_id=children[0])
    blocker, blocked = await api.create("blocker"), await api.create("blocked")
    await api.block(issue_id, blocker)
    await api.block(blocked, issue_id)

    detail = await api.issue(issue_id)
    assert detail["labels"] == ["Mid", "alpha", "zeta"]
    assert [c["id"] for c in detail["comments"]] == [first, second]
    assert [s["id"] for s in detail["subissues"]] == children  # direct children only
    assert grandchild not in [s["id"] for s in detail["subissues"]]
    assert set(detail["subissues"][0]) == ISSUE_KEYS
    assert (detail["blockers"], detail["blocking"]) == ([blocker], [blocked])


# --- update ------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent_and_bumps_updated_at(api):
    issue_id = await api.create("old", description="keep me", priority="low")
    before = await api.issue(issue_id)
    api.kernel.clock.advance(minutes=1)
    status, body = await api.patch(f"/issues/{issue_id}", {"title": "  new  ", "priority": "critical"})
    assert (status, body) == (200, {"ok": True})
    after = await api.issue(issue_id)
    assert (after["title"], after["priority"], after["description"]) == ("new", "critical", "keep me")
    assert after["updated_at"] > before["updated_at"] and after["created_at"] == before["created_at"]


async def test_patch_description_null_clears_it(api):
    issue_id = await api.create("t", description="text")
    await api.patch(f"/issues/{issue_id}", {"description": None}, expect=200)
    assert (await api.issue(issue_id))["description"] is None


async def test_empty_or_unchanged_patch_does_not_bump_updated_at(api):
    issue_id = await api.create("same", priority="high")
    before = (await api.issue(issue_id))["updated_at"]
    api.kernel.clock.advance(minutes=5)
    await api.patch(f"/issues/{issue_id}", {}, expect=200)
    await api.call("PATCH", f"/issues/{issue_id}", expect=200)  # no body at all
    await api.patch(f"/issues/{issue_id}", {"title": "same", "priority": "high"}, expect=200)
    assert (await api.issue(issue_id))["updated_at"] == before


async def test_patch_validation(api):
    issue_id = await api.create("t")
    assert_error(await api.patch(f"/issues/{issue_id}", {"title": None}), 400, "title", "null")
    assert_error(await api.patch(f"/issues/{issue_id}", {"priority": None}), 400, "priority")
    assert_error(await api.patch(f"/issues/{issue_id}", {"title": ""}), 400, "title")
    assert_error(await api.patch(f"/issues/{issue_id}", {"title": "x" * 513}), 400, "title")
    assert_error(await api.patch(f"/issues/{issue_id}", {"priority": "urgent"}), 400, "priority")
    assert_error(await api.patch(f"/issues/{issue_id}", {"description": "a" * (64 * 1024 + 1)}), 400, "description")
    assert (await api.issue(issue_id))["title"] == "t"  # nothing partial was written


async def test_patch_cannot_change_status_and_missing_issue_is_404(api):
    issue_id = await api.create("t")
    await api.patch(f"/issues/{issue_id}", {"status": "closed"}, expect=200)
    assert (await api.issue(issue_id))["status"] == "open"
    assert_error(await api.patch("/issues/999", {"title": "x"}), 404, "999")


# --- close, reopen ------------------------------------------------------------------------------


async def test_close_and_reopen(api):
    issue_id = await api.create("t")
    api.kernel.clock.advance(minutes=1)
    assert await api.post(f"/issues/{issue_id}/close") == (200, {"ok": True})
    closed = await api.issue(issue_id)
    assert closed["status"] == "closed" and closed["closed_at"] == closed["updated_at"]
    assert RFC3339_Z.match(closed["closed_at"])
    api.kernel.clock.advance(minutes=1)
    assert await api.post(f"/issues/{issue_id}/reopen") == (200, {"ok": True})
    reopened = await api.issue(issue_id)
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    assert reopened["updated_at"] > closed["updated_at"]


async def test_close_and_reopen_are_idempotent_and_keep_timestamps(api):
    issue_id = await api.create("t")
    await api.close(issue_id)
    closed = await api.issue(issue_id)
    api.kernel.clock.advance(minutes=3)
    await api.post(f"/issues/{issue_id}/close", expect=200)
    assert await api.issue(issue_id) == closed
    await api.post(f"/issues/{issue_id}/reopen", expect=200)
    reopened = await api.issue(issue_id)
    api.kernel.clock.advance(minutes=3)
    await api.post(f"/issues/{issue_id}/reopen", expect=200)
    assert await api.issue(issue_id) == reopened


async def test_close_does_not_cascade_and_missing_issue_is_404(api):
    parent = await api.create("parent")
    child = await api.create("child", parent_id=parent)
    await api.close(parent)
    assert (await api.issue(child))["status"] == "open"
    assert_error(await api.post("/issues/999/close"), 404, "999")
    assert_error(await api.post("/issues/999/reopen"), 404, "999")


async def test_archived_issues_can_be_closed_and_reopened(api):
    issue_id = await api.create("t")
    await api.kernel.db.execute("UPDATE issues SET status = 'archived' WHERE id = ?", [issue_id])
    await api.close(issue_id)
    assert (await api.issue(issue_id))["status"] == "closed"
    await api.kernel.db.execute("UPDATE issues SET status = 'archived' WHERE id = ?", [issue_id])
    await api.post(f"/issues/{issue_id}/reopen", expect=200)
    assert (await api.issue(issue_id))["status"] == "open"


# --- delete -------------------------------------------------------------------------------------


async def test_delete_cascades_to_subissues_comments_labels_dependencies_and_milestones(api):
    root = await api.create("root")
    child = await api.create("child", parent_id=root)
    grandchild = await api.create("grandchild", parent_id=child)
    other = await api.create("other")
    await api.comment(grandchild, "bye")
    await api.label(child, "bug")
    await api.block(other, grandchild)  # other is blocked by the grandchild
    await api.block(root, other)
    milestone = await api.milestone("v1")
    await api.post(f"/milestones/{milestone}/assign", {"issue_id": child}, expect=200)

    assert await api.delete(f"/issues/{root}") == (200, {"ok": True})
    for gone in (root, child, grandchild):
        assert_error(await api.call("GET", f"/issues/{gone}"), 404)
    survivor = await api.issue(other)
    assert (survivor["blockers"], survivor["blocking"]) == ([], [])
    assert (await api.get(f"/milestones/{milestone}"))["issue_count"] == 0
    assert await api.ids(status="all") == [other]
    for table in ("comments", "labels", "dependencies", "milestone_issues"):
        assert await api.kernel.db.fetch_value(f"SELECT count(*) AS n FROM {table}") == 0


async def test_delete_missing_issue_is_404(api):
    assert_error(await api.delete("/issues/999"), 404, "999")


async def test_delete_of_a_child_keeps_the_parent(api):
    parent = await api.create("parent")
    child = await api.create("child", parent_id=parent)
    await api.delete(f"/issues/{child}", expect=200)
    assert (await api.issue(parent))["subissues"] == []


# --- subissues and tree -------------------------------------------------------------------------


async def test_subissue_route(api):
    parent = await api.create("parent")
    status, body = await api.post(f"/issues/{parent}/subissue", {"title": " research ", "priority": "high"})
    assert status == 201 and set(body) == {"id"}
    child = await api.issue(body["id"])
    assert (child["parent_id"], child["title"], child["priority"]) == (parent, "research", "high")
    assert_error(await api.post("/issues/999/subissue", {"title": "orphan"}), 404, "999")
    assert_error(await api.post(f"/issues/{parent}/subissue", {"title": ""}), 400, "title")
    assert_error(await api.post(f"/issues/{parent}/subissue", {"priority": "low"}), 400, "title")


async def test_tree_is_every_descendant_depth_first_children_by_id(api):
    root = await api.create("root")
    a = await api.create("a", parent_id=root)
    b = await api.create("b", parent_id=root)
    a1 = await api.create("a1", parent_id=a)
    b1 = await api.create("b1", parent_id=b)
    a2 = await api.create("a2", parent_id=a)
    a1x = await api.create("a1x", parent_id=a1)
    await api.close(b1)  # closed descendants are included
    body = await api.get(f"/issues/{root}/tree")
    assert [item["id"] for item in body["items"]] == [a, a1, a1x, a2, b, b1]
    assert body["total"] == 6 and set(body["items"][0]) == ISSUE_KEYS
    assert await api.get(f"/issues/{a2}/tree") == {"items": [], "total": 0}
    assert_error(await api.call("GET", "/issues/999/tree"), 404, "999")


# --- lists --------------------------------------------------------------------------------------


async def test_list_defaults_to_open_issues_newest_first(api):
    first, second, third = [await api.create(title) for title in ("1", "2", "3")]
    await api.close(second)
    body = await api.get("/issues")
    assert [i["id"] for i in body["items"]] == [third, first] and body["total"] == 2
    assert set(body["items"][0]) == ISSUE_KEYS | {"labels", "blocker_count"}


async def test_list_status_filter(api):
    open_id, closed_id, archived_id = await api.create("o"), await api.create("c"), await api.create("a")
    await api.close(closed_id)
    await api.kernel.db.execute("UPDATE issues SET status = 'archived' WHERE id = ?", [archived_id])
    assert await api.ids(status="open") == [open_id]
    assert await api.ids(status="closed") == [closed_id]
    assert await api.ids(status="archived") == [archived_id]
    assert await api.ids(status="all") == [archived_id, closed_id, open_id]
    for bad in ("done", "", "OPEN"):
        assert_error(await api.call("GET", "/issues", query_string={"status": bad}), 400, "status")


async def test_list_label_priority_and_parent_filters(api):
    parent = await api.create("parent", priority="high")
    bug = await api.create("bug", priority="high", parent_id=parent)
    feature = await api.create("feature", priority="low", parent_id=parent)
    await api.label(bug, "bug")
    await api.label(feature, "feature")
    assert await api.ids(label="bug") == [bug]
    assert await api.ids(label="nope") == []
    assert await api.ids(priority="high") == [bug, parent]
    assert await api.ids(parent_id=parent) == [feature, bug]
    assert await api.ids(parent_id=parent, priority="low") == [feature]
    assert await api.ids(parent_id=999) == []
    assert_error(await api.call("GET", "/issues", query_string={"priority": "urgent"}), 400, "priority")
    assert_error(await api.call("GET", "/issues", query_string={"parent_id": "x"}), 400, "parent_id")


async def test_list_items_carry_sorted_labels_and_open_blocker_count(api):
    issue_id = await api.create("blocked")
    blockers = [await api.create(f"b{n}") for n in range(3)]
    for blocker in blockers:
        await api.block(issue_id, blocker)
    await api.close(blockers[0])
    await api.label(issue_id, "b")
    await api.label(issue_id, "a")
    item = next(i for i in (await api.get("/issues"))["items"] if i["id"] == issue_id)
    assert item["labels"] == ["a", "b"] and item["blocker_count"] == 2


async def test_list_paging_counts_every_match(api):
    ids = [await api.create(f"i{n}") for n in range(7)]
    newest_first = list(reversed(ids))
    body = await api.get("/issues", query_string={"limit": 3})
    assert [i["id"] for i in body["items"]] == newest_first[:3] and body["total"] == 7
    body = await api.get("/issues", query_string={"limit": 3, "offset": 6})
    assert [i["id"] for i in body["items"]] == newest_first[6:] and body["total"] == 7
    body = await api.get("/issues", query_string={"limit": 3, "offset": 10})
    assert body == {"items": [], "total": 7}
    body = await api.get("/issues", query_string={"limit": 0})
    assert body == {"items": [], "total": 7}
    body = await api.get("/issues", query_string={"offset": 5})
    assert [i["id"] for i in body["items"]] == newest_first[5:] and body["total"] == 7
    for bad in ({"limit": -1}, {"offset": -1}, {"limit": "ten"}, {"limit": 10_001}):
        assert_error(await api.call("GET", "/issues", query_string=bad), 400)


async def test_blocked_and_ready_look_at_open_blockers_only(api):
    a, b, c, d = [await api.create(title) for title in "abcd"]
    await api.block(a, b)  # a blocked by open b
    await api.block(c, d)  # c blocked by d, which gets closed
    await api.close(d)
    closed_blocked = await api.create("closed and blocked")
    await api.block(closed_blocked, b)
    await api.close(closed_blocked)
    blocked = await api.get("/issues/blocked")
    assert [i["id"] for i in blocked["items"]] == [a] and blocked["total"] == 1
    assert blocked["items"][0]["blocker_count"] == 1 and "labels" in blocked["items"][0]
    ready = await api.get("/issues/ready")
    assert [i["id"] for i in ready["items"]] == [b, c]  # id ascending; closed issues excluded
    await api.kernel.db.execute("UPDATE issues SET status = 'archived' WHERE id = ?", [b])
    assert await api.ids("/issues/blocked") == []
    assert await api.ids("/issues/ready") == [a, c]


async def test_blocked_and_ready_paging(api):
    ids = [await api.create(f"r{n}") for n in range(5)]
    body = await api.get("/issues/ready", query_string={"limit": 2, "offset": 1})
    assert [i["id"] for i in body["items"]] == ids[1:3] and body["total"] == 5
    assert_error(await api.call("GET", "/issues/ready", query_string={"limit": -2}), 400)
    assert (await api.get("/issues/blocked", query_string={"limit": 2}))["total"] == 0


async def test_huge_paging_values_are_400_not_500(api):
    assert_error(await api.call("GET", "/issues", query_string={"offset": 2**63}), 400, "offset")
    assert_error(await api.call("GET", "/milestones", query_string={"offset": 2**64}), 400, "offset")
    assert (await api.get("/issues", query_string={"offset": 2**62, "limit": 5}))["items"] == []
