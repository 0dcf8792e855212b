"""The issues themselves: list, create, ready/blocked, detail, update, delete, close, reopen, subissue, tree. Routes are relative to ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.api import json_body, json_response, query_args, responds

from ..schemas import (
    CreatedIssueOut,
    CreateIssueIn,
    CreateSubissueIn,
    IssueDetailOut,
    IssueListOut,
    IssueListQuery,
    IssueTreeOut,
    OkOut,
    PageQuery,
    UpdateIssueIn,
)
from ..service import not_found
from . import OK

if TYPE_CHECKING:
    from quart import Blueprint

    from ..service import IssuesService


def add_routes(bp: Blueprint, issues: IssuesService) -> None:
    """Add the issues routes to the issues blueprint."""

    @bp.get("/issues")
    @query_args(IssueListQuery)
    @responds(IssueListOut)
    async def list_issues(query: IssueListQuery):
        """List issues, newest first. Filters combine; `status` defaults to `open`."""
        items, total = await issues.list(**query.model_dump())
        return json_response({"items": items, "total": total})

    @bp.post("/issues")
    @json_body(CreateIssueIn)
    @responds(CreatedIssueOut, 201)
    async def create_issue(data: CreateIssueIn):
        """Create an issue (a subissue when `parent_id` names an existing issue)."""
        answer = await issues.create_answer(data.title, data.description, data.priority, data.parent_id)
        return json_response(answer, 201)

    @bp.get("/issues/blocked")
    @query_args(PageQuery)
    @responds(IssueListOut)
    async def blocked_issues(query: PageQuery):
        """Open issues blocked by at least one open issue, oldest first."""
        items, total = await issues.blocked(query.limit, query.offset)
        return json_response({"items": items, "total": total})

    @bp.get("/issues/ready")
    @query_args(PageQuery)
    @responds(IssueListOut)
    async def ready_issues(query: PageQuery):
        """Open issues with no open blocker, oldest first."""
        items, total = await issues.ready(query.limit, query.offset)
        return json_response({"items": items, "total": total})

    @bp.get("/issues/<id:issue_id>")
    @responds(IssueDetailOut)
    async def get_issue(issue_id: int):
        """An issue with its labels, comments, blockers, blocked issues, subissues and milestone."""
        detail = await issues.detail(issue_id)
        if detail is None:
            raise not_found(issue_id)
        return json_response(detail)

    @bp.patch("/issues/<id:issue_id>")
    @json_body(UpdateIssueIn)
    @responds(OkOut)
    async def update_issue(issue_id: int, data: UpdateIssueIn):
        """Change title, description (null clears it) or priority; only the fields sent."""
        await issues.update(issue_id, data.changes())
        return json_response(OK)

    @bp.delete("/issues/<id:issue_id>")
    @responds(OkOut)
    async def delete_issue(issue_id: int):
        """Delete an issue with its comments, labels, dependencies and, recursively, subissues."""
        await issues.delete(issue_id)
        return json_response(OK)

    @bp.post("/issues/<id:issue_id>/close")
    @responds(OkOut)
    async def close_issue(issue_id: int):
        """Close an issue (closing a closed issue changes nothing). Children stay as they are."""
        await issues.set_status(issue_id, "closed")
        return json_response(OK)

    @bp.post("/issues/<id:issue_id>/reopen")
    @responds(OkOut)
    async def reopen_issue(issue_id: int):
        """Reopen an issue (reopening an open issue changes nothing)."""
        await issues.set_status(issue_id, "open")
        return json_response(OK)

    @bp.post("/issues/<id:issue_id>/subissue")
    @json_body(CreateSubissueIn)
    @responds(CreatedIssueOut, 201)
    async def create_subissue(issue_id: int, data: CreateSubissueIn):
        """Create a child of this issue."""
        answer = await issues.create_answer(
            data.title, data.description, data.priority, issue_id, missing_parent_status=404
        )
        return json_response(answer, 201)

    @bp.get("/issues/<id:issue_id>/tree")
    @responds(IssueTreeOut)
    async def issue_tree(issue_id: int):
        """Every descendant of the issue, depth-first pre-order, children by id."""
        items = await issues.tree(issue_id)
        return json_response({"items": items, "total": len(items)})
