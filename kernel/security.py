"""Request guards: Host (DNS rebinding), Origin (cross-site requests), bearer token, body size.

* ``Host`` is parsed strictly as ``host[:port]`` (a name, an IPv4 address or a bracketed IPv6
  address; a port of 1-5 digits; no userinfo, path or spaces). A request whose Host is
  malformed or is neither the bound host, a loopback name nor an allowed host is refused with
  403 (a DNS-rebinding page cannot reach the server). The port is not compared with the one
  the server listens on: SSH tunnels and port forwards legitimately change it, and it adds no
  protection (a page on another local port sends this server's own Host). When the server
  binds to a wildcard address with a token, any well-formed Host is accepted: the token is the
  guard.
* ``Origin`` is parsed strictly as ``scheme://host[:port]``. A WebSocket upgrade or a
  state-changing request (anything but GET, HEAD, OPTIONS) carrying an Origin other than the
  server's own or an allowed origin (``--allow-origin``) is refused with 403. The server's own
  origin is ``http://`` + the request's Host, same port (80 when absent): the server speaks
  plain HTTP, so ``https://127.0.0.1:3100`` is another origin. ``null`` is always foreign.
* ``OPTIONS`` is a CORS preflight for the allowed origins (204 with the path's methods); any
  other ``OPTIONS`` reaches routing, which answers a JSON 405.
* With a token configured, ``/api/...`` (except ``/api/v1/health``) and ``/ws`` need
  ``Authorization: Bearer <token>``; ``/ws`` also accepts ``?token=`` (browsers cannot set
  headers on a WebSocket), and both accept a browser session cookie
  (:mod:`kernel.browser_sessions`).
* A declared ``Content-Length`` over the limit is refused with 413 before the body is read.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from typing import NamedTuple

from quart import Quart, Response, request, websocket
from quart.globals import request_ctx

from .browser_sessions import COOKIE_NAME, BrowserSessions
from .errors import StartupError, error_response
from .routing import allowed_methods
from .settings import LOOPBACK_NAMES, Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_EXEMPT = frozenset({"/api/v1/health"})
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, Accept"
EXPOSE_HEADERS = "ETag, Location"
DEFAULT_PORTS = {"http": 80, "https": 443}

_AUTHORITY = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?")
_ORIGIN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#@\s]+)")


class Authority(NamedTuple):
    """A parsed ``host[:port]``: the host lower-cased (IPv6 without brackets), the port or None."""

    host: str
    port: int | None


class OriginParts(NamedTuple):
    """A parsed origin: scheme, host and the effective port (the scheme's default if absent)."""

    scheme: str
    host: str
    port: int | None


def parse_authority(value: str) -> Authority | None:
    """``host[:port]`` parsed strictly, or ``None`` when it is anything else."""
    match = _AUTHORITY.fullmatch(value)
    if match is None:
        return None
    host = match.group("host").lower()
    if host.startswith("["):
        try:
            host = str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    port = match.group("port")
    if port is not None and not 0 < int(port) <= 65535:
        return None
    return Authority(host, None if port is None else int(port))


def parse_origin(value: str) -> OriginParts | None:
    """``scheme://host[:port]`` parsed strictly (no userinfo, path, query), or ``None``."""
    match = _ORIGIN.fullmatch(value)
    if match is None:
        return None
    authority = parse_authority(match.group("authority"))
    if authority is None:
        return None
    scheme = match.group("scheme").lower()
    return OriginParts(scheme, authority.host, authority.port or DEFAULT_PORTS.get(scheme))


def _hostname(value: str) -> str:
    """The host of a configured name (``name``, ``name:port``, ``[v6]``), lower-cased."""
    authority = parse_authority(value.strip())
    if authority is not None:
        return authority.host
    value = value.strip().lower()
    return value[1:-1] if value.startswith("[") and value.endswith("]") else value


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _allowed_origin(value: str) -> OriginParts:
    parts = parse_origin(value.strip().rstrip("/"))
    if parts is None or parts.scheme not in DEFAULT_PORTS:
        raise StartupError(f"--allow-origin '{value}' is not an origin such as http://localhost:5173")
    return parts


class SecurityPolicy:
    """The checks every request and WebSocket passes (see the module); each answers why not."""

    def __init__(self, settings: Settings) -> None:
        self.token = settings.token
        self.allowed_hosts = {_hostname(h) for h in (*LOOPBACK_NAMES, settings.host, *settings.allowed_hosts)}
        self.any_host = bool(settings.token) and _is_wildcard(settings.host)
        self.allowed_origins = {_allowed_origin(origin) for origin in settings.allowed_origins}
        self.sessions = BrowserSessions(settings.token, settings.clock)

    def host_error(self, host_header: str | None) -> str | None:
        """Why a request with this ``Host`` is refused, or ``None``."""
        if not host_header:
            return None if self.any_host else "the request has no Host header"
        authority = parse_authority(host_header)
        if authority is None:
            return f"Host '{host_header[:200]}' is not a valid host[:port]"
        if self.any_host:
            return None
        if authority.host not in self.allowed_hosts:
            return f"Host '{host_header}' is not served here (only the bound host or a loopback name)"
        return None

    def is_allowed_origin(self, origin: str | None) -> bool:
        """Whether ``origin`` is one of the ``--allow-origin`` origins (CORS applies)."""
        if not origin or not self.allowed_origins:
            return False
        parts = parse_origin(origin)
        return parts is not None and parts in self.allowed_origins

    def origin_error(self, origin: str | None, host_header: str | None, scheme: str) -> str | None:
        """Why a request from ``origin`` is refused, or ``None`` (no Origin, same origin, or
        allowed). ``scheme`` is the server's (``http``): an https origin is another origin."""
        if origin is None or self.is_allowed_origin(origin):
            return None
        parts = parse_origin(origin)
        authority = parse_authority(host_header) if host_header else None
        if parts is not None and authority is not None and parts.scheme == scheme.lower():
            own_port = authority.port or DEFAULT_PORTS.get(parts.scheme)
            if parts.host == authority.host and parts.port == own_port:
                return None
        return f"requests from origin '{origin[:200]}' are not accepted"

    def token_error(self, path: str, authorization: str | None, query_token: str | None,
                    cookie: str | None = None, *, guarded: bool = False) -> str | None:
        """Why a request to ``path`` lacks a valid bearer token (or a browser session cookie
        standing in for it), or ``None``. ``guarded``: a path a plugin mounted, checked like
        ``/api``."""
        if not self.token or path in TOKEN_EXEMPT:
            return None
        if not (guarded or path.startswith("/api/") or path == "/ws"):
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


def install_security(app: Quart, settings: Settings) -> SecurityPolicy:
    """Install the guards on ``app``; returns the policy (its checks are public)."""
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
        if request.method == "OPTIONS" and policy.is_allowed_origin(origin):
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
        if policy.is_allowed_origin(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            response.headers["Vary"] = "Origin"
        return response

    def _preflight(origin: str):
        methods = allowed_methods(request_ctx.url_adapter)
        if not methods:
            return error_response(404, f"No such route: {request.path}")
        preflight = Response(b"", status=204)
        preflight.headers["Access-Control-Allow-Origin"] = origin
        preflight.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        preflight.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        preflight.headers["Access-Control-Max-Age"] = "600"
        preflight.headers["Vary"] = "Origin"
        return preflight

    return policy
