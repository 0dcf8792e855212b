"""Executions with the ``manual`` launcher, in-process over the test client: tracking issues
and milestones through the issues service, agent reports, retry, skip, pause, cancel, the
409 rules, the status and the ``execution`` channel's events."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import BACKENDS, open_ws, receive_json

from .conftest import assert_error, document

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def stage(title, *depends_on, tasks=("work",), hours=1.0):
    return {"title": title, "description": f"Do {title}.",
            "tasks": [{"title": t, "description": f"{t} details", "complexity_hours": hours} for t in tasks],
            "depends_on": list(depends_on)}


#: Phase 1: A, B in parallel, C after both; phase 2: D after C, E free; phase 3: F after D and E.
PLAN = {
    "title": "Six stages",
    "phases": [
        {"title": "Phase 1: Base", "description": "the base", "gate_criteria": ["base works"],
         "stages": [stage("A", tasks=("a1", "a2"), hours=1.5), stage("B"), stage("C", "A", "B")]},
        {"title": "Phase 2: Middle", "stages": [stage("D", "C"), stage("E")]},
        {"title": "Phase 3: Top", "stages": [stage("F", "D", "E")]},
    ],
}


async def store_plan(api, plan=PLAN):
    _, stored = await api.post("/orchestrator/plans", plan, expect=201)
    ids = {s["title"]: s["id"] for p in stored["phases"] for s in p["stages"]}
    return stored, ids


def statuses(status, ids):
    names = {v: k for k, v in ids.items()}
    return {names[sid]: value for sid, value in status["stage_statuses"].items()}


async def report(api, sid, what, agent="worker-1", expect=200, **extra):
    return (await api.post(f"/orchestrator/stages/{sid}/{what}", {"agent_id": agent, **extra}, expect=expect))[1]


class Events:
    """Collects the ``execution`` channel's events of a test WebSocket."""

    def __init__(self, ws, connection):
        self.ws, self.connection, self.seen = ws, connection, []

    async def until(self, predicate, timeout=10.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(predicate(e) for e in self.seen):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"event not seen; seen: {self.seen}")
            self.seen.append(await receive_json(self.connection, remaining))
        return next(e for e in self.seen if predicate(e))

    def progress(self, ids):
        names = {v: k for k, v in ids.items()}
        return [(names[e["stage_id"]], e["status"], e["agent_id"]) for e in self.seen if e["type"] == "execution_progress"]


@pytest.fixture
async def events(api):
    ws, connection = await open_ws(api.client, channels=["execution"])
    yield Events(ws, connection)
    await ws.__aexit__(None, None, None)


