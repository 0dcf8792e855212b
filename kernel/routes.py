"""The HTTP surface the kernel owns: health, config, plugins, events, unified search, docs."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from quart import Blueprint, Response
from quart_schema import document_response, hide, tag_blueprint

from .errors import APIError
from .hook_config import ConfigUpdate, ConfigView
from .jsonutil import json_response
from .schemas import EventLogOut, EventLogQuery, EventTypeOut, HealthOut, PluginOut, SearchOut, SearchQuery, WorkerOut
from .search import rank
from .validation import json_body, query_args
from .version import __version__

if TYPE_CHECKING:
    from .app import Kernel

STATIC = files("kernel") / "static"
DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
}


def create_api_blueprint(kernel: Kernel) -> Blueprint:
    bp = Blueprint("kernel", __name__)
    tag_blueprint(bp, ["kernel"])

    @bp.get("/health")
    @document_response(HealthOut)
    async def health():
        """Server status and version."""
        return json_response({"status": "ok", "version": __version__})

    @bp.get("/config")
    @document_response(ConfigView)
    async def get_config():
        """The shared hook configuration (.crosslink/hook-config.json)."""
        return json_response(kernel.hook_config.read().model_dump())

    @bp.patch("/config")
    @json_body(ConfigUpdate)
    @document_response(ConfigView)
    async def patch_config(data: ConfigUpdate):
        """Change the given configuration fields; every other key of the file is kept."""
        view = await kernel.hook_config.update(data)
        return json_response(view.model_dump())

    @bp.get("/plugins")
    @document_response(list[PluginOut])
    async def list_plugins():
        """Every plugin this server knows, enabled or not, with the hooks it implements."""
        return json_response([record.as_dict() for record in kernel.plugins.all_records()])

    @bp.get("/workers")
    @document_response(list[WorkerOut])
    async def list_workers():
        """Every background worker: plugin, state, restarts, last error, lease."""
        return json_response(kernel.workers.describe())

    @bp.get("/events")
    @document_response(list[EventTypeOut])
    async def list_events():
        """The event types of the enabled plugins: channel, description and JSON schema."""
        return json_response(kernel.events.registry.describe())

    @bp.get("/events/log")
    @query_args(EventLogQuery)
    @document_response(EventLogOut)
    async def event_log(query: EventLogQuery):
        """The durable event log after ``after``, oldest first; long-polls up to ``wait`` s."""
        log_, relay = kernel.event_log, kernel.relay
        channels = None
        if query.channels is not None:
            channels = frozenset(name.strip() for name in query.channels.split(",") if name.strip())
        if query.after is None:
            return json_response({"items": [], "last_id": relay.last_id, "gap": False})
        if query.after > max(await log_.head(), relay.last_id) or query.after < await log_.pruned_through():
            return json_response({"items": [], "last_id": relay.last_id, "gap": True})

        async def page() -> tuple[list, int]:
            # everything up to what this instance delivered has committed, so the read sees it
            bound = relay.last_id
            entries = await log_.read(query.after, limit=query.limit, upto=bound, channels=channels)
            return entries, entries[-1].id if len(entries) == query.limit else bound

        entries, last = await page()
        if not entries and query.wait > 0 and await relay.wait_beyond(max(query.after, last), query.wait):
            entries, last = await page()
        return json_response(
            {"items": [entry.as_item() for entry in entries], "last_id": max(last, query.after), "gap": False}
        )

    @bp.get("/search")
    @query_args(SearchQuery)
    @document_response(SearchOut)
    async def search(query: SearchQuery):
        """One ranked list of matches from every plugin that takes part in search."""
        text = query.q.strip()
        if not text:
            raise APIError(400, "Search query 'q' is required and cannot be empty")
        hits = rank(await kernel.search(text, query.limit), query.limit)
        return json_response({"items": [hit.model_dump() for hit in hits], "total": len(hits)})

    return bp


def create_docs_blueprint() -> Blueprint:
    """The API docs page: renders /openapi.json with local assets only (works offline)."""
    bp = Blueprint("docs", __name__)

    @bp.get("/docs")
    @hide
    async def docs_page():
        body = (STATIC / "docs.html").read_bytes()
        return Response(body, content_type="text/html; charset=utf-8", headers=DOCS_HEADERS)

    @bp.get("/docs/<any('docs.js', 'docs.css'):asset>")
    @hide
    async def docs_asset(asset: str):
        kind = "text/javascript" if asset.endswith(".js") else "text/css"
        body = (STATIC / asset).read_bytes()
        return Response(body, content_type=f"{kind}; charset=utf-8", headers=DOCS_HEADERS)

    return bp
