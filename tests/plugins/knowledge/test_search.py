"""Knowledge search: the crosslink CLI's semantics on a small corpus with known answers."""

from __future__ import annotations

from pathlib import Path

API = "/api/v1/knowledge/search"


def numbered(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# alpha.md, 25 lines. "memory" on 2, 10, 12; "safety" on 10, 25 ("safe." is not "safety").
ALPHA_LINES = [
    "---",  # 1
    "title: Alpha Memory",  # 2
    "tags: [rust]",  # 3
    "sources: []",  # 4
    "contributors: [w1]",  # 5
    "created: 2026-03-01",  # 6
    "updated: 2026-03-02",  # 7
    "---",  # 8
    "",  # 9
    "# Memory SAFETY",  # 10
    "",  # 11
    "Ownership keeps memory safe.",  # 12
    *[f"filler {n}" for n in range(13, 25)],  # 13..24
    "Safety again here.",  # 25
]

# beta.md has no front matter; "safety" on 3, 8 (0-based 2 and 7: 7 <= 2 + 5 joins) and 14
# (0-based 13 > 7 + 5 starts a new group). It never mentions the other term.
BETA_LINES = [f"b{n}" for n in range(1, 17)]
BETA_LINES[2] = "safety first"
BETA_LINES[7] = "safety second"
BETA_LINES[13] = "safety third"

# aaa.md: only "memory" (one term), so it ranks after every page with both, whatever its name.
AAA = "memory only\n"

# delta.md: both terms, ties with alpha (2 terms) and follows it by file name. CRLF endings.
DELTA = "Memory and safety\r\nsecond\r\n"

CORPUS = {
    "alpha.md": numbered(ALPHA_LINES),
    "beta.md": numbered(BETA_LINES),
    "aaa.md": AAA,
    "delta.md": DELTA,
    "zeta.txt": "memory safety in a file that is not a page\n",
    "sub/inner.md": "memory safety in a subdirectory\n",
}


def context(lines: list[str], first: int, last: int) -> list[list]:
    """``[[n, text], ...]`` for 1-based lines ``first..last``."""
    return [[n, lines[n - 1]] for n in range(first, last + 1)]


async def search(client, q: str):
    response = await client.get(API, query_string={"q": q})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def test_corpus_answers(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    results = await search(knowledge.client, "MEMORY Safety")
    assert results == [
        # alpha: 2 terms. Groups: [2], [10, 12], [25].
        {"slug": "alpha", "title": "Alpha Memory", "line_number": 2, "context_lines": context(ALPHA_LINES, 1, 4)},
        {"slug": "alpha", "title": "Alpha Memory", "line_number": 10, "context_lines": context(ALPHA_LINES, 8, 14)},
        {"slug": "alpha", "title": "Alpha Memory", "line_number": 25, "context_lines": context(ALPHA_LINES, 23, 25)},
        # delta: 2 terms, after alpha by file name; no "\r" in the lines.
        {"slug": "delta", "title": "delta", "line_number": 1, "context_lines": [[1, "Memory and safety"], [2, "second"]]},
        # aaa and beta: 1 term each, in file-name order.
        {"slug": "aaa", "title": "aaa", "line_number": 1, "context_lines": [[1, "memory only"]]},
        {"slug": "beta", "title": "beta", "line_number": 3, "context_lines": context(BETA_LINES, 1, 10)},
        {"slug": "beta", "title": "beta", "line_number": 14, "context_lines": context(BETA_LINES, 12, 16)},
    ]


async def test_one_term_keeps_file_name_order(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    results = await search(knowledge.client, "safety")
    assert [(r["slug"], r["line_number"]) for r in results] == [
        ("alpha", 10),
        ("alpha", 25),
        ("beta", 3),
        ("beta", 14),
        ("delta", 1),
    ]


async def test_front_matter_lines_match(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    results = await search(knowledge.client, "contributors")
    # Every page with front matter has the line; the CLI's index.md too.
    assert [(r["slug"], r["line_number"]) for r in results] == [("alpha", 5), ("index", 5)]
    assert results[0]["context_lines"] == context(ALPHA_LINES, 3, 7)


async def test_substring_matching(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    results = await search(knowledge.client, "wnershi")
    assert [(r["slug"], r["line_number"]) for r in results] == [("alpha", 12)]


async def test_no_match_is_empty(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    assert await search(knowledge.client, "xyznonexistent") == []


async def test_missing_or_blank_query_is_400(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    for query in ({}, {"q": ""}, {"q": "   "}):
        response = await knowledge.client.get(API, query_string=query)
        assert response.status_code == 400
        body = await response.get_json()
        assert body["error"] == "bad request"
        assert "q" in body["detail"]


async def test_search_without_cache_is_empty(knowledge, repo: Path):
    assert await search(knowledge.client, "memory") == []


async def test_unified_search_has_knowledge_hits(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    response = await knowledge.client.get("/api/v1/search", query_string={"q": "memory safety"})
    assert response.status_code == 200
    body = await response.get_json()
    hits = [item for item in body["items"] if item["kind"] == "knowledge"]
    # One hit per page; pages with every term rank above pages with one.
    assert [hit["id"] for hit in hits] == ["alpha", "delta", "aaa", "beta"]
    alpha, delta, aaa, beta = hits
    assert alpha["title"] == "Alpha Memory"
    assert delta["title"] == "delta"  # no front matter: the slug
    # The snippet is the first group with one line of context, joined by spaces.
    assert alpha["snippet"] == "--- title: Alpha Memory tags: [rust]"
    assert beta["snippet"] == "b2 safety first b4"
    assert all(0 <= hit["score"] <= 1 for hit in hits)
    assert alpha["score"] == delta["score"] > aaa["score"] == beta["score"]


async def test_unified_search_title_match_scores_highest(knowledge, cli_knowledge):
    cli_knowledge(CORPUS)
    body = await (await knowledge.client.get("/api/v1/search", query_string={"q": "alpha memory"})).get_json()
    hits = [item for item in body["items"] if item["kind"] == "knowledge"]
    assert hits[0]["id"] == "alpha"
    assert hits[0]["score"] == 1.0


async def test_unified_search_without_cache(knowledge):
    body = await (await knowledge.client.get("/api/v1/search", query_string={"q": "memory"})).get_json()
    assert body == {"items": [], "total": 0}
