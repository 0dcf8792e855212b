"""Pages written by the crosslink CLI (every form it has written) are listed and read exactly."""

from __future__ import annotations

from pathlib import Path

from tests.plugins.knowledge.conftest import cache_dir
from tests.support import git

API = "/api/v1/knowledge"

# The CLI before v0.7 wrote every value unquoted, sources as a block list.
UNQUOTED = """---
title: Axum routing patterns
tags: [rust, web]
sources:
  - url: https://docs.rs/axum
    title: Axum docs
    accessed_at: 2026-03-01
contributors: [worker-1]
created: 2026-03-01
updated: 2026-03-05
---

# Axum routing

Use `Router::merge`...
"""

# The CLI from v0.7 quotes and escapes values but writes dates bare.
QUOTED = """---
title: "Serde: \\"quoted\\" tips"
tags: ["rust", "serde, json"]
sources:
  - url: "https://serde.rs"
    title: "Serde site"
contributors: ["worker-1", "worker-2"]
created: 2026-02-01
updated: 2026-02-03
---

Body.
"""

# Hand-edited: block lists (also at column 0), a source title YAML cannot read unquoted, an
# unknown key, a title that YAML would take for a comment.
BLOCK_LISTS = """---
title: #1 rule: measure first
tags:
  - perf
  - profiling
contributors:
- w1
- w2
sources:
  - url: https://a.example/x
    title: Part A: basics
  - url: https://b.example
status: draft
created: 2026-01-01
updated: 2026-01-02
---
body line
"""

NO_FRONT_MATTER = "Just notes.\n\n---\n\nNo front matter here.\n"

CRLF = "\r\n\r\n---\r\ntitle: Windows page\r\ntags: []\r\n---\r\n\r\nline one\r\nline two\r\n"

UNCLOSED = "---\ntitle: never closed\n\nbody\n"


async def test_missing_cache_lists_nothing_and_finds_nothing(knowledge, repo: Path):
    response = await knowledge.client.get(API)
    assert response.status_code == 200
    assert await response.get_json() == []
    missing = await knowledge.client.get(f"{API}/index")
    assert missing.status_code == 404
    assert await missing.get_json() == {"error": "not found", "detail": "Page 'index' not found"}
    assert not cache_dir(repo).exists()


async def test_cli_pages_are_listed_sorted_by_slug(knowledge, cli_knowledge):
    cli_knowledge(
        {
            "axum-routing.md": UNQUOTED,
            "serde.md": QUOTED,
            "perf.md": BLOCK_LISTS,
            "raw-notes.md": NO_FRONT_MATTER,
            "a.md": CRLF,
            "a-b.md": UNCLOSED,
            # Not pages: a subdirectory, another extension, a name that is not a slug.
            "nested/deep.md": UNQUOTED,
            "notes.txt": "text",
            "Upper Case.md": UNQUOTED,
        }
    )
    response = await knowledge.client.get(API)
    assert response.status_code == 200
    assert await response.get_json() == [
        {"slug": "a", "title": "Windows page", "tags": [], "updated": ""},
        {"slug": "a-b", "title": "a-b", "tags": [], "updated": ""},
        {"slug": "axum-routing", "title": "Axum routing patterns", "tags": ["rust", "web"], "updated": "2026-03-05"},
        {"slug": "index", "title": "Knowledge Index", "tags": ["index"], "updated": "2026-03-01"},
        {"slug": "perf", "title": "#1 rule: measure first", "tags": ["perf", "profiling"], "updated": "2026-01-02"},
        {"slug": "raw-notes", "title": "raw-notes", "tags": [], "updated": ""},
        {"slug": "serde", "title": 'Serde: "quoted" tips', "tags": ["rust", "serde, json"], "updated": "2026-02-03"},
    ]


async def test_unquoted_cli_page_reads_as_the_contract_example(knowledge, cli_knowledge):
    cli_knowledge({"axum-routing.md": UNQUOTED})
    response = await knowledge.client.get(f"{API}/axum-routing")
    assert response.status_code == 200
    page = await response.get_json()
    version = page.pop("version")
    assert page == {
        "slug": "axum-routing",
        "title": "Axum routing patterns",
        "tags": ["rust", "web"],
        "sources": [{"url": "https://docs.rs/axum", "title": "Axum docs", "accessed_at": "2026-03-01"}],
        "contributors": ["worker-1"],
        "created": "2026-03-01",
        "updated": "2026-03-05",
        "content": "# Axum routing\n\nUse `Router::merge`...\n",
    }
    # The version is the git blob id of the file, and the ETag carries it.
    assert response.headers["ETag"] == f'"{version}"'
    assert len(version) == 40


