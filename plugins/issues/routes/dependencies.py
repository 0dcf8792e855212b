"""Blockers: an issue blocked by another, and unblocking. Routes are relative to ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.api import error_responses, json_body, json_response, responds

from ..schemas import (
    AddBlockerIn,
    OkOut,
)
from . import OK

if TYPE_CHECKING:
    from quart import Blueprint

    from ..service import IssuesService


def add_routes(bp: Blueprint, issues: IssuesService) -> None:
    """Add the dependencies routes to the issues blueprint."""

    @bp.post("/issues/<id:issue_id>/block")
    @json_body(AddBlockerIn)
    @responds(OkOut)
    @error_responses(409)
    async def add_blocker(issue_id: int, data: AddBlockerIn):
        """Mark this issue as blocked by `blocker_id`; 400 for a self-block or a cycle, 409 if known."""
        await issues.add_blocker(issue_id, data.blocker_id)
        return json_response(OK)

    @bp.delete("/issues/<id:issue_id>/block/<id:blocker_id>")
    @responds(OkOut)
    async def remove_blocker(issue_id: int, blocker_id: int):
        """Remove the "blocked by" edge; 404 when there is none."""
        await issues.remove_blocker(issue_id, blocker_id)
        return json_response(OK)
