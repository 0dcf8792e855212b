"""Services: how plugins call each other without importing each other's internals.

A plugin provides an object under a name in ``crosslink_register_services``; another plugin
asks ``kernel.services.get(name)`` (``None`` when no enabled plugin provides it) or
``kernel.services.require(name)``.
"""

from __future__ import annotations

from typing import Any

from .errors import StartupError


class ServiceRegistry:
    def __init__(self) -> None:
        self._services: dict[str, Any] = {}
        self._providers: dict[str, str] = {}

    def scoped(self, plugin: str) -> ServiceProvider:
        """The registry as one plugin sees it while providing its services."""
        return ServiceProvider(self, plugin)

    def add(self, plugin: str, name: str, service: Any) -> None:
        if name in self._services:
            raise StartupError(
                f"service '{name}' is provided twice: by plugin '{self._providers[name]}' "
                f"and by plugin '{plugin}'"
            )
        self._services[name] = service
        self._providers[name] = plugin

    def get(self, name: str) -> Any | None:
        return self._services.get(name)

    def require(self, name: str) -> Any:
        try:
            return self._services[name]
        except KeyError:
            raise LookupError(f"no enabled plugin provides the service '{name}'") from None

    def provider_of(self, name: str) -> str | None:
        return self._providers.get(name)

    def names(self) -> list[str]:
        return sorted(self._services)


class ServiceProvider:
    """Handed to ``crosslink_register_services``: ``provide(name, service)``."""

    def __init__(self, registry: ServiceRegistry, plugin: str) -> None:
        self._registry = registry
        self._plugin = plugin

    def provide(self, name: str, service: Any) -> None:
        """Offer ``service`` under ``name``; one provider per name."""
        self._registry.add(self._plugin, name, service)