async def test_execute_creates_milestones_issues_labels_and_blockers(api):
    plan, ids = await store_plan(api)
    _, answer = await api.post("/orchestrator/execute", expect=200)
    assert answer["ok"] is True and answer["plan_id"] == plan["id"] and answer["setup_complete"] is True
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["A"]] == "running")
    milestones = (await api.get("/milestones", query_string={"status": "all"}))["items"]
    assert sorted(m["name"] for m in milestones) == [
        "[Orchestrator] Phase 1: Base", "[Orchestrator] Phase 2: Middle", "[Orchestrator] Phase 3: Top"]
    phases = {p["title"]: p for p in status["phases"]}
    base = phases["Phase 1: Base"]
    milestone = await api.get(f"/milestones/{base['milestone_id']}")
    assert milestone["description"] == "the base" and milestone["issue_count"] == 4  # phase issue + 3 stages
    phase_issue = await api.get(f"/issues/{base['issue_id']}")
    assert phase_issue["title"] == "[Phase] Phase 1: Base" and phase_issue["priority"] == "high"
    assert phase_issue["labels"] == ["orchestrator", "phase"] and phase_issue["milestone"]["id"] == base["milestone_id"]
    assert "- [ ] base works" in phase_issue["description"]
    stages = {s["title"]: s for s in status["stages"]}
    a = await api.get(f"/issues/{stages['A']['issue_id']}")
    assert a["title"] == "[Stage] A" and a["parent_id"] == base["issue_id"] and a["priority"] == "high"
    assert a["labels"] == ["orchestrator", "stage"] and a["milestone"]["id"] == base["milestone_id"]
    assert "## Tasks\n- **a1**: a1 details (~1.5 h)\n- **a2**: a2 details (~1.5 h)" in a["description"]
    assert "## Dependencies\nBlocked by: none" in a["description"]
    assert "- Complexity: 3.0 hours\n- Suggested agents: 1" in a["description"]
    c = await api.get(f"/issues/{stages['C']['issue_id']}")
    assert sorted(c["blockers"]) == sorted([stages["A"]["issue_id"], stages["B"]["issue_id"]])
    assert "Blocked by: A, B" in c["description"]
    f = await api.get(f"/issues/{stages['F']['issue_id']}")
    assert sorted(f["blockers"]) == sorted([stages["D"]["issue_id"], stages["E"]["issue_id"]])
    assert len((await api.get("/issues", query_string={"label": "orchestrator"}))["items"]) == 9
    # the manual launcher marks every ready stage running (no agent yet) and waits for reports
    status = await api.wait_status(lambda s: s["counts"]["running"] == 3)
    assert statuses(status, ids) == {"A": "running", "B": "running", "C": "pending", "D": "pending",
                                     "E": "running", "F": "pending"}
    assert status["stage_agents"] == {} and status["launcher"] == "manual" and status["max_parallel"] == 4


async def test_reports_drive_the_execution_to_done(api, events):
    plan, ids = await store_plan(api)
    await api.post("/orchestrator/execute", {"max_parallel": 2}, expect=200)
    status = await api.wait_status(lambda s: s["counts"]["running"] == 2)
    assert statuses(status, ids)["A"] == "running" and statuses(status, ids)["B"] == "running"
    assert statuses(status, ids)["E"] == "pending"  # max_parallel 2: E waits its turn
    answer = await report(api, ids["A"], "running", agent="agent-a")
    assert answer["stage"]["agent_id"] == "agent-a" and answer["stage"]["status"] == "running"
    assert (await api.status())["stage_agents"] == {ids["A"]: "agent-a"}
    await report(api, ids["A"], "done", agent="agent-a", message="all good")
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["E"]] == "running")
    assert status["progress_percent"] == round(100 / 6, 1) and status["current_phase_id"] == plan["phases"][0]["id"]
    stage_a = next(s for s in status["stages"] if s["id"] == ids["A"])
    assert stage_a["message"] == "all good" and stage_a["attempt"] == 1 and stage_a["duration_seconds"] >= 0
    assert (await api.get(f"/issues/{stage_a['issue_id']}"))["status"] == "closed"
    for name in ("B", "E"):
        await report(api, ids[name], "done", agent="agent-b")
    await api.wait_status(lambda s: s["stage_statuses"][ids["C"]] == "running")
    await report(api, ids["C"], "done")
    # phase 1 finished: its milestone and phase issue are closed
    status = await api.wait_status(lambda s: s["phases"][0]["closed"])
    base = status["phases"][0]
    assert (await api.get(f"/milestones/{base['milestone_id']}"))["status"] == "closed"
    assert (await api.get(f"/issues/{base['issue_id']}"))["status"] == "closed"
    await api.wait_status(lambda s: s["stage_statuses"][ids["D"]] == "running")
    await report(api, ids["D"], "done")
    await api.wait_status(lambda s: s["stage_statuses"][ids["F"]] == "running")
    await report(api, ids["F"], "done", agent="agent-f")
    status = await api.wait_status(lambda s: s["state"] == "done")
    assert status["progress_percent"] == 100.0 and status["completed_at"] and status["message"] is None
    assert status["elapsed_seconds"] >= 0 and status["stage_agents"] == {}
    await api.wait_status(lambda s: all(p["closed"] for p in s["phases"]))
    issues = (await api.get("/issues", query_string={"label": "orchestrator", "status": "all"}))["items"]
    assert all(issue["status"] == "closed" for issue in issues) and len(issues) == 9
    milestones = (await api.get("/milestones", query_string={"status": "all"}))["items"]
    assert all(m["status"] == "closed" and m["progress_percent"] == 100.0 for m in milestones)
    await events.until(lambda e: e["type"] == "execution_state" and e["state"] == "done")
    progress = events.progress(ids)
    assert progress[:2] == [("A", "running", None), ("B", "running", None)]
    assert ("A", "running", "agent-a") in progress and ("A", "done", "agent-a") in progress
    assert ("F", "done", "agent-f") in progress
    assert [p for p in progress if p[1] == "done"] == [
        ("A", "done", "agent-a"), ("B", "done", "agent-b"), ("E", "done", "agent-b"), ("C", "done", "worker-1"),
        ("D", "done", "worker-1"), ("F", "done", "agent-f")]
    event = next(e for e in events.seen if e["type"] == "execution_progress")
    assert set(event) >= {"type", "plan_id", "phase_id", "stage_id", "status", "agent_id"}
    assert event["plan_id"] == plan["id"] and event["phase_id"] == plan["phases"][0]["id"]
    states = [(e["previous"], e["state"]) for e in events.seen if e["type"] == "execution_state"]
    assert states == [(None, "running"), ("running", "done")]
    # a finished execution lets a new plan in
    await api.decompose(document("single-heading-bugfix.md"))
    assert (await api.status())["state"] == "idle"


