"""PUT / PATCH / DELETE /knowledge/<slug>: versions, contributors, dates, one commit each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.plugins.knowledge.conftest import BRANCH, TODAY, cache_dir, commits, git_out, head_files
from tests.support import git, open_ws, receive_until

API = "/api/v1/knowledge"
TOMORROW = "2026-03-11"

# A page as an older CLI wrote it, with a key this server does not manage.
CLI_PAGE = """---
title: Old title
tags: [a, b]
sources:
  - url: https://example.com
    title: Example: site
contributors: [cli-agent]
created: 2026-01-01
updated: 2026-01-02
status: draft
---

Old body.
"""


async def read(client, slug: str) -> dict:
    response = await client.get(f"{API}/{slug}")
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


@pytest.fixture
async def page(knowledge):
    """A page made through the API on 2026-03-10; the clock then moves to the next day."""
    body = {"slug": "notes", "title": "Notes", "content": "first\n", "tags": ["x"],
            "sources": [{"url": "https://a.example", "title": "A"}], "agent_id": "author"}
    assert (await knowledge.client.post(API, json=body)).status_code == 201
    knowledge.kernel.clock.advance(days=1)
    return await read(knowledge.client, "notes")


async def test_patch_changes_only_given_fields(knowledge, repo: Path, page):
    response = await knowledge.client.patch(
        f"{API}/notes", json={"title": "Better notes", "version": page["version"]},
        query_string={"agent_id": "editor"},
    )
    assert response.status_code == 200
    updated = await response.get_json()
    assert response.headers["ETag"] == f'"{updated["version"]}"'
    assert updated["version"] != page["version"]
    assert updated == {
        **page,
        "title": "Better notes",
        "contributors": ["author", "editor"],
        "updated": TOMORROW,
        "version": updated["version"],
    }
    assert await read(knowledge.client, "notes") == updated
    assert commits(repo)[0] == "Update knowledge page: notes"
    assert git_out(cache_dir(repo), "status", "--porcelain") == ""


async def test_put_replaces_title_content_tags_sources(knowledge, repo: Path, page):
    response = await knowledge.client.put(
        f"{API}/notes",
        json={"title": "Replaced", "content": "second\n", "contributor": "editor"},
        headers={"If-Match": f'"{page["version"]}"'},
    )
    assert response.status_code == 200
    updated = await response.get_json()
    assert {key: updated[key] for key in ("title", "content", "tags", "sources", "contributors", "created", "updated")} == {
        "title": "Replaced",
        "content": "second\n",
        "tags": [],
        "sources": [],
        "contributors": ["author", "editor"],
        "created": TODAY,
        "updated": TOMORROW,
    }
    assert (cache_dir(repo) / "notes.md").read_text() == (
        '---\ntitle: "Replaced"\ntags: []\nsources: []\ncontributors: ["author", "editor"]\n'
        'created: "2026-03-10"\nupdated: "2026-03-11"\n---\n\nsecond\n'
    )
    assert commits(repo)[0] == "Update knowledge page: notes"


async def test_put_needs_title_and_content(knowledge, page):
    response = await knowledge.client.put(f"{API}/notes", json={"title": "x", "version": page["version"]})
    assert response.status_code == 400
    assert "content" in (await response.get_json())["detail"]


async def test_contributor_is_added_once(knowledge, page):
    for _ in range(2):
        current = await read(knowledge.client, "notes")
        response = await knowledge.client.patch(
            f"{API}/notes", json={"content": current["content"] + "more\n", "agent_id": "author",
                                  "version": current["version"]}
        )
        assert response.status_code == 200
    assert (await read(knowledge.client, "notes"))["contributors"] == ["author"]


async def test_update_without_version_is_428(knowledge, repo: Path, page):
    for method in ("PUT", "PATCH"):
        response = await knowledge.client.open(
            f"{API}/notes", method=method, json={"title": "x", "content": "y"}
        )
        assert response.status_code == 428
        assert "If-Match" in (await response.get_json())["detail"]
    assert commits(repo)[0] == "Add knowledge page: notes"


async def test_stale_version_is_412_and_changes_nothing(knowledge, repo: Path, page):
    stale = page["version"]
    ok = await knowledge.client.patch(f"{API}/notes", json={"content": "one\n", "version": stale})
    assert ok.status_code == 200
    current = (await ok.get_json())["version"]
    for kwargs in (
        {"json": {"content": "two\n", "version": stale}},
        {"json": {"content": "two\n"}, "headers": {"If-Match": f'"{stale}"'}},
        {"json": {"content": "two\n"}, "headers": {"If-Match": stale}},
    ):
        response = await knowledge.client.patch(f"{API}/notes", **kwargs)
        assert response.status_code == 412
        body = await response.get_json()
        assert body["error"] == "precondition failed"
        assert body["current_version"] == current
    assert (await read(knowledge.client, "notes"))["content"] == "one\n"
    assert commits(repo)[:2] == ["Update knowledge page: notes", "Add knowledge page: notes"]


async def test_if_match_header_wins_and_star_matches_any(knowledge, page):
    # A stale body version does not matter when If-Match names the current one.
    response = await knowledge.client.patch(
        f"{API}/notes", json={"content": "a\n", "version": "0" * 40},
        headers={"If-Match": f'"nope", "{page["version"]}"'},
    )
    assert response.status_code == 200
    response = await knowledge.client.patch(f"{API}/notes", json={"content": "b\n"}, headers={"If-Match": "*"})
    assert response.status_code == 200
    assert (await read(knowledge.client, "notes"))["content"] == "b\n"


async def test_concurrent_updates_from_one_version_one_wins(knowledge, repo: Path, page):
    responses = await asyncio.gather(
        *(
            knowledge.client.patch(f"{API}/notes", json={"content": f"writer {n}\n", "version": page["version"]})
            for n in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 412, 412, 412]
    winner = next(r for r in responses if r.status_code == 200)
    assert (await read(knowledge.client, "notes"))["content"] == (await winner.get_json())["content"]
    assert commits(repo).count("Update knowledge page: notes") == 1


async def test_noop_patch_writes_nothing(knowledge, repo: Path, page):
    response = await knowledge.client.patch(
        f"{API}/notes", json={"title": "Notes", "tags": ["x"], "agent_id": "author", "version": page["version"]}
    )
    assert response.status_code == 200
    assert await response.get_json() == page  # updated date and version unchanged
    assert commits(repo)[0] == "Add knowledge page: notes"


async def test_updating_a_cli_page_keeps_what_the_server_does_not_manage(knowledge, repo: Path, cli_knowledge):
    cli_knowledge({"cli.md": CLI_PAGE})
    page = await read(knowledge.client, "cli")
    response = await knowledge.client.patch(
        f"{API}/cli", json={"tags": ["a", "b", "c"], "version": page["version"]}, query_string={"agent_id": "srv"}
    )
    assert response.status_code == 200
    assert (cache_dir(repo) / "cli.md").read_text() == """---
