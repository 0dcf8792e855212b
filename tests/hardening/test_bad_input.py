"""Every bad input of issue 16, on SQLite and PostgreSQL: a 4xx JSON error, and nothing stored.

Each case is sent to the full application (every built-in plugin) through the test client; the
database's rows are read before and after, and must be the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

NUL = "\x00"
INT64_MAX = 2**63 - 1
#: The tables a write could touch, read whole (the fixture's data is a handful of rows).
TABLES = (
    "issues", "labels", "dependencies", "comments", "sessions", "milestones", "milestone_issues",
    "server_agent_heartbeats", "server_locks",
)


@pytest.fixture
async def seeded(server):
    """The full application with issue #1 (open), a milestone and w1's active session."""
    client = server.client
    assert (await client.post("/api/v1/issues", json={"title": "the first issue"})).status_code == 201
    assert (await client.post("/api/v1/milestones", json={"name": "v1"})).status_code == 201
    assert (await client.post("/api/v1/sessions/start", json={"agent_id": "w1"})).status_code == 201
    return server


async def snapshot(server) -> dict[str, list]:
    db = server.kernel.db
    return {table: [tuple(row.values()) for row in await db.fetch_all(f"SELECT * FROM {table} ORDER BY 1")]
            for table in TABLES}


async def send(server, method: str, path: str, body: Any = None, headers: dict | None = None):
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    response = await server.client.open(path, method=method, **kwargs)
    return response, await response.get_json()


async def check_refused(server, cases: list[tuple], status: int = 400) -> None:
    """Send every case; each must be ``status`` JSON naming its ``needle``, storing nothing."""
    problems = []
    for method, path, body, needle in cases:
        before = await snapshot(server)
        response, answer = await send(server, method, path, body)
        after = await snapshot(server)
        label = f"{method} {path} {body!r}"
        if response.status_code != status or response.content_type != "application/json":
            problems.append(f"{label}: {response.status_code} {response.content_type} {answer}")
        elif not (answer and answer.get("error") and needle in answer.get("detail", "")):
            problems.append(f"{label}: detail does not name {needle!r}: {answer}")
        if before != after:
            problems.append(f"{label}: the database changed")
    assert not problems, "\n".join(problems)


NUL_CASES = [
    ("POST", "/api/v1/issues", {"title": f"a{NUL}b"}, "title"),
    ("POST", "/api/v1/issues", {"title": "fine", "description": f"a{NUL}"}, "description"),
    ("PATCH", "/api/v1/issues/1", {"description": f"{NUL}"}, "description"),
    ("PATCH", "/api/v1/issues/1", {"title": f"x{NUL}"}, "title"),
    ("POST", "/api/v1/issues/1/subissue", {"title": f"child{NUL}"}, "title"),
    ("POST", "/api/v1/issues/1/labels", {"label": f"bug{NUL}"}, "label"),
    ("POST", "/api/v1/issues/1/comments", {"content": f"hello{NUL}world"}, "content"),
    ("POST", "/api/v1/issues/1/comments", {"content": "ok", "author": f"w{NUL}"}, "author"),
    ("POST", "/api/v1/milestones", {"name": f"v2{NUL}"}, "name"),
    ("POST", "/api/v1/milestones", {"name": "v2", "description": f"{NUL}"}, "description"),
    ("POST", "/api/v1/sessions/end", {"agent_id": "w1", "notes": f"handoff{NUL}"}, "notes"),
    ("POST", "/api/v1/sessions/action", {"agent_id": "w1", "action": f"step{NUL}"}, "action"),
    ("POST", "/api/v1/agents/w1/heartbeat", {"machine_id": f"m{NUL}"}, "machine_id"),
    ("POST", "/api/v1/agents/w1/heartbeat", {"description": f"busy{NUL}"}, "description"),
    ("POST", "/api/v1/locks/1/claim", {"agent_id": "w1", "branch": f"feature/{NUL}"}, "branch"),
    ("POST", "/api/v1/knowledge", {"slug": "page", "title": f"T{NUL}", "content": "x"}, "title"),
    ("POST", "/api/v1/knowledge", {"slug": "page", "title": "T", "tags": ["ok", f"t{NUL}"]}, "tags"),
    ("GET", "/api/v1/issues?label=a%00b", None, "label"),
    ("GET", "/api/v1/issues?search=a%00b", None, "search"),
    ("GET", "/api/v1/search?q=a%00b", None, "q"),
    ("GET", "/api/v1/knowledge/search?q=%00", None, "q"),
    ("GET", "/api/v1/sessions?agent_id=w1%00", None, "agent_id"),
    ("DELETE", "/api/v1/issues/1/labels/a%00b", None, "label"),
]


