"""Comments and labels of an issue. Routes are relative to ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.api import error_responses, json_body, json_response, responds

from ..schemas import (
    AddLabelIn,
    CommentOut,
    CreateCommentIn,
    IdOut,
    OkOut,
)
from . import OK

if TYPE_CHECKING:
    from quart import Blueprint

    from ..service import IssuesService


def add_routes(bp: Blueprint, issues: IssuesService) -> None:
    """Add the comments and labels routes to the issues blueprint."""

    @bp.get("/issues/<id:issue_id>/comments")
    @responds(list[CommentOut])
    async def list_comments(issue_id: int):
        """The issue's comments, oldest first (a bare array)."""
        return json_response(await issues.comments(issue_id))

    @bp.post("/issues/<id:issue_id>/comments")
    @json_body(CreateCommentIn)
    @responds(IdOut, 201)
    async def add_comment(issue_id: int, data: CreateCommentIn):
        """Comment on an issue; `trigger_type`/`intervention_context` are kept for interventions."""
        return json_response({"id": await issues.create_comment(issue_id, data)}, 201)


    @bp.get("/issues/<id:issue_id>/labels")
    @responds(list[str])
    async def list_labels(issue_id: int):
        """The issue's labels, sorted (a bare array)."""
        return json_response(await issues.labels(issue_id))

    @bp.post("/issues/<id:issue_id>/labels")
    @json_body(AddLabelIn)
    @responds(OkOut)
    @error_responses(409)
    async def add_label(issue_id: int, data: AddLabelIn):
        """Add a label; 409 when the issue already has it."""
        await issues.add_label(issue_id, data.label)
        return json_response(OK)

    @bp.delete("/issues/<id:issue_id>/labels/<path:label>")
    @responds(OkOut)
    async def remove_label(issue_id: int, label: str):
        """Remove a label (URL-encode it; a label may contain `/`)."""
        await issues.remove_label(issue_id, label)
        return json_response(OK)
