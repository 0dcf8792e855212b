"""Comments, labels and dependencies (blockers): shapes, validation, 404/409/400 rules."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support import BACKENDS

from .conftest import assert_error

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

KINDS = ("note", "plan", "decision", "observation", "blocker", "resolution", "result", "intervention")
COMMENT_KEYS = {
    "id", "issue_id", "content", "created_at", "kind", "trigger_type", "intervention_context", "driver_key_fingerprint",
}


# --- comments -----------------------------------------------------------------------------------


async def test_comments_are_created_with_201_and_listed_as_a_bare_array_oldest_first(api):
    issue_id = await api.create("t")
    status, body = await api.post(f"/issues/{issue_id}/comments", {"content": "Found the root cause."})
    assert status == 201 and set(body) == {"id"}
    api.kernel.clock.advance(seconds=5)
    second = await api.comment(issue_id, "Fixed.", kind="resolution")
    comments = await api.get(f"/issues/{issue_id}/comments")
    assert isinstance(comments, list) and [c["id"] for c in comments] == [body["id"], second]
    first = comments[0]
    assert set(first) == COMMENT_KEYS
    assert (first["issue_id"], first["content"], first["kind"]) == (issue_id, "Found the root cause.", "note")
    assert (first["trigger_type"], first["intervention_context"], first["driver_key_fingerprint"]) == (None, None, None)
    assert comments[1]["kind"] == "resolution"
    assert first["created_at"].endswith("Z")
    assert (await api.issue(issue_id))["comments"] == comments


async def test_every_contract_kind_is_accepted_and_others_are_400_listing_them(api):
    issue_id = await api.create("t")
    for kind in KINDS:
        await api.comment(issue_id, f"a {kind}", kind=kind)
    assert [c["kind"] for c in await api.get(f"/issues/{issue_id}/comments")] == list(KINDS)
    body = assert_error(await api.post(f"/issues/{issue_id}/comments", {"content": "x", "kind": "handoff"}), 400, "kind")
    for kind in KINDS:
        assert kind in body["detail"]


async def test_comment_content_validation(api):
    issue_id = await api.create("t")
    assert_error(await api.post(f"/issues/{issue_id}/comments", {}), 400, "content")
    assert_error(await api.post(f"/issues/{issue_id}/comments", {"content": ""}), 400, "content")
    assert_error(await api.post(f"/issues/{issue_id}/comments", {"content": " \n\t"}), 400, "content")
    assert_error(await api.post(f"/issues/{issue_id}/comments", {"content": 5}), 400, "content")
    limit = 1024 * 1024
    await api.comment(issue_id, "a" * limit)
    assert_error(await api.post(f"/issues/{issue_id}/comments", {"content": "a" * (limit + 1)}), 400, "content")


async def test_intervention_comments_keep_trigger_and_context_others_do_not(api):
    issue_id = await api.create("t")
    await api.comment(issue_id, "stopped it", kind="intervention", trigger_type="tool_rejected",
                      intervention_context="rm -rf /")
    await api.comment(issue_id, "plain", trigger_type="tool_rejected", intervention_context="ignored")
    await api.comment(issue_id, "no trigger given", kind="intervention")
    first, second, third = await api.get(f"/issues/{issue_id}/comments")
    assert (first["trigger_type"], first["intervention_context"]) == ("tool_rejected", "rm -rf /")
    assert (second["trigger_type"], second["intervention_context"]) == (None, None)
    assert third["trigger_type"] == "unknown"


async def test_comments_of_a_missing_issue_are_404(api):
    assert_error(await api.call("GET", "/issues/999/comments"), 404, "999")
    assert_error(await api.post("/issues/999/comments", {"content": "x"}), 404, "999")


async def test_legacy_null_kind_reads_as_note(api):
    issue_id = await api.create("t")
    await api.kernel.db.execute(
        "INSERT INTO comments (issue_id, content, created_at, kind) VALUES (?, 'old', '2026-01-01T00:00:00+00:00', NULL)",
        [issue_id],
    )
    [comment] = await api.get(f"/issues/{issue_id}/comments")
    assert comment["kind"] == "note" and comment["created_at"] == "2026-01-01T00:00:00Z"
    assert (await api.issue(issue_id))["comments"][0]["kind"] == "note"


async def test_comments_sort_by_instant_whatever_the_stored_timestamp_form(api):
    issue_id = await api.create("t")
    for content, created in (("later", "2026-03-10T04:00:00Z"), ("earlier", "2026-03-10T03:15:00.123456+00:00")):
        await api.kernel.db.execute(
            "INSERT INTO comments (issue_id, content, created_at, kind) VALUES (?, ?, ?, 'note')",
            [issue_id, content, created],
        )
    assert [c["content"] for c in await api.get(f"/issues/{issue_id}/comments")] == ["earlier", "later"]


# --- labels -------------------------------------------------------------------------------------


async def test_labels_add_list_sorted_and_remove(api):
    issue_id = await api.create("t")
    assert await api.post(f"/issues/{issue_id}/labels", {"label": "backend"}) == (200, {"ok": True})
    await api.label(issue_id, "  bug ")  # trimmed
    assert await api.get(f"/issues/{issue_id}/labels") == ["backend", "bug"]
    assert await api.delete(f"/issues/{issue_id}/labels/bug") == (200, {"ok": True})
    assert await api.get(f"/issues/{issue_id}/labels") == ["backend"]


async def test_duplicate_label_is_409(api):
    issue_id = await api.create("t")
    await api.label(issue_id, "bug")
    body = assert_error(await api.post(f"/issues/{issue_id}/labels", {"label": "bug"}), 409, "bug")
    assert body["error"] == "conflict"
    assert await api.get(f"/issues/{issue_id}/labels") == ["bug"]


async def test_label_validation(api):
    issue_id = await api.create("t")
    assert_error(await api.post(f"/issues/{issue_id}/labels", {}), 400, "label")
    assert_error(await api.post(f"/issues/{issue_id}/labels", {"label": "  "}), 400, "label")
    assert_error(await api.post(f"/issues/{issue_id}/labels", {"label": "x" * 129}), 400, "label", "128")
    assert_error(await api.post(f"/issues/{issue_id}/labels", {"label": ["bug"]}), 400, "label")
    await api.label(issue_id, "ü" * 128)
    assert await api.get(f"/issues/{issue_id}/labels") == ["ü" * 128]


async def test_labels_with_slashes_spaces_and_unicode_are_removed_by_their_encoded_name(api):
    issue_id = await api.create("t")
    for label in ("area/backend", "needs review", "späť", "100%"):
        await api.label(issue_id, label)
    for label in ("area/backend", "needs review", "späť", "100%"):
        await api.delete(f"/issues/{issue_id}/labels/{quote(label, safe='')}", expect=200)
    assert await api.get(f"/issues/{issue_id}/labels") == []


async def test_label_404s(api):
    issue_id = await api.create("t")
    assert_error(await api.delete(f"/issues/{issue_id}/labels/nope"), 404, "nope")
    assert_error(await api.call("GET", "/issues/999/labels"), 404, "999")
    assert_error(await api.post("/issues/999/labels", {"label": "bug"}), 404, "999")
    assert_error(await api.delete("/issues/999/labels/bug"), 404, "999")


# --- dependencies -------------------------------------------------------------------------------


async def test_block_and_unblock(api):
    blocked, blocker = await api.create("blocked"), await api.create("blocker")
    assert await api.post(f"/issues/{blocked}/block", {"blocker_id": blocker}) == (200, {"ok": True})
    assert (await api.issue(blocked))["blockers"] == [blocker]
    assert (await api.issue(blocker))["blocking"] == [blocked]
    assert await api.ids("/issues/blocked") == [blocked]
    assert await api.delete(f"/issues/{blocked}/block/{blocker}") == (200, {"ok": True})
    assert (await api.issue(blocked))["blockers"] == []
    assert await api.ids("/issues/blocked") == []


async def test_block_404_when_either_issue_is_missing(api):
    issue_id = await api.create("t")
    assert_error(await api.post("/issues/999/block", {"blocker_id": issue_id}), 404, "999")
    assert_error(await api.post(f"/issues/{issue_id}/block", {"blocker_id": 998}), 404, "998")


async def test_self_block_is_400(api):
    issue_id = await api.create("t")
    assert_error(await api.post(f"/issues/{issue_id}/block", {"blocker_id": issue_id}), 400, "itself")


async def test_cycles_are_400_and_say_so(api):
    a, b, c = [await api.create(title) for title in "abc"]
    await api.block(a, b)  # a blocked by b
    await api.block(b, c)  # b blocked by c
    assert_error(await api.post(f"/issues/{c}/block", {"blocker_id": a}), 400, "cycle")
    assert_error(await api.post(f"/issues/{b}/block", {"blocker_id": a}), 400, "cycle")
    await api.block(a, c)  # a diamond is not a cycle
    assert sorted((await api.issue(a))["blockers"]) == [b, c]


async def test_duplicate_block_is_409(api):
    blocked, blocker = await api.create("blocked"), await api.create("blocker")
    await api.block(blocked, blocker)
    assert_error(await api.post(f"/issues/{blocked}/block", {"blocker_id": blocker}), 409, str(blocker))


async def test_block_body_validation(api):
    issue_id = await api.create("t")
    assert_error(await api.post(f"/issues/{issue_id}/block", {}), 400, "blocker_id")
    assert_error(await api.post(f"/issues/{issue_id}/block", {"blocker_id": "2"}), 400, "blocker_id")
    assert_error(await api.post(f"/issues/{issue_id}/block", {"blocker_id": 2**63}), 400, "blocker_id")


async def test_unblock_404s(api):
    a, b = await api.create("a"), await api.create("b")
    assert_error(await api.delete(f"/issues/{a}/block/{b}"), 404, str(b))
    assert_error(await api.delete(f"/issues/999/block/{b}"), 404, "999")
    assert_error(await api.delete(f"/issues/{a}/block/x"), 400)


async def test_cycle_check_follows_a_long_chain(api):
    ids = [await api.create(f"c{n}") for n in range(60)]
    rows = [(ids[n + 1], ids[n]) for n in range(len(ids) - 1)]  # ids[n] blocked by ids[n+1]
    for blocker, blocked in rows:
        await api.kernel.db.execute("INSERT INTO dependencies (blocker_id, blocked_id) VALUES (?, ?)", [blocker, blocked])
    assert_error(await api.post(f"/issues/{ids[-1]}/block", {"blocker_id": ids[0]}), 400, "cycle")
    await api.block(ids[0], ids[-1])  # the other direction only shortcuts the chain
