"""The knowledge branch travels with the hub: pages made on one machine reach the other through
push and fetch, local page commits are rebased on top, and the message counts the pages."""

from __future__ import annotations

import httpx
import pytest

from tests.plugins.sync.conftest import git_out
from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def page(slug: str) -> dict:
    return {"slug": slug, "title": slug.replace("-", " ").title(), "content": f"# {slug}\n", "tags": ["notes"]}


@pytest.mark.slow
async def test_pages_made_on_one_machine_reach_the_other(app_factory, repo, remote, machine_a, server_a_factory):
    server_a = server_a_factory("--plugins", "knowledge,sync")
    server_b = await app_factory(plugins="knowledge,sync")
    b = server_b.client
    async with httpx.AsyncClient(base_url=server_a.url, timeout=60) as a:
        assert (await a.post("/api/v1/sync/init")).status_code == 201
        assert (await a.post("/api/v1/knowledge", json=page("from-a-1"))).status_code == 201
        pushed = (await a.post("/api/v1/sync/push")).json()
        assert (pushed["pushed_commits"], pushed["knowledge_pushed_commits"]) == (1, 2)
        assert pushed["message"] == ("Pushed 1 commit to origin/crosslink/hub and 2 commits to "
                                     "origin/crosslink/knowledge")

        assert (await b.post("/api/v1/sync/init", json={})).status_code == 201
        assert (await b.post("/api/v1/knowledge", json=page("from-b"))).status_code == 201  # on the remote's branch

        assert (await a.post("/api/v1/knowledge", json=page("from-a-2"))).status_code == 201
        assert (await a.post("/api/v1/knowledge", json=page("from-a-3"))).status_code == 201
        assert (await a.post("/api/v1/sync/push")).json()["knowledge_pushed_commits"] == 2

    response = await b.post("/api/v1/sync/fetch", json={})
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["knowledge_pages"] == 2
    assert body["message"] == "Fetched 0 new heartbeats, 0 lock changes, 2 knowledge pages"
    assert body["knowledge"]["action"] == "rebased" and body["knowledge"]["local"] == 1
    slugs = [p["slug"] for p in await (await b.get("/api/v1/knowledge")).get_json()]
    assert slugs == ["from-a-1", "from-a-2", "from-a-3", "from-b", "index"]

    response = await b.post("/api/v1/sync/push", json={})
    body = await response.get_json()
    assert (body["pushed_commits"], body["knowledge_pushed_commits"]) == (0, 1)
    assert remote.log("crosslink/knowledge")[0] == "Add knowledge page: from-b"
    status = await (await b.get("/api/v1/sync/status")).get_json()
    assert status["knowledge"]["ahead"] == 0 and status["knowledge"]["behind"] == 0
    assert git_out(repo / ".crosslink" / ".knowledge-cache", "status", "--porcelain") == ""
