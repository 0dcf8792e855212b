"""The ``command`` launcher over real ``crosslink serve`` subprocesses: a plan of three phases
with parallel stages, one stage failing then retried, one skipped, a pause in the middle and a
server restart in the middle (its stage process goes on and is picked up again); phase gating
with a gate command; stages whose process is gone after a crash. Stage and gate commands are
real processes (``commands/stage.py``, ``commands/gate.py``) that record their own timestamps."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support import BACKENDS

from .conftest import COMMANDS, PYTHON, write_config

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]

TOKEN = "orchestrator-test-token-0123456789"

PIPELINE = """# Release pipeline

Everything it takes to ship the next release.

## Phase 1: Prepare

### Setup A
- install the toolchain

### Setup B
- configure the build

### Flaky checks
- run the flaky suite

### Done when
- [ ] everything is set up

## Phase 2: Build

### Hold build
Depends on: Setup A
- compile everything

### Optional docs
Depends on: Flaky checks
- write the docs

### Package
Depends on: Setup B
- package the artefacts

### Gate
- [ ] the build is green

## Phase 3: Ship

### Hold integrate
Depends on: Hold build, Package
- integrate

### Publish
Depends on: Hold integrate
- publish the release
"""


class Live:
    """One running server: HTTP with the token, and a WebSocket collecting ``execution`` events."""

    def __init__(self, server, control: Path) -> None:
        self.server = server
        self.control = control
        self.http = httpx.AsyncClient(base_url=server.url + "/api/v1", timeout=30,
                                      headers={"Authorization": f"Bearer {TOKEN}"})
        self.events: list[dict] = []
        self._reader: asyncio.Task | None = None

    async def listen(self) -> None:
        ws = await websockets.connect(f"{self.server.ws_url}?token={TOKEN}")
        await ws.recv()  # hello
        await ws.send(json.dumps({"type": "subscribe", "channels": ["execution"]}))
        while True:  # until the subscription holds, every channel's events arrive (a restarted
            message = json.loads(await ws.recv())  # server may be closing issues already)
            if message["type"] == "subscribed":
                break
            if message["type"] in ("execution_progress", "execution_state"):
                self.events.append(message)

        async def read():
            try:
                async for message in ws:
                    self.events.append(json.loads(message))
            except websockets.ConnectionClosed:
                pass

        self._reader = asyncio.ensure_future(read())
        self._ws = ws

    async def close(self) -> None:
        if self._reader is not None:
            await self._ws.close()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        await self.http.aclose()

    async def call(self, method: str, path: str, expect: int = 200, **kwargs):
        answer = await self.http.request(method, path, **kwargs)
        assert answer.status_code == expect, (method, path, answer.status_code, answer.text)
        return answer.json()

    async def status(self) -> dict:
        return await self.call("GET", "/orchestrator/status")

    async def wait(self, predicate, what: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = await self.status()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {json.dumps(status)[:3000]}\n"
                                     f"server output:\n{self.server.text()[-4000:]}")
            await asyncio.sleep(0.05)

    async def wait_event(self, predicate, what: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while not any(predicate(e) for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"event not seen: {what}; seen {self.events}")
            await asyncio.sleep(0.02)
        return next(e for e in self.events if predicate(e))


def records(control: Path) -> list[dict]:
    path = control / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def by_title(status: dict) -> dict[str, dict]:
    return {stage["title"]: stage for stage in status["stages"]}


def progress(events: list[dict], titles: dict[str, str]) -> list[tuple[str, str, str | None]]:
    return [(titles[e["stage_id"]], e["status"], e["agent_id"]) for e in events if e["type"] == "execution_progress"]


@pytest.fixture
def control(tmp_path: Path) -> Path:
    directory = tmp_path / "control"
    directory.mkdir()
    return directory


@pytest.fixture
async def start(live_server_factory, control: Path):
    """``await start()``: a new ``crosslink serve`` on the test's repository and database."""
    made: list[Live] = []

    async def start_one() -> Live:
        server = live_server_factory("--token", TOKEN, env={"STAGE_CONTROL": str(control)})
        live = Live(server, control)
        made.append(live)
        await live.listen()
        return live

    yield start_one
    for live in made:
        await live.close()
    # stage processes a test left waiting are released, so none outlives it
    for hold in ("Hold build", "Hold integrate", "Hold killed", "Hold finished", "Hold alive", "Hold me"):
        (control / f"release-{hold}").touch()