async def test_failure_retry_and_skip(api, events):
    plan, ids = await store_plan(api)
    await api.post("/orchestrator/execute", expect=200)
    await api.wait_status(lambda s: s["counts"]["running"] == 3)
    await report(api, ids["A"], "failed", message="tests are red")
    await report(api, ids["B"], "done")
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["A"]] == "failed")
    assert status["state"] == "running"  # E still runs
    stage_a = next(s for s in status["stages"] if s["id"] == ids["A"])
    comments = await api.get(f"/issues/{stage_a['issue_id']}/comments")
    assert comments[-1]["content"] == "[orchestrator] Stage failed (attempt 1): tests are red"
    assert comments[-1]["kind"] == "observation"
    await report(api, ids["E"], "done")
    # nothing runs and nothing can start: the execution has failed, and says why
    status = await api.wait_status(lambda s: s["state"] == "failed")
    assert "stage 'A' failed: tests are red" in status["message"]
    assert statuses(status, ids)["C"] == "pending"
    assert_error(await api.post("/orchestrator/execute"), 409, "failed", "retry or skip")
    retried = (await api.post(f"/orchestrator/stages/{ids['A']}/retry", expect=200))[1]
    assert retried == {"ok": True, "stage_id": ids["A"], "ready_to_launch": True}
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["A"]] == "running")
    assert status["state"] == "running" and status["completed_at"] is None and status["message"] is None
    assert next(s for s in status["stages"] if s["id"] == ids["A"])["attempt"] == 2
    await report(api, ids["A"], "failed", message="still red")
    await api.wait_status(lambda s: s["state"] == "failed")
    skipped = (await api.post(f"/orchestrator/stages/{ids['A']}/skip", {"message": "not needed"}, expect=200))[1]
    assert skipped == {"ok": True, "stage_id": ids["A"], "newly_ready": [ids["C"]]}
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["C"]] == "running")
    assert status["state"] == "running"
    stage_a = next(s for s in status["stages"] if s["id"] == ids["A"])
    await api.wait_status(lambda s: next(x for x in s["stages"] if x["id"] == ids["A"])["status"] == "skipped")
    for _ in range(100):
        issue = await api.get(f"/issues/{stage_a['issue_id']}")
        if issue["status"] == "closed":
            break
        await asyncio.sleep(0.02)
    assert issue["status"] == "closed"
    contents = [c["content"] for c in issue["comments"]]
    assert contents[-3:] == ["[orchestrator] Stage failed (attempt 1): tests are red",
                             "[orchestrator] Stage failed (attempt 2): still red",
                             "[orchestrator] Stage skipped: not needed"]
    await events.until(lambda e: e["type"] == "execution_progress" and e["status"] == "skipped")
    progress = [(name, status) for name, status, _ in events.progress(ids) if name == "A"]
    assert progress == [("A", "running"), ("A", "failed"), ("A", "pending"), ("A", "running"), ("A", "failed"),
                        ("A", "skipped")]
    states = [(e["previous"], e["state"]) for e in events.seen if e["type"] == "execution_state"]
    assert states[:4] == [(None, "running"), ("running", "failed"), ("failed", "running"), ("running", "failed")]
    # a pending stage can be skipped too; a skipped or running one cannot
    assert_error(await api.post(f"/orchestrator/stages/{ids['A']}/skip"), 400, "skipped")
    assert_error(await api.post(f"/orchestrator/stages/{ids['C']}/skip"), 400, "running")
    skipped = (await api.post(f"/orchestrator/stages/{ids['F']}/skip", expect=200))[1]
    assert skipped["newly_ready"] == []
    assert_error(await api.post(f"/orchestrator/stages/{ids['C']}/retry"), 400, "Cannot retry", "running")
    await report(api, ids["C"], "done")
    await api.wait_status(lambda s: s["stage_statuses"][ids["D"]] == "running")
    await report(api, ids["D"], "done")
    status = await api.wait_status(lambda s: s["state"] == "done")
    assert status["counts"]["skipped"] == 2 and status["progress_percent"] == 100.0


