"""Collecting the pages and panels the enabled plugins contribute, and checking them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kernel import StartupError

from .declarations import NAME, DashboardPage, OverviewPanel

if TYPE_CHECKING:
    from kernel.app import Kernel


class Registry:
    """Every page (navigation order) and overview panel of this application."""

    def __init__(self) -> None:
        self.pages: list[DashboardPage] = []
        self.panels: list[OverviewPanel] = []
        self.owner: dict[str, str] = {}
        self._search_links: str | None = None

    def collect(self, kernel: Kernel) -> None:
        """Ask every enabled plugin (dependency order) for its pages and panels."""
        for plugin, pages in kernel.hook_results("crosslink_dashboard_pages", kernel=kernel):
            for page in pages or []:
                self._check(plugin, page, "page", {p.name for p in self.pages})
                if page.shortcut is not None and (len(page.shortcut) != 1 or not page.shortcut.isalpha()):
                    raise StartupError(f"plugin '{plugin}': dashboard page '{page.name}': shortcut must be one letter")
                taken = {p.shortcut: p.name for p in self.pages if p.shortcut}
                if page.shortcut in taken:
                    raise StartupError(
                        f"plugin '{plugin}': dashboard page '{page.name}' takes the shortcut "
                        f"'{page.shortcut}' of page '{taken[page.shortcut]}'"
                    )
                self.pages.append(page)
                self.owner[page.name] = plugin
        for plugin, panels in kernel.hook_results("crosslink_dashboard_panels", kernel=kernel):
            for panel in panels or []:
                self._check(plugin, panel, "panel", {p.name for p in self.panels})
                self.panels.append(panel)
        self.pages.sort(key=lambda page: (page.order, page.name))
        self.panels.sort(key=lambda panel: (panel.order, panel.name))

    @staticmethod
    def _check(plugin: str, item, what: str, names: set[str]) -> None:
        """Refuse a declaration that is not one, a bad name, or a name already taken."""
        kind = DashboardPage if what == "page" else OverviewPanel
        if not all(hasattr(item, attribute) for attribute in kind.__dataclass_fields__):
            raise StartupError(f"plugin '{plugin}': a dashboard {what} must be a {kind.__name__}")
        if not NAME.match(item.name):
            raise StartupError(
                f"plugin '{plugin}': dashboard {what} name {item.name!r} must be lower-case letters, "
                "digits, '-' or '_', starting with a letter"
            )
        if item.name in names:
            raise StartupError(f"plugin '{plugin}': there is already a dashboard {what} named '{item.name}'")

    def page_of_blueprint(self, blueprint: str | None) -> DashboardPage | None:
        """The page whose blueprint (by name) serves the current request, if any."""
        for page in self.pages:
            if page.blueprint.name == blueprint:
                return page
        return None

    def search_links(self) -> str:
        """Hit kind -> dashboard URL pattern, of every page, as JSON for the page's script."""
        if self._search_links is None:
            links: dict[str, str] = {}
            for page in self.pages:
                for kind, pattern in page.search_links.items():
                    links.setdefault(kind, pattern)
            self._search_links = json.dumps(links, sort_keys=True)
        return self._search_links
