"""Browser-facing extension points of the kernel: blueprints mounted at the site root, lines
under the startup banner, and session cookies standing in for the bearer token."""

from __future__ import annotations

import pytest
from quart import Blueprint

from kernel import PluginInfo, StartupError, hookimpl
from kernel.browser_sessions import COOKIE_NAME, BrowserSessions
from kernel.timeutil import Clock
from tests.support import receive_json

TOKEN = "kernel-web-token-0123456789"


class PagePlugin:
    """A plugin with a page at ``path`` and a startup line."""

    PLUGIN = PluginInfo(name="pages")

    def __init__(self, path: str) -> None:
        self.path = path

    @hookimpl
    def crosslink_register_web_blueprints(self, kernel):
        bp = Blueprint("pages", __name__)

        @bp.get(self.path)
        async def hello():
            return "a page"

        return [bp]

    @hookimpl
    def crosslink_startup_lines(self, kernel, base_url):
        return [f"  Pages:     {base_url}{self.path}"]


async def test_a_web_blueprint_is_mounted_at_the_root(app_factory):
    server = await app_factory(plugins="pages,-dashboard", extra_plugins={"pages": PagePlugin("/hello")})
    response = await server.client.get("/hello")
    assert response.status_code == 200 and await response.get_data(as_text=True) == "a page"
    lines = await server.kernel._call_runtime("crosslink_startup_lines", kernel=server.kernel, base_url="http://h:1")
    assert lines == [("pages", ["  Pages:     http://h:1/hello"])]


@pytest.mark.parametrize("path", ["/api/v1/issues", "/api", "/ws", "/docs", "/docs/docs.js", "/openapi.json"])
def test_a_web_blueprint_cannot_take_a_reserved_path(settings_factory, path):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="reserved for the API"):
        create_app(settings_factory(plugins="pages"), extra_plugins={"pages": PagePlugin(path)})


@pytest.mark.parametrize("path", ["/wsx", "/docsearch", "/apiary"])
async def test_paths_that_only_look_like_reserved_ones_are_fine(app_factory, path):
    server = await app_factory(plugins="pages", extra_plugins={"pages": PagePlugin(path)})
    assert (await server.client.get(path)).status_code == 200


async def test_a_session_cookie_stands_in_for_the_token_on_api_and_ws(app_factory):
    server = await app_factory(plugins="issues", token=TOKEN)
    cookie = server.kernel.browser_sessions.issue()
    server.client.set_cookie("localhost", COOKIE_NAME, cookie)
    assert (await server.client.get("/api/v1/issues")).status_code == 200
    async with server.client.websocket("/ws") as ws:
        assert (await receive_json(ws))["type"] == "hello"
    # a wrong bearer token is not rescued by a good cookie
    wrong = await server.client.get("/api/v1/issues", headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401
    server.client.set_cookie("localhost", COOKIE_NAME, cookie[:-2] + "xx")
    assert (await server.client.get("/api/v1/issues")).status_code == 401


def test_session_cookies_are_signed_by_the_token_and_expire():
    clock = Clock()
    sessions = BrowserSessions(TOKEN, clock)
    value = sessions.issue(seconds=60)
    assert sessions.is_valid(value)
    assert BrowserSessions(TOKEN, clock).is_valid(value)  # another instance of a team server
    assert not BrowserSessions(TOKEN + "x", clock).is_valid(value)  # a new token ends every session
    for forged in ("", "v1.9999999999.x.y", value.replace("v1.", "v2.", 1), "v1.²." + value[5:], "a" * 300):
        assert not sessions.is_valid(forged)
    clock.advance(seconds=61)
    assert not sessions.is_valid(value)
    assert not BrowserSessions(None).enabled and not BrowserSessions(None).is_valid(value)


async def test_pages_stay_out_of_the_api_document(app_factory):
    server = await app_factory(plugins="all")
    spec = await (await server.client.get("/openapi.json")).get_json()
    assert [path for path in spec["paths"] if not path.startswith("/api/v1/")] == []
    assert (await server.client.get("/assets/dashboard.css")).status_code == 200  # the wrapped static route