async def test_pause_stops_launches_and_still_records_results(api, events):
    _, ids = await store_plan(api)
    await api.post("/orchestrator/execute", expect=200)
    await api.wait_status(lambda s: s["counts"]["running"] == 3)
    _, paused = await api.post("/orchestrator/pause", expect=200)
    assert paused["ok"] is True and paused["state"] == "paused"
    assert_error(await api.post("/orchestrator/pause"), 409, "paused, not running")
    await report(api, ids["A"], "done")
    await report(api, ids["B"], "done")
    status = await api.status()
    assert status["state"] == "paused" and status["paused_at"]
    assert statuses(status, ids)["A"] == "done" and statuses(status, ids)["B"] == "done"
    await api.get("/workers")  # give the driver a chance to look: C must stay pending while paused
    for _ in range(10):
        await asyncio.sleep(0.05)
        assert statuses(await api.status(), ids)["C"] == "pending"
    # an agent cannot take a stage while paused either; reports of running stages go through
    assert_error(await api.post(f"/orchestrator/stages/{ids['C']}/running", {"agent_id": "x"}), 409, "paused")
    _, resumed = await api.post("/orchestrator/execute", {"max_parallel": 2}, expect=200)
    assert resumed["resumed"] is True and resumed["execution_id"] == paused["execution_id"]
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["C"]] == "running")
    assert status["state"] == "running" and status["paused_at"] is None and status["max_parallel"] == 2
    assert_error(await api.post("/orchestrator/execute"), 409, "already running")
    await events.until(lambda e: e["type"] == "execution_state" and e["previous"] == "paused")
    states = [(e["previous"], e["state"]) for e in events.seen if e["type"] == "execution_state"]
    assert states == [(None, "running"), ("running", "paused"), ("paused", "running")]


