"""Request validation that answers 400/415 JSON and feeds quart-schema's OpenAPI document.

``@json_body(Model)`` parses the request body strictly (wrong JSON types are errors, unknown
fields are ignored, an empty body counts as ``{}``) and passes ``data=`` to the view.
``@query_args(Model)`` does the same for the query string and passes ``query=``;
``@path_args(name=Type)`` validates and documents path parameters. All record their types with
quart-schema, so ``/openapi.json`` documents them. Decorators go below the route decorator.
:func:`text_schema` gives a text field's JSON Schema keywords (pattern, lengths) for the
document, matching what its validator accepts.

Rules every plugin gets without writing them, the same on SQLite and PostgreSQL:

* **Text the databases can store.** A string anywhere in a body's validated data (a value or a
  key, at any depth; ignored unknown fields are not looked at) and any query value holding
  U+0000 (PostgreSQL cannot store it) or a lone surrogate (not a character) is a 400 naming
  the field, e.g. ``tags.2``. Text path parameters: see :mod:`kernel.routing`.
* **Integers that fit.** Every integer in a body or a query is a signed 64-bit integer (what
  both databases store), else 400. A query integer is written in ASCII digits with an optional
  leading ``-`` and no leading zeros (``limit=05``, ``limit=+5``, ``limit=٣`` are refused).
* **JSON numbers as JSON Schema reads them.** A number with no fractional part (``5.0``,
  ``1e3``) is an integer, as the OpenAPI document's ``type: integer`` promises; ``5.5``,
  ``"5"`` and ``true`` are not.
"""

from __future__ import annotations

import copy
import json
import math
import re
import types
import typing
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from quart import request
from quart_schema import document_querystring, document_request

from .errors import APIError

M = TypeVar("M", bound=BaseModel)

_JSON_TYPES = ("application/json",)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: A signed 64-bit integer, as SQLite and PostgreSQL (BIGINT) store it; documents its range.
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]

#: What no column of either database can hold: NUL, and lone surrogates (not characters).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Raw bodies that may hold what the fast path cannot see: an escaped NUL or surrogate, or an
#: integer of 19 or more digits (possibly beyond 64 bits).
_SUSPECT_BODY = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|[0-9]{19}")
_QUERY_INTEGER = re.compile(r"0|-?[1-9][0-9]*")


PATH_SCHEMAS_ATTRIBUTE = "_crosslink_path_schemas"


# --- JSON Schema for text, matching what the validators accept -------------------------------

#: Every character ``str.strip()`` removes (Python's whitespace; none is above U+3000).
WHITESPACE = "".join(char for char in map(chr, range(0x3001)) if char.isspace())
#: Control characters (C0, DEL, C1), which some fields refuse.
CONTROL_RANGES = ((0x00, 0x1F), (0x7F, 0x9F))


