"""Milestones: list, create, detail, assign and unassign issues, close, reopen. Routes are relative to ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.api import json_body, json_response, query_args, responds

from ..schemas import (
    AssignMilestoneIn,
    CreateMilestoneIn,
    IdOut,
    MilestoneListOut,
    MilestoneListQuery,
    MilestoneOut,
    OkOut,
)
from . import OK

if TYPE_CHECKING:
    from quart import Blueprint

    from ..service import IssuesService


def add_routes(bp: Blueprint, issues: IssuesService) -> None:
    """Add the milestones routes to the issues blueprint."""
    milestones = issues.milestones

    @bp.get("/milestones")
    @query_args(MilestoneListQuery)
    @responds(MilestoneListOut)
    async def list_milestones(query: MilestoneListQuery):
        """Milestones with progress, newest first; `status` defaults to `open`."""
        items, total = await milestones.list(query.status, query.limit, query.offset)
        return json_response({"items": items, "total": total})

    @bp.post("/milestones")
    @json_body(CreateMilestoneIn)
    @responds(IdOut, 201)
    async def create_milestone(data: CreateMilestoneIn):
        """Create a milestone (`title` is accepted for `name`)."""
        return json_response({"id": await milestones.create(data.name, data.description)}, 201)

    @bp.get("/milestones/<id('milestone', signed=False):milestone_id>")
    @responds(MilestoneOut)
    async def get_milestone(milestone_id: int):
        """A milestone with its issue count, closed count and progress."""
        return json_response(await milestones.get(milestone_id))

    @bp.post("/milestones/<id('milestone', signed=False):milestone_id>/assign")
    @json_body(AssignMilestoneIn)
    @responds(OkOut)
    async def assign_milestone(milestone_id: int, data: AssignMilestoneIn):
        """Put an issue in this milestone (it leaves any other milestone)."""
        await milestones.assign(milestone_id, data.issue_id)
        return json_response(OK)

    @bp.delete("/milestones/<id('milestone', signed=False):milestone_id>/issues/<id:issue_id>")
    @responds(OkOut)
    async def unassign_milestone(milestone_id: int, issue_id: int):
        """Take an issue out of this milestone (additive)."""
        await milestones.unassign(milestone_id, issue_id)
        return json_response(OK)

    @bp.post("/milestones/<id('milestone', signed=False):milestone_id>/close")
    @responds(OkOut)
    async def close_milestone(milestone_id: int):
        """Close a milestone (closing a closed one changes nothing)."""
        await milestones.set_status(milestone_id, "closed")
        return json_response(OK)

    @bp.post("/milestones/<id('milestone', signed=False):milestone_id>/reopen")
    @responds(OkOut)
    async def reopen_milestone(milestone_id: int):
        """Reopen a closed milestone (additive)."""
        await milestones.set_status(milestone_id, "open")
        return json_response(OK)