async def test_an_execution_survives_failure_retry_skip_pause_and_a_restart(repo, start, control):
    write_config(repo, launcher="command", stage_command=[PYTHON, str(COMMANDS / "stage.py")], max_parallel=3,
                 poll_seconds=0.2, stage_timeout_seconds=120)
    first = await start()
    plan = await first.call("POST", "/orchestrator/decompose", json={"document": PIPELINE, "slug": "release"})
    titles = {s["id"]: s["title"] for p in plan["phases"] for s in p["stages"]}
    ids = {title: sid for sid, title in titles.items()}
    assert len(plan["phases"]) == 3 and plan["total_stages"] == 8
    started = await first.call("POST", "/orchestrator/execute", json={})
    assert started["ok"] is True and started["setup_complete"] is True

    # the flaky stage fails: exit status and output recorded, its log readable
    status = await first.wait(lambda s: s["stage_statuses"][ids["Flaky checks"]] == "failed", "flaky failed")
    flaky = by_title(status)["Flaky checks"]
    assert flaky["message"] == "the stage command exited with status 1: boom" and flaky["exit_code"] == 1
    log = await first.call("GET", f"/orchestrator/stages/{ids['Flaky checks']}/log")
    assert log["content"] == "stage Flaky checks attempt 1 running\nboom\n" and log["complete"] is True
    assert log["source"] == "file" and log["next_offset"] == log["size"] == len(log["content"])
    # its dependent is skipped before the retry; the retry runs it again and it passes
    skipped = await first.call("POST", f"/orchestrator/stages/{ids['Optional docs']}/skip", json={})
    assert skipped["newly_ready"] == []
    retried = await first.call("POST", f"/orchestrator/stages/{ids['Flaky checks']}/retry")
    assert retried["ready_to_launch"] is True
    status = await first.wait(lambda s: s["stage_statuses"][ids["Flaky checks"]] == "done", "flaky retried")
    assert by_title(status)["Flaky checks"]["attempt"] == 2
    second_log = await first.call("GET", f"/orchestrator/stages/{ids['Flaky checks']}/log", params={"attempt": 2})
    assert "attempt 2 running" in second_log["content"] and "boom" not in second_log["content"]

    # pause while "Hold build" runs: it finishes and is recorded, nothing new starts
    await first.wait(lambda s: s["stage_statuses"][ids["Hold build"]] == "running"
                     and s["stage_statuses"][ids["Package"]] == "done", "hold build running, package done")
    await first.call("POST", "/orchestrator/pause")
    (control / "release-Hold build").touch()
    status = await first.wait(lambda s: s["stage_statuses"][ids["Hold build"]] == "done", "hold build done while paused")
    assert status["state"] == "paused"
    for _ in range(10):  # the driver is woken by every change and looks every 0.2 s: still nothing starts
        await asyncio.sleep(0.1)
        assert (await first.status())["stage_statuses"][ids["Hold integrate"]] == "pending"
    resumed = await first.call("POST", "/orchestrator/execute", json={})
    assert resumed["resumed"] is True
    await first.wait(lambda s: s["stage_statuses"][ids["Hold integrate"]] == "running", "hold integrate running")
    for _ in range(200):
        holder = [r for r in records(control) if r["title"] == "Hold integrate" and r["event"] == "start"]
        if holder:
            break
        await asyncio.sleep(0.05)
    pid = holder[0]["pid"]

    # restart the server while "Hold integrate" runs: its process goes on, the new server picks it up
    await first.wait_event(lambda e: e["type"] == "execution_progress" and e["status"] == "running"
                           and e["agent_id"] == "agent-hold-integrate", "hold integrate reported itself")
    assert first.server.stop() == 0
    os.kill(pid, 0)  # still running
    second = await start()
    status = await second.status()
    assert status["state"] == "running" and status["stage_statuses"][ids["Hold integrate"]] == "running"
    assert status["stage_agents"] == {ids["Hold integrate"]: "agent-hold-integrate"}
    (control / "release-Hold integrate").touch()
    status = await second.wait(lambda s: s["state"] == "done", "the execution is done")
    assert by_title(status)["Hold integrate"]["attempt"] == 1 and by_title(status)["Hold integrate"]["exit_code"] == 0
    assert {t: s["status"] for t, s in by_title(status).items()} == {
        "Setup A": "done", "Setup B": "done", "Flaky checks": "done", "Hold build": "done", "Optional docs": "skipped",
        "Package": "done", "Hold integrate": "done", "Publish": "done"}
    assert status["progress_percent"] == 100.0 and status["completed_at"]

    # what the stage commands saw: the stage in their environment, the right server
    starts = {r["title"]: r for r in records(control) if r["event"] == "start"}
    publish = starts["Publish"]["env"]
    assert publish["CROSSLINK_SERVER_URL"] == second.server.url and publish["CROSSLINK_TOKEN"] == TOKEN
    assert publish["CROSSLINK_STAGE_ID"] == ids["Publish"] and publish["CROSSLINK_PLAN_ID"] == plan["id"]
    assert publish["CROSSLINK_ISSUE_ID"] == str(by_title(status)["Publish"]["issue_id"])
    assert publish["CROSSLINK_PHASE_ID"] == plan["phases"][2]["id"] and publish["CROSSLINK_EXECUTION_ID"] == "1"
    assert Path(publish["CROSSLINK_STAGE_PROMPT_FILE"]).read_text() == starts["Publish"]["prompt"]
    assert 'the stage "Publish"' in starts["Publish"]["prompt"] and "publish the release" in starts["Publish"]["prompt"]
    assert starts["Setup A"]["env"]["CROSSLINK_SERVER_URL"] == first.server.url
    assert Path(starts["Setup A"]["cwd"]).resolve() == repo.resolve()

    # the tracking issues and milestones are closed (the skipped stage's too, with a comment)
    issues = (await second.call("GET", "/issues", params={"label": "orchestrator", "status": "all"}))["items"]
    assert len(issues) == 11 and all(issue["status"] == "closed" for issue in issues)
    milestones = (await second.call("GET", "/milestones", params={"status": "all"}))["items"]
    assert len(milestones) == 3 and all(m["status"] == "closed" for m in milestones)
    optional = await second.call("GET", f"/issues/{by_title(status)['Optional docs']['issue_id']}")
    assert optional["comments"][-1]["content"] == "[orchestrator] Stage skipped: skipped"
    flaky_issue = await second.call("GET", f"/issues/{by_title(status)['Flaky checks']['issue_id']}")
    assert "Stage failed (attempt 1): the stage command exited with status 1: boom" in flaky_issue["comments"][0]["content"]

    # the execution_progress events each server sent
    seen = progress(first.events, titles)
    assert [(s, a) for t, s, a in seen if t == "Flaky checks"] == [
        ("running", None), ("running", "agent-flaky-checks"), ("failed", "agent-flaky-checks"), ("pending", None),
        ("running", None), ("running", "agent-flaky-checks"), ("done", "agent-flaky-checks")]
    assert ("Optional docs", "skipped", None) in seen
    assert ("Hold build", "done", "agent-hold-build") in seen
    assert [(e["previous"], e["state"]) for e in first.events if e["type"] == "execution_state"] == [
        (None, "running"), ("running", "paused"), ("paused", "running")]
    await second.wait_event(lambda e: e["type"] == "execution_state" and e["state"] == "done", "done event")
    after = progress(second.events, titles)
    assert after == [("Hold integrate", "done", "agent-hold-integrate"), ("Publish", "running", None),
                     ("Publish", "running", "agent-publish"), ("Publish", "done", "agent-publish")]
    for event in first.events + second.events:
        if event["type"] == "execution_progress":
            assert event["plan_id"] == plan["id"] and event["phase_id"] == event["stage_id"].rsplit("-s", 1)[0]


