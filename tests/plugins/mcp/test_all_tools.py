"""The opt-in tools (``tools = "all"``) and the rest of the core ones do what their plugins'
routes do; the REST API shows the effect."""

from __future__ import annotations

import httpx
import pytest

from tests.plugins.mcp.conftest import http_client, ok, write_server_toml
from tests.support import BACKENDS

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]


async def test_issue_knowledge_and_heartbeat_tools(live_server_factory, repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = "all"\n')
    live = live_server_factory()
    rest = httpx.Client(base_url=live.url + "/api/v1", timeout=30)
    async with http_client(live.url, agent="worker-7") as agent:
        parent = (await ok(agent, "create_issue", {"title": "Ship the exporter", "priority": "critical"}))["id"]
        child = (await ok(agent, "create_issue", {"title": "Write the CSV writer", "parent_id": parent,
                                                   "description": "RFC 4180 quoting"}))["id"]
        await ok(agent, "label_issue", {"issue_id": child, "label": "  export  "})
        await ok(agent, "block_issue", {"issue_id": parent, "blocker_id": child})
        detail = await ok(agent, "show_issue", {"issue_id": parent})
        assert ([s["id"] for s in detail["subissues"]], detail["blockers"]) == ([child], [child])
        ready = await ok(agent, "find_ready_work", {"limit": 5})
        assert [(item["id"], item["labels"]) for item in ready["items"]] == [(child, ["export"])]

        beat = await ok(agent, "heartbeat", {"active_issue_id": child, "description": "writing CSV"})
        assert (beat["agent_id"], beat["active_issue_id"]) == ("worker-7", child)
        assert rest.get("/agents/worker-7").json()["active_issue_id"] == child

        created = await ok(agent, "write_page", {"slug": "csv-quoting", "title": "CSV quoting",
                                                  "content": "Quote fields with commas.\n", "tags": ["export"]})
        page = await ok(agent, "read_page", {"slug": "csv-quoting"})
        assert (page["version"], page["contributors"], page["tags"]) == (created["version"], ["worker-7"], ["export"])
        updated = await ok(agent, "write_page", {"slug": "csv-quoting", "version": page["version"],
                                                  "content": "Quote fields with commas or quotes.\n"})
        assert updated["version"] != created["version"] and updated["created"] is False
        assert rest.get("/knowledge/csv-quoting").json()["content"] == "Quote fields with commas or quotes.\n"
        found = await ok(agent, "search_knowledge", {"query": "quotes"})
        assert [(item["slug"], item["matches"][0]["line"]) for item in found["items"]] == [("csv-quoting", 10)]

        hits = await ok(agent, "search", {"query": "CSV"})
        found_kinds = {(hit["kind"], hit["id"]) for hit in hits["items"]}
        assert found_kinds >= {("issue", str(child)), ("knowledge", "csv-quoting")}

        closed = await ok(agent, "close_issue", {"issue_id": child, "comment": "Done: quoting per RFC 4180."})
        assert closed["changed"] is True
        again = await ok(agent, "close_issue", {"issue_id": child})
        assert again["changed"] is False
    comments = rest.get(f"/issues/{child}").json()["comments"]
    assert [(c["kind"], c["content"]) for c in comments] == [("resolution", "Done: quoting per RFC 4180.")]
    assert [item["id"] for item in rest.get("/issues/ready").json()["items"]] == [parent]
    assert "Traceback" not in live.text()
