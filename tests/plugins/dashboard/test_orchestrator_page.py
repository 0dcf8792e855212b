"""The Orchestrator page end to end with the manual launcher: a document uploaded and
decomposed from the page, the plan drawn as phases, stages and dependency arrows, then executed,
paused, resumed, stages reported, retried and skipped from the page and over the API (the board
follows within a second), and a second execution cancelled."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP

pytestmark = [pytest.mark.slow, SESSION_LOOP]

SECOND_MS = 1000

DOCUMENT = """# Tiny release

## Phase 1: Build

### Schema
- write the tables

### API
Depends on: Schema
- the routes

## Phase 2: Ship

### Docs
- the readme
"""


def api(live, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{live.url}/api/v1{path}", timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def card(page, title: str):
    return page.locator("#orchestrator-board .stage-card", has_text=title)


def column(page, name: str):
    return page.locator(f'#orchestrator-board [data-column="{name}"]')


async def confirm(page) -> None:
    await page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()


async def test_decompose_and_execute_a_plan_from_the_page(repo, tmp_path, live_server_factory, tab_factory):
    live = live_server_factory()
    tab = await tab_factory(live.url)
    page = await tab.goto("/orchestrator")
    await expect(page.locator("#no-plan")).to_be_visible()

    # upload the document (read into the text field by the page), then decompose
    design = tmp_path / "tiny-release.md"
    design.write_text(DOCUMENT)
    await page.locator("#decompose-file").set_input_files(str(design))
    await expect(page.locator("#decompose-document")).to_have_value(DOCUMENT)
    await expect(page.locator("#decompose-slug")).to_have_value("tiny-release")
    await page.locator("#decompose-form button[type=submit]").click()
    await expect(page.locator("#plan-title")).to_have_text("Tiny release")
    await tab.goto("/orchestrator")
    plan = api(live, "GET", "/orchestrator/plan")
    assert plan["document_slug"] == "tiny-release"
    stages = {stage["title"]: stage["id"] for phase in plan["phases"] for stage in phase["stages"]}

    graph = page.locator("#orchestrator-graph svg")
    await expect(graph.locator(".phase-band")).to_have_count(2)
    await expect(graph.locator(".stage-node")).to_have_count(3)
    edge = graph.locator("path.edge")
    await expect(edge).to_have_count(1)
    await expect(edge).to_have_attribute("data-from", stages["Schema"])
    await expect(edge).to_have_attribute("data-to", stages["API"])
    await expect(page.locator("#execution-state")).to_have_text("idle")
    await tab.screenshot("orchestrator-plan")

    # execute with the manual launcher: the ready stages run, API waits for Schema
    await page.locator("#execute-form button[type=submit]").click()
    await expect(page.locator("#execution-state")).to_have_text("running")
    await expect(column(page, "running")).to_contain_text("Schema")
    await expect(column(page, "running")).to_contain_text("Docs")
    await expect(card(page, "API")).to_have_class("stage-card status-pending")
    await expect(graph.locator(f'[data-stage="{stages["Schema"]}"]')).to_have_attribute("data-status", "running")

    await page.locator(".pause-button").click()
    await expect(page.locator("#execution-state")).to_have_text("paused")
    await page.locator("#execute-form button[type=submit]").click()  # "Resume"
    await expect(page.locator("#execution-state")).to_have_text("running")

    # reports from the page move the cards
    await card(page, "Schema").locator(".stage-done").click()
    await expect(column(page, "done")).to_contain_text("Schema")
    await expect(column(page, "running")).to_contain_text("API")
    await expect(edge).to_have_class("edge done")

    # a report over the API appears on the open page within a second
    api(live, "POST", f"/orchestrator/stages/{stages['Docs']}/failed", json={"message": "the readme build broke"})
    await expect(column(page, "failed")).to_contain_text("the readme build broke", timeout=SECOND_MS)

    await card(page, "Docs").locator(".stage-retry").click()
    await expect(column(page, "running")).to_contain_text("Docs")
    await expect(card(page, "Docs")).to_contain_text("attempt 2")
    api(live, "POST", f"/orchestrator/stages/{stages['Docs']}/failed", json={"message": "still broken"})
    await expect(column(page, "failed")).to_contain_text("still broken", timeout=SECOND_MS)
    await card(page, "Docs").locator(".stage-skip").click()
    await confirm(page)
    await expect(column(page, "skipped")).to_contain_text("Docs")
    await tab.screenshot("orchestrator-board")

    await card(page, "API").locator(".stage-done").click()
    await expect(page.locator("#execution-state")).to_have_text("done")
    await expect(page.locator("#execution-progress")).to_have_text("100.0%")
    assert api(live, "GET", "/orchestrator/status")["state"] == "done"

    # the overview shows the execution
    page = await tab.goto("/")
    await expect(page.locator("#panel-execution [data-execution-state]")).to_have_text("done")

    # a second execution of the same plan, cancelled from the page
    page = await tab.goto("/orchestrator")
    await page.locator("#execute-form button[type=submit]").click()
    await expect(page.locator("#execution-state")).to_have_text("running")
    await page.locator(".cancel-button").click()
    await confirm(page)
    await expect(page.locator("#execution-state")).to_have_text("cancelled")
    assert api(live, "GET", "/orchestrator/status")["state"] == "cancelled"
    tab.assert_clean()


async def test_a_document_without_work_shows_the_servers_problems(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    tab = await tab_factory(live.url)
    page = await tab.goto("/orchestrator")
    await page.locator("#decompose-document").fill("   ")
    await page.locator("#decompose-form button[type=submit]").click()
    status = page.locator("#decompose-form .form-status")
    await expect(status).to_have_attribute("data-kind", "error")
    await expect(page.locator("#no-plan")).to_be_visible()
    tab.assert_clean(refused=(400,))


async def test_a_command_stage_runs_and_its_log_is_shown(repo, live_server_factory, tab_factory):
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text(
        '[plugins.orchestrator]\nstage_command = "echo \\"built $CROSSLINK_STAGE_TITLE <b>as text</b>\\""\n')
    live = live_server_factory()
    api(live, "POST", "/orchestrator/decompose", json={"document": "# One\n\n## Compile\n- the code\n"})
    tab = await tab_factory(live.url)
    page = await tab.goto("/orchestrator")
    await page.locator("#execute-launcher").fill("command")
    await page.locator("#execute-form button[type=submit]").click()
    await expect(page.locator("#execution-state")).to_have_text("done", timeout=30_000)
    await card(page, "Compile").locator(".stage-log-link").click()
    await expect(page.locator("h1")).to_have_text("Log of Compile")
    await expect(page.locator("#stage-log-content")).to_have_text("built Compile <b>as text</b>\n")
    await expect(page.locator("#stage-log-status")).to_have_text("done")
    await tab.screenshot("orchestrator-stage-log")
    missing = await tab.goto("/orchestrator/stages/no-such-stage/log", live=False)
    await expect(missing.locator(".error-page")).to_contain_text("no-such-stage")
    tab.assert_clean(refused=(404,))
