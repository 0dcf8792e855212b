"""The knowledge routes through a real ``crosslink serve`` process and real HTTP."""

from __future__ import annotations

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
