"""The dashboard's own pages and overview panels, one module per page.

Each page module has ``page(kernel, dashboard) -> DashboardPage``; :data:`BUILTIN_PAGES` names
the plugin each one needs, and the dashboard contributes a page only while that plugin is
enabled; their overview panels are in :mod:`plugins.dashboard.views.panels`.
"""

from __future__ import annotations

from . import agents, config, issues, knowledge, locks, milestones, orchestrator, overview, sessions, sync, usage

#: ``(page name, plugin it needs or None, factory)``, in navigation order.
BUILTIN_PAGES = [
    ("overview", None, overview.page),
    ("issues", "issues", issues.page),
    ("milestones", "issues", milestones.page),
    ("agents", "agents", agents.page),
    ("locks", "locks", locks.page),
    ("sessions", "sessions", sessions.page),
    ("knowledge", "knowledge", knowledge.page),
    ("orchestrator", "orchestrator", orchestrator.page),
    ("usage", "usage", usage.page),
    ("sync", "sync", sync.page),
    ("config", None, config.page),
]
