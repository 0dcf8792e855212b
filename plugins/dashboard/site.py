"""The dashboard's frame: the layout's context, assets, security headers, login, error pages.

:class:`Dashboard` (the ``dashboard`` service) collects the pages and panels, builds the site
blueprint (``/login``, ``/logout``, ``/assets/...``) and adopts every page blueprint: each gets
the login check (with ``--token``), the security headers (a strict Content-Security-Policy:
no inline script or style, nothing from another origin) and HTML error pages.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from kernel import APIError
from kernel.browser_sessions import COOKIE_NAME, SESSION_SECONDS
from kernel.version import __version__

from .auth import LoginCodes, safe_next, token_matches
from .config import DashboardConfig
from .declarations import DashboardPage
from .formatting import duration, highlight, relative
from .markdown import render_markdown
from .registry import Registry

if TYPE_CHECKING:
    from kernel.app import Kernel

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
#: Paths of the site blueprint that need no login.
OPEN_ENDPOINTS = frozenset({"dashboard.login", "dashboard.login_with_token", "dashboard.static"})


@dataclass
class LayoutContext:
    """What ``dashboard/layout.html`` needs on every page (``dash`` in templates)."""

    nav: list[DashboardPage]
    current: str
    login: bool
    version: str
    search_links: str


class Dashboard:
    """The dashboard of one application; other plugins get it as ``services.get("dashboard")``."""

    def __init__(self, kernel: Kernel, config: DashboardConfig) -> None:
        self.kernel = kernel
        self.config = config
        self.registry = Registry()
        self.login_codes = LoginCodes(config.login_code_minutes * 60)
        self._event_channels: str | None = None

    # --- building --------------------------------------------------------------------------

    def blueprints(self) -> list[Blueprint]:
        """The site blueprint and every page's, adopted (called once, at build time)."""
        self.registry.collect(self.kernel)
        site = self._site_blueprint()
        blueprints = [site]
        for page in self.registry.pages:
            self.adopt(page.blueprint)
            blueprints.append(page.blueprint)
        return blueprints

    def adopt(self, blueprint: Blueprint) -> None:
        """Give a page blueprint the login check, the security headers and HTML errors."""
        blueprint.before_request(self._gate)
        blueprint.after_request(self._headers)
        blueprint.register_error_handler(APIError, self._api_error)
        blueprint.register_error_handler(HTTPException, self._http_error)

    def login_url(self, base_url: str) -> str:
        """The address people open: with a token, a fresh one-time login link."""
        if not self.kernel.browser_sessions.enabled:
            return f"{base_url}/"
        return f"{base_url}/login?code={self.login_codes.issue()}"

    # --- rendering -------------------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        """The context every template gets: ``dash`` (navigation, current page, login mode),
        ``now`` (the server's clock), ``event_channels`` and ``event_cursor`` (the newest event
        id delivered before the request read anything; the page's WebSocket resumes from it)."""
        page = self.registry.page_of_blueprint(request.blueprint)
        return {
            "dash": LayoutContext(
                nav=self.registry.pages,
                current=page.name if page else "",
                login=self.kernel.browser_sessions.enabled,
                version=__version__,
                search_links=self.registry.search_links(),
            ),
            "now": self.kernel.clock.now(),
            "event_channels": self.event_channels(),
            "event_cursor": g.get("dashboard_event_cursor", self.kernel.last_event_id),
        }

    def event_channels(self) -> str:
        """Event type -> channel of every registered event, as JSON (the page's script routes
        WebSocket messages by it; the messages themselves carry only their type)."""
        if self._event_channels is None:
            mapping = {item["type"]: item["channel"] for item in self.kernel.event_types()}
            self._event_channels = json.dumps(mapping, sort_keys=True)
        return self._event_channels

    async def error_page(self, status: int, title: str, detail: str) -> Response:
        """An HTML error page in the layout (a missing issue, an unknown agent, ...)."""
        body = await render_template("dashboard/error.html", status=status, title=title, detail=detail)
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    # --- request hooks ---------------------------------------------------------------------

    def signed_in(self) -> bool:
        """Whether this request may see data (no token, a session cookie or the bearer token)."""
        sessions = self.kernel.browser_sessions
        if not sessions.enabled:
            return True
        if sessions.is_valid(request.cookies.get(COOKIE_NAME)):
            return True
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and token_matches(header[7:], self.kernel.settings.token)

    async def _gate(self):
        g.dashboard_started = time.perf_counter()
        # the newest event delivered before this page reads anything: its script resumes the
        # WebSocket from here, so an event committed while the page renders is not missed
        g.dashboard_event_cursor = self.kernel.last_event_id
        if request.endpoint in OPEN_ENDPOINTS or self.signed_in():
            return None
        body = await render_template("dashboard/login.html", error=None, next=request.full_path.rstrip("?"))
        return Response(body, status=401, content_type="text/html; charset=utf-8")

    async def _headers(self, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
            started = g.get("dashboard_started")
            if started is not None:
                response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    async def _api_error(self, exc: APIError):
        titles = {404: "Not found", 400: "Bad request", 409: "Conflict"}
        return await self.error_page(exc.status, titles.get(exc.status, "Error"), exc.detail)

    async def _http_error(self, exc: HTTPException):
        status = exc.code or 500
        detail = f"No page at {request.path}" if status == 404 else (exc.description or "")
        return await self.error_page(status, exc.name, detail)

    # --- the site blueprint ----------------------------------------------------------------

    def _site_blueprint(self) -> Blueprint:
        site = Blueprint(
            "dashboard", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
        )
        site.app_context_processor(self.layout)
        site.add_app_template_filter(render_markdown, "markdown")
        site.add_app_template_filter(highlight, "highlight")
        site.add_app_template_filter(duration, "duration")
        site.add_app_template_filter(lambda value: relative(value, self.kernel.clock.now()), "relative")
        self.adopt(site)
        sessions = self.kernel.browser_sessions

        def signed_in_response(target: str) -> Response:
            response = redirect(safe_next(target), 303)
            response.set_cookie(
                COOKIE_NAME,
                sessions.issue(),
                max_age=SESSION_SECONDS,
                httponly=True,
                samesite="Strict",
                secure=request.scheme == "https",
                path="/",
            )
            return response

        @site.get("/login")
        async def login():
            """Trade a one-time code for a session cookie, or show the token form."""
            if not sessions.enabled:
                return redirect("/", 303)
            code = request.args.get("code")
            if code is not None:
                if self.login_codes.redeem(code):
                    return signed_in_response(request.args.get("next", "/"))
                error = "This login link has been used already or has expired. Paste the token instead."
                body = await render_template("dashboard/login.html", error=error, next="/")
                return Response(body, status=401, content_type="text/html; charset=utf-8")
            if self.signed_in():
                return redirect(safe_next(request.args.get("next")), 303)
            body = await render_template("dashboard/login.html", error=None, next=request.args.get("next", "/"))
            return Response(body, content_type="text/html; charset=utf-8")

        @site.post("/login")
        async def login_with_token():
            """The token typed once into the login form."""
            if not sessions.enabled:
                return redirect("/", 303)
            form = await request.form
            if token_matches(form.get("token"), self.kernel.settings.token):
                return signed_in_response(form.get("next", "/"))
            body = await render_template(
                "dashboard/login.html", error="That is not this server's token.", next=form.get("next", "/")
            )
            return Response(body, status=401, content_type="text/html; charset=utf-8")

        @site.post("/logout")
        async def logout():
            """End this browser's session."""
            response = redirect("/login", 303)
            response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
            return response

        return site
