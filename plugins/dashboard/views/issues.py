"""The issues pages: the filtered, paged list (``/issues``), a new issue (``/issues/new``) and
an issue's detail (``/issues/<id>``) with every action of the API on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Blueprint

from kernel.api import NotFound

from ..declarations import DashboardPage
from .common import Pager, choice_arg, html, id_arg, page_number, text_arg

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

STATUSES = ("open", "closed", "archived", "all")
PRIORITIES = ("", "low", "medium", "high", "critical")
VIEWS = ("", "ready", "blocked")
COMMENT_KINDS = ("note", "plan", "decision", "observation", "blocker", "resolution", "result", "intervention")
#: Most related issues (blockers, blocking) whose titles are looked up for the detail page.
RELATED_LIMIT = 50
#: Most open milestones offered in an issue's "move to milestone" choice.
MILESTONE_CHOICES = 200


def nest(root_id: int, descendants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flat depth-first tree as nested ``{"issue", "children"}`` nodes."""
    nodes = {item["id"]: {"issue": item, "children": []} for item in descendants}
    top = []
    for item in descendants:
        parent = nodes.get(item["parent_id"])
        (parent["children"] if parent and item["parent_id"] != root_id else top).append(nodes[item["id"]])
    return top


async def lock_map(kernel: Kernel) -> dict[int, dict[str, Any]]:
    """Issue id -> its lock entry, when the locks plugin is enabled."""
    locks = kernel.services.get("locks")
    if locks is None:
        return {}
    return {entry["issue_id"]: entry for entry in await locks.list_locks()}


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The issue list, the new-issue form and the issue detail, on the ``issues`` service."""
    issues = kernel.services.require("issues")
    bp = Blueprint("dashboard_issues", __name__)

    @bp.get("/issues")
    async def issue_list():
        """Issues with the API's filters (status, label, priority, search, parent) and paging."""
        errors: dict[str, str] = {}
        filters = {
            "status": choice_arg("status", STATUSES, "open", errors),
            "priority": choice_arg("priority", PRIORITIES, "", errors),
            "label": text_arg("label", errors, 128),
            "search": text_arg("search", errors, 200),
            "parent": id_arg("parent", errors),
            "view": choice_arg("view", VIEWS, "", errors),
        }
        number = page_number(errors)
        size = dashboard.config.page_size
        items: list[dict[str, Any]] = []
        total = 0
        if not errors:
            offset = (number - 1) * size
            if filters["view"] == "ready":
                items, total = await issues.ready(size, offset)
            elif filters["view"] == "blocked":
                items, total = await issues.blocked(size, offset)
            else:
                items, total = await issues.list(
                    status=filters["status"],
                    label=filters["label"] or None,
                    priority=filters["priority"] or None,
                    search=filters["search"] or None,
                    parent_id=filters["parent"],
                    limit=size,
                    offset=offset,
                )
        return await html(
            "dashboard/issues/list.html",
            status=400 if errors else 200,
            items=items,
            pager=Pager(number, size, total),
            filters=filters,
            errors=errors,
            locks=await lock_map(kernel),
            statuses=STATUSES,
            priorities=PRIORITIES[1:],
        )

    @bp.get("/issues/new")
    async def new_issue():
        """The form for a new issue (``?parent=`` makes it a subissue)."""
        errors: dict[str, str] = {}
        parent_id = id_arg("parent", errors)
        parent = await issues.get(parent_id) if parent_id is not None else None
        return await html("dashboard/issues/new.html", parent=parent, priorities=PRIORITIES[1:])

    @bp.get("/issues/<id:issue_id>")
    async def issue_detail(issue_id: int):
        """One issue: comments, labels, blockers, blocking, subissues, milestone, lock."""
        detail = await issues.detail(issue_id)
        if detail is None:
            raise NotFound(f"Issue #{issue_id} does not exist")
        related = {}
        for other in [*detail["blockers"], *detail["blocking"]][:RELATED_LIMIT]:
            related[other] = await issues.get(other)
        tree = nest(issue_id, await issues.tree(issue_id)) if detail["subissues"] else []
        parent = await issues.get(detail["parent_id"]) if detail["parent_id"] is not None else None
        milestones = await issues.milestones.names("open", MILESTONE_CHOICES)
        return await html(
            "dashboard/issues/detail.html",
            issue=detail,
            related=related,
            tree=tree,
            parent=parent,
            lock=(await lock_map(kernel)).get(issue_id),
            locks_enabled=kernel.services.get("locks") is not None,
            milestones=milestones,
            kinds=COMMENT_KINDS,
            priorities=PRIORITIES[1:],
        )

    return DashboardPage(
        "issues",
        "Issues",
        bp,
        order=10,
        shortcut="i",
        search_links={"issue": "/issues/{id}", "comment": "/issues/{issue_id}#comment-{id}"},
    )
