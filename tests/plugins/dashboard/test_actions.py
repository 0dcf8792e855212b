"""Every action of the dashboard works end to end in a real browser: through the API, with the
server's validation messages shown next to the fields and its ``detail`` in the form."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP
from .seed import seed_api, seed_hub

pytestmark = [pytest.mark.slow, SESSION_LOOP]


def api(live, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{live.url}/api/v1{path}", timeout=30, **kwargs)


async def test_issue_actions(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    seeded = seed_api(live.url)
    auth = seeded.issues["auth"]
    tab = await tab_factory(live.url)

    page = await tab.goto("/issues/new")
    await page.get_by_role("button", name="Create issue").click()
    await expect(page.locator('[data-error-for="title"]')).to_have_text("title must not be empty")
    await expect(page.locator("#new-title")).to_have_attribute("aria-invalid", "true")
    await page.fill("#new-title", "Made from the dashboard")
    await page.fill("#new-description", "With a *description*.")
    await page.select_option("#new-priority", "high")
    await page.fill("#new-parent", "not a number")
    await page.get_by_role("button", name="Create issue").click()
    await expect(page.locator('[data-error-for="parent_id"]')).to_contain_text("valid integer")
    await page.fill("#new-parent", "")
    await page.get_by_role("button", name="Create issue").click()
    await page.wait_for_url(re.compile(r"/issues/\d+$"))
    issue = int(page.url.rsplit("/", 1)[1])
    created = api(live, "GET", f"/issues/{issue}").json()
    assert (created["title"], created["priority"], created["description"]) == (
        "Made from the dashboard", "high", "With a *description*.")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    # comment, with its kind; an empty one is refused next to the field
    comments = page.locator("#issue-comments .comment")
    await page.get_by_role("button", name="Add comment").click()
    await expect(page.locator('[data-error-for="content"]')).to_have_text("content must not be empty")
    await page.fill("#comment-content", "The plan: **small steps**.")
    await page.select_option("#comment-kind", "plan")
    await page.get_by_role("button", name="Add comment").click()
    await expect(comments).to_have_count(1)
    await expect(comments.first.locator(".badge.kind")).to_have_text("plan")
    await expect(comments.first.locator("strong")).to_have_text("small steps")
    await expect(page.locator("#comment-content")).to_have_value("")
    assert api(live, "GET", f"/issues/{issue}/comments").json()[0]["kind"] == "plan"

    # labels: add, a duplicate is the server's 409, remove
    await page.fill("#label-name", "ui")
    await page.get_by_role("button", name="Add label").click()
    await expect(page.locator("#issue-labels")).to_contain_text("ui")
    await page.fill("#label-name", "ui")
    await page.get_by_role("button", name="Add label").click()
    await expect(page.locator(".label-form .form-status")).to_contain_text("already has the label")
    await page.get_by_role("button", name="Remove label ui").click()
    await expect(page.locator("#issue-labels")).to_have_text("none")
    assert api(live, "GET", f"/issues/{issue}/labels").json() == []

    # blockers: add, refuse a self-block with the server's words, remove
    await page.fill("#blocker-id", str(auth))
    await page.get_by_role("button", name="Add blocker").click()
    await expect(page.locator("#issue-blockers")).to_contain_text("Fix auth timeout")
    await page.fill("#blocker-id", str(issue))
    await page.get_by_role("button", name="Add blocker").click()
    await expect(page.locator(".block-form .form-status")).to_contain_text("cannot block itself")
    assert api(live, "GET", f"/issues/{issue}").json()["blockers"] == [auth]
    await page.get_by_role("button", name=f"Remove blocker #{auth}").click()
    await expect(page.locator("#issue-blockers")).to_have_text("nothing")

    # milestone
    await page.select_option("#milestone-choice", str(seeded.milestone))
    await page.get_by_role("button", name="Set milestone").click()
    await expect(page.locator("#issue-milestone")).to_contain_text("v1.0")

    # edit title, description (emptied: cleared), priority
    await page.locator(".edit-issue summary").click()
    await page.fill("#edit-title", "Renamed from the dashboard")
    await page.fill("#edit-description", "")
    await page.select_option("#edit-priority", "low")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#issue-title")).to_have_text("Renamed from the dashboard")
    edited = api(live, "GET", f"/issues/{issue}").json()
    assert (edited["title"], edited["description"], edited["priority"]) == ("Renamed from the dashboard", None, "low")

    # close and reopen
    await page.get_by_role("button", name="Close issue").click()
    await expect(page.locator("#issue-head .meta .badge").first).to_have_text("closed")
    assert api(live, "GET", f"/issues/{issue}").json()["status"] == "closed"
    await page.get_by_role("button", name="Reopen issue").click()
    await expect(page.locator("#issue-head .meta .badge").first).to_have_text("open")

    # a subissue, then delete the parent (with its subissue) after confirming
    await page.locator(".subissue summary").click()
    await page.fill("#sub-title", "A child from the dashboard")
    await page.get_by_role("button", name="Create subissue").click()
    await page.wait_for_url(re.compile(r"/issues/\d+$"))
    child = int(page.url.rsplit("/", 1)[1])
    await expect(page.locator(".breadcrumbs")).to_contain_text("Renamed from the dashboard")
    page = await tab.goto(f"/issues/{issue}")
    await page.locator(".danger-zone summary").click()
    await page.get_by_role("button", name=f"Delete issue #{issue}").click()
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#confirm-message")).to_contain_text(f"Delete issue #{issue}")
    await dialog.get_by_role("button", name="Cancel").click()
    assert api(live, "GET", f"/issues/{issue}").status_code == 200
    await page.get_by_role("button", name=f"Delete issue #{issue}").click()
    await dialog.get_by_role("button", name="Confirm").click()
    await page.wait_for_url(f"{live.url}/issues")
    assert api(live, "GET", f"/issues/{issue}").status_code == 404
    assert api(live, "GET", f"/issues/{child}").status_code == 404
    tab.assert_clean(refused=(400, 409))


async def test_milestone_actions(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    tab = await tab_factory(live.url)
    page = await tab.goto("/milestones")
    await page.get_by_role("button", name="Create milestone").click()
    await expect(page.locator(".milestone-create .form-status")).to_contain_text("name must not be empty")
    await page.fill("#milestone-name", "v2.0")
    await page.fill("#milestone-description", "The next one")
    await page.get_by_role("button", name="Create milestone").click()
    await expect(page.locator(".milestone h2")).to_contain_text(["v2.0"])
    milestone = api(live, "GET", "/milestones").json()["items"][0]
    await page.locator(f"#milestone-{milestone['id']}").get_by_role("button", name="Close").click()
    await page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    await expect(page.locator(f"#milestone-{milestone['id']}")).to_have_count(0)  # the page lists open ones
    assert api(live, "GET", f"/milestones/{milestone['id']}").json()["status"] == "closed"
    page = await tab.goto("/milestones?status=closed")
    await page.locator(f"#milestone-{milestone['id']}").get_by_role("button", name="Reopen").click()
    await expect(page.locator(f"#milestone-{milestone['id']}")).to_have_count(0)
    assert api(live, "GET", f"/milestones/{milestone['id']}").json()["status"] == "open"
    tab.assert_clean(refused=(400,))


async def test_lock_claim_steal_and_release(repo, live_server_factory, tab_factory):
    seed_hub(repo)
    live = live_server_factory()
    seeded = seed_api(live.url)
    dark = seeded.issues["dark"]
    tab = await tab_factory(live.url)
    page = await tab.goto("/locks")

    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator('.claim-form [data-error-for="issue_id"]')).to_have_text("required")
    await page.fill("#claim-issue", str(dark))
    await page.fill("#claim-agent", "human-1")
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator(f"#lock-{dark}")).to_contain_text("human-1")
    assert api(live, "GET", f"/locks/{dark}").json()["agent_id"] == "human-1"

    # a live lock cannot be stolen: the server's 409 detail is shown
    row = page.locator(f"#lock-{dark}")
    await row.get_by_role("button", name="Steal").click()
    await page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    await expect(row.locator(".steal-form .form-status")).to_contain_text("not stale")

    # the stale hub lock of an agent that went away: cancel first, then steal
    stale = page.locator("#lock-4")
    await expect(stale).to_have_class("is-stale")
    await stale.get_by_role("button", name="Steal").click()
    await page.locator("#confirm-dialog").get_by_role("button", name="Cancel").click()
    assert api(live, "GET", "/locks/4").json()["agent_id"] == "gone-agent"
    await stale.locator(".steal-form input[name=agent_id]").fill("rescuer")
    await stale.get_by_role("button", name="Steal").click()
    await expect(page.locator("#confirm-message")).to_have_text("Steal the lock on #4 from gone-agent?")
    await page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    await expect(stale).to_contain_text("rescuer")
    await expect(stale).not_to_have_class("is-stale")
    stolen = api(live, "GET", "/locks/4").json()
    assert (stolen["agent_id"], stolen["source"]) == ("rescuer", "server")

    # release the server lock of human-1
    await row.get_by_role("button", name="Release").click()
    await page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    await expect(page.locator(f"#lock-{dark}")).to_have_count(0)
    assert api(live, "GET", f"/locks/{dark}").status_code == 404
    tab.assert_clean(refused=(409,))


async def test_knowledge_create_edit_and_version_check(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    tab = await tab_factory(live.url)
    page = await tab.goto("/knowledge/new")
    await page.fill("#page-slug", "Bad Slug!")
    await page.fill("#page-title", "Deploying")
    await page.get_by_role("button", name="Create page").click()
    await expect(page.locator('[data-error-for="slug"]')).not_to_be_empty()
    await page.fill("#page-slug", "deploying")
    await page.fill("#page-tags", "ops, release")
    await page.fill("#page-content", "# Deploying\n\nRun `make deploy`.")
    await page.get_by_role("button", name="Create page").click()
    await page.wait_for_url(f"{live.url}/knowledge/deploying")
    await expect(page.locator("#knowledge-content code")).to_have_text("make deploy")
    created = api(live, "GET", "/knowledge/deploying").json()
    assert created["tags"] == ["ops", "release"] and created["contributors"] == ["dashboard"]

    await page.get_by_role("link", name="Edit").click()
    await page.fill("#page-content", "# Deploying\n\nRun `make deploy` twice.")
    await page.get_by_role("button", name="Save page").click()
    await page.wait_for_url(f"{live.url}/knowledge/deploying")
    await expect(page.locator("#knowledge-content p")).to_contain_text("twice")

    # someone else changes the page while the form is open: the save is refused, not lost
    page = await tab.goto("/knowledge/deploying/edit")
    version = api(live, "GET", "/knowledge/deploying").json()["version"]
    changed = api(live, "PATCH", "/knowledge/deploying", json={"content": "An agent's version.", "version": version})
    assert changed.status_code == 200, changed.text
    await page.fill("#page-content", "My version.")
    await page.get_by_role("button", name="Save page").click()
    await expect(page.locator(".knowledge-form .form-status")).to_contain_text("changed")
    assert api(live, "GET", "/knowledge/deploying").json()["content"].strip() == "An agent's version."
    tab.assert_clean(refused=(400, 412))


async def test_config_form_saves_with_patch_and_shows_validation(repo, live_server_factory, tab_factory):
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "hook-config.json").write_text(json.dumps({"tracking_mode": "strict", "cli_only": 7}))
    live = live_server_factory()
    tab = await tab_factory(live.url)
    page = await tab.goto("/config")
    await expect(page.locator("#config-tracking_mode")).to_have_value("strict")
    await page.fill("#config-stale_lock_timeout_minutes", "0")
    await page.get_by_role("button", name="Save config").click()
    await expect(page.locator('[data-error-for="stale_lock_timeout_minutes"]')).to_contain_text("greater than or equal to 1")
    await page.fill("#config-stale_lock_timeout_minutes", "45")
    await page.select_option("#config-signing_enforcement", "audit")
    await page.check("#config-auto_steal_stale_locks")
    await page.get_by_role("button", name="Save config").click()
    await expect(page.locator(".config-form .form-status")).to_have_text("Saved")
    stored = json.loads((repo / ".crosslink" / "hook-config.json").read_text())
    assert stored["stale_lock_timeout_minutes"] == 45 and stored["signing_enforcement"] == "audit"
    assert stored["auto_steal_stale_locks"] == 2 and stored["cli_only"] == 7 and stored["tracking_mode"] == "strict"
    page = await tab.goto("/config")
    await expect(page.locator("#config-stale_lock_timeout_minutes")).to_have_value("45")
    tab.assert_clean(refused=(400,))
