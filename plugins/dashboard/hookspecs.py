"""The dashboard's own hooks, added to the plugin manager through ``crosslink_add_hookspecs``.

Implement them with ``@hookimpl(optionalhook=True)`` so that a deployment without the
dashboard (``--plugins all,-dashboard``) still loads your plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.hookspecs import hookspec

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .declarations import DashboardPage, OverviewPanel


@hookspec
def crosslink_dashboard_pages(kernel: Kernel) -> list[DashboardPage] | None:
    """Pages this plugin adds to the dashboard's navigation.

    Called once while the application is built. A plugin that is not enabled is not asked, so
    its pages are absent (never broken links). The dashboard's own pages for the built-in
    plugins come through this hook too, each only when its plugin is enabled.

    :param kernel: the application kernel (services, settings).
    :return: a list of :class:`plugins.dashboard.declarations.DashboardPage`.
    """


@hookspec
def crosslink_dashboard_panels(kernel: Kernel) -> list[OverviewPanel] | None:
    """Panels this plugin adds to the overview page (``/``).

    :param kernel: the application kernel.
    :return: a list of :class:`plugins.dashboard.declarations.OverviewPanel`.
    """
