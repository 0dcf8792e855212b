"""Every plan is validated whatever produced it: ``POST /orchestrator/plans`` takes a ready plan
(a client's, an LLM's run elsewhere) through the same checks as a decomposed one."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import assert_error

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def stage(title, *depends_on, **extra):
    return {"title": title, "description": f"{title} it", "tasks": [{"title": f"do {title}"}],
            "depends_on": list(depends_on), **extra}


async def test_a_ready_plan_is_stored_with_ids_and_resolved_dependencies(api):
    raw = {
        "title": "Payments",
        "phases": [
            {"title": "Phase 1: Core", "stages": [stage("Schema"), stage("API", "schema")]},  # case-insensitive
            {"title": "Phase 2: Edges", "description": "the rest", "gate_criteria": ["all green"],
             "stages": [stage("Webhooks", "Phase 1"), stage("Docs", "core-api", id="docs")]},
        ],
    }
    raw["phases"][0]["stages"][1]["id"] = "core-api"  # a stage's own id may be referenced
    code, plan = await api.post("/orchestrator/plans", {**raw, "slug": "payments", "source_document": "# Payments"})
    assert code == 201, plan
    schema, api_stage = plan["phases"][0]["stages"]
    webhooks, docs = plan["phases"][1]["stages"]
    assert api_stage["depends_on"] == [schema["id"]]
    assert webhooks["depends_on"] == [schema["id"], api_stage["id"]]  # a phase title: all its stages
    assert docs["depends_on"] == [api_stage["id"]]
    assert docs["id"] == f"{plan['id']}-p1-s1"  # ids are always the server's
    assert plan["document_slug"] == "payments" and plan["title"] == "Payments"
    assert schema["agent_count"] == 1 and schema["complexity_hours"] == 0.0
    assert plan["phases"][1]["gate_criteria"] == ["all green"] and plan["phases"][0]["gate_criteria"] == []
    assert await api.get("/orchestrator/plan") == plan
    record = await api.get(f"/orchestrator/plans/{plan['id']}")
    assert record["decomposer"] == "api" and record["source_document"] == "# Payments"


async def test_hours_default_to_the_tasks_and_the_plan_to_its_stages(api):
    raw = {"phases": [{"title": "Only", "stages": [
        {"title": "A", "tasks": [{"title": "a1", "complexity_hours": 1.5}, "a2 as a plain string"]},
        {"title": "B", "complexity_hours": 4, "agent_count": 3},
    ]}]}
    _, plan = await api.post("/orchestrator/plans", raw, expect=201)
    a, b = plan["phases"][0]["stages"]
    assert a["complexity_hours"] == 1.5 and [t["title"] for t in a["tasks"]] == ["a1", "a2 as a plain string"]
    assert b["complexity_hours"] == 4.0 and b["agent_count"] == 3 and b["tasks"] == []
    assert plan["estimated_hours"] == 5.5 and plan["document_slug"] == "untitled"


@pytest.mark.parametrize(
    "phases, needles",
    [
        ([], ["no phases"]),
        ([{"title": "Empty", "stages": []}], ["phase 'Empty' has no stages"]),
        ([{"title": "P", "stages": [stage("A", "Nowhere")]}], ["'Nowhere'", "matches no stage or phase"]),
        ([{"title": "P", "stages": [stage("A"), stage("A"), stage("B", "A")]}], ["'A'", "ambiguous", "-p0-s0", "-p0-s1"]),
        ([{"title": "P", "stages": [stage("A", "A")]}], ["stage 'A' depends on itself"]),
        ([{"title": "P", "stages": [stage("A", "C"), stage("B", "A"), stage("C", "B")]}],
         ["dependency cycle: 'A' -> 'C' -> 'B' -> 'A'"]),
        ([{"title": "One", "stages": [stage("A", "B")]}, {"title": "Two", "stages": [stage("B")]}],
         ["stage 'A' (phase 1) depends on 'B', which is in a later phase (phase 2)"]),
        ([{"title": " ", "stages": [{"title": "", "agent_count": 0, "complexity_hours": -1, "tasks": [7]}]}],
         ["phases[0].title: must not be blank", "phases[0].stages[0].title", "agent_count", "complexity_hours",
          "tasks[0]"]),
        (["not an object"], ["phases[0]: must be an object"]),
    ],
)
async def test_invalid_plans_are_a_400_naming_every_problem(api, phases, needles):
    body = assert_error(await api.post("/orchestrator/plans", {"phases": phases}), 400, "invalid plan")
    text = " | ".join(body["problems"])
    for needle in needles:
        assert needle in text, (needle, body["problems"])
    assert_error(await api.call("GET", "/orchestrator/plan"), 404)


async def test_the_body_must_carry_phases(api):
    assert_error(await api.post("/orchestrator/plans", {}), 400, "phases")
    assert_error(await api.post("/orchestrator/plans", {"phases": "many"}), 400, "phases")
    assert_error(await api.post("/orchestrator/plans", {"phases": [{"title": "P", "stages": [stage("A")]}],
                                                        "slug": "no spaces"}), 400, "slug")
