"""The dashboard's own pages and overview panels, one module per page.

Each page module has ``page(kernel, dashboard) -> DashboardPage``; :data:`BUILTIN_PAGES` names
the plugin each one needs, and the dashboard contributes a page only while that plugin is
enabled. The Sync, Orchestrator and Usage pages join this table (``("sync", "sync",
sync.page)``, ...) once those plugins exist, and their overview panels join
:mod:`plugins.dashboard.views.panels` the same way.
"""

from __future__ import annotations

from . import agents, config, issues, knowledge, locks, milestones, overview, sessions

#: ``(page name, plugin it needs or None, factory)``, in navigation order.
BUILTIN_PAGES = [
    ("overview", None, overview.page),
    ("issues", "issues", issues.page),
    ("milestones", "issues", milestones.page),
    ("agents", "agents", agents.page),
    ("locks", "locks", locks.page),
    ("sessions", "sessions", sessions.page),
    ("knowledge", "knowledge", knowledge.page),
    ("config", None, config.page),
]
