"""The HTTP routes: the contract's Issues, Comments, Labels, Dependencies and Milestones
sections, plus additive paging (``limit``/``offset``), ``GET /issues/{id}/labels`` and
milestone reopen/unassign. Routes are relative to ``/api/v1``; one module per area, all on one
blueprint (``issues``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

OK = {"ok": True}

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..service import IssuesService


def create_blueprint(kernel: Kernel) -> Blueprint:
    """The issues and milestones routes of one application."""
    from . import comments_labels, dependencies, issues, milestones

    service: IssuesService = kernel.services.require("issues")
    bp = Blueprint("issues", __name__)
    for area in (issues, comments_labels, dependencies, milestones):
        area.add_routes(bp, service)
    return bp
