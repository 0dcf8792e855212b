"""Raw ASGI applications mounted under path prefixes (the ``crosslink_register_asgi_apps`` hook).

A plugin that speaks a protocol of its own over HTTP returns ``{"/prefix": asgi_app}``. An HTTP
request whose path is the prefix, or below it (``/prefix/...``), goes to that application; every
other request, and every WebSocket and lifespan event, goes to Quart.

Before a mounted application sees a request, the API's guards run on the ASGI scope's headers,
through the same :class:`kernel.security.SecurityPolicy` methods:

* the Host check (403 for a name that is not served here);
* the Origin check on **every** method, as for ``/ws`` (a mounted application may stream data
  on a GET, so a foreign page must not reach it at all);
* the bearer token, when one is configured, on every path under the prefix (401);
* the declared ``Content-Length`` against ``--max-body`` (413).

A refusal is the API's JSON error ``{"error": ..., "detail": ...}``. The application receives
the scope with ``root_path`` extended by the prefix and ``path`` unchanged (as Starlette's
``Mount`` does).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import StartupError, category
from .jsonutil import dumps

if TYPE_CHECKING:
    from quart import Quart

    from .app import Kernel
    from .security import SecurityPolicy

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]

#: ``/segment`` or ``/segment/segment...``: lower-case letters, digits, ``.``, ``_``, ``-``.
PREFIX_PATTERN = re.compile(r"^(/[a-z0-9][a-z0-9._-]*)+$")
#: Paths the kernel serves itself; no mount may cover them.
KERNEL_PATHS = ("/api", "/ws", "/docs", "/openapi.json")


def _covers(prefix: str, path: str) -> bool:
    """Whether ``path`` is ``prefix`` or lies below it."""
    return path == prefix or path.startswith(prefix + "/")


def check_mounts(registered: list[tuple[str, dict[str, Any] | None]]) -> dict[str, tuple[str, ASGIApp]]:
    """Validate what the plugins returned: ``{prefix: (plugin, app)}``, or :class:`StartupError`."""
    mounts: dict[str, tuple[str, ASGIApp]] = {}
    for plugin, apps in registered:
        if apps is None:
            continue
        if not isinstance(apps, dict):
            raise StartupError(f"plugin '{plugin}': crosslink_register_asgi_apps must return a dict of prefix to app")
        for prefix, app in apps.items():
            if not isinstance(prefix, str) or not PREFIX_PATTERN.match(prefix):
                raise StartupError(
                    f"plugin '{plugin}': ASGI mount prefix {prefix!r} is not valid: use '/name' or '/name/sub' "
                    "(lower-case letters, digits, '.', '_', '-')"
                )
            if not callable(app):
                raise StartupError(f"plugin '{plugin}': the ASGI app mounted at {prefix} is not callable")
            for taken in KERNEL_PATHS:
                if _covers(prefix, taken) or _covers(taken, prefix):
                    raise StartupError(f"plugin '{plugin}': ASGI mount {prefix} overlaps the kernel's {taken}")
            for other, (owner, _) in mounts.items():
                if _covers(prefix, other) or _covers(other, prefix):
                    raise StartupError(
                        f"plugins '{owner}' and '{plugin}' mount overlapping ASGI prefixes {other} and {prefix}"
                    )
            mounts[prefix] = (plugin, app)
    return mounts


def _headers(scope: dict) -> dict[str, str]:
    """The request headers, lower-case names, first value of each (as Quart reads them)."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


async def _refuse(send: Callable[[dict], Awaitable[None]], status: int, detail: str, extra: dict | None = None) -> None:
    body = dumps({"error": category(status), "detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class MountDispatcher:
    """The ASGI callable in front of Quart: guarded mounted apps first, Quart for the rest."""

    def __init__(self, inner: ASGIApp, mounts: dict[str, tuple[str, ASGIApp]], policy: SecurityPolicy,
                 max_body: int) -> None:
        self.inner = inner
        self.mounts = mounts
        self.policy = policy
        self.max_body = max_body

    def match(self, path: str) -> str | None:
        """The prefix whose mount serves ``path``, or ``None``."""
        for prefix in self.mounts:
            if _covers(prefix, path):
                return prefix
        return None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        prefix = self.match(scope.get("path", "")) if scope["type"] == "http" else None
        if prefix is None:
            await self.inner(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await _refuse(send, *refusal)
            return
        _, app = self.mounts[prefix]
        await app({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)

    def refusal(self, scope: dict) -> tuple[int, str, dict | None] | None:
        """``(status, detail, headers)`` when the API's guards refuse the request, else ``None``."""
        headers = _headers(scope)
        host = headers.get("host")
        if error := self.policy.host_error(host):
            return 403, error, None
        if error := self.policy.origin_error(headers.get("origin"), host, scope.get("scheme", "http")):
            return 403, error, None
        if error := self.policy.token_error(scope["path"], headers.get("authorization"), None, guarded=True):
            return 401, error, {"WWW-Authenticate": "Bearer"}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return 413, f"request body is larger than {self.max_body} bytes", None
        return None


def mount_asgi_apps(app: Quart, kernel: Kernel, policy: SecurityPolicy) -> None:
    """Collect the plugins' mounts and put the dispatcher in front of Quart (if there are any)."""
    mounts = check_mounts(kernel._call_build("crosslink_register_asgi_apps", kernel=kernel))
    if mounts:
        app.asgi_app = MountDispatcher(app.asgi_app, mounts, policy, kernel.settings.max_body_bytes)
