"""Every route of the plugin is in /openapi.json with its parameters, body and responses."""

from __future__ import annotations

ROUTES = {
    ("post", "/api/v1/usage"): (["201", "400"], "input_tokens", set()),
    ("post", "/api/v1/usage/batch"): (["201", "400"], "records", set()),
    ("get", "/api/v1/usage"): (["200", "400"], None, {"agent_id", "session_id", "model", "from", "to", "limit", "offset"}),
    ("get", "/api/v1/usage/summary"): (["200", "400"], None, {"agent_id", "session_id", "model", "from", "to", "group_by"}),
    ("get", "/api/v1/usage/budget"): (["200"], None, set()),
    ("patch", "/api/v1/usage/budget"): (["200", "400"], "agents", set()),
    ("get", "/api/v1/usage/alerts"): (["200", "400"], None, {"limit", "offset"}),
}


def resolve(document: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_route_is_documented_with_its_schemas(app_factory):
    server = await app_factory(plugins="usage")
    document = await (await server.client.get("/openapi.json")).get_json()
    for (method, path), (statuses, body_field, parameters) in ROUTES.items():
        operation = document["paths"][path][method]
        assert operation["tags"] == ["usage"], (method, path)
        assert operation["summary"], (method, path)
        for status in statuses:
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert resolve(document, schema)["properties"], (method, path, status)
        assert {p["name"] for p in operation.get("parameters", [])} == parameters, (method, path)
        if body_field:
            body = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
            assert body_field in body["properties"], (method, path)
        else:
            assert "requestBody" not in operation, (method, path)
    schemas = document["components"]["schemas"]
    assert {"cost_source", "cost_estimate", "timestamp"} <= set(schemas["UsageRecordOut"]["required"])
    summary = document["paths"]["/api/v1/usage/summary"]["get"]["responses"]["200"]["content"]["application/json"]
    assert {"items", "budget", "estimated_cost", "unpriced_requests"} <= set(resolve(document, summary["schema"])["required"])
    assert {"overall", "agents", "threshold_percent"} <= set(schemas["BudgetStatus"]["required"])
    group_by = next(p for p in document["paths"]["/api/v1/usage/summary"]["get"]["parameters"] if p["name"] == "group_by")
    assert "day" in str(group_by["schema"])


async def test_the_events_are_listed(app_factory):
    server = await app_factory(plugins="usage")
    events = await (await server.client.get("/api/v1/events")).get_json()
    listed = {e["type"]: e for e in (events["items"] if isinstance(events, dict) else events)}
    assert {"usage_recorded", "usage_budget_alert", "usage_budget_changed"} <= set(listed)
    assert listed["usage_budget_alert"]["channel"] == "usage"
    assert {"scope", "agent_id", "period", "level", "spent", "limit"} <= set(listed["usage_budget_alert"]["schema"]["properties"])
