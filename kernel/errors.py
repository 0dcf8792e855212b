"""Errors: the API's JSON error shape, startup failures, and the handlers that render them.

Every error the server answers is ``{"error": <category>, "detail": <what exactly>}``, framework
errors included. A 500 never carries a traceback: the exception is logged, the client gets a
generic message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from quart import Quart
from werkzeug.exceptions import HTTPException

from .jsonutil import json_response

log = logging.getLogger("crosslink.errors")

#: The short category each status answers with in ``error``.
CATEGORIES: dict[int, str] = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    412: "precondition failed",
    413: "payload too large",
    415: "unsupported media type",
    422: "bad request",
    428: "precondition required",
    500: "internal error",
    503: "unavailable",
}


class StartupError(Exception):
    """The server cannot start; the message says why and how to fix it."""


class PluginLoadError(StartupError):
    """A plugin could not be imported or registered."""


class APIError(Exception):
    """An error answered to the client as ``{"error", "detail"}`` with ``status``."""

    def __init__(self, status: int, detail: str, *, error: str | None = None, **extra: object):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error or category(status)
        self.extra = extra

    def body(self) -> dict:
        return {"error": self.error, "detail": self.detail, **self.extra}


def BadRequest(detail: str, **extra: object) -> APIError:  # noqa: N802 - reads like a class
    return APIError(400, detail, **extra)


def NotFound(detail: str, **extra: object) -> APIError:  # noqa: N802
    return APIError(404, detail, **extra)


def Conflict(detail: str, **extra: object) -> APIError:  # noqa: N802
    return APIError(409, detail, **extra)


def category(status: int) -> str:
    if status in CATEGORIES:
        return CATEGORIES[status]
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def error_response(status: int, detail: str, error: str | None = None, headers=None):
    response = json_response({"error": error or category(status), "detail": detail}, status)
    if headers:
        response.headers.update(headers)
    return response


_FRAMEWORK_DETAILS = {
    404: "No such route: {path}",
    405: "Method {method} is not allowed on {path}",
    408: "The request body did not arrive in time",
    413: "Request body is larger than the server accepts",
}


def install_error_handlers(app: Quart, owner_of: Callable[[str], str | None] | None = None) -> None:
    """Make every error, framework or ours, a JSON ``{error, detail}`` response.

    :param owner_of: for a path no route answers, the disabled plugin that would serve it
        (``None``: none); the 404 then says so and how to enable it.
    """

    from quart import request

    @app.errorhandler(APIError)
    async def _api_error(exc: APIError):
        return json_response(exc.body(), exc.status)

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException):
        status = exc.code or 500
        template = _FRAMEWORK_DETAILS.get(status)
        if template is not None:
            detail = template.format(path=request.path, method=request.method)
            plugin = owner_of(request.path) if status == 404 and owner_of is not None else None
            if plugin is not None:
                detail = (f"{request.path} is served by the '{plugin}' plugin, which is disabled on this "
                          f"server; enable it with --plugins (e.g. --plugins all or a list naming '{plugin}')")
        else:
            detail = exc.description or category(status)
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return error_response(status, detail, headers=headers)

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):  # pragma: no cover - routed above
            return await _http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "The server hit an unexpected error; it has been logged.")
