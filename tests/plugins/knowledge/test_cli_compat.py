"""The plugin and the crosslink CLI read every page the same way, whoever wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.knowledge import test_reading as corpus
from tests.plugins.knowledge.cli_reader import parse_frontmatter
from tests.plugins.knowledge.conftest import CLI_INDEX, cache_dir

API = "/api/v1/knowledge"
FIELDS = ("title", "tags", "sources", "contributors", "created", "updated")


def cli_view(text: str, slug: str) -> dict:
    """What the CLI shows for a page (title = slug without front matter; accessed_at optional)."""
    parsed = parse_frontmatter(text)
    if parsed is None:
        return {"title": slug, "tags": [], "sources": [], "contributors": [], "created": "", "updated": ""}
    parsed["sources"] = [
        {key: value for key, value in source.items() if value is not None} for source in parsed["sources"]
    ]
    return parsed


def api_view(page: dict) -> dict:
    return {key: page[key] for key in FIELDS}


@pytest.mark.parametrize(
    "name, text",
    [
        ("index", CLI_INDEX),
        ("unquoted", corpus.UNQUOTED),
        ("quoted", corpus.QUOTED),
        ("block-lists", corpus.BLOCK_LISTS),
        ("no-front-matter", corpus.NO_FRONT_MATTER),
        ("crlf", corpus.CRLF),
        ("unclosed", corpus.UNCLOSED),
    ],
)
async def test_cli_written_pages_read_as_the_cli_reads_them(knowledge, cli_knowledge, name: str, text: str):
    cli_knowledge({f"{name}.md": text} if name != "index" else None)
    page = await (await knowledge.client.get(f"{API}/{name}")).get_json()
    assert api_view(page) == cli_view(text, name)


@pytest.mark.parametrize(
    "title, tags, source_title",
    [
        ("Plain title", ["rust", "web"], "Docs"),
        ('Quotes "inside" and \\ backslashes\\', ['say "hi"', "c:\\path"], 'Part "A": basics'),
        ("Colons: everywhere: [brackets] {braces} #hash", ["x: y", "#tag", "[t]"], "A: B"),
        ("Ünïcødé 🚀 — dashes", ["日本語"], ""),
    ],
)
async def test_api_written_pages_read_the_same_in_the_cli(knowledge, repo: Path, title, tags, source_title):
    body = {
        "slug": "shared",
        "title": title,
        "content": "# Heading\n\ntext\n",
        "tags": tags,
        "sources": [{"url": "https://example.com/a?b=c#d", "title": source_title, "accessed_at": "2026-03-01"}],
        "agent_id": "agent-1",
    }
    assert (await knowledge.client.post(API, json=body)).status_code == 201
    text = (cache_dir(repo) / "shared.md").read_text()
    page = await (await knowledge.client.get(f"{API}/shared")).get_json()
    assert cli_view(text, "shared") == api_view(page)
    assert page["title"] == title and page["tags"] == tags

    # ... and again after an update through the API.
    response = await knowledge.client.patch(
        f"{API}/shared", json={"title": title + " v2", "version": page["version"]}, query_string={"agent_id": "b"}
    )
    assert response.status_code == 200
    text = (cache_dir(repo) / "shared.md").read_text()
    assert cli_view(text, "shared") == api_view(await response.get_json())
