"""The dashboard's frame, in-process (Quart test client): security headers, the login gate and
its one-time codes, the page hooks' checks, the Markdown sanitiser."""

from __future__ import annotations

import re

import pytest
from quart import Blueprint

from kernel import PluginInfo, StartupError, hookimpl
from kernel.browser_sessions import COOKIE_NAME
from plugins.dashboard.declarations import DashboardPage
from plugins.dashboard.markdown import render_markdown
from plugins.dashboard.site import CONTENT_SECURITY_POLICY

TOKEN = "dashboard-site-token-0123456789"


async def test_pages_carry_a_strict_content_security_policy(app_factory):
    server = await app_factory()
    for path in ("/", "/issues", "/agents", "/locks", "/sessions", "/milestones", "/knowledge", "/config",
                 "/orchestrator", "/usage", "/sync"):
        response = await server.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert re.fullmatch(r"app;dur=\d+\.\d", response.headers["Server-Timing"])
        body = await response.get_data(as_text=True)
        assert "<script>" not in body and " style=" not in body and "<style" not in body, path
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    asset = await server.client.get("/assets/js/app.js")
    assert asset.status_code == 200 and asset.mimetype == "text/javascript"


async def test_with_a_token_pages_need_a_login_and_a_code_works_once(app_factory):
    server = await app_factory(token=TOKEN)
    dashboard = server.kernel.services.require("dashboard")
    gated = await server.client.get("/issues?status=all")
    assert gated.status_code == 401 and 'name="next" value="/issues?status=all"' in await gated.get_data(as_text=True)
    assert (await server.client.get("/assets/dashboard.css")).status_code == 200  # no data in assets

    url = dashboard.login_url("http://127.0.0.1:3100")
    code = url.split("code=", 1)[1]
    signed_in = await server.client.get(f"/login?code={code}")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/"
    cookie = signed_in.headers["Set-Cookie"]
    assert f"{COOKIE_NAME}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert (await server.client.get("/issues")).status_code == 200

    server.client.cookie_jar.clear()
    assert (await server.client.get(f"/login?code={code}")).status_code == 401  # spent
    assert (await server.client.get("/login?code=made-up")).status_code == 401
    bearer = await server.client.get("/issues", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200  # scripts with the token may read pages too


async def test_login_never_redirects_to_another_site(app_factory):
    server = await app_factory(token=TOKEN)
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "/ok\r\nSet-Cookie: a=b"):
        response = await server.client.post("/login", form={"token": TOKEN, "next": target})
        assert response.status_code == 303 and response.headers["Location"] == "/", target
    response = await server.client.post("/login", form={"token": TOKEN, "next": "/issues?status=all"})
    assert response.headers["Location"] == "/issues?status=all"


async def test_the_startup_line_names_the_dashboard(app_factory):
    server = await app_factory()
    lines = await server.kernel._call_runtime("crosslink_startup_lines", kernel=server.kernel, base_url="http://h:1")
    assert dict(lines)["dashboard"] == ["  Dashboard: http://h:1/"]


class BadPages:
    PLUGIN = PluginInfo(name="badpages")

    def __init__(self, *pages):
        self.pages = pages

    @hookimpl(optionalhook=True)
    def crosslink_dashboard_pages(self, kernel):
        return list(self.pages)


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ((DashboardPage("Bad Name", "x", Blueprint("bad1", __name__)),), "must be lower-case"),
        ((DashboardPage("issues", "Mine", Blueprint("bad2", __name__)),), "already a dashboard page named 'issues'"),
        ((DashboardPage("mine", "Mine", Blueprint("bad3", __name__), shortcut="i"),), "takes the shortcut 'i'"),
        (("not a page",), "must be a DashboardPage"),
    ],
)
def test_a_wrong_page_declaration_is_a_startup_error(settings_factory, pages, message):
    from kernel.app import create_app

    with pytest.raises(StartupError, match=message):
        create_app(settings_factory(), extra_plugins={"badpages": BadPages(*pages)})


def test_markdown_is_rendered_and_sanitised():
    html = str(render_markdown(
        "# Title\n\n**bold** `code`\n\n<script>alert(1)</script><b onclick=\"x()\">b</b>\n\n"
        "[a](javascript:alert(1)) [ok](https://example.org)\n\n| a |\n|---|\n| 1 |"))
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<script" not in html and "alert(1)</" not in html and "onclick" not in html and "href=\"javascript" not in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html
    assert "<table>" in html
    assert str(render_markdown(None)) == ""


async def test_the_plan_graph_runs_left_to_right_and_escapes_titles(app_factory):
    """A diamond across two phases: every arrow goes from a stage's right edge to a later
    column; a hostile stage title is text, never markup."""
    server = await app_factory()
    plan = {"title": "Diamond", "phases": [
        {"title": "One", "stages": [{"title": "Root"}, {"title": "Left", "depends_on": ["Root"]},
                                    {"title": "<script>alert(1)</script>", "depends_on": ["Root"]}]},
        {"title": "Two", "stages": [{"title": "Join", "depends_on": ["Left", "<script>alert(1)</script>"]}]},
    ]}
    stored = await server.client.post("/api/v1/orchestrator/plans", json=plan)
    assert stored.status_code == 201, await stored.get_data(as_text=True)
    body = await (await server.client.get("/orchestrator")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    boxes = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(
        r'data-stage="([^"]+)" data-status="pending">\s*<title>[^<]*</title>\s*<rect x="(\d+)" y="(\d+)"', body)}
    assert len(boxes) == 4
    edges = re.findall(r'<path d="M(\d+),\d+ C[^"]*" class="edge" marker-end="url\(#arrow\)" data-from="([^"]+)" data-to="([^"]+)"', body)
    assert len(edges) == 4
    for x1, source, target in edges:
        assert int(x1) <= boxes[target][0] and boxes[source][0] < boxes[target][0]
    root, left, hostile, join = sorted(boxes, key=lambda stage: stage)  # ids are <plan>-p<i>-s<j>
    assert boxes[left][0] == boxes[hostile][0] and boxes[left][1] != boxes[hostile][1]  # one column, two rows
    assert boxes[join][1] > max(boxes[left][1], boxes[hostile][1])  # the second phase's band is below


async def test_pages_of_disabled_plugins_are_absent(app_factory):
    server = await app_factory("all,-orchestrator,-usage,-sync")
    for path in ("/orchestrator", "/usage", "/sync"):
        assert (await server.client.get(path)).status_code == 404, path
    body = await (await server.client.get("/")).get_data(as_text=True)
    assert 'id="panel-execution"' not in body and 'id="panel-usage"' not in body and 'id="panel-sync"' not in body
