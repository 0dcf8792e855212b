"""The ``issues`` service other plugins call: ``kernel.services.get("issues")``.

Sessions, locks and others use it instead of touching the issues tables, so they keep working
with a replacement issues plugin that provides the same service. Errors are
:class:`kernel.APIError` (404 for a missing issue, 400 for invalid input), which a route may
let through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class IssuesAPI(Protocol):
    """What ``kernel.services.get("issues")`` offers."""

    async def exists(self, issue_id: int) -> bool:
        """Whether the issue exists (negative ids are the CLI's local issues)."""

    async def get(self, issue_id: int) -> dict[str, Any] | None:
        """The Issue object as the API shapes it, or ``None``.

        ``{id, title, description, status, priority, parent_id, created_at, updated_at,
        closed_at}`` with RFC 3339 ``Z`` timestamps.
        """

    async def detail(self, issue_id: int) -> dict[str, Any] | None:
        """The IssueDetail object of ``GET /issues/{id}`` (labels, comments, ...), or ``None``."""

    async def list(
        self,
        *,
        status: str = "open",
        label: str | None = None,
        priority: str | None = None,
        search: str | None = None,
        parent_id: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """``GET /issues``: IssueSummary dicts matching every filter, id descending, and the
        count of all matches (``limit=0`` gives the count alone)."""

    async def ready(self, limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """``GET /issues/ready``: open issues without an open blocker, and their count."""

    async def blocked(self, limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """``GET /issues/blocked``: open issues with an open blocker, and their count."""

    async def tree(self, issue_id: int) -> list[dict[str, Any]]:
        """``GET /issues/{id}/tree``: every descendant (Issue objects), depth-first."""

    #: ``milestones.list(status, limit, offset)`` and ``milestones.get(id)``: the
    #: MilestoneDetail dicts of ``GET /milestones`` and ``GET /milestones/{id}``;
    #: ``milestones.names(status, limit)``: ``{id, name}`` only, without the progress.
    milestones: Any

    async def add_comment(
        self, issue_id: int, content: str, kind: str = "note", author: str | None = None
    ) -> int:
        """Insert a comment (UUID, CLI timestamp), emit ``issue_updated{field: "comments"}``.

        :return: the new comment's id.
        :raises kernel.APIError: 404 when the issue does not exist; 400 for blank or oversized
            content or an unknown ``kind`` (one of note, plan, decision, observation, blocker,
            resolution, result, intervention).
        """

    async def create(
        self,
        title: str,
        description: str | None = None,
        priority: str = "medium",
        parent_id: int | None = None,
        *,
        created_by: str | None = None,
        labels: Sequence[str] = (),
        milestone_id: int | None = None,
    ) -> int:
        """Create an issue (a subissue when ``parent_id`` is given), with ``labels`` and in the
        milestone ``milestone_id`` in the same transaction; emit ``issue_updated`` (``created``,
        ``labels``, ``milestone``, and ``subissues`` on the parent). Return its id.

        :raises kernel.APIError: 400 when ``parent_id`` names no issue, 404 when
            ``milestone_id`` names no milestone.
        """

    async def set_status(self, issue_id: int, status: str) -> bool:
        """Close (``"closed"``) or reopen (``"open"``) an issue; a no-op when it already is.

        :return: True if the status changed (and ``issue_updated{field: "status"}`` went out).
        :raises kernel.APIError: 404 when the issue does not exist.
        """

    async def add_label(self, issue_id: int, label: str) -> None:
        """Add a label. :raises kernel.APIError: 404 unknown issue, 409 already labelled."""

    async def add_blocker(self, issue_id: int, blocker_id: int) -> None:
        """Record that ``issue_id`` is blocked by ``blocker_id``.

        :raises kernel.APIError: 404 when either issue is missing, 400 for a self-block or a
            cycle, 409 when the edge exists.
        """

    async def create_milestone(self, name: str, description: str | None = None) -> int:
        """Create an open milestone; return its id. :raises kernel.APIError: 400 blank name."""

    async def get_milestone(self, milestone_id: int) -> dict[str, Any] | None:
        """The MilestoneDetail (``{id, name, description, status, created_at, closed_at,
        issue_count, completed_count, progress_percent}``), or ``None``."""

    async def assign_milestone(self, milestone_id: int, issue_id: int) -> bool:
        """Move the issue into the milestone (an issue is in at most one).

        :return: True if its milestone changed (``issue_updated{field: "milestone"}``).
        :raises kernel.APIError: 404 when the milestone or the issue does not exist.
        """

    async def set_milestone_status(self, milestone_id: int, status: str) -> bool:
        """Close (``"closed"``) or reopen (``"open"``) a milestone; True if it changed.

        :raises kernel.APIError: 404 unknown milestone, 400 another status.
        """
