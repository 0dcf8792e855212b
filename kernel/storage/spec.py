"""What a plugin declares about its storage: Tortoise model modules and migrations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .database import Database

#: A migration step: SQL statements run in order, or an async function given the database.
Step = Sequence[str] | Callable[["Database"], Awaitable[None]]


@dataclass(frozen=True)
class Migration:
    """One versioned schema change, written once per dialect.

    Migrations are applied in list order, each in its own write transaction, and recorded in
    ``server_migrations``; an applied migration never runs again. A migration may only add:
    nothing the crosslink CLI owns is ever dropped or renamed.
    """

    name: str
    sqlite: Step = ()
    postgres: Step = ()


@dataclass(frozen=True)
class StorageSpec:
    """A plugin's Tortoise app (``app_label``), its model modules and its migrations.

    ``derived`` names tables that the plugin rebuilds from other tables (a search index, a
    queue of work): ``crosslink db copy`` leaves them out and the target rebuilds them.
    """

    app_label: str
    models: Sequence[str] = ()
    migrations: Sequence[Migration] = field(default_factory=tuple)
    derived: Sequence[str] = ()
