"""Request validation that answers 400/415 JSON and feeds quart-schema's OpenAPI document.

``@json_body(Model)`` parses the request body strictly (wrong JSON types are errors, unknown
fields are ignored, an empty body counts as ``{}``) and passes ``data=`` to the view.
``@query_args(Model)`` does the same for the query string and passes ``query=``. Both record
the model with quart-schema, so ``/openapi.json`` documents it. Decorators go below the route
decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from quart import request
from quart_schema import document_querystring, document_request

from .errors import APIError

M = TypeVar("M", bound=BaseModel)

_JSON_TYPES = ("application/json",)


def describe_errors(exc: ValidationError, *, source: str = "body") -> tuple[str, list[dict]]:
    """Turn pydantic's errors into one readable sentence and a list naming each field."""
    fields = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or source
        message = error["msg"]
        if error["type"] == "missing":
            message = "field required"
        elif error["type"] == "extra_forbidden":
            message = "unknown field"
        fields.append({"field": location, "message": message})
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return detail or "invalid input", fields


def parse_body(model: type[M], raw: bytes, content_type: str | None) -> M:
    """Validate raw request bytes against ``model``; raise :class:`APIError` when they fail."""
    if not raw.strip():
        raw = b"{}"
    else:
        mimetype = (content_type or "").split(";", 1)[0].strip().lower()
        if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
            raise APIError(415, "Request body must be JSON (Content-Type: application/json)")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise APIError(400, f"Malformed JSON body: {first['msg']}") from None
        if first["type"] in ("model_type", "model_attributes_type") and not first["loc"]:
            raise APIError(400, "Request body must be a JSON object") from None
        detail, fields = describe_errors(exc)
        raise APIError(400, detail, fields=fields) from None


def parse_query(model: type[M], args: Any) -> M:
    """Validate query-string arguments (first value of each) against ``model``."""
    values = {key: args.get(key) for key in args}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        detail, fields = describe_errors(exc, source="query")
        raise APIError(400, f"Invalid query parameter: {detail}", fields=fields) from None


def json_body(model: type[BaseModel]) -> Callable:
    """Validate the JSON request body against ``model`` and pass it as ``data=``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            raw = await request.get_data(as_text=False)
            data = parse_body(model, raw, request.headers.get("Content-Type"))
            return await view(*args, data=data, **kwargs)

        return document_request(model)(wrapper)

    return decorator


def query_args(model: type[BaseModel]) -> Callable:
    """Validate the query string against ``model`` and pass it as ``query=``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            return await view(*args, query=parse_query(model, request.args), **kwargs)

        return document_querystring(model)(wrapper)

    return decorator
