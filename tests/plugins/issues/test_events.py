"""``issue_updated`` on the ``issues`` channel: one event per change, sent after the commit, none
for requests that change nothing or fail."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
async def watch(api):
    """``events = await watch.until_sentinel()`` gives every event up to a marker event."""
    ws, conn = await open_ws(api.client, channels=["issues"])
    sentinel = await api.create("sentinel")
    first = await receive_json(conn)
    assert (first["issue_id"], first["field"]) == (sentinel, "created")

    class Watcher:
        markers = 0

        async def until_sentinel(self) -> list[tuple[int, str]]:
            self.markers += 1
            await api.post(f"/issues/{sentinel}/labels", {"label": f"marker-{self.markers}"}, expect=200)
            seen = []
            while True:
                message = await receive_json(conn)
                assert message["type"] == "issue_updated" and set(message) == {"type", "seq", "event_id", "issue_id", "field"}
                if (message["issue_id"], message["field"]) == (sentinel, "labels"):
                    return seen
                seen.append((message["issue_id"], message["field"]))

    yield Watcher()
    await ws.__aexit__(None, None, None)


async def test_create_emits_created_and_subissues_on_the_parent(api, watch):
    parent = await api.create("parent")
    child = await api.create("child", parent_id=parent)
    _, body = await api.post(f"/issues/{parent}/subissue", {"title": "second child"}, expect=201)
    assert await watch.until_sentinel() == [
        (parent, "created"),
        (child, "created"),
        (parent, "subissues"),
        (body["id"], "created"),
        (parent, "subissues"),
    ]


async def test_patch_emits_one_event_per_changed_field_and_none_when_nothing_changes(api, watch):
    issue_id = await api.create("t", priority="low")
    await watch.until_sentinel()
    await api.patch(f"/issues/{issue_id}", {"title": "new", "description": "d", "priority": "low"}, expect=200)
    assert sorted(await watch.until_sentinel()) == [(issue_id, "description"), (issue_id, "title")]
    await api.patch(f"/issues/{issue_id}", {}, expect=200)
    await api.patch(f"/issues/{issue_id}", {"title": "new"}, expect=200)
    await api.patch(f"/issues/{issue_id}", {"title": ""}, expect=400)
    assert await watch.until_sentinel() == []
    await api.patch(f"/issues/{issue_id}", {"description": None, "priority": "high"}, expect=200)
    assert sorted(await watch.until_sentinel()) == [(issue_id, "description"), (issue_id, "priority")]


async def test_close_and_reopen_emit_status_only_when_it_changes(api, watch):
    issue_id = await api.create("t")
    await watch.until_sentinel()
    await api.close(issue_id)
    await api.close(issue_id)
    await api.post(f"/issues/{issue_id}/reopen", expect=200)
    await api.post(f"/issues/{issue_id}/reopen", expect=200)
    assert await watch.until_sentinel() == [(issue_id, "status"), (issue_id, "status")]


async def test_delete_emits_one_event_per_removed_issue(api, watch):
    root = await api.create("root")
    child = await api.create("child", parent_id=root)
    grandchild = await api.create("grandchild", parent_id=child)
    await watch.until_sentinel()
    await api.delete(f"/issues/{root}", expect=200)
    await api.delete(f"/issues/{root}", expect=404)
    events = await watch.until_sentinel()
    assert sorted(events) == sorted([(root, "deleted"), (child, "deleted"), (grandchild, "deleted")])


async def test_comments_labels_blockers_and_milestone_events(api, watch):
    issue_id, other = await api.create("t"), await api.create("other")
    milestone = await api.milestone()
    await watch.until_sentinel()
    await api.comment(issue_id, "hello")
    await api.label(issue_id, "bug")
    await api.delete(f"/issues/{issue_id}/labels/bug", expect=200)
    await api.block(issue_id, other)
    await api.delete(f"/issues/{issue_id}/block/{other}", expect=200)
    await api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id}, expect=200)
    await api.post(f"/milestones/{milestone}/assign", {"issue_id": issue_id}, expect=200)  # no change
    await api.delete(f"/milestones/{milestone}/issues/{issue_id}", expect=200)
    assert await watch.until_sentinel() == [
        (issue_id, "comments"),
        (issue_id, "labels"),
        (issue_id, "labels"),
        (issue_id, "blockers"),
        (issue_id, "blockers"),
        (issue_id, "milestone"),
        (issue_id, "milestone"),
    ]


async def test_failed_requests_emit_nothing(api, watch):
    issue_id = await api.create("t")
    await api.label(issue_id, "bug")
    await watch.until_sentinel()
    await api.post(f"/issues/{issue_id}/labels", {"label": "bug"}, expect=409)
    await api.post(f"/issues/{issue_id}/block", {"blocker_id": issue_id}, expect=400)
    await api.post("/issues", {"title": "x", "parent_id": 999}, expect=400)
    await api.post("/issues/999/comments", {"content": "x"}, expect=404)
    await api.delete(f"/issues/{issue_id}/labels/none", expect=404)
    assert await watch.until_sentinel() == []


async def test_events_are_listed_by_the_kernel(api):
    events = await api.get("/events")
    [issue_updated] = [e for e in events if e["type"] == "issue_updated"]
    assert issue_updated["channel"] == "issues" and issue_updated["plugin"] == "issues"
    assert set(issue_updated["schema"]["properties"]) == {"issue_id", "field"}
