"""The ``command`` launcher in-process: a stage that outlives its timeout, and cancel, both stop
the stage's whole process group (the command and what it started)."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

#: Starts a grandchild (its pid in $PIDS/<stage title>) and waits on it: both must be stopped.
SLEEPER = 'sleep 300 & echo $! > "$PIDS/$CROSSLINK_STAGE_TITLE"; echo started; wait'


async def wait_for_file(path, timeout=20.0):
    for _ in range(int(timeout / 0.02)):
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


async def wait_gone(pid, timeout=20.0):
    for _ in range(int(timeout / 0.02)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"process {pid} is still running")


def plan(*titles):
    return {"phases": [{"title": "Only", "stages": [{"title": t, "tasks": [t]} for t in titles]}]}


async def test_a_stage_past_its_timeout_is_stopped_and_fails(config, make_api, tmp_path, monkeypatch):
    monkeypatch.setenv("PIDS", str(tmp_path))
    config(launcher="command", stage_command=SLEEPER, stage_timeout_seconds=2, kill_grace_seconds=1,
           poll_seconds=0.2)
    api = await make_api()
    await api.post("/orchestrator/plans", plan("slow"), expect=201)
    await api.post("/orchestrator/execute", expect=200)
    grandchild = await wait_for_file(tmp_path / "slow")
    status = await api.wait_status(lambda s: s["state"] == "failed", what="the timeout")
    stage = status["stages"][0]
    assert stage["message"] == "the stage command timed out after 2 s and was stopped"
    await wait_gone(grandchild)
    log = await api.get(f"/orchestrator/stages/{stage['id']}/log")
    assert log["content"] == "started\n" and log["complete"] is True


async def test_cancel_stops_the_process_groups_of_running_stages(config, make_api, tmp_path, monkeypatch):
    monkeypatch.setenv("PIDS", str(tmp_path))
    config(launcher="command", stage_command=SLEEPER, max_parallel=2, poll_seconds=0.2, kill_grace_seconds=1)
    api = await make_api()
    await api.post("/orchestrator/plans", plan("one", "two", "three"), expect=201)
    await api.post("/orchestrator/execute", expect=200)
    pids = [await wait_for_file(tmp_path / name) for name in ("one", "two")]
    status = await api.status()
    assert status["counts"]["running"] == 2 and status["counts"]["pending"] == 1  # max_parallel 2
    _, cancelled = await api.post("/orchestrator/cancel", expect=200)
    assert len(cancelled["stopped"]) == 2
    for pid in pids:
        await wait_gone(pid)
    status = await api.status()
    assert status["state"] == "cancelled"
    assert [s["status"] for s in status["stages"]] == ["failed", "failed", "pending"]
    assert not (tmp_path / "three").exists()
