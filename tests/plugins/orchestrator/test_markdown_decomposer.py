"""The markdown decomposer on committed design documents of several shapes, through
``POST /orchestrator/decompose``; the plan becomes the current plan and is listed."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import assert_error, document

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def stages(plan):
    return [stage for phase in plan["phases"] for stage in phase["stages"]]


def by_title(plan):
    return {stage["title"]: stage for stage in stages(plan)}


def depends(plan, title):
    ids = {stage["id"]: stage["title"] for stage in stages(plan)}
    return sorted(ids[dep] for dep in by_title(plan)[title]["depends_on"])


def check_ids(plan):
    """Ids as the original makes them, 0-based, and totals counted."""
    assert plan["total_stages"] == len(stages(plan))
    for p, phase in enumerate(plan["phases"]):
        assert phase["id"] == f"{plan['id']}-p{p}"
        for s, stage in enumerate(phase["stages"]):
            assert stage["id"] == f"{phase['id']}-s{s}"
            assert stage["tasks"], stage
            for t, task in enumerate(stage["tasks"]):
                assert task["id"] == f"{stage['id']}-t{t}"
            assert stage["complexity_hours"] == pytest.approx(sum(t["complexity_hours"] for t in stage["tasks"])) \
                or stage["complexity_hours"] > 0


async def test_a_phased_design_document(api):
    plan = await api.decompose(document("phased-search-service.md"))
    check_ids(plan)
    assert plan["document_slug"] == "full-text-search-service"  # from the front matter's title
    assert plan["title"] == "Full-text search service"
    assert [phase["title"] for phase in plan["phases"]] == ["Phase 1: Foundations", "Phase 2: Reading", "Phase 3: Rollout"]
    first, second, third = plan["phases"]
    # context sections (Overview, Open questions) and the heading inside a code block are no work
    assert [s["title"] for s in first["stages"]] == ["Index schema", "Write path"]
    assert [s["title"] for s in second["stages"]] == ["Query parser", "Ranking"]
    assert [s["title"] for s in third["stages"]] == ["Rollout"]
    assert first["description"] == "The index exists and is kept up to date; nothing reads it yet."
    assert first["gate_criteria"] == ["the migration applies on both databases",
                                      "the index matches the tables after a backfill of 100k issues"]
    assert second["gate_criteria"][0] == "p50 search latency under 20 ms at 100k issues"
    assert depends(plan, "Write path") == ["Index schema"]
    # "Depends on: Phase 1" in the phase holds for each of its stages; "(after: ...)" in a title
    assert depends(plan, "Query parser") == ["Index schema", "Write path"]
    assert depends(plan, "Ranking") == ["Index schema", "Query parser", "Write path"]
    schema = by_title(plan)["Index schema"]
    assert [t["title"] for t in schema["tasks"]] == [
        "Choose the tokenizer (unicode61, diacritics removed)", "Write the migration for SQLite and PostgreSQL",
        "Document the schema"]
    tokenizer, migration, _ = schema["tasks"]
    assert tokenizer["complexity_hours"] == 1.0  # explicit "(1h)"
    assert migration["complexity_hours"] == 2.0  # heuristic: 1 h + 2 nested items x 0.5 h
    assert "tsvector" in migration["description"] and "FTS5" in migration["description"]
    assert schema["complexity_hours"] == 3.0  # the stage's own "(3h)"
    assert by_title(plan)["Ranking"]["complexity_hours"] == 8.0  # "Estimate: 1d"
    assert by_title(plan)["Query parser"]["tasks"][0]["complexity_hours"] == 2.0  # "(~2h)"
    assert [t["title"] for t in third["stages"][0]["tasks"]] == [
        "Feature flag in the server config", "Dashboards for index lag", "Remove the old LIKE code path"]
    assert plan["estimated_hours"] == pytest.approx(sum(s["complexity_hours"] for s in stages(plan)))


async def test_a_flat_list_of_sections_is_one_phase(api):
    plan = await api.decompose(document("flat-sections-cli-tool.md"), slug="export")
    check_ids(plan)
    assert plan["document_slug"] == "export"
    [phase] = plan["phases"]
    assert phase["title"] == "crosslink export command"
    assert phase["description"].startswith("A new crosslink export subcommand")
    assert [s["title"] for s in phase["stages"]] == ["Output format", "Reader", "Command line", "Tests"]
    assert depends(plan, "Command line") == ["Output format", "Reader"]
    assert depends(plan, "Tests") == ["Command line"]
    reader = by_title(plan)["Reader"]
    assert reader["description"].startswith("Read the database in pages of 500 rows")
    assert len(reader["tasks"]) == 3 and reader["complexity_hours"] == 3.0


async def test_a_single_heading_is_one_phase_with_one_stage(api):
    plan = await api.decompose(document("single-heading-bugfix.md"))
    check_ids(plan)
    [phase] = plan["phases"]
    [stage] = phase["stages"]
    assert stage["title"] == phase["title"] == "Fix: sessions started by the CLI are invisible to the dashboard"
    assert stage["description"].startswith("The dashboard lists sessions")
    assert [t["title"] for t in stage["tasks"]] == [
        "Add a query for sessions without an agent", 'Show them under "no agent" in the dashboard',
        "Regression test with a database written by the CLI"]
    assert [t["complexity_hours"] for t in stage["tasks"]] == [0.5, 1.0, 2.0]  # "(30 min)"; 2 nested items
    assert plan["document_slug"] == "fix-sessions-started-by-the-cli-are-invisible-to-the-dashboard"


async def test_a_checklist_without_headings_is_a_list_of_stages(api):
    plan = await api.decompose(document("checklist-release.md"))
    check_ids(plan)
    [phase] = plan["phases"]
    assert phase["title"] == "Release 0.6.0 checklist"
    assert [s["title"] for s in phase["stages"]] == [
        "Bump the version in pyproject.toml and the changelog", "Run the full benchmark suite and commit BENCHMARKS.md",
        "Update the API reference", "Tag the release", "Announce it in the team channel"]
    stage = by_title(plan)
    assert stage["Run the full benchmark suite and commit BENCHMARKS.md"]["complexity_hours"] == 2.0
    assert [t["title"] for t in stage["Tag the release"]["tasks"]] == ["sign the tag", "push the tag to the remote"]
    assert all(not s["depends_on"] for s in stages(plan))


async def test_milestones_dependencies_sections_agents_and_exit_criteria(api):
    plan = await api.decompose(document("milestones-rfc.md"))
    check_ids(plan)
    assert [p["title"] for p in plan["phases"]] == ["Milestone 1 — Lock files on the hub", "Milestone 2 — Staleness"]
    first, second = plan["phases"]
    assert [s["title"] for s in first["stages"]] == ["Lock file format", "Claim and release"]
    assert first["gate_criteria"][0] == "Two agents claiming the same issue from two clones: exactly one wins"
    claim = by_title(plan)["Claim and release"]
    assert claim["agent_count"] == 2
    assert depends(plan, "Claim and release") == ["Lock file format"]  # a "Dependencies" sub-section
    assert [t["complexity_hours"] for t in claim["tasks"]] == [4.0, 1.0]
    # "(after: Claim and release)": a title with "and" in it is one name
    assert depends(plan, "Heartbeat reader") == ["Claim and release"]
    assert depends(plan, "Auto-steal") == ["Heartbeat reader"]
    assert second["description"] == "Estimate the staleness from heartbeats instead of claim times."


async def test_sections_with_sub_sections_are_phases_without_phase_words(api):
    plan = await api.decompose(document("nested-architecture.md"))
    check_ids(plan)
    assert [p["title"] for p in plan["phases"]] == ["Backend", "Frontend", "Packaging"]  # "Non-goals" is context
    backend, frontend, packaging = plan["phases"]
    assert [s["title"] for s in backend["stages"]] == ["Aggregated status endpoint", "WebSocket relay"]
    assert backend["gate_criteria"] == ["The endpoint answers in under 50 ms at 10k issues"]
    assert [s["title"] for s in frontend["stages"]] == ["Agent board", "Milestone view"]
    assert depends(plan, "Milestone view") == ["Aggregated status endpoint", "WebSocket relay"]
    assert [s["title"] for s in packaging["stages"]] == ["Packaging"]


async def test_the_decomposed_plan_is_current_and_listed(api):
    assert_error(await api.call("GET", "/orchestrator/plan"), 404, "No plan")
    assert (await api.get("/orchestrator/plans")) == {"items": [], "total": 0}
    first = await api.decompose(document("flat-sections-cli-tool.md"))
    assert await api.get("/orchestrator/plan") == first
    second = await api.decompose(document("milestones-rfc.md"))
    assert await api.get("/orchestrator/plan") == second
    listed = await api.get("/orchestrator/plans")
    assert listed["total"] == 2
    assert [(p["id"], p["current"], p["decomposer"]) for p in listed["items"]] == [
        (second["id"], True, "markdown"), (first["id"], False, "markdown")]
    assert listed["items"][1]["total_stages"] == 4
    page = await api.get("/orchestrator/plans", query_string={"limit": 1, "offset": 1})
    assert [p["id"] for p in page["items"]] == [first["id"]] and page["total"] == 2
    record = await api.get(f"/orchestrator/plans/{first['id']}")
    assert record["plan"] == first and record["current"] is False and record["decomposer"] == "markdown"
    assert record["source_document"] == document("flat-sections-cli-tool.md")
    assert record["stored_at"] == first["created_at"]
    assert_error(await api.call("GET", "/orchestrator/plans/no-such-plan"), 404, "no-such-plan")
    assert_error(await api.call("GET", "/orchestrator/plans/..%2F..%2Fetc"), 404)


async def test_bad_documents_are_400s_naming_the_problem(api):
    assert_error(await api.post("/orchestrator/decompose", {"document": "   "}), 400, "document")
    assert_error(await api.post("/orchestrator/decompose", {}), 400, "document")
    assert_error(await api.post("/orchestrator/decompose", {"document": 7}), 400, "document")
    assert_error(await api.post("/orchestrator/decompose", {"document": "# A\n", "slug": "../x"}), 400, "slug")
    assert_error(await api.post("/orchestrator/decompose", {"document": "# A\n", "decomposer": "gpt"}), 400,
                 "no decomposer is called 'gpt'", "markdown")
    unknown = "# Plan\n\n## Build\n- code\n\n## Test\nDepends on: Deploy\n- run\n"
    body = assert_error(await api.post("/orchestrator/decompose", {"document": unknown}), 400, "'Deploy'",
                        "matches no stage")
    assert body["problems"] == [
        "phases[0].stages[1].depends_on[0]: 'Deploy' (in stage 'Test') matches no stage or phase"]
    cycle = "# Plan\n\n## A\nDepends on: B\n- a\n\n## B\nDepends on: A\n- b\n"
    assert_error(await api.post("/orchestrator/decompose", {"document": cycle}), 400, "dependency cycle",
                 "'A' -> 'B' -> 'A'")
    ambiguous = ("# Plan\n\n## Phase 1: One\n### Tests\n- t\n## Phase 2: Two\n### Tests\n- t\n"
                 "### Release\nDepends on: Tests\n- r\n")
    assert_error(await api.post("/orchestrator/decompose", {"document": ambiguous}), 400, "'Tests'", "ambiguous")
    assert_error(await api.call("GET", "/orchestrator/plan"), 404)  # nothing was stored
