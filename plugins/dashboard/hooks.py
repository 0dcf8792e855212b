"""Hook implementations of the dashboard plugin."""

from __future__ import annotations

import logging

from kernel import ConfigSection, PluginInfo, hookimpl

from . import hookspecs
from .config import DashboardConfig
from .site import Dashboard
from .views import BUILTIN_PAGES
from .views.panels import builtin_panels

log = logging.getLogger("crosslink.dashboard")

PLUGIN = PluginInfo(
    name="dashboard",
    description="The web dashboard at /: live pages for the enabled plugins, pages from other plugins",
)


def _dashboard(kernel) -> Dashboard:
    return kernel.services.require("dashboard")


@hookimpl
def crosslink_add_hookspecs(pm):
    """Add ``crosslink_dashboard_pages`` and ``crosslink_dashboard_panels``."""
    pm.add_hookspecs(hookspecs)


@hookimpl
def crosslink_config_section():
    """``[plugins.dashboard]``: rows per page, how long the login link works."""
    return ConfigSection("dashboard", DashboardConfig, "Dashboard: page size, login link lifetime")


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``dashboard`` service (its pages, panels and login codes)."""
    registry.provide("dashboard", Dashboard(kernel, kernel.plugin_config("dashboard") or DashboardConfig()))


@hookimpl
def crosslink_register_web_blueprints(kernel):
    """The site (login, assets) and every page any enabled plugin contributes."""
    return _dashboard(kernel).blueprints()


@hookimpl
def crosslink_startup_lines(kernel, base_url):
    """Where the dashboard is; with ``--token``, a one-time login link."""
    url = _dashboard(kernel).login_url(base_url)
    suffix = "  (one-time login link)" if kernel.browser_sessions.enabled else ""
    return [f"  Dashboard: {url}{suffix}"]


@hookimpl
def crosslink_dashboard_pages(kernel):
    """The dashboard's own pages, each only while the service of the plugin it shows is there
    (a disabled plugin, or a third-party replacement that offers no such service: no page)."""
    dashboard = _dashboard(kernel)
    pages = []
    for name, plugin, factory in BUILTIN_PAGES:
        if plugin is not None and kernel.services.get(plugin) is None:
            continue
        try:
            pages.append(factory(kernel, dashboard))
        except AttributeError as exc:  # a replacement service without what this page shows
            log.warning("dashboard: no %s page: the '%s' service lacks %s", name, plugin, exc.name or exc)
    return pages


@hookimpl
def crosslink_dashboard_panels(kernel):
    """The overview's panels for the enabled plugins."""
    return builtin_panels(kernel)
