"""Services: how plugins call each other without importing each other's internals.

A plugin provides an object under a name in ``crosslink_register_services``; another plugin
asks ``kernel.services.get(name)`` (``None`` when no enabled plugin provides it) or
``kernel.services.require(name)``.

A shared library that several plugins use but none of them owns (one object per server, for
example the owner of a git checkout) is made once with ``kernel.services.get_or_create(name,
factory, owner=...)``: the first plugin to ask creates it, every later caller gets the same
object, and the name is taken as if a plugin had provided it. No extra plugin has to be
enabled for it, so trimmed deployments (``--plugins issues,locks``) keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import StartupError

T = TypeVar("T")


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

    def get_or_create(self, name: str, factory: Callable[[], T], *, owner: str) -> T:
        """The one object under ``name``, made by ``factory()`` the first time it is asked for.

        ``owner`` names the library that makes it (shown by :meth:`provider_of`). A plugin that
        later ``provide``s the same name is a startup error, as for two providers.
        """
        if name not in self._services:
            self.add(owner, name, factory())
        return self._services[name]

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
