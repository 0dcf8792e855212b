"""POST /knowledge: the page file in the CLI's form, one commit, the worktree made as the CLI does."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.plugins.knowledge.conftest import (
    BRANCH,
    CLI_INDEX,
    TODAY,
    cache_dir,
    commits,
    git_out,
    head_files,
    run,
)
from tests.support import git, open_ws, receive_until

API = "/api/v1/knowledge"

SERDE = {
    "slug": "serde-tips",
    "title": "Serde tips",
    "content": "# Tips\n\nUse `skip_serializing_if`...\n",
    "tags": ["rust", "serde"],
    "sources": [
        {"url": "https://docs.rs/serde", "title": "Serde docs", "accessed_at": "2026-03-01"},
        {"url": "https://serde.rs", "title": "Serde site"},
    ],
}

# The exact file the original server wrote (anchor-semantics 4.2), contributor added.
SERDE_FILE = """---
title: "Serde tips"
tags: ["rust", "serde"]
sources: 
  - url: "https://docs.rs/serde"
    title: "Serde docs"
    accessed_at: "2026-03-01"
  - url: "https://serde.rs"
    title: "Serde site"
contributors: ["worker-1"]
created: "2026-03-10"
updated: "2026-03-10"
---

# Tips

Use `skip_serializing_if`...
"""

INVALID_SLUGS = ["../x", "a/b", "%2e%2e", "..", "", "x" * 300, "x" * 101, "Upper", "-dash", ".hidden",
                 "a..b", "a b", "a\\b", "con", "nul.txt", "search", "ünï"]


async def create(client, body: dict, **kwargs):
    return await client.post(API, json=body, **kwargs)


async def test_first_page_creates_the_branch_as_the_cli_does(knowledge, repo: Path):
    main_head = git_out(repo, "rev-parse", "main")
    response = await create(knowledge.client, {**SERDE, "agent_id": "worker-1"})
    assert response.status_code == 201
    assert await response.get_json() == {"slug": "serde-tips"}
    assert response.headers["Location"] == "/api/v1/knowledge/serde-tips"

    cache = cache_dir(repo)
    assert git_out(cache, "symbolic-ref", "HEAD") == f"refs/heads/{BRANCH}"
    assert Path(git_out(cache, "rev-parse", "--show-toplevel")) == cache.resolve()
    # An orphan branch: its first commit holds the CLI's index.md.
    assert commits(repo) == ["Add knowledge page: serde-tips", "Initialize crosslink/knowledge branch"]
    assert run(repo, "git", "merge-base", "main", BRANCH).returncode != 0
    assert git_out(repo, "ls-tree", "--name-only", f"{BRANCH}~1") == "index.md"
    assert git(repo, "show", f"{BRANCH}:index.md") == CLI_INDEX.replace("2026-03-01", TODAY)
    assert head_files(repo) == ["index.md", "serde-tips.md"]
    # Only the worktree changed: the main branch and its checkout are untouched.
    assert git_out(repo, "rev-parse", "main") == main_head
    assert git_out(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    # Nothing left staged or dirty in the worktree.
    assert git_out(cache, "status", "--porcelain") == ""


async def test_page_file_has_the_cli_form(knowledge, repo: Path):
    response = await create(knowledge.client, SERDE, query_string={"agent_id": "worker-1"})
    assert response.status_code == 201
    assert (cache_dir(repo) / "serde-tips.md").read_text() == SERDE_FILE
    assert git(repo, "show", f"{BRANCH}:serde-tips.md") == SERDE_FILE


async def test_created_page_parses_back_identically(knowledge):
    response = await create(knowledge.client, {**SERDE, "contributor": "worker-1"})
    etag = response.headers["ETag"]
    got = await knowledge.client.get(f"{API}/serde-tips")
    page = await got.get_json()
    assert got.headers["ETag"] == etag == f'"{page.pop("version")}"'
    assert page == {
        **{key: SERDE[key] for key in ("slug", "title", "content", "tags")},
        "sources": SERDE["sources"],
        "contributors": ["worker-1"],
        "created": TODAY,
        "updated": TODAY,
    }
    listed = await (await knowledge.client.get(API)).get_json()
    assert {"slug": "serde-tips", "title": "Serde tips", "tags": ["rust", "serde"], "updated": TODAY} in listed


async def test_minimal_body(knowledge, repo: Path):
    response = await create(knowledge.client, {"slug": "bare", "title": "Bare"})
    assert response.status_code == 201
    assert (cache_dir(repo) / "bare.md").read_text() == (
        '---\ntitle: "Bare"\ntags: []\nsources: []\ncontributors: []\n'
        'created: "2026-03-10"\nupdated: "2026-03-10"\n---\n\n'
    )
    page = await (await knowledge.client.get(f"{API}/bare")).get_json()
    assert (page["title"], page["content"], page["tags"], page["sources"]) == ("Bare", "", [], [])


@pytest.mark.parametrize(
    "title",
    [
        'He said "hi"',
        "two\nlines",
        "---\ninjected: true",
        "back\\slash \\\" and quote",
        "tab\there, bell\a, nel\x85, ls\u2028",
        "emoji 🚀 and ünïcødé",
        "  spaced  ",
        "#1: [not] a {list} & *alias",
    ],
)
async def test_values_are_escaped_and_round_trip(knowledge, repo: Path, title: str):
    tags = ['quote"tag', "back\\slash", "colon: tag"]
    sources = [{"url": 'https://x.example/?q="a"\nb', "title": title, "accessed_at": "2026\n03"}]
    body = {"slug": "escaped", "title": title, "content": "body\n---\nnot front matter\n", "tags": tags,
            "sources": sources}
    response = await create(knowledge.client, body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    page = await (await knowledge.client.get(f"{API}/escaped")).get_json()
    assert page["title"] == title
    assert page["tags"] == tags
    assert page["sources"] == sources
    assert page["content"] == "body\n---\nnot front matter\n"
    text = (cache_dir(repo) / "escaped.md").read_text()
    # Every value stays on its own line: the closing "---" is the front matter's 11th line.
    assert text.split("\n").index("---", 1) == 10
    assert text.splitlines()[1].startswith('title: "')


async def test_duplicate_slug_is_409(knowledge, repo: Path):
    assert (await create(knowledge.client, SERDE)).status_code == 201
    response = await create(knowledge.client, {**SERDE, "title": "Other"})
    assert response.status_code == 409
    assert await response.get_json() == {"error": "conflict", "detail": "Page 'serde-tips' already exists"}
    # The index page the branch started with is taken as well.
    assert (await create(knowledge.client, {"slug": "index", "title": "x"})).status_code == 409
    assert commits(repo)[0] == "Add knowledge page: serde-tips"
    page = await (await knowledge.client.get(f"{API}/serde-tips")).get_json()
    assert page["title"] == "Serde tips"


async def test_duplicate_of_a_cli_page_is_409(knowledge, cli_knowledge):
    cli_knowledge({"notes.md": "notes\n"})
    assert (await create(knowledge.client, {"slug": "notes", "title": "x"})).status_code == 409


async def test_invalid_slug_in_body_is_400(knowledge, repo: Path):
    for slug in INVALID_SLUGS:
        response = await create(knowledge.client, {"slug": slug, "title": "t", "content": "c"})
        assert response.status_code == 400, slug
        body = await response.get_json()
        assert body["error"] == "bad request"
        assert "slug" in body["detail"]
    assert not cache_dir(repo).exists()


async def test_invalid_slug_in_path_is_400(knowledge, cli_knowledge, repo: Path):
    cli_knowledge()
    before = sorted(path.name for path in cache_dir(repo).iterdir())
    slugs = ["../x", "a/b", "%2e%2e", "a%2Fb", "..%2F..%2Fetc%2Fpasswd", "x" * 300, "Upper", "a..b", "con"]
    for slug in slugs:
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await knowledge.client.open(
                f"{API}/{slug}", method=method, json={"title": "t", "content": "c", "version": "*"}
            )
            assert response.status_code == 400, (method, slug)
            assert (await response.get_json())["error"] == "bad request"
    assert sorted(path.name for path in cache_dir(repo).iterdir()) == before


async def test_empty_slug_in_path_is_400(knowledge):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await knowledge.client.open(f"{API}/", method=method, json={})
        assert response.status_code == 400
        assert (await response.get_json())["detail"] == "Page slug cannot be empty"


INVALID_BODIES = [
    ({"slug": "x"}, "title"),
    ({"title": "x"}, "slug"),
    ({"slug": "x", "title": "   "}, "title"),
    ({"slug": "x", "title": 5}, "title"),
    ({"slug": "x", "title": "t", "tags": "rust"}, "tags"),
    ({"slug": "x", "title": "t", "tags": ["a,b"]}, "tags"),
    ({"slug": "x", "title": "t", "tags": [""]}, "tags"),
    ({"slug": "x", "title": "t", "sources": [{"title": "no url"}]}, "sources"),
    ({"slug": "x", "title": "t", "content": None}, "content"),
    ({"slug": "x", "title": "t", "agent_id": "bad\nagent"}, "agent_id"),
]


async def test_invalid_bodies_are_400(knowledge, repo: Path):
    for body, field in INVALID_BODIES:
        response = await create(knowledge.client, body)
        assert response.status_code == 400, body
        assert field in (await response.get_json())["detail"], body
    assert not cache_dir(repo).exists()


async def test_remote_branch_is_fetched_and_checked_out(knowledge, repo: Path, bare_remote):
    bare = bare_remote({"from-remote.md": "---\ntitle: From the remote\ntags: [shared]\n---\nhello\n"})
    remote_head = git_out(bare, "rev-parse", BRANCH)
    assert (await create(knowledge.client, SERDE)).status_code == 201
    listed = [page["slug"] for page in await (await knowledge.client.get(API)).get_json()]
    assert listed == ["from-remote", "index", "serde-tips"]
    page = await (await knowledge.client.get(f"{API}/from-remote")).get_json()
    assert (page["title"], page["content"]) == ("From the remote", "hello\n")
    # The new commit sits on the remote's history; the local branch tracks the remote one.
    assert commits(repo) == ["Add knowledge page: serde-tips", "Initialize crosslink/knowledge branch"]
    assert git_out(repo, "rev-parse", f"{BRANCH}~1") == remote_head
    assert git_out(repo, "rev-parse", "--abbrev-ref", f"{BRANCH}@{{upstream}}") == f"origin/{BRANCH}"
    # Nothing is pushed.
    assert git_out(bare, "rev-parse", BRANCH) == remote_head


async def test_remote_named_in_hook_config(knowledge, repo: Path, bare_remote):
    bare = bare_remote({"shared.md": "shared\n"})
    git(repo, "remote", "rename", "origin", "tracker")
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "hook-config.json").write_text(json.dumps({"tracker_remote": "tracker"}))
    assert (await create(knowledge.client, SERDE)).status_code == 201
    assert git_out(repo, "rev-parse", f"{BRANCH}~1") == git_out(bare, "rev-parse", BRANCH)
    assert (await knowledge.client.get(f"{API}/shared")).status_code == 200


async def test_remote_without_the_branch_gives_an_orphan_branch(knowledge, repo: Path, bare_remote):
    bare = bare_remote(None)
    assert (await create(knowledge.client, SERDE)).status_code == 201
    assert commits(repo) == ["Add knowledge page: serde-tips", "Initialize crosslink/knowledge branch"]
    assert run(bare, "git", "rev-parse", "--verify", BRANCH).returncode != 0


async def test_unreachable_remote_is_503_and_creates_nothing(knowledge, repo: Path, tmp_path: Path):
    git(repo, "remote", "add", "origin", str(tmp_path / "gone.git"))
    response = await create(knowledge.client, SERDE)
    assert response.status_code == 503
    assert "origin" in (await response.get_json())["detail"]
    assert not cache_dir(repo).exists()
    assert run(repo, "git", "rev-parse", "--verify", BRANCH).returncode != 0


async def test_existing_branch_is_reused_when_the_worktree_is_gone(knowledge, repo: Path):
    assert (await create(knowledge.client, SERDE)).status_code == 201
    shutil.rmtree(cache_dir(repo))
    assert await (await knowledge.client.get(API)).get_json() == []
    assert (await create(knowledge.client, {"slug": "second", "title": "Second"})).status_code == 201
    assert commits(repo) == [
        "Add knowledge page: second",
        "Add knowledge page: serde-tips",
        "Initialize crosslink/knowledge branch",
    ]
    assert (await knowledge.client.get(f"{API}/serde-tips")).status_code == 200


async def test_commits_without_a_git_identity(knowledge, repo: Path, no_git_identity):
    assert (await create(knowledge.client, SERDE)).status_code == 201
    authors = git_out(repo, "log", "--format=%an <%ae>|%cn <%ce>", BRANCH).splitlines()
    assert authors == ["crosslink <crosslink@localhost>|crosslink <crosslink@localhost>"] * 2


async def test_configured_identity_is_used(knowledge, repo: Path):
    assert (await create(knowledge.client, SERDE)).status_code == 201
    assert git_out(repo, "log", "-1", "--format=%an <%ae>", BRANCH) == "Tester <tester@example.com>"


async def test_a_plain_directory_is_never_committed_into_the_main_branch(knowledge, repo: Path):
    cache_dir(repo).mkdir(parents=True)
    (cache_dir(repo) / "hand.md").write_text("---\ntitle: By hand\n---\nx\n")
    main_log = commits(repo, "main")
    # Reads work on the files ...
    assert [p["slug"] for p in await (await knowledge.client.get(API)).get_json()] == ["hand"]
    # ... but a write refuses, because git there would commit into the main repository.
    response = await create(knowledge.client, SERDE)
    assert response.status_code == 500
    assert "not a git worktree" in (await response.get_json())["detail"]
    assert commits(repo, "main") == main_log
    assert not (cache_dir(repo) / "serde-tips.md").exists()


async def test_concurrent_creates_each_get_a_commit(knowledge, repo: Path):
    bodies = [{"slug": f"page-{n}", "title": f"Page {n}"} for n in range(6)]
    responses = await asyncio.gather(*(create(knowledge.client, body) for body in bodies))
    assert [r.status_code for r in responses] == [201] * 6
    assert sorted(commits(repo)[:6]) == sorted(f"Add knowledge page: page-{n}" for n in range(6))
    assert len(commits(repo)) == 7
    assert git_out(cache_dir(repo), "status", "--porcelain") == ""


async def test_concurrent_duplicate_creates_one_wins(knowledge, repo: Path):
    responses = await asyncio.gather(*(create(knowledge.client, SERDE) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert commits(repo).count("Add knowledge page: serde-tips") == 1


async def test_create_publishes_knowledge_changed(knowledge):
    ws, connection = await open_ws(knowledge.client, channels=["knowledge"])
    try:
        assert (await create(knowledge.client, SERDE)).status_code == 201
        event = await receive_until(connection, "knowledge_changed")
        assert {key: event[key] for key in ("type", "slug", "action")} == {
            "type": "knowledge_changed",
            "slug": "serde-tips",
            "action": "created",
        }
    finally:
        await ws.__aexit__(None, None, None)
