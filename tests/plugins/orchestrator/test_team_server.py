"""Two ``crosslink serve`` instances on one database: exactly one drives the execution, and a
stage report sent to the other instance is acted upon."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.support import BACKENDS

from .conftest import write_config

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]


def drives(url: str) -> bool:
    workers = {w["name"]: w for w in httpx.get(f"{url}/api/v1/workers", timeout=10).json()}
    return workers["orchestrator-driver"]["holds_lease"] is True


async def test_a_report_at_either_instance_reaches_the_driver(repo, live_server_factory):
    write_config(repo, poll_seconds=0.2)
    servers = [live_server_factory(), live_server_factory()]
    deadline = time.monotonic() + 30
    while sum(drives(s.url) for s in servers) != 1:  # one lease holder, the other in standby
        assert time.monotonic() < deadline, "no single driver"
        await asyncio.sleep(0.1)
    driver = next(s for s in servers if drives(s.url))
    other = next(s for s in servers if s is not driver)
    plan = {"phases": [{"title": "Only", "stages": [
        {"title": "A", "tasks": ["a"]}, {"title": "B", "tasks": ["b"], "depends_on": ["A"]},
        {"title": "C", "tasks": ["c"], "depends_on": ["B"]}]}]}
    async with httpx.AsyncClient(timeout=30) as http:
        stored = (await http.post(f"{other.url}/api/v1/orchestrator/plans", json=plan)).json()
        a, b, c = (s["id"] for s in stored["phases"][0]["stages"])
        started = await http.post(f"{other.url}/api/v1/orchestrator/execute", json={})
        assert started.status_code == 200 and started.json()["setup_complete"] is True  # set up by the driver

        async def wait(url, stage_id, status):
            for _ in range(600):
                answer = (await http.get(f"{url}/api/v1/orchestrator/status")).json()
                if answer["stage_statuses"][stage_id] == status:
                    return answer
                await asyncio.sleep(0.05)
            raise AssertionError(f"{stage_id} never became {status}: {answer}")

        await wait(other.url, a, "running")
        # reported at the instance that does not drive: the driver still launches what follows
        answer = await http.post(f"{other.url}/api/v1/orchestrator/stages/{a}/done", json={"agent_id": "w-1"})
        assert answer.status_code == 200, answer.text
        await wait(driver.url, b, "running")
        answer = await http.post(f"{driver.url}/api/v1/orchestrator/stages/{b}/done", json={"agent_id": "w-2"})
        assert answer.status_code == 200
        await wait(other.url, c, "running")
        await http.post(f"{other.url}/api/v1/orchestrator/stages/{c}/done", json={})
        for url in (driver.url, other.url):
            for _ in range(200):
                status = (await http.get(f"{url}/api/v1/orchestrator/status")).json()
                if status["state"] == "done":
                    break
                await asyncio.sleep(0.05)
            assert status["state"] == "done" and status["progress_percent"] == 100.0
        issues = (await http.get(f"{other.url}/api/v1/issues",
                                 params={"label": "orchestrator", "status": "all"})).json()["items"]
        assert len(issues) == 4  # one set of tracking issues: exactly one driver set them up
        for _ in range(200):
            issues = (await http.get(f"{other.url}/api/v1/issues",
                                     params={"label": "orchestrator", "status": "all"})).json()["items"]
            if all(issue["status"] == "closed" for issue in issues):
                break
            await asyncio.sleep(0.05)
        assert all(issue["status"] == "closed" for issue in issues)