async def test_cancel_fails_running_stages_and_lets_a_new_plan_in(api, events):
    _, ids = await store_plan(api)
    await api.post("/orchestrator/execute", expect=200)
    await api.wait_status(lambda s: s["counts"]["running"] == 3)
    assert_error(await api.post("/orchestrator/decompose", {"document": "# Next\n- one\n"}), 409,
                 "is running", "cancel")
    assert_error(await api.post("/orchestrator/plans", PLAN), 409, "is running")
    _, cancelled = await api.post("/orchestrator/cancel", expect=200)
    assert cancelled["state"] == "cancelled" and sorted(cancelled["stopped"]) == sorted([ids["A"], ids["B"], ids["E"]])
    status = await api.status()
    assert status["state"] == "cancelled" and status["completed_at"]
    assert statuses(status, ids) == {"A": "failed", "B": "failed", "C": "pending", "D": "pending", "E": "failed",
                                     "F": "pending"}
    assert all(s["message"] == "cancelled" for s in status["stages"] if s["status"] == "failed")
    assert_error(await api.post("/orchestrator/cancel"), 409, "cancelled")
    assert_error(await api.post(f"/orchestrator/stages/{ids['A']}/retry"), 409, "cancelled")
    assert_error(await api.post(f"/orchestrator/stages/{ids['C']}/running", {}), 409, "cancelled")
    await events.until(lambda e: e["type"] == "execution_state" and e["state"] == "cancelled")
    assert [(n, s) for n, s, _ in events.progress(ids) if s == "failed"] == [("A", "failed"), ("B", "failed"),
                                                                             ("E", "failed")]
    plan = await api.decompose(document("single-heading-bugfix.md"))
    assert (await api.status())["state"] == "idle"
    _, answer = await api.post("/orchestrator/execute", expect=200)
    assert answer["plan_id"] == plan["id"] and answer["execution_id"] == cancelled["execution_id"] + 1


async def test_the_contract_errors(api):
    assert_error(await api.post("/orchestrator/execute"), 404, "No plan")
    assert_error(await api.post("/orchestrator/pause"), 404, "No execution")
    assert_error(await api.post("/orchestrator/cancel"), 404, "No execution")
    assert_error(await api.post("/orchestrator/stages/x-p0-s0/done", {}), 404, "No execution")
    idle = await api.status()
    assert idle["state"] == "idle" and idle["plan_id"] is None and idle["stage_statuses"] == {}
    assert idle["progress_percent"] == 0.0 and idle["started_at"] is None and idle["stage_agents"] == {}
    plan, ids = await store_plan(api)
    idle = await api.status()  # the current plan, not yet executed
    assert idle["state"] == "idle" and idle["plan_id"] == plan["id"]
    assert set(idle["stage_statuses"].values()) == {"pending"} and len(idle["stage_statuses"]) == 6
    assert_error(await api.post("/orchestrator/execute", {"launcher": "robots"}), 400, "robots", "command", "manual")
    assert_error(await api.post("/orchestrator/execute", {"launcher": "command"}), 400, "stage_command")
    assert_error(await api.post("/orchestrator/execute", {"max_parallel": 0}), 400, "max_parallel")
    assert_error(await api.post("/orchestrator/execute", {"phase_gating": "yes"}), 400, "phase_gating")
    await api.post("/orchestrator/execute", expect=200)
    await api.wait_status(lambda s: s["counts"]["running"] == 3)
    assert_error(await api.post("/orchestrator/execute"), 409, "already running")
    assert_error(await api.post("/orchestrator/stages/nope/done", {}), 404, "nope")
    assert_error(await api.post("/orchestrator/stages/..%2F..%2Fx/done", {}), 404)
    assert_error(await api.post(f"/orchestrator/stages/{ids['C']}/done", {}), 409, "pending",
                 "only a running stage")
    assert_error(await api.post(f"/orchestrator/stages/{ids['C']}/running", {"agent_id": "w"}), 409, "not ready")
    assert_error(await api.post(f"/orchestrator/stages/{ids['A']}/running", {"agent_id": "bad id!"}), 400, "agent_id")
    assert_error(await api.post(f"/orchestrator/stages/{ids['A']}/finished", {}), 404)
    assert_error(await api.post(f"/orchestrator/stages/{ids['A']}/retry"), 400, "not failed")
    assert_error(await api.post(f"/orchestrator/phases/{plan['phases'][0]['id']}/retry"), 400, "not failed")
    assert_error(await api.post("/orchestrator/phases/zzz/skip"), 404, "zzz")
    stage = await api.get(f"/orchestrator/stages/{ids['A']}")
    assert stage["status"] == "running" and stage["plan_id"] == plan["id"] and stage["attempt"] == 1
    assert_error(await api.call("GET", f"/orchestrator/stages/{ids['A']}/log"), 404, "No log")
    assert_error(await api.call("GET", f"/orchestrator/stages/{ids['C']}/log"), 404, "no attempt")


