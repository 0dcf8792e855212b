"""Every error the server answers is JSON {error, detail}: framework errors included."""

from __future__ import annotations

import pytest

from tests.fixtures.plugins import notes


@pytest.fixture
async def notes_server(app_factory):
    return await app_factory(plugins="notes", extra_plugins={"notes": notes}, max_body_bytes=4096)


async def error_of(response, status: int) -> dict:
    assert response.status_code == status, await response.get_data()
    assert response.content_type == "application/json"
    body = await response.get_json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    return body


async def test_unknown_route_is_404_json(notes_server):
    body = await error_of(await notes_server.client.get("/api/v1/nothing/here"), 404)
    assert body == {"error": "not found", "detail": "No such route: /api/v1/nothing/here"}


async def test_wrong_method_is_405_json(notes_server):
    response = await notes_server.client.delete("/api/v1/health")
    body = await error_of(response, 405)
    assert body["error"] == "method not allowed" and "DELETE" in body["detail"]
    assert "GET" in response.headers["Allow"]


async def test_body_over_the_limit_is_413_json(notes_server):
    response = await notes_server.client.post("/api/v1/notes", json={"body": "x" * 10_000})
    body = await error_of(response, 413)
    assert body["error"] == "payload too large"


async def test_wrong_content_type_is_415_json(notes_server):
    response = await notes_server.client.post(
        "/api/v1/notes", data="body=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    body = await error_of(response, 415)
    assert "application/json" in body["detail"]


async def test_malformed_json_is_400(notes_server):
    response = await notes_server.client.post(
        "/api/v1/notes", data="{not json", headers={"Content-Type": "application/json"}
    )
    body = await error_of(response, 400)
    assert body["detail"].startswith("Malformed JSON body")


async def test_body_that_is_not_an_object_is_400(notes_server):
    body = await error_of(await notes_server.client.post("/api/v1/notes", json=[1, 2]), 400)
    assert body["detail"] == "Request body must be a JSON object"


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({}, "body", "field required"),
        ({"body": 5}, "body", "string"),
        ({"body": ""}, "body", "at least 1"),
        ({"body": "ok", "count": "3"}, "count", "integer"),
    ],
)
async def test_validation_errors_are_400_naming_the_field(notes_server, payload, field, words):
    body = await error_of(await notes_server.client.post("/api/v1/notes", json=payload), 400)
    assert body["error"] == "bad request"
    assert body["detail"].startswith(f"{field}: ") and words in body["detail"]
    assert body["fields"][0]["field"] == field


async def test_unknown_fields_are_ignored(notes_server):
    response = await notes_server.client.post("/api/v1/notes", json={"body": "ok", "colour": "red"})
    assert response.status_code == 201


async def test_bad_path_id_is_400_naming_it(notes_server):
    body = await error_of(await notes_server.client.get("/api/v1/notes/12abc"), 400)
    assert body["detail"].startswith("invalid note id '12abc': must be an integer")


async def test_negative_ids_route(notes_server):
    body = await error_of(await notes_server.client.get("/api/v1/notes/-1"), 404)
    assert body["detail"] == "Note #-1 does not exist"


async def test_unhandled_exception_is_500_without_a_traceback(notes_server, caplog):
    response = await notes_server.client.get("/api/v1/notes/crash")
    body = await error_of(response, 500)
    assert body["error"] == "internal error"
    text = (await response.get_data()).decode()
    assert "secret internal detail" not in text and "Traceback" not in text
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)


async def test_plugin_api_errors_keep_their_status(notes_server):
    body = await error_of(await notes_server.client.get("/api/v1/notes/999"), 404)
    assert body == {"error": "not found", "detail": "Note #999 does not exist"}
