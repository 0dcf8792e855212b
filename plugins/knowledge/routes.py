"""The knowledge routes (mounted under ``/api/v1``).

Contract: ``GET /knowledge``, ``POST /knowledge``, ``GET /knowledge/search``,
``GET /knowledge/<slug>``. Additions: ``PUT``, ``PATCH`` and ``DELETE /knowledge/<slug>``.

The slug segment uses the ``path`` converter so that ``a/b`` or ``../x`` reach the handler and
are refused with 400 instead of falling through to a 404. ``/knowledge/search`` is a static
rule, which the router always prefers, so it is never read as a slug.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from quart import Blueprint, request
from quart_schema import document_headers, hide

from kernel.api import APIError, BadRequest, error_responses, json_body, json_response, query_args, responds
from kernel.validation import path_args

from .frontmatter import Source
from .schemas import (
    AgentQuery,
    CreatedPage,
    CreatePageIn,
    DeletedPage,
    IfMatchHeader,
    KnowledgePage,
    KnowledgePageList,
    KnowledgeSearchResults,
    PatchPageIn,
    ReplacePageIn,
    SearchQuery,
    SourceIn,
)
from .service import UNCHANGED, KnowledgeService
from .slugs import SLUG_SCHEMA, slug_problem

PAGE = "/knowledge/<path:slug>"
#: The page slug of the path as ``/openapi.json`` shows it (``check_slug`` answers 400).
SlugPath = Annotated[str, Field(json_schema_extra=SLUG_SCHEMA)]


def etag(version: str) -> str:
    return f'"{version}"'


def if_match_versions() -> set[str] | None:
    """The versions named by ``If-Match`` (``{"*"}`` for any), or ``None`` without the header."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    versions = set()
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag:
            versions.add(tag)
    if not versions:
        raise BadRequest("If-Match must name the page's version (its ETag) or be '*'")
    return versions


def required_versions(body_version: str | None) -> set[str]:
    """The version a write is based on: ``If-Match``, else the body's ``version``; 428 without."""
    versions = if_match_versions()
    if versions is None and body_version:
        versions = {body_version.strip().strip('"')}
    if not versions:
        raise APIError(
            428,
            "Send the version you read: an If-Match header with the page's ETag, or a "
            "'version' field (GET /knowledge/<slug> gives both)",
        )
    return versions


def check_slug(slug: str) -> str:
    problem = slug_problem(slug)
    if problem is not None:
        raise BadRequest(problem)
    return slug


def sources_of(items: list[SourceIn]) -> tuple[Source, ...]:
    return tuple(Source(item.url, item.title, item.accessed_at) for item in items)


def page_response(page, status: int = 200):
    return json_response(page.detail(), status, headers={"ETag": etag(page.version)})


def create_blueprint(service: KnowledgeService) -> Blueprint:
    bp = Blueprint("knowledge", __name__)

    @bp.get("/knowledge")
    @responds(KnowledgePageList)
    async def list_pages():
        """Every knowledge page (summaries, no content), sorted by slug."""
        return json_response([page.summary() for page in await service.list_pages()])

    @bp.post("/knowledge")
    @query_args(AgentQuery)
    @json_body(CreatePageIn)
    @responds(CreatedPage, 201)
    @error_responses(409)
    async def create_page(data: CreatePageIn, query: AgentQuery):
        """Create a page and commit it on the knowledge branch; 409 when the slug is taken.

        The contributor (``?agent_id=``, or ``agent_id`` / ``contributor`` in the body) becomes
        the page's first contributor. The new page's version is in the ``ETag`` header.
        """
        page = await service.create_page(
            data.slug,
            title=data.title,
            content=data.content,
            tags=data.tags,
            sources=sources_of(data.sources),
            contributor=data.contributor_name(query.agent_id),
        )
        headers = {"ETag": etag(page.version), "Location": f"/api/v1/knowledge/{page.slug}"}
        return json_response({"slug": page.slug}, 201, headers=headers)

    @bp.get("/knowledge/search")
    @query_args(SearchQuery)
    @responds(KnowledgeSearchResults)
    async def search_pages(query: SearchQuery):
        """Search pages as the crosslink CLI does: any term, most distinct terms first."""
        text = query.q.strip()
        if not text:
            raise BadRequest("Search query 'q' is required and cannot be empty")
        ranked = await service.search(text)
        return json_response(
            [
                {
                    "slug": match.slug,
                    "title": page.title,
                    "line_number": match.line_number,
                    "context_lines": match.context_lines,
                }
                for page in ranked
                for match in page.hits.matches
            ]
        )

    @bp.route("/knowledge/", methods=["GET", "PUT", "PATCH", "DELETE"])
    @hide
    async def empty_slug():
        """A page address without a slug."""
        raise BadRequest("Page slug cannot be empty")

    @bp.get(PAGE)
    @path_args(slug=SlugPath)
    @responds(KnowledgePage)
    async def get_page(slug: str):
        """One page with its content (the file without its front matter) and its version."""
        return page_response(await service.get_page(check_slug(slug)))

    @bp.put(PAGE)
    @path_args(slug=SlugPath)
    @query_args(AgentQuery)
    @json_body(ReplacePageIn)
    @document_headers(IfMatchHeader)
    @responds(KnowledgePage)
    @error_responses(412, 428)
    async def replace_page(slug: str, data: ReplacePageIn, query: AgentQuery):
        """Replace title, content, tags and sources. Needs If-Match or ``version``; 412 if stale."""
        check_slug(slug)
        page = await service.update_page(
            slug,
            expected=required_versions(data.version),
            contributor=data.contributor_name(query.agent_id),
            title=data.title,
            content=data.content,
            tags=data.tags,
            sources=sources_of(data.sources),
        )
        return page_response(page)

    @bp.patch(PAGE)
    @path_args(slug=SlugPath)
    @query_args(AgentQuery)
    @json_body(PatchPageIn)
    @document_headers(IfMatchHeader)
    @responds(KnowledgePage)
    @error_responses(412, 428)
    async def patch_page(slug: str, data: PatchPageIn, query: AgentQuery):
        """Change only the given fields. Needs If-Match or ``version``; 412 if stale."""
        check_slug(slug)
        page = await service.update_page(
            slug,
            expected=required_versions(data.version),
            contributor=data.contributor_name(query.agent_id),
            title=UNCHANGED if data.title is None else data.title,
            content=UNCHANGED if data.content is None else data.content,
            tags=UNCHANGED if data.tags is None else data.tags,
            sources=UNCHANGED if data.sources is None else sources_of(data.sources),
        )
        return page_response(page)

    @bp.delete(PAGE)
    @path_args(slug=SlugPath)
    @document_headers(IfMatchHeader)
    @responds(DeletedPage)
    @error_responses(412)
    async def delete_page(slug: str):
        """Delete a page (``index`` too) and commit the removal; 404 when absent.

        With an If-Match header the page is deleted only if it is still that version (412).
        """
        await service.delete_page(check_slug(slug), expected=if_match_versions())
        return json_response({"ok": True})

    return bp
