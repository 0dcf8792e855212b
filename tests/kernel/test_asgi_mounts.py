"""Raw ASGI applications mounted by plugins (``crosslink_register_asgi_apps``): dispatch by path
prefix, the API's Host / Origin / token / body-size guards, and bad registrations.

Requests go through the application's real ASGI entry point (httpx's ASGI transport), which is
where the dispatcher sits; the Quart test client would bypass it.
"""

from __future__ import annotations

import httpx
import pytest

from kernel import StartupError, hookimpl
from tests.fixtures.plugins import notes, rawapp

TOKEN = "a-long-enough-secret-token"
BASE = "http://127.0.0.1:3100"


def client_for(server, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url=BASE, **kwargs)


@pytest.fixture
async def raw_server(app_factory):
    return await app_factory(plugins="rawapp,notes", extra_plugins={"rawapp": rawapp, "notes": notes})


async def test_requests_under_the_prefix_reach_the_mounted_app(raw_server):
    async with client_for(raw_server) as http:
        top = await http.get("/raw")
        below = await http.post("/raw/deeper/still", content=b"12345")
    assert top.status_code == 200
    assert top.json() == {"method": "GET", "path": "/raw", "root_path": "/raw", "body_bytes": 0}
    assert below.json() == {"method": "POST", "path": "/raw/deeper/still", "root_path": "/raw", "body_bytes": 5}


async def test_other_paths_still_reach_quart(raw_server):
    async with client_for(raw_server) as http:
        health = await http.get("/api/v1/health")
        lookalike = await http.get("/rawx")
    assert health.json()["status"] == "ok"
    assert lookalike.status_code == 404
    assert lookalike.json() == {"error": "not found", "detail": "No such route: /rawx"}


async def test_without_the_plugin_nothing_is_mounted(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    async with client_for(server) as http:
        response = await http.get("/raw")
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:3100", "10.0.0.5:3100"])
async def test_a_foreign_host_is_refused_as_by_the_api(raw_server, host):
    async with client_for(raw_server) as http:
        mounted = await http.post("/raw", headers={"Host": host})
        api = await http.get("/api/v1/health", headers={"Host": host})
    assert mounted.status_code == api.status_code == 403
    assert mounted.json() == api.json()
    assert host in mounted.json()["detail"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_foreign_origin_is_refused_on_every_method(raw_server, method):
    async with client_for(raw_server) as http:
        response = await http.request(method, "/raw", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden", "detail": "requests from origin 'https://evil.example' are not accepted"}


async def test_same_origin_and_allowed_origins_are_accepted(app_factory):
    server = await app_factory(plugins="rawapp", extra_plugins={"rawapp": rawapp},
                               allowed_origins=("http://localhost:5173",))
    async with client_for(server) as http:
        same = await http.post("/raw", headers={"Origin": BASE})
        allowed = await http.post("/raw", headers={"Origin": "http://localhost:5173"})
    assert same.status_code == allowed.status_code == 200


async def test_the_token_is_required_on_every_path_under_the_prefix(app_factory):
    server = await app_factory(plugins="rawapp", extra_plugins={"rawapp": rawapp}, token=TOKEN)
    async with client_for(server) as http:
        missing = await http.get("/raw/anything")
        wrong = await http.get("/raw", headers={"Authorization": "Bearer not-the-token-at-all"})
        query = await http.get("/raw", params={"token": TOKEN})  # only /ws takes ?token=
        right = await http.get("/raw", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == query.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json() == {"error": "unauthorized", "detail": "this server needs 'Authorization: Bearer <token>'"}
    assert wrong.json()["detail"] == "the bearer token is not valid"
    assert right.status_code == 200


async def test_a_declared_body_over_the_limit_is_refused(app_factory):
    server = await app_factory(plugins="rawapp", extra_plugins={"rawapp": rawapp}, max_body_bytes=2048)
    async with client_for(server) as http:
        small = await http.post("/raw", content=b"x" * 2048)
        large = await http.post("/raw", content=b"x" * 2049)
    assert small.json()["body_bytes"] == 2048
    assert large.status_code == 413
    assert large.json() == {"error": "payload too large", "detail": "request body is larger than 2048 bytes"}


def mounting(apps):
    """A one-hook plugin returning ``apps`` from crosslink_register_asgi_apps."""

    class Plugin:
        @hookimpl
        def crosslink_register_asgi_apps(self, kernel):
            return apps

    return Plugin()


@pytest.mark.parametrize(
    ("apps", "message"),
    [
        ({"raw": rawapp.echo_app}, "is not valid"),
        ({"/Raw": rawapp.echo_app}, "is not valid"),
        ({"/raw/": rawapp.echo_app}, "is not valid"),
        ({"/api": rawapp.echo_app}, "overlaps the kernel's /api"),
        ({"/ws/x": rawapp.echo_app}, "overlaps the kernel's /ws"),
        ({"/docs": rawapp.echo_app}, "overlaps the kernel's /docs"),
        ({"/raw": "not an app"}, "is not callable"),
        (["/raw"], "must return a dict"),
    ],
)
async def test_bad_mounts_stop_the_start_naming_the_plugin(app_factory, apps, message):
    with pytest.raises(StartupError, match=message) as caught:
        await app_factory(plugins="bad", extra_plugins={"bad": mounting(apps)})
    assert "'bad'" in str(caught.value)


async def test_two_plugins_cannot_mount_overlapping_prefixes(app_factory):
    overlap = "plugins .other. and .rawapp. mount overlapping ASGI prefixes /raw/sub and /raw"
    with pytest.raises(StartupError, match=overlap):
        await app_factory(plugins="rawapp,other",
                          extra_plugins={"rawapp": rawapp, "other": mounting({"/raw/sub": rawapp.echo_app})})
