"""``/openapi.json`` tells the truth: typed path parameters, every error status, request
constraints, and exactly the methods each path answers (checked against the live routing)."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.plugins import notes

ERROR_REF = {"$ref": "#/components/schemas/ApiError"}
INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
SAMPLE_VALUES = {
    "issue_id": "1", "blocker_id": "2", "milestone_id": "1", "agent_id": "w1", "slug": "page", "label": "bug",
    "plan_id": "1", "phase_id": "1", "stage_id": "1",
}


@pytest.fixture
async def document(server) -> dict:
    response = await server.client.get("/openapi.json")
    assert response.status_code == 200
    return await response.get_json()


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def body_schema(document: dict, path: str, method: str) -> dict:
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def parameter(operation: dict, name: str) -> dict:
    return next(p for p in operation["parameters"] if p["name"] == name)


def error_schema(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


async def test_path_ids_are_64_bit_integers(document):
    seen = 0
    for path, method, operation in operations(document):
        for param in operation["parameters"]:
            if param["in"] == "path" and param["name"] in ("issue_id", "blocker_id"):
                assert param["schema"] == INT64, (method, path, param)
                seen += 1
            if param["in"] == "path" and param["name"] == "milestone_id":
                assert param["schema"] == {**INT64, "minimum": 0}, (method, path, param)
    assert seen > 20


async def test_every_operation_documents_its_error_statuses(document):
    for path, method, operation in operations(document):
        responses = operation["responses"]
        expected = {"403", "500"}
        if any(p["in"] == "path" for p in operation["parameters"]):
            expected |= {"400", "404"}
        if "requestBody" in operation:
            expected |= {"400", "408", "413", "415"}
        if any(p["in"] == "query" for p in operation["parameters"]):
            expected.add("400")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            if status != "409" or path != "/api/v1/locks/{issue_id}/claim":
                assert error_schema(responses[status]) == ERROR_REF, (method, path, status)
    error = document["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"error", "detail"}


async def test_route_specific_statuses_are_documented(document):
    paths = document["paths"]
    claim = paths["/api/v1/locks/{issue_id}/claim"]["post"]["responses"]
    assert {"200", "201", "404", "409"} <= set(claim)
    assert claim["200"]["content"] == claim["201"]["content"]  # the idempotent re-claim
    for method in ("put", "patch"):
        assert {"404", "412", "428"} <= set(paths["/api/v1/knowledge/{slug}"][method]["responses"])
    assert "412" in paths["/api/v1/knowledge/{slug}"]["delete"]["responses"]
    assert "409" in paths["/api/v1/knowledge"]["post"]["responses"]
    assert "409" in paths["/api/v1/issues/{issue_id}/labels"]["post"]["responses"]
    assert "409" in paths["/api/v1/sessions/work/{issue_id}"]["post"]["responses"]
    assert "404" in paths["/api/v1/sessions/end"]["post"]["responses"]
    # a value that is a sibling route's literal (/agents/rescan) is that route's 405
    assert "405" in paths["/api/v1/agents/{agent_id}"]["get"]["responses"]


async def test_request_constraints_are_documented(document):
    create = body_schema(document, "/api/v1/issues", "post")
    assert document["paths"]["/api/v1/issues"]["post"]["requestBody"]["required"] is True
    title = create["properties"]["title"]
    assert title["minLength"] == 1 and title["maxLength"] == 512 and re.search(title["pattern"], "  a title  ")
    assert not re.search(title["pattern"], " \t\u3000") and not re.search(title["pattern"], "\x1c")
    assert create["properties"]["priority"]["enum"] == ["low", "medium", "high", "critical"]
    assert "required" not in document["paths"]["/api/v1/sessions/start"]["post"]["requestBody"]

    claim = body_schema(document, "/api/v1/locks/{issue_id}/claim", "post")["properties"]["agent_id"]
    assert re.search(claim["pattern"], "worker-1") and not re.search(claim["pattern"], "...")
    assert claim["maxLength"] == 128
    session_agent = parameter(document["paths"]["/api/v1/sessions"]["get"], "agent_id")["schema"]["anyOf"][0]
    assert re.search(session_agent["pattern"], "team/worker@box") and not re.search(session_agent["pattern"], "a b")
    agent_path = parameter(document["paths"]["/api/v1/agents/{agent_id}"]["get"], "agent_id")["schema"]
    assert re.search(agent_path["pattern"], "driver--slug") and not re.search(agent_path["pattern"], "a/b")

    search = parameter(document["paths"]["/api/v1/search"]["get"], "q")
    assert search["required"] is True and not re.search(search["schema"]["pattern"], "  ")
    beat = body_schema(document, "/api/v1/agents/{agent_id}/heartbeat", "post")["properties"]["active_issue_id"]
    assert beat["anyOf"][0]["minimum"] == -(2**63)
    page = body_schema(document, "/api/v1/knowledge", "post")["properties"]
    assert page["tags"]["maxItems"] == 100 and not re.search(page["tags"]["items"]["pattern"], "a,b")
    assert not re.search(page["slug"]["pattern"], "a..b")
    config = body_schema(document, "/api/v1/config", "patch")["properties"]
    assert set(config["signing_enforcement"]["enum"]) >= {"disabled", "off", "audit", "enforced", "enforce"}


async def test_no_request_string_may_hold_a_nul(document):
    """Every string a request carries refuses U+0000, as the validation does."""
    found = 0
    for path, method, operation in operations(document):
        for param in operation["parameters"]:
            schema = param["schema"]
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "string" and "enum" not in option and "const" not in option:
                    patterns = [option.get("pattern", "")] + [s["pattern"] for s in option.get("allOf", [])]
                    assert any(p and not re.search(p, "a\x00b") for p in patterns), (method, path, param)
                    found += 1
    assert found > 10
    title = body_schema(document, "/api/v1/issues", "post")["properties"]["title"]
    assert not re.search(title["pattern"], "a\x00b")


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_VALUES[m.group(1)], path)


async def test_every_path_lists_exactly_the_methods_it_answers(server, document):
    """For each documented path the server's ``Allow`` (HEAD aside: it is GET without a
    body) is exactly the documented methods, and every other method is a JSON 405."""
    problems = []
    for path, methods in document["paths"].items():
        documented = {method.upper() for method in methods}
        response = await server.client.options(concrete(path))
        allowed = set(response.headers.get("Allow", "").split(", ")) - {"HEAD", ""}
        if response.status_code != 405 or allowed != documented:
            problems.append(f"{path}: OPTIONS {response.status_code}, Allow {sorted(allowed)}, documented {sorted(documented)}")
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - documented:
            other = await server.client.open(concrete(path), method=method)
            if other.status_code != 405 or other.content_type != "application/json":
                problems.append(f"{method} {path}: {other.status_code} {other.content_type}")
    assert not problems, "\n".join(problems)


async def test_a_token_is_documented_as_401_where_it_is_needed(app_factory):
    server = await app_factory(token="a-long-enough-secret-token")
    document = await (await server.client.get("/openapi.json")).get_json()
    assert "401" not in document["paths"]["/api/v1/health"]["get"]["responses"]
    assert "security" not in document["paths"]["/api/v1/health"]["get"]
    assert "401" in document["paths"]["/api/v1/issues"]["post"]["responses"]
    assert document["paths"]["/api/v1/issues"]["post"]["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_a_plugin_gets_the_kernels_rules_without_writing_them(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    document = await (await server.client.get("/openapi.json")).get_json()
    add = document["paths"]["/api/v1/notes"]["post"]
    assert {"400", "403", "408", "413", "415", "500"} <= set(add["responses"])
    body = add["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["count"]["maximum"] == 2**63 - 1  # the 64-bit rule, documented
    note = document["paths"]["/api/v1/notes/{note_id}"]["get"]
    assert parameter(note, "note_id")["schema"]["type"] == "integer"
    response = await server.client.post("/api/v1/notes", json={"body": "a\x00b"})
    assert response.status_code == 400 and (await response.get_json())["fields"][0]["field"] == "body"
    response = await server.client.post("/api/v1/notes", json={"body": "ok", "count": 2**63})
    assert response.status_code == 400 and "out of range" in (await response.get_json())["detail"]
