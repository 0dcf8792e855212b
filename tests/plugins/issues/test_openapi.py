"""Every route of the plugin is in /openapi.json with its request and response schemas."""

from __future__ import annotations

ROUTES = {
    ("get", "/api/v1/issues"): ("200", None, {"status", "label", "priority", "search", "parent_id", "limit", "offset"}),
    ("post", "/api/v1/issues"): ("201", "title", set()),
    ("get", "/api/v1/issues/blocked"): ("200", None, {"limit", "offset"}),
    ("get", "/api/v1/issues/ready"): ("200", None, {"limit", "offset"}),
    ("get", "/api/v1/issues/{issue_id}"): ("200", None, {"issue_id"}),
    ("patch", "/api/v1/issues/{issue_id}"): ("200", "priority", {"issue_id"}),
    ("delete", "/api/v1/issues/{issue_id}"): ("200", None, {"issue_id"}),
    ("post", "/api/v1/issues/{issue_id}/close"): ("200", None, {"issue_id"}),
    ("post", "/api/v1/issues/{issue_id}/reopen"): ("200", None, {"issue_id"}),
    ("post", "/api/v1/issues/{issue_id}/subissue"): ("201", "title", {"issue_id"}),
    ("get", "/api/v1/issues/{issue_id}/tree"): ("200", None, {"issue_id"}),
    ("get", "/api/v1/issues/{issue_id}/comments"): ("200", None, {"issue_id"}),
    ("post", "/api/v1/issues/{issue_id}/comments"): ("201", "kind", {"issue_id"}),
    ("get", "/api/v1/issues/{issue_id}/labels"): ("200", None, {"issue_id"}),
    ("post", "/api/v1/issues/{issue_id}/labels"): ("200", "label", {"issue_id"}),
    ("delete", "/api/v1/issues/{issue_id}/labels/{label}"): ("200", None, {"issue_id", "label"}),
    ("post", "/api/v1/issues/{issue_id}/block"): ("200", "blocker_id", {"issue_id"}),
    ("delete", "/api/v1/issues/{issue_id}/block/{blocker_id}"): ("200", None, {"issue_id", "blocker_id"}),
    ("get", "/api/v1/milestones"): ("200", None, {"status", "limit", "offset"}),
    ("post", "/api/v1/milestones"): ("201", "name", set()),
    ("get", "/api/v1/milestones/{milestone_id}"): ("200", None, {"milestone_id"}),
    ("post", "/api/v1/milestones/{milestone_id}/assign"): ("200", "issue_id", {"milestone_id"}),
    ("post", "/api/v1/milestones/{milestone_id}/close"): ("200", None, {"milestone_id"}),
}


def schema_of(document: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_route_is_documented_with_its_schemas(api):
    response = await api.client.get("/openapi.json")
    document = await response.get_json()
    for (method, path), (status, body_field, parameters) in ROUTES.items():
        operation = document["paths"][path][method]
        assert operation["tags"] == ["issues"], (method, path)
        assert operation["summary"], (method, path)
        assert status in operation["responses"], (method, path)
        assert operation["responses"][status]["content"]["application/json"]["schema"], (method, path)
        assert {p["name"] for p in operation.get("parameters", [])} == parameters, (method, path)
        if body_field:
            body = schema_of(document, operation["requestBody"]["content"]["application/json"]["schema"])
            assert body_field in body["properties"], (method, path)
        else:
            assert "requestBody" not in operation, (method, path)


async def test_documented_enums_match_the_rules(api):
    document = await (await api.client.get("/openapi.json")).get_json()
    create = document["paths"]["/api/v1/issues"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["properties"]["priority"]["enum"] == ["low", "medium", "high", "critical"]
    comment = document["paths"]["/api/v1/issues/{issue_id}/comments"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert comment["properties"]["kind"]["enum"] == [
        "note", "plan", "decision", "observation", "blocker", "resolution", "result", "intervention"]
    status = next(p for p in document["paths"]["/api/v1/issues"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["enum"] == ["open", "closed", "archived", "all"]
