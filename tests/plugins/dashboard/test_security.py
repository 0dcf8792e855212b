"""The dashboard in a browser against hostile content and with a token: a knowledge page (or an
issue) holding script cannot run it, and with ``--token`` the printed one-time link logs the
browser in with an HttpOnly, SameSite=Strict cookie while the token stays out of the page."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP

pytestmark = [pytest.mark.slow, SESSION_LOOP]

TOKEN = "dashboard-test-token-0123456789"
HOSTILE = """# Looks harmless

<script>window.__pwned = "script";</script>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onerror="window.__pwned = 'onerror'" onload="window.__pwned = 'onload'">
<a id="evil-link" href="javascript:window.__pwned='link'">click me</a>
<iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>
<style>body { display: none; }</style>
<p style="position: fixed">styled</p>
<svg><script>window.__pwned = "svg"</script></svg>
<details open><summary>More</summary>Kept.</details>
"""


async def test_a_knowledge_page_holding_script_does_not_run_it(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    api = f"{live.url}/api/v1"
    created = httpx.post(f"{api}/knowledge", json={
        "slug": "evil", "title": "<script>window.__pwned='title'</script>Evil", "content": HOSTILE}, timeout=30)
    assert created.status_code == 201, created.text
    issue = httpx.post(f"{api}/issues", json={"title": "<img src=x onerror=alert(1)>", "description": HOSTILE}).json()["id"]
    assert httpx.post(f"{api}/issues/{issue}/comments", json={"content": HOSTILE}).status_code == 201
    tab = await tab_factory(live.url)

    for path, content in (("/knowledge/evil", "#knowledge-content"), (f"/issues/{issue}", "#issue-comments")):
        page = await tab.goto(path)
        await expect(page.locator(content)).to_contain_text("Looks harmless")
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("main script, main iframe, main style, main [onerror], main [onload], main [style]").count() == 0
        link = page.locator(f"{content} a", has_text="click me").first
        assert (await link.get_attribute("href")) in (None, "")
        await link.click()
        assert await page.evaluate("window.__pwned") is None
        await expect(page.locator(f"{content} details summary").first).to_have_text("More")
        assert await page.locator("body").is_visible()
    await expect(page.locator("#issue-title")).to_have_text("<img src=x onerror=alert(1)>")  # shown as text
    page = await tab.goto("/knowledge/evil")
    await expect(page.locator(".page-head h1")).to_have_text("<script>window.__pwned='title'</script>Evil")
    await tab.screenshot("knowledge-hostile-page")
    # the sanitiser removed it all: the Content-Security-Policy never had to refuse anything
    tab.assert_clean()


def printed_login_url(live) -> str:
    match = re.search(r"Dashboard: (\S+)", live.text())
    assert match, live.text()
    return match.group(1)


async def test_the_token_flow(repo, live_server_factory, tab_factory):
    live = live_server_factory("--token", TOKEN)
    url = printed_login_url(live)
    assert re.fullmatch(re.escape(live.url) + r"/login\?code=[A-Za-z0-9_-]{40,}", url) and TOKEN not in url
    assert "one-time login link" in live.text()
    assert httpx.get(f"{live.url}/").status_code == 401
    assert httpx.get(f"{live.url}/issues").text.count('type="password"') == 1
    assert httpx.get(f"{live.url}/api/v1/issues").status_code == 401

    tab = await tab_factory(live.url)
    page = tab.page
    await page.goto(url)
    await page.wait_for_url(f"{live.url}/")  # a clean URL: the code is gone
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")  # /ws by cookie
    cookies = await tab.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
        ("crosslink_session", True, "Strict", "/")]
    session = cookies[0]["value"]
    assert TOKEN not in session
    exposed = await page.evaluate(
        "() => JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}, document.documentElement.outerHTML])")
    assert TOKEN not in exposed and session not in exposed

    # the page's API calls authenticate by the cookie: create an issue through the form
    page = await tab.goto("/issues/new")
    await page.fill("#new-title", "Made with a session cookie")
    await page.get_by_role("button", name="Create issue").click()
    await page.wait_for_url(re.compile(r"/issues/\d+$"))
    issue = int(page.url.rsplit("/", 1)[1])
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{live.url}/api/v1/issues/{issue}", headers=headers).json()["title"] == "Made with a session cookie"
    tab.assert_clean()

    # the cookie works for other clients too; a forged one does not
    assert httpx.get(f"{live.url}/api/v1/issues", cookies={"crosslink_session": session}).status_code == 200
    forged = session[:-3] + ("AAA" if not session.endswith("AAA") else "BBB")
    assert httpx.get(f"{live.url}/api/v1/issues", cookies={"crosslink_session": forged}).status_code == 401

    # the code was spent: another browser gets the login page, and the token typed once works
    other = await tab_factory(live.url)
    response = await other.page.goto(url)
    assert response.status == 401
    await expect(other.page.locator(".error-text")).to_contain_text("used already")
    await other.page.fill("#login-token", "not the token")
    await other.page.get_by_role("button", name="Log in").click()
    await expect(other.page.locator(".error-text")).to_contain_text("not this server's token")
    await other.page.fill("#login-token", TOKEN)
    await other.page.get_by_role("button", name="Log in").click()
    await other.page.wait_for_url(f"{live.url}/")
    await expect(other.page.locator("#live-status")).to_have_attribute("data-state", "live")
    await other.screenshot("login-done")

    # a deep link asks for login and comes back; logging out ends the session
    third = await tab_factory(live.url)
    await third.page.goto(f"{live.url}/issues/{issue}")
    await third.page.fill("#login-token", TOKEN)
    await third.page.get_by_role("button", name="Log in").click()
    await third.page.wait_for_url(f"{live.url}/issues/{issue}")
    await third.page.get_by_role("button", name="Log out").click()
    await third.page.wait_for_url(f"{live.url}/login")
    assert await third.context.cookies() == []
