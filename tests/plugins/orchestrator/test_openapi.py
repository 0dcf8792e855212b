"""Every orchestrator route is in /openapi.json with its request and response schemas."""

from __future__ import annotations

ROUTES = {
    ("post", "/api/v1/orchestrator/decompose"): ("200", "document"),
    ("get", "/api/v1/orchestrator/plan"): ("200", None),
    ("post", "/api/v1/orchestrator/execute"): ("200", "max_parallel"),
    ("post", "/api/v1/orchestrator/pause"): ("200", None),
    ("get", "/api/v1/orchestrator/status"): ("200", None),
    ("post", "/api/v1/orchestrator/plans"): ("201", "phases"),
    ("get", "/api/v1/orchestrator/plans"): ("200", None),
    ("get", "/api/v1/orchestrator/plans/{plan_id}"): ("200", None),
    ("post", "/api/v1/orchestrator/cancel"): ("200", None),
    ("get", "/api/v1/orchestrator/stages/{stage_id}"): ("200", None),
    ("post", "/api/v1/orchestrator/stages/{stage_id}/running"): ("200", "agent_id"),
    ("post", "/api/v1/orchestrator/stages/{stage_id}/done"): ("200", "agent_id"),
    ("post", "/api/v1/orchestrator/stages/{stage_id}/failed"): ("200", "message"),
    ("post", "/api/v1/orchestrator/stages/{stage_id}/retry"): ("200", None),
    ("post", "/api/v1/orchestrator/stages/{stage_id}/skip"): ("200", "message"),
    ("get", "/api/v1/orchestrator/stages/{stage_id}/log"): ("200", None),
    ("post", "/api/v1/orchestrator/phases/{phase_id}/retry"): ("200", None),
    ("post", "/api/v1/orchestrator/phases/{phase_id}/skip"): ("200", None),
    ("get", "/api/v1/orchestrator/decomposers"): ("200", None),
    ("get", "/api/v1/orchestrator/launchers"): ("200", None),
}


def resolve(document: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_route_is_documented(api):
    document = await (await api.client.get("/openapi.json")).get_json()
    for (method, path), (status, field) in ROUTES.items():
        operation = document["paths"][path][method]
        assert operation["tags"] == ["orchestrator"], (method, path)
        assert operation.get("description") or operation.get("summary"), (method, path)
        assert status in operation["responses"], (method, path, operation["responses"])
        if field:
            body = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
            assert field in body["properties"], (method, path, body)
    status = resolve(document, document["paths"]["/api/v1/orchestrator/status"]["get"]["responses"]["200"]["content"]
                     ["application/json"]["schema"])
    assert {"plan_id", "state", "current_phase_id", "progress_percent", "started_at", "completed_at",
            "stage_statuses", "stage_agents"} <= set(status["properties"])
