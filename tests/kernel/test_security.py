"""Security defaults: Host (DNS rebinding), Origin (cross-site), bearer token, bind address."""

from __future__ import annotations

import pytest

from kernel import StartupError
from tests.fixtures.plugins import notes
from tests.support import receive_json

TOKEN = "a-long-enough-secret-token"


@pytest.fixture
async def notes_server(app_factory):
    return await app_factory(plugins="notes", extra_plugins={"notes": notes})


@pytest.mark.parametrize("host", ["localhost:3100", "127.0.0.1:3100", "[::1]:3100", "LOCALHOST", "127.0.0.1"])
async def test_loopback_hosts_are_served(notes_server, host):
    response = await notes_server.client.get("/api/v1/health", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:3100", "127.0.0.1.evil.example", "10.0.0.5:3100"])
async def test_foreign_host_is_refused(notes_server, host):
    response = await notes_server.client.get("/api/v1/health", headers={"Host": host})
    assert response.status_code == 403
    body = await response.get_json()
    assert body["error"] == "forbidden" and host in body["detail"]


async def test_extra_allowed_host(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes}, allowed_hosts=("crosslink.internal",))
    response = await server.client.get("/api/v1/health", headers={"Host": "crosslink.internal:3100"})
    assert response.status_code == 200


async def test_state_change_from_a_foreign_origin_is_refused(notes_server):
    response = await notes_server.client.post(
        "/api/v1/notes", json={"body": "x"}, headers={"Origin": "https://evil.example", "Host": "127.0.0.1:3100"}
    )
    assert response.status_code == 403
    assert "evil.example" in (await response.get_json())["detail"]
    count = await (await notes_server.client.get("/api/v1/notes/count")).get_json()
    assert count == {"count": 0}  # nothing was written


async def test_other_local_port_is_a_foreign_origin(notes_server):
    response = await notes_server.client.post(
        "/api/v1/notes", json={"body": "x"}, headers={"Origin": "http://127.0.0.1:8080", "Host": "127.0.0.1:3100"}
    )
    assert response.status_code == 403


async def test_same_origin_state_change_is_accepted(notes_server):
    response = await notes_server.client.post(
        "/api/v1/notes", json={"body": "x"}, headers={"Origin": "http://127.0.0.1:3100", "Host": "127.0.0.1:3100"}
    )
    assert response.status_code == 201


async def test_explicitly_allowed_origin_gets_cors(app_factory):
    server = await app_factory(
        plugins="notes", extra_plugins={"notes": notes}, allowed_origins=("http://localhost:5173",)
    )
    headers = {"Origin": "http://localhost:5173", "Host": "127.0.0.1:3100"}
    preflight = await server.client.options(
        "/api/v1/notes", headers={**headers, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    response = await server.client.post("/api/v1/notes", json={"body": "x"}, headers=headers)
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"


async def test_websocket_from_a_foreign_origin_is_refused(notes_server):
    from quart.testing.connections import WebsocketResponseError

    with pytest.raises(WebsocketResponseError) as refused:
        async with notes_server.client.websocket("/ws", headers={"Origin": "https://evil.example"}) as ws:
            await receive_json(ws)
    assert refused.value.response.status_code == 403


async def test_token_is_required_on_api_and_ws(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes}, token=TOKEN)
    assert (await server.client.get("/api/v1/health")).status_code == 200  # exempt: monitoring
    missing = await server.client.get("/api/v1/notes/count")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert (await missing.get_json())["error"] == "unauthorized"
    wrong = await server.client.get("/api/v1/notes/count", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert wrong.status_code == 401
    right = await server.client.get("/api/v1/notes/count", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200

    from quart.testing.connections import WebsocketResponseError

    with pytest.raises(WebsocketResponseError):
        async with server.client.websocket("/ws") as ws:
            await receive_json(ws)
    async with server.client.websocket(f"/ws?token={TOKEN}") as ws:
        assert (await receive_json(ws))["type"] == "hello"


def test_non_loopback_bind_needs_a_token(settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="needs a bearer token"):
        create_app(settings_factory(host="0.0.0.0", plugins="notes"), extra_plugins={"notes": notes})


async def test_wildcard_bind_with_token_accepts_any_host_but_checks_the_token(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes}, host="0.0.0.0", token=TOKEN)
    headers = {"Host": "build-box.lan:3100", "Authorization": f"Bearer {TOKEN}"}
    assert (await server.client.get("/api/v1/notes/count", headers=headers)).status_code == 200
    assert (await server.client.get("/api/v1/notes/count", headers={"Host": "build-box.lan"})).status_code == 401


def test_short_tokens_are_refused(settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="at least 16"):
        create_app(settings_factory(token="short", plugins="notes"), extra_plugins={"notes": notes})


# --- strict parsing of Host and Origin ---------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:3100@evil.example",  # userinfo: the browser's host is evil.example
        "evil.example@127.0.0.1:3100",
        "user@127.0.0.1",
        "127.0.0.1:3100/path",
        "127.0.0.1:3100?x",
        "127.0.0.1:3100#x",
        "127.0.0.1 :3100",
        "127.0.0.1:",
        "127.0.0.1:31OO",
        "127.0.0.1:99999",
        "127.0.0.1:0",
        "127.0.0.1:3100:3100",
        "[::1]x",
        "localhost\\@evil.example",
        "localhost%2f",
    ],
)
async def test_a_malformed_host_is_refused(notes_server, host):
    response = await notes_server.client.get("/api/v1/health", headers={"Host": host})
    assert response.status_code == 403
    body = await response.get_json()
    assert body["error"] == "forbidden", body


