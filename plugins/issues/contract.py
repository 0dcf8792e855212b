"""The ``issues`` service other plugins call: ``kernel.services.get("issues")``.

Sessions, locks and others use it instead of touching the issues tables, so they keep working
with a replacement issues plugin that provides the same service. Errors are
:class:`kernel.APIError` (404 for a missing issue, 400 for invalid input), which a route may
let through unchanged.
"""

from __future__ import annotations

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