async def test_phase_gating_runs_no_later_stage_before_the_gate_passed(repo, start, control):
    write_config(repo, launcher="command", stage_command=[PYTHON, str(COMMANDS / "stage.py")], max_parallel=3,
                 poll_seconds=0.2, phase_gating=True, gate_command=[PYTHON, str(COMMANDS / "gate.py")])
    for hold in ("Hold build", "Hold integrate"):
        (control / f"release-{hold}").touch()
    live = await start()
    plan = await live.call("POST", "/orchestrator/decompose", json={"document": PIPELINE})
    ids = {s["title"]: s["id"] for p in plan["phases"] for s in p["stages"]}
    await live.call("POST", "/orchestrator/execute", json={})
    # the flaky stage fails: phase 1 cannot finish, nothing of phase 2 may start, the execution fails
    status = await live.wait(lambda s: s["state"] == "failed", "failed on the flaky stage")
    assert all(status["stage_statuses"][ids[t]] == "pending" for t in ("Hold build", "Optional docs", "Package"))
    assert status["phases"][0]["gate_status"] == "pending"
    await live.call("POST", f"/orchestrator/stages/{ids['Optional docs']}/skip", json={})
    await live.call("POST", f"/orchestrator/stages/{ids['Flaky checks']}/retry")
    status = await live.wait(lambda s: s["state"] == "done", "done", timeout=90)
    assert [p["gate_status"] for p in status["phases"]] == ["passed", "passed", "passed"]
    seen = records(control)
    gates = {r["phase"]: r for r in seen if r["event"] == "gate"}
    assert list(gates) == ["Phase 1: Prepare", "Phase 2: Build", "Phase 3: Ship"]
    assert gates["Phase 1: Prepare"]["criteria"] == "everything is set up"
    starts = {(r["title"], r["attempt"]): r["t"] for r in seen if r["event"] == "start"}
    ends = {(r["title"], r["attempt"]): r["t"] for r in seen if r["event"] == "end"}
    phase_of = {s["title"]: i for i, p in enumerate(plan["phases"]) for s in p["stages"]}
    gate_times = [gates[p["title"]]["t"] for p in plan["phases"]]
    for (title, _), began in starts.items():
        phase = phase_of[title]
        if phase > 0:  # no stage of a later phase starts before the earlier phase's gate passed
            assert began > gate_times[phase - 1], (title, began, gate_times)
    for phase, gate_time in enumerate(gate_times):  # and each gate ran after its phase's stages ended
        assert all(end < gate_time for (title, _), end in ends.items() if phase_of[title] == phase)
    assert [(e["phase_id"], e["status"]) for e in live.events if e["type"] == "phase_gate"] == [
        (p["id"], status_) for p in plan["phases"] for status_ in ("running", "passed")]


