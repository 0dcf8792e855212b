"""Every route of the plugin is in /openapi.json with its parameters and schemas."""

from __future__ import annotations

ROUTES = {
    ("get", "/api/v1/sessions/current"): (["200"], "agent_id", {"agent_id"}),
    ("post", "/api/v1/sessions/start"): (["200", "201"], "agent_id", {"agent_id"}),
    ("post", "/api/v1/sessions/end"): (["200"], "notes", {"agent_id"}),
    ("post", "/api/v1/sessions/work/{issue_id}"): (["200"], "action", {"agent_id", "issue_id"}),
    ("post", "/api/v1/sessions/action"): (["200"], "action", {"agent_id"}),
    ("get", "/api/v1/sessions"): (["200"], None, {"agent_id", "status", "limit", "offset"}),
}


def resolve(document: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_route_is_documented_with_its_schemas(api):
    document = await (await api.client.get("/openapi.json")).get_json()
    for (method, path), (statuses, body_field, parameters) in ROUTES.items():
        operation = document["paths"][path][method]
        assert operation["tags"] == ["sessions"], (method, path)
        assert operation["summary"], (method, path)
        for status in statuses:
            assert operation["responses"][status]["content"]["application/json"]["schema"], (method, path, status)
        assert {p["name"] for p in operation.get("parameters", [])} == parameters, (method, path)
        if body_field:
            body = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
            assert body_field in body["properties"], (method, path)
        else:
            assert "requestBody" not in operation, (method, path)


async def test_the_session_shapes_are_documented(api):
    document = await (await api.client.get("/openapi.json")).get_json()
    schemas = document["components"]["schemas"]
    keys = {"id", "started_at", "ended_at", "active_issue_id", "handoff_notes", "last_action", "agent_id"}
    assert set(schemas["SessionOut"]["required"]) == keys
    start = document["paths"]["/api/v1/sessions/start"]["post"]["responses"]["201"]["content"]["application/json"]
    assert "previous_handoff_notes" in resolve(document, start["schema"])["properties"]
    current = document["paths"]["/api/v1/sessions/current"]["get"]["responses"]["200"]["content"]["application/json"]
    assert {"type": "null"} in resolve(document, current["schema"])["anyOf"]
    listing = document["paths"]["/api/v1/sessions"]["get"]
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert status["schema"]["enum"] == ["active", "ended", "all"]