title: "Old title"
tags: ["a", "b", "c"]
sources: 
  - url: "https://example.com"
    title: "Example: site"
contributors: ["cli-agent", "srv"]
created: "2026-01-01"
updated: "2026-03-10"
status: draft
---

Old body.
"""


async def test_updating_a_page_without_front_matter_adds_it(knowledge, repo: Path, cli_knowledge):
    cli_knowledge({"raw.md": "plain text\n"})
    page = await read(knowledge.client, "raw")
    response = await knowledge.client.patch(f"{API}/raw", json={"tags": ["t"], "version": page["version"]})
    assert response.status_code == 200
    updated = await response.get_json()
    assert {key: updated[key] for key in ("title", "content", "tags", "created", "updated")} == {
        "title": "raw",
        "content": "plain text\n",
        "tags": ["t"],
        "created": TODAY,
        "updated": TODAY,
    }
    assert (cache_dir(repo) / "raw.md").read_text().startswith('---\ntitle: "raw"\n')


async def test_updates_of_missing_pages_are_404(knowledge, repo: Path):
    for method in ("PUT", "PATCH", "DELETE"):
        response = await knowledge.client.open(
            f"{API}/missing", method=method, json={"title": "t", "content": "c", "version": "*"}
        )
        assert response.status_code == 404
        assert await response.get_json() == {"error": "not found", "detail": "Page 'missing' not found"}
    assert not cache_dir(repo).exists()


async def test_delete(knowledge, repo: Path, page):
    response = await knowledge.client.delete(f"{API}/notes")
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True}
    assert (await knowledge.client.get(f"{API}/notes")).status_code == 404
    assert commits(repo)[0] == "Delete knowledge page: notes"
    assert head_files(repo) == ["index.md"]
    again = await knowledge.client.delete(f"{API}/notes")
    assert again.status_code == 404


async def test_index_may_be_deleted(knowledge, repo: Path, page):
    assert (await knowledge.client.delete(f"{API}/index")).status_code == 200
    assert head_files(repo) == ["notes.md"]
    assert [p["slug"] for p in await (await knowledge.client.get(API)).get_json()] == ["notes"]


async def test_delete_with_stale_if_match_is_412(knowledge, repo: Path, page):
    response = await knowledge.client.delete(f"{API}/notes", headers={"If-Match": '"0000"'})
    assert response.status_code == 412
    assert (await knowledge.client.get(f"{API}/notes")).status_code == 200
    ok = await knowledge.client.delete(f"{API}/notes", headers={"If-Match": f'"{page["version"]}"'})
    assert ok.status_code == 200


async def test_delete_of_an_uncommitted_page(knowledge, repo: Path, page):
    """A file someone dropped into the worktree without committing can be deleted too."""
    (cache_dir(repo) / "loose.md").write_text("loose\n")
    before = commits(repo)
    assert (await knowledge.client.delete(f"{API}/loose")).status_code == 200
    assert not (cache_dir(repo) / "loose.md").exists()
    assert commits(repo) == before


async def test_updating_an_uncommitted_page_commits_it(knowledge, repo: Path, page):
    """A page file someone dropped into the worktree (never added to git) and then changed
    through the API: the change is committed with the file, and the worktree is clean."""
    (cache_dir(repo) / "loose.md").write_text("---\ntitle: Loose\n---\n\nloose\n")
    response = await knowledge.client.patch(f"{API}/loose", json={"content": "kept\n"}, headers={"If-Match": "*"})
    assert response.status_code == 200
    assert commits(repo)[0] == "Update knowledge page: loose"
    assert "kept" in git_out(repo, "show", f"{BRANCH}:loose.md")
    assert git_out(cache_dir(repo), "status", "--porcelain") == ""


async def test_an_identity_configured_while_serving_is_used_by_the_next_commit(knowledge, repo: Path, page,
                                                                                no_git_identity):
    """Without an identity the server commits as crosslink; once one is configured (the
    server still running), the next commit is made with it."""
    assert (await knowledge.client.post(API, json={"slug": "first", "title": "First"})).status_code == 201
    assert git_out(repo, "log", "-1", "--format=%an <%ae>", BRANCH) == "crosslink <crosslink@localhost>"
    git(repo, "config", "user.name", "Later Tester")
    git(repo, "config", "user.email", "later@example.com")
    assert (await knowledge.client.post(API, json={"slug": "second", "title": "Second"})).status_code == 201
    assert git_out(repo, "log", "-1", "--format=%an <%ae>", BRANCH) == "Later Tester <later@example.com>"


async def test_failed_commit_puts_the_page_back(knowledge, repo: Path, page):
    # Signing with a program that always fails makes every commit fail.
    git(repo, "config", "commit.gpgsign", "true")
    git(repo, "config", "gpg.program", "false")
    response = await knowledge.client.patch(f"{API}/notes", json={"content": "lost?\n", "version": page["version"]})
    assert response.status_code == 500
    assert "Could not commit" in (await response.get_json())["detail"]
    assert await read(knowledge.client, "notes") == page
    assert git_out(cache_dir(repo), "status", "--porcelain") == ""
    deleted = await knowledge.client.delete(f"{API}/notes")
    assert deleted.status_code == 500
    assert await read(knowledge.client, "notes") == page
    created = await knowledge.client.post(API, json={"slug": "new", "title": "New"})
    assert created.status_code == 500
    assert (await knowledge.client.get(f"{API}/new")).status_code == 404
    assert git_out(cache_dir(repo), "status", "--porcelain") == ""
    assert commits(repo)[0] == "Add knowledge page: notes"


async def test_wrong_branch_checked_out_refuses_writes(knowledge, repo: Path, page):
    git(cache_dir(repo), "checkout", "-q", "--detach")
    response = await knowledge.client.patch(f"{API}/notes", json={"content": "x\n", "version": page["version"]})
    assert response.status_code == 409
    assert BRANCH in (await response.get_json())["detail"]
    assert (await read(knowledge.client, "notes"))["content"] == "first\n"


async def test_update_and_delete_publish_events(knowledge, page):
    ws, connection = await open_ws(knowledge.client, channels=["knowledge"])
    try:
        await knowledge.client.patch(f"{API}/notes", json={"content": "x\n", "version": page["version"]})
        event = await receive_until(connection, "knowledge_changed")
        assert (event["slug"], event["action"]) == ("notes", "updated")
        await knowledge.client.delete(f"{API}/notes")
        event = await receive_until(connection, "knowledge_changed")
        assert (event["slug"], event["action"]) == ("notes", "deleted")
    finally:
        await ws.__aexit__(None, None, None)


async def test_search_sees_updates(knowledge, page):
    current = await read(knowledge.client, "notes")
    await knowledge.client.patch(f"{API}/notes", json={"content": "quokka\n", "version": current["version"]})
    results = await (await knowledge.client.get(f"{API}/search", query_string={"q": "quokka"})).get_json()
    assert [(r["slug"], r["line_number"]) for r in results] == [("notes", 12)]