async def test_stages_whose_process_is_gone_after_a_crash(repo, start, control):
    """kill -9 of the server and of one stage's process group: after the restart that stage is
    failed with the reason (and retried), the one that ended meanwhile is read from its status
    file, and the one still running is picked up."""
    write_config(repo, launcher="command", stage_command=[PYTHON, str(COMMANDS / "stage.py")], max_parallel=3,
                 poll_seconds=0.2)
    document = "# Crash\n\n## Hold killed\n- x\n\n## Hold finished\n- y\n\n## Hold alive\n- z\n"
    first = await start()
    plan = await first.call("POST", "/orchestrator/decompose", json={"document": document})
    ids = {s["title"]: s["id"] for p in plan["phases"] for s in p["stages"]}
    await first.call("POST", "/orchestrator/execute", json={})
    await first.wait(lambda s: s["counts"]["running"] == 3 and len(s["stage_agents"]) == 3, "three running")
    pids = {r["title"]: r["pid"] for r in records(control) if r["event"] == "start"}
    first.server.stop(signal.SIGKILL)
    os.killpg(os.getpgid(pids["Hold killed"]), signal.SIGKILL)  # its group: the wrapper shell and the command
    (control / "release-Hold finished").touch()
    for _ in range(200):  # it ends while no server runs
        if any(r["event"] == "end" and r["title"] == "Hold finished" for r in records(control)):
            break
        await asyncio.sleep(0.05)
    second = await start()
    status = await second.wait(lambda s: s["stage_statuses"][ids["Hold killed"]] == "failed"
                               and s["stage_statuses"][ids["Hold finished"]] == "done", "reconciled")
    killed = by_title(status)["Hold killed"]
    assert "is gone and left no exit status (found after a restart)" in killed["message"]
    assert by_title(status)["Hold finished"]["exit_code"] == 0
    assert status["stage_statuses"][ids["Hold alive"]] == "running"
    (control / "release-Hold alive").touch()
    (control / "release-Hold killed").touch()
    await second.call("POST", f"/orchestrator/stages/{ids['Hold killed']}/retry")
    status = await second.wait(lambda s: s["state"] == "done", "done after the retry")
    assert by_title(status)["Hold killed"]["attempt"] == 2


async def test_rerun_on_restart_runs_a_gone_stage_again(repo, start, control):
    write_config(repo, launcher="command", stage_command=[PYTHON, str(COMMANDS / "stage.py")], poll_seconds=0.2,
                 rerun_on_restart=True)
    first = await start()
    plan = await first.call("POST", "/orchestrator/decompose", json={"document": "# One\n\n## Hold me\n- x\n"})
    [sid] = [s["id"] for p in plan["phases"] for s in p["stages"]]
    await first.call("POST", "/orchestrator/execute", json={})
    await first.wait(lambda s: s["stage_agents"].get(sid) == "agent-hold-me", "running")
    [pid] = [r["pid"] for r in records(control) if r["event"] == "start"]
    first.server.stop(signal.SIGKILL)
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    (control / "release-Hold me").touch()
    second = await start()
    status = await second.wait(lambda s: s["state"] == "done", "re-run and done")
    stage = status["stages"][0]
    assert stage["attempt"] == 2 and stage["status"] == "done" and stage["exit_code"] == 0
    assert len([r for r in records(control) if r["event"] == "start"]) == 2