async def test_text_the_databases_cannot_store_is_a_400_naming_the_field(seeded):
    await check_refused(seeded, NUL_CASES)


async def test_a_nul_in_an_ignored_field_is_ignored_like_the_field(seeded):
    response, body = await send(seeded, "POST", "/api/v1/issues", {"title": "kept", "colour": f"red{NUL}"})
    assert response.status_code == 201, body
    assert (await send(seeded, "GET", f"/api/v1/issues/{body['id']}"))[1]["title"] == "kept"


FULLWIDTH_ONE = "%EF%BC%91"  # U+FF11
ARABIC_INDIC_ONE = "%D9%A1"  # U+0661

PATH_ID_CASES = [
    (method, path.format(id=bad), body, "integer")
    for bad in (FULLWIDTH_ONE, ARABIC_INDIC_ONE, "01", "+1", "1.0", "0x1", "-0", str(2**63), "1%20")
    for method, path, body in (
        ("GET", "/api/v1/issues/{id}", None),
        ("POST", "/api/v1/issues/{id}/close", None),
        ("PATCH", "/api/v1/issues/{id}", {"title": "renamed"}),
        ("POST", "/api/v1/issues/{id}/labels", {"label": "bug"}),
        ("POST", "/api/v1/locks/{id}/claim", {"agent_id": "w1"}),
        ("POST", "/api/v1/sessions/work/{id}", {"agent_id": "w1"}),
        ("POST", "/api/v1/milestones/{id}/assign", {"issue_id": 1}),
    )
]

QUERY_NUMBER_CASES = [
    ("GET", f"/api/v1/{path}?{key}={value}", None, key)
    for path, key in (("sessions", "offset"), ("issues", "offset"), ("issues/ready", "limit"),
                      ("milestones", "offset"), ("issues", "parent_id"), ("sessions", "limit"))
    for value in ("9223372036854775808", "-9223372036854775809", "05", "%2B5", "%EF%BC%95", "5.0", "1e3", "%205")
]


async def test_integers_in_paths_and_queries_are_parsed_strictly(seeded):
    await check_refused(seeded, PATH_ID_CASES + QUERY_NUMBER_CASES)
    issue = (await send(seeded, "GET", "/api/v1/issues/1"))[1]
    assert issue["status"] == "open" and issue["title"] == "the first issue"
    assert (await send(seeded, "GET", "/api/v1/locks/1"))[0].status_code == 404  # never claimed


async def test_a_negative_milestone_id_is_refused(seeded):
    await check_refused(seeded, [("GET", "/api/v1/milestones/-1", None, "must be a non-negative integer")])


async def test_canonical_ids_still_route(seeded):
    assert (await send(seeded, "GET", "/api/v1/issues/1"))[0].status_code == 200
    assert (await send(seeded, "GET", "/api/v1/issues/-1"))[0].status_code == 404  # a CLI local id
    assert (await send(seeded, "GET", f"/api/v1/issues/{INT64_MAX}"))[0].status_code == 404
    assert (await send(seeded, "GET", "/api/v1/sessions?offset=9223372036854775807"))[0].status_code == 200


HEARTBEAT_ISSUE_CASES = [
    ("POST", "/api/v1/agents/w1/heartbeat", {"active_issue_id": -1}, "active_issue_id: issue #-1 does not exist"),
    ("POST", "/api/v1/agents/w1/heartbeat", {"active_issue_id": INT64_MAX}, "active_issue_id"),
    ("POST", "/api/v1/agents/w1/heartbeat", {"active_issue_id": 2**63}, "active_issue_id"),
    ("POST", "/api/v1/agents/w1/heartbeat", {"active_issue_id": 1.5}, "active_issue_id"),
    ("POST", "/api/v1/agents/w1/heartbeat", {"active_issue_id": "1"}, "active_issue_id"),
]


