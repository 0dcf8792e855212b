"""Search: ``GET /issues?search=`` (case- and diacritic-insensitive over all of Unicode, substring semantics,
over title, description and comments) and the unified ``GET /search`` hits."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def search(api, text: str, **filters) -> list[int]:
    return await api.ids(search=text, **filters)


@pytest.fixture
async def corpus(api):
    ids = {
        "apples": await api.create("Größe der ÄPFEL", description="fruit"),
        "greeting": await api.create("Greeting", description="Приветствие МИР"),
        "greek": await api.create("Letters"),
        "plain": await api.create("Authentication timeout"),
    }
    await api.comment(ids["greek"], "ΑΛΦΑ ΒΗΤΑ gamma")
    return ids


async def test_case_insensitive_for_all_of_unicode_over_title_description_and_comments(api, corpus):
    assert await search(api, "äpfel") == [corpus["apples"]]
    assert await search(api, "GRÖßE DER") == [corpus["apples"]]
    assert await search(api, "мир") == [corpus["greeting"]]
    assert await search(api, "приветствие") == [corpus["greeting"]]
    assert await search(api, "αλφα βη") == [corpus["greek"]]
    assert await search(api, "AUTHENTICATION") == [corpus["plain"]]
    assert await search(api, "nothing like this") == []


async def test_substring_semantics(api, corpus):
    assert await search(api, "pfe") == [corpus["apples"]]
    assert await search(api, "hentica") == [corpus["plain"]]
    assert await search(api, "RUIT") == [corpus["apples"]]  # in a description
    assert await search(api, "amm") == [corpus["greek"]]  # in a comment


async def test_queries_shorter_than_three_characters_are_unicode_correct_too(api, corpus):
    # diacritics fold away: "ä" looks for "a" (in ÄPFEL, gamma, Authentication)
    assert await search(api, "ä") == [corpus["plain"], corpus["greek"], corpus["apples"]]
    assert await search(api, "Äp") == [corpus["apples"]]
    assert await search(api, "ми") == [corpus["greeting"]]
    assert await search(api, "λφ") == [corpus["greek"]]
    assert await search(api, "G") == [corpus["greek"], corpus["greeting"], corpus["apples"]]
    assert await search(api, "zz") == []


async def test_blank_search_is_no_filter_and_surrounding_space_is_ignored(api, corpus):
    assert len(await search(api, "")) == 4
    assert len(await search(api, "   ")) == 4
    assert await search(api, "  äpfel ") == [corpus["apples"]]


async def test_like_wildcards_and_backslashes_are_literal(api):
    percent = await api.create("100% done")
    underscore = await api.create("snake_case name")
    backslash = await api.create(r"C:\path\to")
    await api.create("plain words here")
    assert await search(api, "%") == [percent]
    assert await search(api, "0% d") == [percent]
    assert await search(api, "_") == [underscore]
    assert await search(api, "e_c") == [underscore]
    assert await search(api, "\\") == [backslash]
    assert await search(api, r"h\to") == [backslash]
    assert await search(api, "%%") == []
    assert await search(api, "_%") == []


async def test_query_syntax_characters_are_just_text(api):
    quoted = await api.create('say "hello" world')
    await api.create("other")
    for text in ('"hello"', 'y "h', "hello AND world", "NEAR(hello world)", "title: say", "*", "'", '"', "(", "-x"):
        assert (await api.get("/issues", query_string={"search": text}))["total"] >= 0  # never an error
    assert await search(api, '"hello"') == [quoted]
    assert await search(api, 'y "h') == [quoted]
    assert await search(api, "hello AND world") == []


async def test_search_combines_with_the_other_filters_and_counts_all_matches(api):
    ids = [await api.create(f"report {n}") for n in range(5)]
    await api.close(ids[0])
    await api.label(ids[1], "bug")
    await api.create("unrelated")
    assert await search(api, "REPORT") == ids[:0:-1]
    assert await search(api, "report", status="all") == ids[::-1]
    assert await search(api, "report", status="closed") == [ids[0]]
    assert await search(api, "report", label="bug") == [ids[1]]
    page = await api.get("/issues", query_string={"search": "report", "limit": 2})
    assert [i["id"] for i in page["items"]] == [ids[4], ids[3]] and page["total"] == 4


async def test_search_follows_every_change(api):
    issue_id = await api.create("first title", description="some description")
    assert await search(api, "first") == [issue_id]
    await api.patch(f"/issues/{issue_id}", {"title": "second title"}, expect=200)
    assert await search(api, "first") == []
    assert await search(api, "second") == [issue_id]
    await api.patch(f"/issues/{issue_id}", {"description": None}, expect=200)
    assert await search(api, "descr") == []
    await api.comment(issue_id, "a brand new remark")
    assert await search(api, "brand new") == [issue_id]
    other = await api.create("other")
    await api.comment(other, "brand new as well")
    assert await search(api, "brand new") == [other, issue_id]
    await api.delete(f"/issues/{issue_id}", expect=200)
    assert await search(api, "brand new") == [other]
    assert await search(api, "second") == []


async def test_a_match_never_spans_two_comments(api):
    issue_id = await api.create("t")
    await api.comment(issue_id, "xyzab")
    await api.comment(issue_id, "cdxyz")
    assert await search(api, "abcd") == []
    assert await search(api, "bc") == []
    assert await search(api, "zab") == [issue_id]


async def test_negative_ids_are_searchable(api):
    await api.kernel.db.execute(
        "INSERT INTO issues (id, title, status, priority, created_at, updated_at) "
        "VALUES (-3, 'offline wörk', 'open', 'low', '2026-03-10T03:15:00.123456+00:00', '2026-03-10T03:15:00.123456+00:00')"
    )
    assert await search(api, "WÖRK") == [-3]
    assert await search(api, "Ö") == [-3]


# --- unified search ----------------------------------------------------------------------------


async def unified(api, q: str, **query) -> list[dict]:
    body = await api.get("/search", query_string={"q": q, **query})
    assert body["total"] == len(body["items"])
    return body["items"]


async def test_unified_search_issue_and_comment_hits(api):
    exact = await api.create("Deploy", description="the release")
    titled = await api.create("Deploy the staging server")
    described = await api.create("Release notes", description="how we DEPLOY")
    commented = await api.create("Unrelated title")
    comment_id = await api.comment(commented, "we should deploy on Fridays")
    await api.comment(titled, "deploy carefully")
    hits = await unified(api, "deploy")
    by_kind = {(hit["kind"], hit["id"]) for hit in hits}
    assert len(by_kind) == len(hits)  # no duplicate (kind, id)
    assert {hit["id"] for hit in hits if hit["kind"] == "issue"} == {str(exact), str(titled), str(described)}
    comment_hits = [hit for hit in hits if hit["kind"] == "comment"]
    assert {hit["issue_id"] for hit in comment_hits} == {commented, titled}
    mine = next(hit for hit in comment_hits if hit["id"] == str(comment_id))
    assert "deploy on Fridays" in mine["snippet"] and str(commented) in mine["title"]
    assert all(0.0 <= hit["score"] <= 1.0 for hit in hits)
    assert hits[0]["kind"] == "issue" and hits[0]["id"] == str(exact) and hits[0]["score"] == 1.0
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True)
    issue_scores = {hit["id"]: hit["score"] for hit in hits if hit["kind"] == "issue"}
    assert issue_scores[str(titled)] > issue_scores[str(described)]


async def test_unified_search_is_unicode_case_insensitive_and_limited(api):
    for n in range(4):
        await api.create(f"ÄPFEL {n}")
    hits = await unified(api, "äpfel", limit=2)
    assert len(hits) == 2 and all(hit["kind"] == "issue" for hit in hits)
    assert await unified(api, "nothing at all") == []
    assert len(await unified(api, "ä")) == 4


async def test_unified_search_snippet_is_around_the_match(api):
    issue_id = await api.create("Long one", description="x" * 500 + " the needle is here " + "y" * 500)
    await api.patch(f"/issues/{issue_id}", {"title": "Long needle"}, expect=200)
    [hit] = await unified(api, "needle")
    assert "needle" in hit["snippet"] and len(hit["snippet"]) <= 202


async def test_unified_search_finds_an_old_title_match_behind_many_newer_other_matches(api):
    """Title matches rank first: one older than a long run of newer description and comment
    matches (more than one read of the index) is still the first hit."""
    oldest = await api.create("Rollout checklist")
    for n in range(70):
        issue_id = await api.create(f"Task {n}", description=f"part {n} of the rollout")
        await api.comment(issue_id, "rollout notes")
    hits = await api.kernel.search("ROLLOUT", 3)
    assert [(hit.kind, hit.issue_id) for hit in hits][0] == ("issue", oldest)
    assert [hit.kind for hit in hits] == ["issue", "issue", "issue"]  # then description matches


async def serve_issues(settings_factory):
    """A started server with the issues plugin on the test's database (started again by a
    second call, on the same data); the caller exits the returned test app."""
    from kernel.app import create_app, kernel_of
    from tests.support import TestServer

    from .conftest import Api

    app = create_app(settings_factory(plugins="issues"))
    test_app = app.test_app()
    await test_app.__aenter__()
    return test_app, Api(TestServer(app=app, client=test_app.test_client(), kernel=kernel_of(app)))


async def test_lost_search_indexes_are_rebuilt_at_startup(settings_factory, backend):
    """Whatever removed the index (a DBA dropping pg_trgm, the CLI rebuilding a table), the
    next start puts it back; searching works meanwhile."""
    from plugins.issues.search import FTS_TABLE

    test_app, api = await serve_issues(settings_factory)
    issue_id = await api.create("Indexed wörds")
    db = api.kernel.db
    if backend == "postgres":
        await db.execute("DROP EXTENSION pg_trgm CASCADE")
        count = "SELECT count(*) AS n FROM pg_indexes WHERE indexname LIKE 'server_%trgm'"
    else:
        await db.execute(f"DROP TABLE {FTS_TABLE}")
        count = f"SELECT count(*) AS n FROM sqlite_master WHERE name = '{FTS_TABLE}'"
    assert await db.fetch_value(count) == 0
    await test_app.__aexit__(None, None, None)

    test_app, api = await serve_issues(settings_factory)
    try:
        assert await api.kernel.db.fetch_value(count) >= 1
        assert await api.ids(search="WÖRDS") == [issue_id]
    finally:
        await test_app.__aexit__(None, None, None)


async def test_folded_copies_are_recomputed_when_the_fold_function_changes(settings_factory, backend):
    """PostgreSQL: copies folded by an older fold function (one without unaccent, as on a server
    that lacked the extension) are computed again when the index is repaired with the new one."""
    if backend != "postgres":
        return

    test_app, api = await serve_issues(settings_factory)
    db = api.kernel.db
    await db.execute(
        "CREATE OR REPLACE FUNCTION server_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
        "AS $$ SELECT lower($1) $$"
    )
    issue_id = await api.create("École d'été")
    assert await api.ids(search="ecole") == []  # folded without unaccent
    await db.execute("DROP EXTENSION pg_trgm CASCADE")  # the next start repairs the index
    await test_app.__aexit__(None, None, None)

    test_app, api = await serve_issues(settings_factory)
    try:
        assert await api.ids(search="ecole") == [issue_id]
        assert await api.ids(search="École") == [issue_id]
    finally:
        await test_app.__aexit__(None, None, None)


async def test_the_search_hook_returns_at_most_limit_hits_best_first(api):
    for n in range(3):
        issue_id = await api.create(f"needle {n}", description="a needle in the description")
        await api.comment(issue_id, "another needle")
    hits = await api.kernel.search("needle", 4)
    assert len(hits) == 4
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert [hit.kind for hit in hits] == ["issue", "issue", "issue", "comment"]
    assert len(await api.kernel.search("needle", 100)) == 6  # 3 issues (by title) and 3 comments
