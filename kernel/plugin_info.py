"""What a plugin declares about itself: its name, what it requires, its config section."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True)
class PluginInfo:
    """Metadata a plugin module exposes as its ``PLUGIN`` attribute.

    :ivar name: the plugin's canonical name (``--plugins`` uses it).
    :ivar requires: names of plugins that must be enabled for this one to work.
    :ivar description: one line for ``crosslink plugins``.
    :ivar paths: path prefixes the plugin serves (``/api/v1/issues``, ``/mcp``): a request to one
        while the plugin is disabled is told which plugin serves it.
    """

    name: str
    requires: tuple[str, ...] = ()
    description: str = ""
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigSection:
    """A plugin's section of the server config file, validated by ``model``."""

    name: str
    model: type[BaseModel]
    description: str = field(default="")