async def test_version_is_the_git_blob_id(knowledge, cli_knowledge, repo):
    cache = cli_knowledge({"axum-routing.md": UNQUOTED})
    page = await (await knowledge.client.get(f"{API}/axum-routing")).get_json()
    assert page["version"] == git(cache, "rev-parse", "HEAD:axum-routing.md").strip()


async def test_quoted_cli_page(knowledge, cli_knowledge):
    cli_knowledge({"serde.md": QUOTED})
    page = await (await knowledge.client.get(f"{API}/serde")).get_json()
    assert page["title"] == 'Serde: "quoted" tips'
    assert page["tags"] == ["rust", "serde, json"]
    # accessed_at is left out when the source has none
    assert page["sources"] == [{"url": "https://serde.rs", "title": "Serde site"}]
    assert page["contributors"] == ["worker-1", "worker-2"]
    assert (page["created"], page["updated"]) == ("2026-02-01", "2026-02-03")
    assert page["content"] == "Body.\n"


async def test_block_lists_and_text_yaml_would_misread(knowledge, cli_knowledge):
    cli_knowledge({"perf.md": BLOCK_LISTS})
    page = await (await knowledge.client.get(f"{API}/perf")).get_json()
    assert page["title"] == "#1 rule: measure first"
    assert page["tags"] == ["perf", "profiling"]
    assert page["contributors"] == ["w1", "w2"]
    assert page["sources"] == [
        {"url": "https://a.example/x", "title": "Part A: basics"},
        {"url": "https://b.example", "title": ""},
    ]
    assert (page["created"], page["updated"]) == ("2026-01-01", "2026-01-02")
    assert page["content"] == "body line\n"


async def test_page_without_front_matter(knowledge, cli_knowledge):
    cli_knowledge({"raw-notes.md": NO_FRONT_MATTER, "a-b.md": UNCLOSED})
    page = await (await knowledge.client.get(f"{API}/raw-notes")).get_json()
    page.pop("version")
    assert page == {
        "slug": "raw-notes",
        "title": "raw-notes",
        "tags": [],
        "sources": [],
        "contributors": [],
        "created": "",
        "updated": "",
        "content": NO_FRONT_MATTER,
    }
    unclosed = await (await knowledge.client.get(f"{API}/a-b")).get_json()
    assert (unclosed["title"], unclosed["content"]) == ("a-b", UNCLOSED)


async def test_crlf_and_leading_blank_lines(knowledge, cli_knowledge):
    cli_knowledge({"a.md": CRLF})
    page = await (await knowledge.client.get(f"{API}/a")).get_json()
    assert page["title"] == "Windows page"
    assert page["content"] == "line one\r\nline two\r\n"


async def test_yaml_values_stay_text(knowledge, cli_knowledge):
    """Dates, numbers, booleans and nulls are read as the text written, never converted."""
    cli_knowledge(
        {
            "typed.md": "---\ntitle: 1234\ntags: [yes, no, 1.5, null, 2026-03-05]\n"
            "created: 2026-03-05\nupdated: 2026-03-05T10:00:00Z\n---\nx\n"
        }
    )
    page = await (await knowledge.client.get(f"{API}/typed")).get_json()
    assert page["title"] == "1234"
    assert page["tags"] == ["yes", "no", "1.5", "null", "2026-03-05"]
    assert (page["created"], page["updated"]) == ("2026-03-05", "2026-03-05T10:00:00Z")


async def test_front_matter_without_title_reads_empty_title(knowledge, cli_knowledge):
    cli_knowledge({"untitled.md": "---\ntags: [a]\n---\nbody\n"})
    page = await (await knowledge.client.get(f"{API}/untitled")).get_json()
    assert (page["title"], page["tags"], page["content"]) == ("", ["a"], "body\n")


async def test_link_leading_outside_is_not_a_page(knowledge, cli_knowledge, tmp_path):
    cache = cli_knowledge()
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: secret\n---\ntop secret\n")
    (cache / "leak.md").symlink_to(secret)
    listed = [page["slug"] for page in await (await knowledge.client.get(API)).get_json()]
    assert listed == ["index"]
    response = await knowledge.client.get(f"{API}/leak")
    assert response.status_code == 400
    assert "top secret" not in (await response.get_data(as_text=True))
    search = await knowledge.client.get(f"{API}/search", query_string={"q": "secret"})
    assert await search.get_json() == []


async def test_page_changed_on_disk_is_read_fresh(knowledge, cli_knowledge):
    cache = cli_knowledge({"live.md": "---\ntitle: First\n---\none\n"})
    first = await (await knowledge.client.get(f"{API}/live")).get_json()
    (cache / "live.md").write_text("---\ntitle: Second\n---\ntwo\n")
    second = await (await knowledge.client.get(f"{API}/live")).get_json()
    assert (second["title"], second["content"]) == ("Second", "two\n")
    assert second["version"] != first["version"]
