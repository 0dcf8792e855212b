"""The HTTP routes: the contract's Issues, Comments, Labels, Dependencies and Milestones
sections, plus additive paging (``limit``/``offset``), ``GET /issues/{id}/labels`` and
milestone reopen/unassign. Routes are relative to ``/api/v1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from kernel.api import error_responses, json_body, json_response, query_args, responds

from .schemas import (
    AddBlockerIn,
    AddLabelIn,
    AssignMilestoneIn,
    CommentOut,
    CreateCommentIn,
    CreateIssueIn,
    CreateMilestoneIn,
    CreateSubissueIn,
    CreatedIssueOut,
    IdOut,
    IssueDetailOut,
    IssueListOut,
    IssueListQuery,
    IssueTreeOut,
    MilestoneListOut,
    MilestoneListQuery,
    MilestoneOut,
    OkOut,
    PageQuery,
    UpdateIssueIn,
)
from .service import not_found

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .milestones import MilestonesService
    from .service import IssuesService

OK = {"ok": True}


def create_blueprint(kernel: Kernel) -> Blueprint:
    """The issues and milestones routes of one application."""
    issues: IssuesService = kernel.services.require("issues")
    milestones: MilestonesService = issues.milestones
    bp = Blueprint("issues", __name__)

    # --- issues ------------------------------------------------------------------------------

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

    # --- comments ----------------------------------------------------------------------------

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

    # --- labels ------------------------------------------------------------------------------

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

    # --- dependencies ------------------------------------------------------------------------

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

    # --- milestones --------------------------------------------------------------------------

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

    return bp
