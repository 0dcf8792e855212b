"""URL converters the kernel offers to every plugin's routes, and the routing rules around them.

Converters (``<id:issue_id>``, ``<name>``, ``<path:rest>``):

* ``id``: a signed 64-bit integer id, ``<id:issue_id>``, ``<id("milestone", signed=False):m>``.
  Only canonical ASCII decimals are ids: ``1`` and ``-1`` are, ``01``, ``+1``, ``１`` (fullwidth)
  and ``٣`` (Arabic-Indic) are not. Anything else is a 400 naming the parameter.
* ``default`` / ``string`` (one path segment) and ``path`` (the rest of the path): any text but
  U+0000 or a lone surrogate (400 naming the parameter), as every stored string
  (:mod:`kernel.validation`). A route documents (and may check) more with
  :func:`kernel.validation.path_args`.

Every converter also describes itself for ``/openapi.json`` (:meth:`openapi_schema`).

**Static segments win for every method.** Werkzeug prefers ``/issues/blocked`` over
``/issues/<id:issue_id>`` only for the methods the static rule has; a ``PATCH /issues/blocked``
would reach the parameter rule. :func:`reserve_static_segments` (run once every rule is added)
makes a parameter refuse the literal of a sibling static rule, so that request is a 405 whose
``Allow`` lists what ``/issues/blocked`` really answers. :func:`allowed_methods` computes that
list exactly (the methods that would route), and :func:`routing_error` turns Werkzeug's
redirects (trailing or doubled slashes) into the 404/405 the path deserves: the server never
redirects.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, MapAdapter, PathConverter, UnicodeConverter, ValidationError
from werkzeug.routing.exceptions import RequestRedirect

from .validation import INT64_MAX, INT64_MIN, unstorable_problem

INT64 = 2**63
_SIGNED = re.compile(r"0|-?[1-9][0-9]*")
_UNSIGNED = re.compile(r"0|[1-9][0-9]*")
_PLACEHOLDER = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\(.*?\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)\s*>")


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "..."


class ReservingConverter(BaseConverter):
    """A converter that refuses the literals of sibling static rules (see the module).

    :func:`reserve_static_segments` sets ``reserved`` and ``parameter`` (the name in the rule).
    """

    reserved: frozenset[str] = frozenset()
    parameter: str = "path parameter"

    def check_reserved(self, value: str) -> None:
        if value in self.reserved:
            raise ValidationError()  # no match: the static rule's methods answer (405)

    def openapi_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.reserved:
            schema["not"] = {"enum": sorted(self.reserved)}
        return schema


class IdConverter(ReservingConverter):
    """A 64-bit integer id: ``<id:issue_id>`` or ``<id("milestone", signed=False):milestone_id>``.

    Negative ids are valid by default (the crosslink CLI's offline issues). Anything that is
    not a canonical integer in range is answered with 400 naming the parameter, instead of an
    opaque 404.
    """

    regex = r"[^/]+"
    part_isolating = True

    def __init__(self, url_map, what: str = "issue", signed: bool = True) -> None:
        super().__init__(url_map)
        self.what = what
        self.signed = signed

    def to_python(self, value: str) -> int:
        self.check_reserved(value)
        if (_SIGNED if self.signed else _UNSIGNED).fullmatch(value):
            number = int(value)
            if INT64_MIN <= number <= INT64_MAX:
                return number
        kind = "an integer" if self.signed else "a non-negative integer"
        # An HTTPException, so routing records it and the JSON error handler answers 400.
        raise BadRequest(
            f"invalid {self.what} id '{_shown(value)}': must be {kind} "
            "(ASCII digits, no leading zeros, at most 64 bits)"
        )

    def to_url(self, value: int) -> str:
        return str(int(value))

    def openapi_schema(self) -> dict[str, Any]:
        return {"type": "integer", "format": "int64", "minimum": INT64_MIN if self.signed else 0, "maximum": INT64_MAX}


class _StorableText(ReservingConverter):
    """Text the databases can store; a reserved literal does not match."""

    def to_python(self, value: str) -> str:
        self.check_reserved(value)
        if problem := unstorable_problem(value):
            raise BadRequest(f"invalid path parameter '{self.parameter}': {problem}")
        return value


class TextConverter(_StorableText, UnicodeConverter):
    """One path segment of storable text (the default converter, Werkzeug's length arguments)."""

    def __init__(self, url_map, minlength: int = 1, maxlength: int | None = None, length: int | None = None) -> None:
        super().__init__(url_map, minlength=minlength, maxlength=maxlength, length=length)
        self.minlength, self.maxlength, self.length = minlength, maxlength, length

    def openapi_schema(self) -> dict[str, Any]:
        schema = super().openapi_schema()
        if self.length is not None:
            schema["minLength"] = schema["maxLength"] = self.length
        else:
            schema["minLength"] = max(self.minlength, 1)
            if self.maxlength is not None:
                schema["maxLength"] = self.maxlength
        return schema


class TextPathConverter(_StorableText, PathConverter):
    """The rest of the path (slashes included) as storable text."""

    def openapi_schema(self) -> dict[str, Any]:
        return {**super().openapi_schema(), "minLength": 1}


CONVERTERS = {"id": IdConverter, "default": TextConverter, "string": TextConverter, "path": TextPathConverter}


# --- routing rules ---------------------------------------------------------------------------


def _segments(rule_text: str) -> list[str | None]:
    """A rule's path segments: the literal text, or ``None`` for a segment that is a parameter
    (``"<mixed>"`` for one that mixes both, which never takes part in reservations)."""
    segments: list[str | None] = []
    for segment in rule_text.split("/"):
        if "<" not in segment:
            segments.append(segment)
        elif _PLACEHOLDER.fullmatch(segment):
            segments.append(None)
        else:
            segments.append("<mixed>")
    return segments


def reserve_static_segments(url_map: Map) -> None:
    """Make each parameter refuse the literals of sibling static rules (same shape otherwise).

    ``/agents/rescan`` (POST) and ``/agents/<agent_id>`` (GET): ``GET /agents/rescan`` is then a
    405 naming POST, as ``/openapi.json`` (where a literal path wins) says, not agent "rescan".
    """
    rules = [(rule, _segments(rule.rule)) for rule in url_map.iter_rules()]
    by_length: dict[int, list[tuple[Any, list[str | None]]]] = {}
    for rule, segments in rules:
        by_length.setdefault(len(segments), []).append((rule, segments))
    for rule, segments in rules:
        names = iter(_PLACEHOLDER.findall(rule.rule))
        for position, segment in enumerate(segments):
            if segment is not None:
                continue
            name = next(names)
            converter = rule._converters.get(name)
            if not isinstance(converter, ReservingConverter):
                continue
            converter.parameter = name
            literals = {
                other[position]
                for sibling, other in by_length[len(segments)]
                if sibling is not rule
                and other[position] not in (None, "<mixed>")
                and all(other[i] == segments[i] for i in range(len(segments)) if i != position)
            }
            if literals:
                converter.reserved = frozenset(literals)


def allowed_methods(adapter: MapAdapter, path: str | None = None) -> list[str]:
    """The methods a request to ``path`` (default: the adapter's) would be routed for."""
    try:
        adapter.match(path, method="--")
    except MethodNotAllowed as exc:
        candidates = exc.valid_methods or []
    except HTTPException:
        return []
    methods = []
    for method in candidates:
        try:
            adapter.match(path, method=method)
        except (MethodNotAllowed, NotFound, RequestRedirect):
            continue
        except HTTPException:
            pass  # the method routes; the value is refused (a bad id is a 400)
        methods.append(method)
    return sorted(methods)


def routing_error(adapter: MapAdapter | None, exc: HTTPException, method: str) -> HTTPException:
    """The error a failed match answers: redirects become 404/405, 405s list exact methods."""
    if adapter is None or not isinstance(exc, (RequestRedirect, MethodNotAllowed)):
        return exc
    methods = allowed_methods(adapter)
    if method in methods:  # only a redirect can get here: the path as sent has no rule
        methods = []
    if not methods:
        return NotFound()
    return MethodNotAllowed(valid_methods=methods)
