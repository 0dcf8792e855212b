"""The one event this plugin publishes."""

from __future__ import annotations

from kernel import Event


class IssueUpdated(Event):
    """An issue changed; fetch ``GET /api/v1/issues/{issue_id}`` for its new state.

    ``field`` names what changed: ``created``, ``title``, ``description``, ``priority``,
    ``status``, ``deleted``, ``subissues`` (on the parent when a child is created),
    ``comments``, ``labels``, ``blockers`` or ``milestone``. Sent after the change is
    committed; deleting an issue sends one ``deleted`` event per removed issue (its
    subissues included).
    """

    type = "issue_updated"
    channel = "issues"
    issue_id: int
    field: str


