"""The knowledge routes through a real ``crosslink serve`` process and real HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.plugins.knowledge.conftest import commits

pytestmark = pytest.mark.slow


async def test_pages_over_real_http(live_server_factory, repo: Path):
    live = live_server_factory("--plugins", "knowledge")
    async with httpx.AsyncClient(base_url=live.url + "/api/v1", timeout=30) as http:
        assert (await http.get("/knowledge")).json() == []
        created = await http.post("/knowledge", json={"slug": "live", "title": "Live page", "content": "hello\n"},
                                  params={"agent_id": "w1"})
        assert created.status_code == 201
        page = (await http.get("/knowledge/live")).json()
        assert (page["title"], page["content"], page["contributors"]) == ("Live page", "hello\n", ["w1"])
        # Percent-encoded traversal reaches the route decoded and is refused.
        for raw in ("%2e%2e", "a%2Fb", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2fx"):
            response = await http.get(f"/knowledge/{raw}")
            assert response.status_code == 400, raw
            assert response.json()["error"] == "bad request"
        stale = await http.patch("/knowledge/live", json={"title": "x"}, headers={"If-Match": '"0"'})
        assert stale.status_code == 412
        updated = await http.patch("/knowledge/live", json={"title": "Renamed"},
                                   headers={"If-Match": created.headers["ETag"]})
        assert updated.status_code == 200
        assert updated.json()["title"] == "Renamed"
        found = (await http.get("/knowledge/search", params={"q": "hello"})).json()
        assert [(r["slug"], r["line_number"]) for r in found] == [("live", 10)]
        assert (await http.delete("/knowledge/live")).json() == {"ok": True}
    assert commits(repo)[:3] == [
        "Delete knowledge page: live",
        "Update knowledge page: live",
        "Add knowledge page: live",
    ]


def test_changes_abandoned_by_their_clients_are_whole(live_server_factory, repo: Path):
    """Clients that disconnect while their page is being written and committed: each change is
    committed whole or not at all, the worktree is left clean, and the next change works."""
    import random
    import subprocess

    from tests.plugins.knowledge.conftest import head_files
    from tests.support import send_and_abort

    live = live_server_factory("--plugins", "knowledge")
    with httpx.Client(base_url=live.url + "/api/v1", timeout=30) as http:
        assert http.post("/knowledge", json={"slug": "first", "title": "First"}).status_code == 201
    rng = random.Random(3)
    for n in range(40):
        page = {"slug": f"abandoned-{n}", "title": f"Abandoned {n}", "content": "x\n" * 50}
        send_and_abort(live.url, "POST", "/api/v1/knowledge", page, rng.random() / 25)
    with httpx.Client(base_url=live.url + "/api/v1", timeout=30) as http:
        for _ in range(100):  # changes still running finish on their own
            created = http.post("/knowledge", json={"slug": "after", "title": "After"})
            if created.status_code != 409:
                break
        assert created.status_code == 201, created.text
        listed = sorted(page["slug"] for page in http.get("/knowledge").json())
    worktree = repo / ".crosslink" / ".knowledge-cache"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=worktree, capture_output=True, text=True)
    assert status.returncode == 0 and status.stdout == ""
    pages = sorted(name[:-3] for name in head_files(repo) if name.endswith(".md"))
    assert listed == pages  # what is listed is exactly what is committed
    assert {"first", "after"} <= set(pages)
    assert len(commits(repo)) == len([p for p in pages if p.startswith("abandoned")]) + 3  # init, first, after
    assert "Traceback" not in live.text()


async def test_two_servers_on_one_repository_take_turns_at_the_knowledge_branch(live_server_factory, repo: Path):
    """Two server processes serving one directory write pages at once: every page is committed
    once, nothing is left uncommitted, and each server lists what the other wrote."""
    import asyncio

    servers = [live_server_factory("--plugins", "knowledge") for _ in range(2)]
    async with httpx.AsyncClient(timeout=60) as http:
        async def create(n: int) -> int:
            base = servers[n % 2].url
            answer = await http.post(f"{base}/api/v1/knowledge",
                                     json={"slug": f"page-{n}", "title": f"Page {n}", "content": f"body {n}\n"})
            return answer.status_code

        codes = await asyncio.gather(*(create(n) for n in range(16)))
        assert codes == [201] * 16
        listed = [sorted(p["slug"] for p in (await http.get(f"{live.url}/api/v1/knowledge")).json() if p["slug"] != "index")
                  for live in servers]
    assert listed[0] == listed[1] == sorted(f"page-{n}" for n in range(16))
    added = [line for line in commits(repo) if line.startswith("Add knowledge page: ")]
    assert sorted(added) == sorted(f"Add knowledge page: page-{n}" for n in range(16))
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo / ".crosslink" / ".knowledge-cache",
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
