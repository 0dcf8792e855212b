"""``/openapi.json`` as the server really behaves: one place that completes quart-schema's document.

quart-schema builds the document from the validation decorators (``json_body``, ``query_args``,
``responds``). This provider adds what they cannot know, from what the kernel knows about each
route:

* **Path parameters** typed by their converter (``<id:issue_id>`` is an ``int64``, a
  ``pattern=`` is a ``pattern``, a literal reserved by a sibling route is excluded).
* **Every error status** a route can answer, with the error schema (``ApiError``): 403 (Host
  and Origin guards) and 500 everywhere; 401 when a token is configured; 400 where a path
  parameter, a query model or a body is validated; 404 where a path names a resource; 408, 413
  and 415 where a body is read; and the statuses a route declares with
  :func:`error_responses` (409, 412, 428...). A status documented with its own schema
  (``responds(LockConflict, 409)``) keeps it.
* **The 64-bit range** of every integer (the validation refuses anything beyond it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from quart_schema.openapi import OpenAPIProvider
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)
from werkzeug.routing import Rule

from .schemas import ApiErrorOut
from .validation import INT64_MAX, INT64_MIN, NO_NUL_PATTERN, PATH_SCHEMAS_ATTRIBUTE

F = TypeVar("F", bound=Callable)

ERROR_STATUSES_ATTRIBUTE = "_crosslink_error_statuses"
ERROR_SCHEMA = "ApiError"

#: What each error status means, as the document describes it.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: the detail (and `fields`) name what is wrong",
    401: "A bearer token is required or the one sent is not valid",
    403: "Refused: a foreign Host or Origin",
    404: "No such resource",
    405: "The path names another route, which does not answer this method",
    408: "The request body did not arrive in time",
    409: "Conflict with the current state",
    412: "The version sent is not the current one",
    413: "The request body is larger than the server accepts",
    415: "The request body is not JSON",
    428: "The request must name the version it is based on",
    500: "Unexpected server error (logged; no details are given)",
    503: "Temporarily unavailable",
}


def error_responses(*statuses: int) -> Callable[[F], F]:
    """Document that a route can also answer these error statuses (with the error schema).

    The generic ones (400 for invalid input, 404 for a path naming a missing resource, 403,
    500...) are added by the kernel; declare what only the route knows: ``@error_responses(409)``
    for a duplicate, ``404`` on a route without path parameters, ``428`` / ``412`` for versions.
    """

    def decorator(view: F) -> F:
        declared = set(getattr(view, ERROR_STATUSES_ATTRIBUTE, ()))
        setattr(view, ERROR_STATUSES_ATTRIBUTE, frozenset(declared | set(statuses)))
        return view

    return decorator


class CrosslinkOpenAPIProvider(OpenAPIProvider):
    """quart-schema's provider, completed with what the kernel knows (see the module)."""

    def build_path_parameter(self, name: str, converter: Any) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        describe = getattr(converter, "openapi_schema", None)
        if describe is not None:
            parameter["schema"] = describe()
        return parameter

    def build_request_body(self, model: Any, source: Any) -> tuple[dict, dict]:
        body, components = super().build_request_body(model, source)
        if not _accepts_empty_body(model):
            body["required"] = True  # no body is the same as {}, and {} is a 400
        return body, components

    def build_querystring_parameters(self, model: Any) -> tuple[list[dict], dict]:
        parameters, components = super().build_querystring_parameters(model)
        fields = getattr(model, "model_fields", {})
        required = {field.alias or name for name, field in fields.items() if field.is_required()}
        for parameter in parameters:
            if parameter["name"] in required:
                parameter["required"] = True  # pydantic lists it in the object's "required"
        return parameters, components

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        error, error_components = _error_response()
        components.update(error_components)
        func = self._app.view_functions[rule.endpoint]
        path_schemas = getattr(func, PATH_SCHEMAS_ATTRIBUTE, {})
        for operations in paths.values():
            for operation in operations.values():
                operation["parameters"] = [
                    {**parameter, "schema": {**parameter["schema"], **path_schemas[parameter["name"]]}}
                    if parameter["in"] == "path" and parameter["name"] in path_schemas
                    else parameter
                    for parameter in operation["parameters"]
                ]
                responses = dict(operation["responses"])
                for status in sorted(self.error_statuses(rule, func)):
                    if str(status) not in responses and status not in responses:
                        responses[status] = {**error, "description": ERROR_DESCRIPTIONS.get(status, "Error")}
                operation["responses"] = dict(sorted(responses.items(), key=lambda item: int(item[0])))
        return paths, components

    def error_statuses(self, rule: Rule, func: Callable) -> set[int]:
        """Every error status a request to ``rule`` can be answered with."""
        statuses = {403, 500}
        settings = self._settings()
        if settings is not None and settings.token and rule.rule.startswith("/api/") and not _token_exempt(rule.rule):
            statuses.add(401)
        if rule._converters:
            statuses |= {400, 404}
        if any(getattr(converter, "reserved", None) for converter in rule._converters.values()):
            statuses.add(405)  # a value that is a sibling route's literal: that route's methods
        if getattr(func, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None) is not None:
            statuses.add(400)
        if getattr(func, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None:
            statuses |= {400, 408, 413, 415}
        statuses |= set(getattr(func, ERROR_STATUSES_ATTRIBUTE, ()))
        return statuses

    def _settings(self):
        kernel = self._app.extensions.get("crosslink")
        return None if kernel is None else kernel.settings

    def schema(self) -> dict[str, Any]:
        """The document, built once: the routes are fixed when the application is."""
        cached = getattr(self, "_document", None)
        if cached is not None:
            return cached
        document = super().schema()
        _bound_integers(document)
        _refuse_nul_in_requests(document)
        settings = self._settings()
        if settings is not None and settings.token:
            _declare_bearer_token(document)
        self._document = document
        return document


def _error_response() -> tuple[dict[str, Any], dict[str, Any]]:
    """The error response object (a reference to ``ApiError``) and the components it needs."""
    schema = ApiErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components[ERROR_SCHEMA] = schema
    response = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}}
    return response, components


