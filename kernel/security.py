"""Request guards: Host (DNS rebinding), Origin (cross-site requests), bearer token, body size.

* A request whose ``Host`` is neither the bound host, a loopback name nor an allowed host is
  refused with 403 (a DNS-rebinding page cannot reach the server). When the server binds to a
  wildcard address with a token, any Host is accepted: the token is the guard.
* A WebSocket upgrade or a state-changing request (anything but GET, HEAD, OPTIONS) carrying an
  ``Origin`` other than the server's own (or an allowed origin) is refused with 403.
* With a token configured, ``/api/...`` (except ``/api/v1/health``) and ``/ws`` need
  ``Authorization: Bearer <token>``; ``/ws`` also accepts ``?token=`` (browsers cannot set
  headers on a WebSocket), and both accept a browser session cookie
  (:mod:`kernel.browser_sessions`).
* A declared ``Content-Length`` over the limit is refused with 413 before the body is read.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from quart import Quart, Response, request, websocket

from .browser_sessions import COOKIE_NAME, BrowserSessions
from .errors import error_response
from .settings import LOOPBACK_NAMES, Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_EXEMPT = frozenset({"/api/v1/health"})
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, Accept"


def _hostname(authority: str) -> str:
    """``host`` of ``host:port`` / ``[v6]:port``, lower-cased, brackets removed."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


class SecurityPolicy:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.token
        self.allowed_hosts = {_hostname(h) for h in (*LOOPBACK_NAMES, settings.host, *settings.allowed_hosts)}
        self.any_host = bool(settings.token) and _is_wildcard(settings.host)
        self.allowed_origins = {origin.rstrip("/").lower() for origin in settings.allowed_origins}
        self.sessions = BrowserSessions(settings.token, settings.clock)

    def host_error(self, host_header: str | None) -> str | None:
        if self.any_host:
            return None
        if not host_header:
            return "the request has no Host header"
        if _hostname(host_header) not in self.allowed_hosts:
            return f"Host '{host_header}' is not served here (only the bound host or a loopback name)"
        return None

    def origin_error(self, origin: str | None, host_header: str | None, scheme: str) -> str | None:
        if origin is None:
            return None
        normalised = origin.rstrip("/").lower()
        if normalised in self.allowed_origins:
            return None
        parts = urlsplit(normalised)
        same_origin = parts.scheme in ("http", "https") and host_header is not None and (
            parts.netloc == host_header.lower()
            or parts.netloc == _with_default_port(host_header.lower(), parts.scheme)
        )
        if same_origin:
            return None
        return f"requests from origin '{origin}' are not accepted"

    def token_error(
        self, path: str, authorization: str | None, query_token: str | None, cookie: str | None = None
    ) -> str | None:
        if not self.token or path in TOKEN_EXEMPT:
            return None
        if not (path.startswith("/api/") or path == "/ws"):
            return None
        if authorization is None and self.sessions.is_valid(cookie):
            return None
        supplied = None
        if authorization and authorization.startswith("Bearer "):
            supplied = authorization[len("Bearer ") :].strip()
        elif path == "/ws" and query_token:
            supplied = query_token
        if supplied is None:
            return "this server needs 'Authorization: Bearer <token>'"
        if not hmac.compare_digest(supplied.encode(), self.token.encode()):
            return "the bearer token is not valid"
        return None


def _with_default_port(host: str, scheme: str) -> str:
    if ":" in host.rsplit("]", 1)[-1]:
        return host
    return f"{host}:{443 if scheme == 'https' else 80}"


def install_security(app: Quart, settings: Settings) -> SecurityPolicy:
    policy = SecurityPolicy(settings)
    max_body = settings.max_body_bytes
    app.config["MAX_CONTENT_LENGTH"] = max_body

    @app.before_request
    async def _guard_request():
        host = request.headers.get("Host")
        if error := policy.host_error(host):
            return error_response(403, error)
        origin = request.headers.get("Origin")
        if request.method not in SAFE_METHODS and (
            error := policy.origin_error(origin, host, request.scheme)
        ):
            return error_response(403, error)
        if request.method == "OPTIONS":
            return _preflight(origin)
        if error := policy.token_error(
            request.path, request.headers.get("Authorization"), None, request.cookies.get(COOKIE_NAME)
        ):
            return error_response(401, error, headers={"WWW-Authenticate": "Bearer"})
        if request.content_length is not None and request.content_length > max_body:
            return error_response(413, f"request body is larger than {max_body} bytes")
        return None

    @app.before_websocket
    async def _guard_websocket():
        host = websocket.headers.get("Host")
        if error := policy.host_error(host):
            return error_response(403, error)
        if error := policy.origin_error(websocket.headers.get("Origin"), host, "http"):
            return error_response(403, error)
        if error := policy.token_error(
            websocket.path,
            websocket.headers.get("Authorization"),
            websocket.args.get("token"),
            websocket.cookies.get(COOKIE_NAME),
        ):
            return error_response(401, error, headers={"WWW-Authenticate": "Bearer"})
        return None

    @app.after_request
    async def _cors(response):
        origin = request.headers.get("Origin")
        if origin and origin.rstrip("/").lower() in policy.allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    def _preflight(origin: str | None):
        if origin is None:
            return None  # a plain OPTIONS request: routing answers it
        if origin.rstrip("/").lower() not in policy.allowed_origins:
            return error_response(403, f"requests from origin '{origin}' are not accepted")
        preflight = Response(b"", status=204)
        preflight.headers["Access-Control-Allow-Origin"] = origin
        preflight.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        preflight.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        preflight.headers["Access-Control-Max-Age"] = "600"
        preflight.headers["Vary"] = "Origin"
        return preflight

    return policy