def _regex_char(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _char_class(codes: list[int], negate: bool) -> str:
    """A regular-expression class of ``codes`` (ranges merged), portable across ECMA, Python
    and Rust syntax: every character written as an escape."""
    runs: list[list[int]] = []
    for code in sorted(set(codes)):
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    body = "".join(
        _regex_char(lo) if lo == hi else f"{_regex_char(lo)}-{_regex_char(hi)}" for lo, hi in runs
    )
    return f"[{'^' if negate else ''}{body}]"


def text_schema(
    *,
    min_chars: int | None = None,
    max_chars: int | None = None,
    not_blank: bool = False,
    forbid: tuple[tuple[int, int], ...] = (),
) -> dict[str, Any]:
    """JSON Schema keywords describing a text field exactly as its validator accepts it.

    Every pattern refuses U+0000 (never storable). ``not_blank``: the text holds a character
    ``str.strip()`` keeps (lengths count the text as sent). ``forbid``: code point ranges
    refused anywhere (e.g. :data:`CONTROL_RANGES`). Use as
    ``Field(json_schema_extra=text_schema(...))``.
    """
    bad = [0] + [code for lo, hi in forbid for code in range(lo, hi + 1)]
    any_char = _char_class(bad, negate=True)
    kept = _char_class(bad + [ord(char) for char in WHITESPACE], negate=True)
    schema: dict[str, Any] = {"pattern": f"^{any_char}*{kept}{any_char}*$" if not_blank else f"^{any_char}*$"}
    if min_chars is not None or not_blank:
        schema["minLength"] = max(min_chars or 0, 1 if not_blank else 0)
    if max_chars is not None:
        schema["maxLength"] = max_chars
    return schema


#: The pattern that only refuses U+0000, for string schemas that say nothing else about it.
NO_NUL_PATTERN = text_schema()["pattern"]


# --- the storable-text and 64-bit rules -----------------------------------------------------


def unstorable_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (NUL or a lone surrogate), or ``None`` when it can."""
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "must not contain the NUL character (U+0000)"
    return f"must not contain U+{ord(match.group()):04X} (a lone surrogate, not a character)"


def _out_of_range(number: int) -> str | None:
    if INT64_MIN <= number <= INT64_MAX:
        return None
    return "integer out of range: must be between -9223372036854775808 and 9223372036854775807"


def find_unstorable(document: Any) -> tuple[str, str] | None:
    """The first place in ``document`` (parsed JSON, or a model's dumped data) the databases
    cannot store, as ``(field path, problem)``; ``None`` when there is none. Field paths read
    like pydantic's: ``tags.2``."""
    stack: list[tuple[tuple, Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        problem = None
        if isinstance(value, str):
            problem = unstorable_problem(value)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            problem = _out_of_range(value)
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                if key_problem := unstorable_problem(key):
                    return _field(path + (key,)), f"field name {key_problem}"
                stack.append((path + (key,), item))
        elif isinstance(value, (list, tuple)):
            stack.extend((path + (index,), item) for index, item in reversed(list(enumerate(value))))
        if problem is not None:
            return _field(path), problem
    return None


def _field(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "body"


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


def _field_error(field: str, message: str, prefix: str = "") -> APIError:
    return APIError(400, f"{prefix}{field}: {message}", fields=[{"field": field, "message": message}])


def _integral(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _integers_for_integral_floats(document: Any) -> Any:
    """``document`` with every finite whole float (``5.0``, ``1e3``) made an int."""
    if _integral(document):
        return int(document)
    if isinstance(document, dict):
        return {key: _integers_for_integral_floats(item) for key, item in document.items()}
    if isinstance(document, list):
        return [_integers_for_integral_floats(item) for item in document]
    return document


def parse_body(model: type[M], raw: bytes, content_type: str | None) -> M:
    """Validate raw request bytes against ``model``; raise :class:`APIError` when they fail.

    Unknown fields are ignored, so only the validated data is held to the storable-text and
    64-bit rules (the fast path skips that walk when the raw bytes cannot break them).
    """
    if not raw.strip():
        raw = b"{}"
    else:
        mimetype = (content_type or "").split(";", 1)[0].strip().lower()
        if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
            raise APIError(415, "Request body must be JSON (Content-Type: application/json)")
    suspect = _SUSPECT_BODY.search(raw) is not None
    try:
        data = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            raise APIError(400, f"Malformed JSON body: {first['msg']}") from None
        if first["type"] in ("model_type", "model_attributes_type") and not first["loc"]:
            raise APIError(400, "Request body must be a JSON object") from None
        if not any(error["type"] == "int_type" and _integral(error["input"]) for error in errors):
            detail, fields = describe_errors(exc)
            raise APIError(400, detail, fields=fields) from None
        data, suspect = _parse_with_integral_floats(model, raw), True
    if suspect and (found := find_unstorable(data.model_dump())):
        raise _field_error(*found)
    return data


def _parse_with_integral_floats(model: type[M], raw: bytes) -> M:
    """Validate again with whole floats read as integers (JSON Schema's ``integer``)."""
    document = _integers_for_integral_floats(json.loads(raw))
    try:
        return model.model_validate_json(json.dumps(document, ensure_ascii=False), strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":  # a number beyond a double (1e400) became Infinity
            raise APIError(400, "Malformed JSON body: a number is out of range") from None
        detail, fields = describe_errors(exc)
        raise APIError(400, detail, fields=fields) from None


@lru_cache(maxsize=512)
def integer_fields(model: type[BaseModel]) -> frozenset[str]:
    """The query keys of ``model`` whose field takes an integer and nothing but an integer."""
    names = set()
    for name, field in model.model_fields.items():
        if _only_integers(field.annotation):
            names.add(field.alias or name)
    return frozenset(names)


def _only_integers(annotation: Any) -> bool:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return bool(members) and all(_only_integers(member) for member in members)
    return annotation is int


def parse_query_integer(key: str, value: str) -> int:
    """A query integer: ASCII digits, an optional leading ``-``, no leading zeros, 64-bit."""
    if _QUERY_INTEGER.fullmatch(value):
        number = int(value)
        if _out_of_range(number) is None:
            return number
        raise _field_error(key, _out_of_range(number), "Invalid query parameter: ")
    shown = value if len(value) <= 40 else value[:40] + "..."
    raise _field_error(
        key,
        f"must be an integer in ASCII digits (an optional leading '-', no leading zeros), got {shown!r}",
        "Invalid query parameter: ",
    )


def parse_query(model: type[M], args: Any) -> M:
    """Validate query-string arguments (first value of each) against ``model``.

    Every value of every key is checked for characters the databases cannot store, also keys
    the model does not know; integer fields are parsed strictly (:func:`parse_query_integer`).
    """
    values: dict[str, Any] = {}
    for key, items in args.lists():
        if problem := unstorable_problem(key):
            raise _field_error(key, f"parameter name {problem}", "Invalid query parameter: ")
        for item in items:
            if problem := unstorable_problem(item):
                raise _field_error(key, problem, "Invalid query parameter: ")
        values[key] = items[0]
    for key in integer_fields(model) & values.keys():
        values[key] = parse_query_integer(key, values[key])
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        detail, fields = describe_errors(exc, source="query")
        raise APIError(400, f"Invalid query parameter: {detail}", fields=fields) from None


def path_args(**types: Any) -> Callable:
    """Validate path parameters against types (``slug=Slug``) and document their JSON Schema.

    ``@path_args(agent_id=AgentId)`` runs ``AgentId``'s validators on the value the converter
    gave (a failure is a 400 naming the parameter) and gives ``/openapi.json`` its schema
    (pattern, lengths). A type with only a schema (``Annotated[str, Field(json_schema_extra=
    ...)]``) documents a check the route makes itself.
    """
    built = {name: _path_type(kind) for name, kind in types.items()}
    adapters = {name: adapter for name, (adapter, _) in built.items()}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            for name, adapter in adapters.items():
                if name in kwargs:
                    try:
                        kwargs[name] = adapter.validate_python(kwargs[name])
                    except ValidationError as exc:
                        message = exc.errors(include_url=False)[0]["msg"]
                        raise _field_error(name, message, "Invalid path parameter: ") from None
            return await view(*args, **kwargs)

        schemas = dict(getattr(view, PATH_SCHEMAS_ATTRIBUTE, {}))
        schemas.update({name: copy.deepcopy(schema) for name, (_, schema) in built.items()})
        setattr(wrapper, PATH_SCHEMAS_ATTRIBUTE, schemas)
        return wrapper

    return decorator


def _path_type(kind: Any) -> tuple[TypeAdapter, dict[str, Any]]:
    """The adapter and the JSON Schema of a path parameter type (the schema is shared: copy it
    before changing it). Built once per type for the process and shared by every app's routes:
    building them is most of a route's registration. An unhashable type is built each time."""
    try:
        return _shared_path_type(kind)
    except TypeError:
        adapter = TypeAdapter(kind)
        return adapter, adapter.json_schema()


@lru_cache(maxsize=64)
def _shared_path_type(kind: Any) -> tuple[TypeAdapter, dict[str, Any]]:
    adapter = TypeAdapter(kind)
    return adapter, adapter.json_schema()


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
