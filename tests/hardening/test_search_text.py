"""No search text breaks the full-text engines (FTS5 on SQLite, ILIKE on PostgreSQL): operators,
quotes, wildcards and control characters are searched for as plain text, on both databases."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

#: Issue titles, each holding text an engine could read as syntax.
TITLES = [
    'say "hello" twice',
    "100% done_now",
    "back\\slash path",
    "star* and caret^ and colon: here",
    "NEAR(alpha beta) AND gamma OR delta NOT epsilon",
    "dash -minus (paren) {brace} [bracket]",
    "it's; DROP TABLE issues; --",
    "control \x01\x07\x1f chars",
    "record\x1eseparator",
    "emoji 🦀 and \uffff end",
]

#: Search texts; each must find exactly the titles that contain it (ignoring case).
SEARCHES = [
    '"', '"hello"', '""', "%", "_", "% done_", "\\", "h\\p", "*", "caret^", "colon:", "title : star",
    "NEAR(alpha", "AND gamma OR", "NOT", "-minus", "(paren)", "{brace}", "[bracket]", "it's;", "; --",
    "\x01\x07", "record\x1esep", "🦀", "\uffff", "a", "A",
]


async def test_search_text_is_plain_text_on_both_databases(server):
    ids = []
    for title in TITLES:
        response = await server.client.post("/api/v1/issues", json={"title": title})
        assert response.status_code == 201, await response.get_json()
        ids.append((await response.get_json())["id"])
    problems = []
    for text in SEARCHES:
        expected = [index for index, title in enumerate(TITLES) if text.lower() in title.lower()]
        response = await server.client.get("/api/v1/issues", query_string={"search": text, "status": "all"})
        body = await response.get_json()
        if response.status_code != 200:
            problems.append(f"{text!r}: {response.status_code} {body}")
            continue
        found = sorted(ids.index(item["id"]) for item in body["items"])
        if found != sorted(expected) or body["total"] != len(expected):
            problems.append(f"{text!r}: found {found} (total {body['total']}), expected {sorted(expected)}")
        unified = await server.client.get("/api/v1/search", query_string={"q": text})
        if unified.status_code != 200 and text.strip():
            problems.append(f"/search {text!r}: {unified.status_code} {await unified.get_json()}")
    assert not problems, "\n".join(problems)


async def test_the_service_finds_nothing_for_text_no_database_stores(server):
    """Other plugins call the service directly, past the API's 400: a NUL matches nothing."""
    await server.client.post("/api/v1/issues", json={"title": "a b"})
    issues = server.kernel.services.require("issues")
    assert await issues.list(search="a\x00b", status="all") == ([], 0)
    assert await server.kernel.search("a\x00b", 10) == []