async def test_a_heartbeat_names_an_issue_that_exists(seeded):
    await check_refused(seeded, HEARTBEAT_ISSUE_CASES)
    response, body = await send(seeded, "POST", "/api/v1/agents/w1/heartbeat", {"active_issue_id": 1})
    assert response.status_code == 200 and body["active_issue_id"] == 1


async def test_whole_numbers_written_as_floats_are_integers(seeded):
    """JSON Schema's ``integer`` (what /openapi.json says) includes 1.0; 1.5 stays a 400."""
    response, body = await send(seeded, "POST", "/api/v1/issues", {"title": "child", "parent_id": 1.0})
    assert response.status_code == 201, body
    assert (await send(seeded, "GET", f"/api/v1/issues/{body['id']}"))[1]["parent_id"] == 1
    await check_refused(seeded, [
        ("POST", "/api/v1/issues", {"title": "x", "parent_id": 1.5}, "parent_id"),
        ("POST", "/api/v1/issues", {"title": "x", "parent_id": 1e19}, "parent_id"),
        ("POST", "/api/v1/issues/1/block", {"blocker_id": 1e300}, "blocker_id"),
        ("POST", "/api/v1/issues/1/block", {"blocker_id": True}, "blocker_id"),
    ])


async def test_no_response_is_a_redirect_or_html(seeded):
    cases = [
        ("PUT", "/api/v1/knowledge", 405, "GET, HEAD, POST"),
        ("PATCH", "/api/v1/knowledge", 405, "GET, HEAD, POST"),
        ("DELETE", "/api/v1/knowledge", 405, "GET, HEAD, POST"),
        ("GET", "/api/v1//issues", 404, None),
        ("POST", "/api/v1//issues", 404, None),
        ("GET", "/api/v1/issues/", 404, None),
        ("GET", "/api/v1/issues/1/", 404, None),
        ("OPTIONS", "/api/v1/issues", 405, "GET, HEAD, POST"),
        ("OPTIONS", "/api/v1/issues/1", 405, "DELETE, GET, HEAD, PATCH"),
        ("TRACE", "/api/v1/health", 405, "GET, HEAD"),
        ("PATCH", "/api/v1/issues/blocked", 405, "GET, HEAD"),
        ("DELETE", "/api/v1/issues/ready", 405, "GET, HEAD"),
        ("GET", "/api/v1/agents/rescan", 405, "POST"),
        ("GET", "/api/v1/locks/rescan", 405, "POST"),
        ("POST", "/api/v1/locks/stale", 405, "GET, HEAD"),
        ("PUT", "/api/v1/knowledge/search", 405, "GET, HEAD"),
    ]
    problems = []
    for method, path, status, allow in cases:
        before = await snapshot(seeded)
        response, body = await send(seeded, method, path)
        if response.status_code != status or response.content_type != "application/json" or not body.get("detail"):
            problems.append(f"{method} {path}: {response.status_code} {response.content_type} {body}")
        elif allow is not None and response.headers.get("Allow") != allow:
            problems.append(f"{method} {path}: Allow {response.headers.get('Allow')!r}, expected {allow!r}")
        if "Location" in response.headers:
            problems.append(f"{method} {path}: a redirect to {response.headers['Location']}")
        if before != await snapshot(seeded):
            problems.append(f"{method} {path}: the database changed")
    assert not problems, "\n".join(problems)


async def test_a_final_newline_does_not_pass_a_name_rule(seeded):
    """``re.match`` with ``$`` accepts ``"w1\\n"``; the agent id and git remote rules match in full."""
    await check_refused(seeded, [
        ("GET", "/api/v1/agents/w1%0A", None, "agent id"),
        ("POST", "/api/v1/agents/w1%0A/heartbeat", {}, "agent id"),
        ("POST", "/api/v1/locks/1/claim", {"agent_id": "w1\n"}, "agent_id"),
        ("PATCH", "/api/v1/config", {"remote": "origin\n"}, "remote"),
    ])
    config = (await send(seeded, "GET", "/api/v1/config"))[1]
    assert config["remote"] == "origin"