@pytest.mark.parametrize("host", ["[::1]", "[0:0:0:0:0:0:0:1]:3100", "localhost:65535", "LocalHost:3100"])
async def test_well_formed_loopback_hosts_are_served(notes_server, host):
    response = await notes_server.client.get("/api/v1/health", headers={"Host": host})
    assert response.status_code == 200, await response.get_json()


async def test_a_malformed_host_is_refused_even_when_any_host_is(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes}, host="0.0.0.0", token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    good = await server.client.get("/api/v1/notes/count", headers={**headers, "Host": "box.lan:3100"})
    assert good.status_code == 200
    bad = await server.client.get("/api/v1/notes/count", headers={**headers, "Host": "box.lan:3100@evil.example"})
    assert bad.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [
        "https://127.0.0.1:3100",  # the server speaks plain http: another origin
        "http://127.0.0.1:3101",
        "http://127.0.0.1",  # port 80
        "http://user@127.0.0.1:3100",
        "http://127.0.0.1:3100@evil.example",
        "http://127.0.0.1:3100/",
        "http://127.0.0.1:3100/path",
        "http://127.0.0.1:3100?x",
        "null",
        "127.0.0.1:3100",
        "ws://127.0.0.1:3100",
        "http://localhost:3100",  # another name is another origin
        "",
    ],
)
async def test_only_the_exact_own_origin_may_change_state(notes_server, origin):
    response = await notes_server.client.post(
        "/api/v1/notes", json={"body": "x"}, headers={"Origin": origin, "Host": "127.0.0.1:3100"}
    )
    assert response.status_code == 403, origin
    assert (await response.get_json())["error"] == "forbidden"
    assert await (await notes_server.client.get("/api/v1/notes/count")).get_json() == {"count": 0}


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:3100", "http://127.0.0.1:3100"),
        ("LOCALHOST:3100", "http://localhost:3100"),
        ("localhost", "http://localhost:80"),  # the default port on both sides
        ("localhost:80", "http://localhost"),
        ("[::1]:3100", "http://[::1]:3100"),
    ],
)
async def test_the_own_origin_may_change_state(notes_server, host, origin):
    response = await notes_server.client.post(
        "/api/v1/notes", json={"body": "x"}, headers={"Origin": origin, "Host": host}
    )
    assert response.status_code == 201, await response.get_json()


async def test_websocket_from_the_https_twin_of_the_own_origin_is_refused(notes_server):
    from quart.testing.connections import WebsocketResponseError

    headers = {"Origin": "https://127.0.0.1:3100", "Host": "127.0.0.1:3100"}
    with pytest.raises(WebsocketResponseError) as refused:
        async with notes_server.client.websocket("/ws", headers=headers) as ws:
            await receive_json(ws)
    assert refused.value.response.status_code == 403


# --- OPTIONS -----------------------------------------------------------------------------------


async def test_options_without_an_allowed_origin_is_a_json_405(notes_server):
    for origin in (None, "https://evil.example", "http://127.0.0.1:3100"):
        headers = {"Host": "127.0.0.1:3100", **({"Origin": origin} if origin else {})}
        response = await notes_server.client.options("/api/v1/notes", headers=headers)
        assert response.status_code == 405, origin
        assert response.content_type == "application/json"
        assert response.headers["Allow"] == "POST"
        assert (await response.get_json())["error"] == "method not allowed"
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_a_preflight_from_an_allowed_origin_lists_the_paths_methods(app_factory):
    server = await app_factory(
        plugins="notes", extra_plugins={"notes": notes}, allowed_origins=("http://localhost:5173/",)
    )
    headers = {"Origin": "http://localhost:5173", "Host": "127.0.0.1:3100", "Access-Control-Request-Method": "GET"}
    preflight = await server.client.options("/api/v1/notes/7", headers=headers)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "If-Match" in preflight.headers["Access-Control-Allow-Headers"]
    unknown = await server.client.options("/api/v1/nothing", headers=headers)
    assert unknown.status_code == 404 and unknown.content_type == "application/json"
    assert unknown.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"


def test_a_malformed_allowed_origin_stops_the_start(settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="is not an origin"):
        create_app(settings_factory(plugins="notes", allowed_origins=("localhost:5173",)), extra_plugins={"notes": notes})
