"""Search folds diacritics and full Unicode case, on both backends, through HTTP: issue search
(``GET /issues?search=``), the unified ``GET /search`` (issue, comment and knowledge hits) and
the knowledge search (``GET /knowledge/search``). Exact-accent queries still find their text."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
async def api(app_factory) -> Api:
    """Issues and knowledge on the selected backend."""
    return Api(await app_factory(plugins="issues,knowledge"))


@pytest.fixture
async def corpus(api):
    ids = {
        "ecole": await api.create("École primaire", description="inscriptions"),
        "naive": await api.create("Plain title", description="une approche naïve du cache"),
        "strasse": await api.create("Hauptstraße 5"),
        "sigma": await api.create("ΣΙΣΥΦΟΣ"),
        "plain": await api.create("Ecole without accents"),
        "other": await api.create("Unrelated"),
    }
    ids["comment"] = await api.comment(ids["other"], "Résumé attaché: ÜBERGRÖßE")
    return ids


async def search(api, text: str) -> list[int]:
    return await api.ids(search=text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ecole", ["plain", "ecole"]),
        ("ÉCOLE", ["plain", "ecole"]),
        ("école", ["plain", "ecole"]),  # the exact accent still finds it
        ("naive", ["naive"]),
        ("naïve", ["naive"]),
        ("NAÏVE", ["naive"]),
        ("strasse", ["strasse"]),
        ("STRASSE", ["strasse"]),
        ("straße", ["strasse"]),  # exact
        ("σισυφος", ["sigma"]),  # final sigma folds like any sigma
        ("σισυφοσ", ["sigma"]),
        ("resume", ["other"]),  # in a comment
        ("UBERGROSSE", ["other"]),
        ("übergröße", ["other"]),
        ("é", ["other", "plain", "strasse", "naive", "ecole"]),  # short needles fold too: "e"
        ("ß", ["other", "strasse"]),  # "ss"
        ("ïv", ["naive"]),
    ],
)
async def test_issue_search_folds_case_and_diacritics(api, corpus, text, expected):
    assert await search(api, text) == [corpus[name] for name in expected], text


async def test_combining_marks_alone_match_nothing_and_never_fail(api, corpus):
    assert await search(api, "\u0301") == []
    page = await api.get("/issues", query_string={"search": "\u0301\u0308"})
    assert page["items"] == [] and page["total"] == 0
    _, body = await api.call("GET", "/search", query_string={"q": "\u0301"}, expect=200)
    assert body == {"items": [], "total": 0}


async def test_a_decomposed_query_finds_the_precomposed_text(api, corpus):
    assert await search(api, "E\u0301cole") == [corpus["plain"], corpus["ecole"]]
    assert await search(api, "nai\u0308ve") == [corpus["naive"]]


async def test_search_follows_a_change_with_folding(api, corpus):
    await api.patch(f"/issues/{corpus['other']}", {"title": "Café crème"}, expect=200)
    assert await search(api, "cafe creme") == [corpus["other"]]
    assert await search(api, "café") == [corpus["other"]]


def _hits(body) -> list[dict]:
    return body["items"]


async def test_unified_search_folds_issue_comment_and_knowledge_hits(api, corpus):
    await api.post(
        "/knowledge",
        {"slug": "ecoles", "title": "Écoles de Paris", "content": "La Straße et l'école naïve.\n"},
        expect=201,
    )
    _, body = await api.call("GET", "/search", query_string={"q": "ecole"}, expect=200)
    found = {(hit["kind"], hit["id"]) for hit in _hits(body)}
    assert ("issue", str(corpus["ecole"])) in found and ("issue", str(corpus["plain"])) in found
    assert ("knowledge", "ecoles") in found

    _, body = await api.call("GET", "/search", query_string={"q": "resume"}, expect=200)
    assert [(hit["kind"], hit["issue_id"]) for hit in _hits(body)] == [("comment", corpus["other"])]

    _, body = await api.call("GET", "/search", query_string={"q": "strasse"}, expect=200)
    found = {(hit["kind"], hit["id"]) for hit in _hits(body)}
    assert found == {("issue", str(corpus["strasse"])), ("knowledge", "ecoles")}

    _, body = await api.call("GET", "/search", query_string={"q": "Straße"}, expect=200)
    assert {(hit["kind"], hit["id"]) for hit in _hits(body)} == found  # the exact spelling too


async def test_knowledge_search_folds(api):
    await api.post(
        "/knowledge", {"slug": "notes", "title": "Notes", "content": "first line\nL'école naïve\nStraße\n"}, expect=201
    )
    for text, line in (("ecole", "L'école naïve"), ("NAIVE", "L'école naïve"), ("école", "L'école naïve"),
                       ("strasse", "Straße"), ("STRAßE", "Straße")):
        _, results = await api.call("GET", "/knowledge/search", query_string={"q": text}, expect=200)
        # the matching line, shown as written
        shown = [dict(r["context_lines"])[r["line_number"]] for r in results if r["slug"] == "notes"]
        assert shown == [line], (text, results)
    _, results = await api.call("GET", "/knowledge/search", query_string={"q": "zzz"}, expect=200)
    assert results == []
