"""The knowledge pages: the list with a tag filter and search (``/knowledge``), a page rendered
from its Markdown (``/knowledge/<slug>``), and the create and edit forms (edits carry the
version they started from, so a page changed meanwhile is refused, not overwritten)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import html, text_arg

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The knowledge list, page, create and edit views, on the ``knowledge`` service."""
    knowledge = kernel.services.require("knowledge")
    bp = Blueprint("dashboard_knowledge", __name__)

    @bp.get("/knowledge")
    async def page_list():
        """Every page (``?tag=`` filters), or the search results for ``?q=``."""
        errors: dict[str, str] = {}
        query = text_arg("q", errors, 200)
        tag = text_arg("tag", errors, 200)
        summaries = [page.summary() for page in await knowledge.list_pages()]
        tags = sorted({t for summary in summaries for t in summary["tags"]})
        results = None
        if query and not errors:
            results = [
                {"slug": ranked.hits.slug, "title": ranked.title, "line_number": match.line_number,
                 "context_lines": match.context_lines}
                for ranked in await knowledge.search(query)
                for match in ranked.hits.matches
            ]
        if tag:
            summaries = [summary for summary in summaries if tag in summary["tags"]]
        return await html(
            "dashboard/knowledge/list.html",
            status=400 if errors else 200,
            pages=summaries,
            tags=tags,
            tag=tag,
            query=query,
            terms=query.lower().split(),
            results=results,
            errors=errors,
        )

    @bp.get("/knowledge/new")
    async def new_page():
        """The form for a new page."""
        return await html("dashboard/knowledge/edit.html", page=None)

    @bp.get("/knowledge/<slug>")
    async def show_page(slug: str):
        """One page: its Markdown rendered and sanitised, its sources and contributors."""
        return await html("dashboard/knowledge/page.html", page=(await knowledge.get_page(slug)).detail())

    @bp.get("/knowledge/<slug>/edit")
    async def edit_page(slug: str):
        """The edit form, holding the version it was read at."""
        return await html("dashboard/knowledge/edit.html", page=(await knowledge.get_page(slug)).detail())

    return DashboardPage(
        "knowledge",
        "Knowledge",
        bp,
        order=60,
        shortcut="k",
        search_links={"knowledge": "/knowledge/{id}"},
    )
