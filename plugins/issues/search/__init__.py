"""Issue search: a substring search over titles, descriptions and comments that ignores case and
diacritics on any script (``kernel.textfold.fold``: ``ecole`` finds "École", ``strasse`` finds
"Straße"), for ``GET /issues?search=`` and the unified ``GET /search``.

* :mod:`.base`: what the service needs from an engine, the text helpers, unified-search hits.
* :mod:`.sqlite`: an FTS5 trigram index over the folded text, fed from a trigger-maintained queue.
* :mod:`.postgres`: ``LIKE`` over a ``server_fold()`` SQL function, served by ``pg_trgm`` GIN
  indexes on the folded columns.

No query text can break either engine: FTS5 gets the folded text as one quoted phrase (quotes
doubled), ``LIKE`` gets it with its wildcards escaped, and a text holding what neither database
stores (U+0000, which also ends an FTS5 query string early) matches nothing, on both alike (the
API refuses it with a 400 before it gets here; other plugins may call the service). A text that
folds to nothing (only combining marks) matches nothing either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import FOLD_FUNCTION, SearchEngine, fold, fts_phrase
from .postgres import PostgresSearch
from .sqlite import FTS_NO_AUTOMERGE, FTS_TABLE, QUEUE_TABLE, WORKER, SqliteSearch

if TYPE_CHECKING:
    from kernel.storage.database import Database

__all__ = [
    "FOLD_FUNCTION",
    "FTS_NO_AUTOMERGE",
    "FTS_TABLE",
    "QUEUE_TABLE",
    "WORKER",
    "PostgresSearch",
    "SearchEngine",
    "SqliteSearch",
    "engine_for",
    "fold",
    "fts_phrase",
]


def engine_for(db: Database) -> SearchEngine:
    """The search engine for ``db``'s backend."""
    return SqliteSearch(db) if db.is_sqlite else PostgresSearch(db)
