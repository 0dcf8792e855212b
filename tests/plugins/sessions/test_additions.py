"""Beyond the contract: breadcrumbs (``POST /sessions/action``), an agent's history (``GET
/sessions``), and sessions losing their issue when it is deleted (``DELETE /issues/:id``)."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import SESSION_KEYS, assert_error, assert_session, db_rows

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


# --- breadcrumbs ---------------------------------------------------------------------------------


async def test_action_records_a_breadcrumb_without_ending_the_session(api):
    started = await api.start("w")
    _, body = await api.action("Reading the auth module", "w")
    assert set(body) == SESSION_KEYS | {"comment_id"}
    assert_session(body, id=started["id"], last_action="Reading the auth module", ended_at=None, comment_id=None)
    _, body = await api.action("  Writing the fix  ", "w")
    assert body["last_action"] == "Writing the fix"
    current = await api.current("w")
    assert (current["id"], current["ended_at"], current["last_action"]) == (started["id"], None, "Writing the fix")
    [row] = await db_rows(api)
    assert row["last_action"] == "Writing the fix"


async def test_action_without_an_active_session_is_409_and_scoped_to_the_agent(api):
    assert_error(await api.action("x", "w", expect=None), 409, "No active session", "'w'")
    await api.start("other")
    assert_error(await api.action("x", "w", expect=None), 409)
    assert_error(await api.action("x", None, expect=None), 409)
    await api.post("/sessions/action", {"agent_id": "w", "action": "x"}, query_string={"agent_id": "other"}, expect=200)
    assert (await api.current("other"))["last_action"] == "x"


async def test_action_can_comment_on_the_active_issue_as_the_cli_does(api):
    issue = await api.issue("auth")
    await api.start("w")
    _, body = await api.action("no issue yet", "w", comment=True)
    assert body["comment_id"] is None
    await api.work(issue, "w")
    _, body = await api.action("Found the root cause", "w", comment=True)
    assert body["comment_id"] is not None
    _, body = await api.action("quiet breadcrumb", "w")
    assert body["comment_id"] is None
    comments = await api.get(f"/issues/{issue}/comments")
    assert [(c["id"], c["content"], c["kind"]) for c in comments] == [
        (comments[0]["id"], "[action] Found the root cause", "note")
    ]


# --- history -------------------------------------------------------------------------------------


async def test_history_lists_the_agents_sessions_newest_first_with_their_notes(api):
    ids = []
    for n in range(3):
        ids.append((await api.start("w"))["id"])
        await api.end("w", f"notes {n}")
    ids.append((await api.start("w"))["id"])
    await api.start("other")
    await api.start(None)
    body = await api.history("w")
    assert body["total"] == 4
    assert [s["id"] for s in body["items"]] == ids[::-1]
    assert [s["handoff_notes"] for s in body["items"]] == [None, "notes 2", "notes 1", "notes 0"]
    for session in body["items"]:
        assert set(session) == SESSION_KEYS
        assert_session(session, agent_id="w")
    assert [s["agent_id"] for s in (await api.history())["items"]] == [None]
    assert [s["agent_id"] for s in (await api.history("other"))["items"]] == ["other"]
    assert (await api.history("nobody")) == {"items": [], "total": 0}


async def test_history_limit_offset_and_status(api):
    ids = []
    for _ in range(5):
        ids.append((await api.start("w"))["id"])
        await api.end("w")
    ids.append((await api.start("w"))["id"])
    newest_first = ids[::-1]
    page = await api.history("w", limit=2)
    assert ([s["id"] for s in page["items"]], page["total"]) == (newest_first[:2], 6)
    page = await api.history("w", limit=2, offset=4)
    assert ([s["id"] for s in page["items"]], page["total"]) == (newest_first[4:], 6)
    page = await api.history("w", offset=10)
    assert page == {"items": [], "total": 6}
    active = await api.history("w", status="active")
    assert ([s["id"] for s in active["items"]], active["total"]) == ([ids[-1]], 1)
    ended = await api.history("w", status="ended", limit=3)
    assert ([s["id"] for s in ended["items"]], ended["total"]) == (newest_first[1:4], 5)
    default = await api.history("w")
    assert len(default["items"]) == 6


async def test_history_defaults_to_20_and_rejects_bad_paging(api):
    for _ in range(21):
        await api.start("w")
        await api.end("w")
    body = await api.history("w")
    assert (len(body["items"]), body["total"]) == (20, 21)
    for query, field in [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "x"}, "limit"),
                         ({"offset": -1}, "offset"), ({"status": "open"}, "status")]:
        assert_error(await api.call("GET", "/sessions", query_string={"agent_id": "w", **query}), 400, field)


# --- deleting an issue ---------------------------------------------------------------------------


async def test_deleting_an_issue_clears_the_sessions_pointing_at_it(api):
    issue, keep = await api.issue("doomed"), await api.issue("kept")
    child = await api.issue("child", parent_id=issue)
    await api.start("a")
    await api.work(issue, "a")
    await api.end("a", "was on the doomed issue")
    await api.start("b")
    await api.work(child, "b")
    await api.start("c")
    await api.work(keep, "c")
    await api.start("d")
    await api.work(issue, "d")
    await api.call("DELETE", f"/issues/{issue}", expect=200)
    assert (await api.current("b"))["active_issue_id"] is None
    assert (await api.current("d"))["active_issue_id"] is None
    assert (await api.current("c"))["active_issue_id"] == keep
    ended = (await api.history("a"))["items"][0]
    assert (ended["active_issue_id"], ended["handoff_notes"]) == (None, "was on the doomed issue")
    # the breadcrumb stays: it is history, not a reference
    assert (await api.current("d"))["last_action"] == f"Working on #{issue}: doomed"
    assert [row["active_issue_id"] for row in await db_rows(api)] == [None, None, keep, None]
    # and a later work on the deleted issue is a 404
    assert_error(await api.work(issue, "d", expect=None), 404, f"Issue #{issue}")