def _accepts_empty_body(model: Any) -> bool:
    """Whether ``{}`` (what an absent body counts as) is a valid body for ``model``."""
    try:
        model.model_validate({})
    except ValidationError:
        return False
    except Exception:  # a model that cannot say: document the body as optional, as before
        return True
    return True


def _declare_bearer_token(document: dict[str, Any]) -> None:
    """A server with ``--token``: the bearer scheme, required on every operation it guards."""
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in document["paths"].items():
        if path.startswith("/api/") and not _token_exempt(path):
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]


def _token_exempt(path: str) -> bool:
    from .security import TOKEN_EXEMPT

    return path in TOKEN_EXEMPT


def _bound_integers(node: Any) -> None:
    """Give every ``type: integer`` schema without bounds the 64-bit range."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "integer":
                if "minimum" not in item and "exclusiveMinimum" not in item:
                    item["minimum"] = INT64_MIN
                if "maximum" not in item and "exclusiveMaximum" not in item:
                    item["maximum"] = INT64_MAX
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _refuse_nul_in_requests(document: dict[str, Any]) -> None:
    """Make every string a request can carry (body, query, path) refuse U+0000 in its schema,
    as the validation does."""
    components = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    stack: list[Any] = []
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            stack.extend(parameter.get("schema") for parameter in operation.get("parameters", []))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                stack.append(content.get("schema"))
    while stack:
        schema = stack.pop()
        if isinstance(schema, list):
            stack.extend(schema)
            continue
        if not isinstance(schema, dict):
            continue
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
            name = reference.rsplit("/", 1)[1]
            if name not in seen and name in components:
                seen.add(name)
                stack.append(components[name])
        kinds = schema.get("type")
        if (kinds == "string" or (isinstance(kinds, list) and "string" in kinds)) and not (
            "enum" in schema or "const" in schema
        ):
            if "pattern" not in schema:
                schema["pattern"] = NO_NUL_PATTERN
            elif "\\x00" not in schema["pattern"]:
                schema.setdefault("allOf", []).append({"pattern": NO_NUL_PATTERN})
        for key in ("properties", "patternProperties", "$defs"):
            if isinstance(schema.get(key), dict):
                stack.extend(schema[key].values())
        for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            if isinstance(schema.get(key), (dict, list)):
                stack.append(schema[key])
