"""What a plugin hands the dashboard: pages for the navigation, panels for the overview.

These two classes are the dashboard's public API: a plugin that adds a page imports them from
here (or builds an object with the same attributes) and returns them from
``crosslink_dashboard_pages`` / ``crosslink_dashboard_panels``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class DashboardPage:
    """A page of the dashboard: an entry in the navigation and the routes behind it.

    :ivar name: unique, lower-case (``issues``); also the ``data-page`` of its ``<body>``.
    :ivar title: the navigation label.
    :ivar blueprint: a :class:`quart.Blueprint` with the page's routes at absolute paths
        (``/issues``, ``/issues/<id:issue_id>``). Its templates extend
        ``dashboard/layout.html``. The dashboard adds its login check, its security headers and
        its HTML error pages to the blueprint before mounting it.
    :ivar path: where the navigation links to (default ``/<name>``).
    :ivar order: position in the navigation, smallest first (the built-ins use 0-90).
    :ivar shortcut: one letter; pressing ``g`` then that letter opens the page.
    :ivar search_links: for hits of the unified search (``GET /api/v1/search``), the dashboard
        URL of each hit ``kind`` this page shows, with ``{id}`` / ``{issue_id}`` placeholders
        (``{"issue": "/issues/{id}"}``).
    """

    name: str
    title: str
    blueprint: Any
    path: str | None = None
    order: int = 500
    shortcut: str | None = None
    search_links: Mapping[str, str] = field(default_factory=dict)

    @property
    def href(self) -> str:
        return self.path or f"/{self.name}"


@dataclass(frozen=True)
class OverviewPanel:
    """A panel of the overview page (``/``).

    :ivar name: unique, lower-case; the panel's element id is ``panel-<name>``.
    :ivar title: the panel's heading.
    :ivar template: a Jinja template rendering the panel's body; it receives the mapping
        ``load()`` returns as ``panel``.
    :ivar load: ``async () -> dict``, the panel's data, read on every render of the overview.
    :ivar channels: WebSocket channels whose events re-render the panel.
    :ivar order: position on the overview, smallest first.
    :ivar wide: spans the overview's full width.
    """

    name: str
    title: str
    template: str
    load: Callable[[], Awaitable[Mapping[str, Any]]]
    channels: tuple[str, ...] = ()
    order: int = 500
    wide: bool = False
