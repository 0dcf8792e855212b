"""``report_stage``: an agent reports the orchestrator stage it works on through MCP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.plugins.mcp.conftest import call, http_client, names, ok

pytestmark = pytest.mark.slow

PLAN = """# Tiny feature

## Phase 1: Build

### Write the code

- implement it
"""


async def test_an_agent_reports_its_stage_through_mcp(live_server_factory, no_tracebacks):
    live = live_server_factory()  # the manual launcher: stages wait for agents to report
    async with httpx.AsyncClient(base_url=f"{live.url}/api/v1", timeout=30) as api:
        plan = (await api.post("/orchestrator/decompose", json={"document": PLAN, "slug": "tiny"})).json()
        [stage] = [stage for phase in plan["phases"] for stage in phase["stages"]]
        assert (await api.post("/orchestrator/execute")).status_code == 200
        async with http_client(live.url, agent="worker-7") as client:
            assert "report_stage" in names(await client.list_tools())
            is_error, refused = await call(client, "report_stage", {"stage_id": stage["id"], "status": "finished"})
            assert is_error and "status" in refused["detail"]
            await ok(client, "report_stage", {"stage_id": stage["id"], "status": "running"})
            status = (await api.get("/orchestrator/status")).json()
            assert status["stage_statuses"][stage["id"]] == "running"
            assert status["stage_agents"][stage["id"]] == "worker-7"
            await ok(client, "report_stage", {"stage_id": stage["id"], "status": "done", "message": "shipped"})
        for _ in range(100):
            status = (await api.get("/orchestrator/status")).json()
            if status["state"] == "done":
                break
            await asyncio.sleep(0.1)
        assert status["state"] == "done" and status["stage_statuses"][stage["id"]] == "done"


async def test_without_the_orchestrator_there_is_no_report_stage(live_server_factory, no_tracebacks):
    live = live_server_factory("--plugins", "issues,locks,mcp")
    async with http_client(live.url) as client:
        assert "report_stage" not in names(await client.list_tools())