async def test_an_agent_may_take_a_ready_stage_itself(api):
    plan = {"phases": [{"title": "Only", "stages": [stage("A"), stage("B"), stage("C")]}]}
    _, ids = await store_plan(api, plan)
    await api.post("/orchestrator/execute", {"max_parallel": 1}, expect=200)
    await api.wait_status(lambda s: s["counts"]["running"] == 1)
    # B is ready but waits for a slot; an agent may take it anyway
    answer = await report(api, ids["B"], "running", agent="eager")
    assert answer["stage"]["launcher"] == "report" and answer["stage"]["agent_id"] == "eager"
    status = await api.status()
    assert status["stage_agents"] == {ids["B"]: "eager"} and status["counts"]["running"] == 2


async def test_the_orchestrator_service_for_other_plugins(api):
    from plugins.orchestrator.contract import OrchestratorAPI

    service = api.kernel.services.require("orchestrator")
    assert isinstance(service, OrchestratorAPI)
    _, ids = await store_plan(api, {"phases": [{"title": "Only", "stages": [stage("A"), stage("B", "A")]}]})
    assert (await service.current_plan())["total_stages"] == 2
    await api.post("/orchestrator/execute", expect=200)
    await api.wait_status(lambda s: s["counts"]["running"] == 1)
    answer = await service.report_stage(ids["A"], "running", agent_id="mcp-agent")
    assert answer["stage"]["agent_id"] == "mcp-agent"
    assert (await service.status())["stage_agents"] == {ids["A"]: "mcp-agent"}
    await service.report_stage(ids["A"], "done", agent_id="mcp-agent", message="via the service")
    await api.wait_status(lambda s: s["stage_statuses"][ids["B"]] == "running")
    await service.report_stage(ids["B"], "failed", message="nope")
    assert (await service.retry_stage(ids["B"]))["ok"] is True
    await api.wait_status(lambda s: s["stage_statuses"][ids["B"]] == "running")
    await service.report_stage(ids["B"], "done")
    assert (await api.wait_status(lambda s: s["state"] == "done"))["progress_percent"] == 100.0
    from kernel import APIError

    with pytest.raises(APIError) as error:
        await service.report_stage(ids["B"], "finished")
    assert error.value.status == 400


async def test_phase_gating_holds_later_phases_until_the_gate_passes(api, events):
    _, ids = await store_plan(api)
    await api.post("/orchestrator/execute", {"phase_gating": True}, expect=200)
    status = await api.wait_status(lambda s: s["counts"]["running"] == 2)
    assert statuses(status, ids)["E"] == "pending"  # E has no dependency but sits in phase 2
    assert status["phase_gating"] is True and status["phases"][0]["gate_status"] == "pending"
    for name in ("A", "B"):
        await report(api, ids[name], "done")
    await api.wait_status(lambda s: s["stage_statuses"][ids["C"]] == "running")
    assert statuses(await api.status(), ids)["E"] == "pending"
    await report(api, ids["C"], "done")
    status = await api.wait_status(lambda s: s["stage_statuses"][ids["E"]] == "running")
    assert status["phases"][0]["gate_status"] == "passed"  # no gate command: it passes at once
    await events.until(lambda e: e.get("stage_id") == ids["E"])
    kinds = [(e["type"], e.get("status"), e.get("stage_id") or e.get("phase_id")) for e in events.seen
             if e["type"] == "phase_gate" or e.get("stage_id") == ids["E"]]
    assert kinds[:2] == [("phase_gate", "passed", status["phases"][0]["id"]), ("execution_progress", "running", ids["E"])]
