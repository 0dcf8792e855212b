"""What every search engine shares: the interface the service uses, the text helpers, and the
unified-search hits built from an engine's sources."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from kernel import SearchHit, Worker
from kernel.textfold import fold
from kernel.validation import unstorable_problem

from ..store import Source

if TYPE_CHECKING:
    from kernel.storage.database import Database

#: The SQL function that folds a text like :func:`kernel.textfold.fold` (SQLite: that Python
#: function registered on the connections; PostgreSQL: ``lower`` + ``unaccent``, see postgres.py).
FOLD_FUNCTION = "server_fold"
TRIGRAM = 3
SNIPPET_CHARS = 200

__all__ = ["FOLD_FUNCTION", "NO_MATCH", "SearchEngine", "escape_like", "fold", "fts_phrase", "needle_of", "snippet"]


def escape_like(text: str) -> str:
    """Escape LIKE wildcards and the escape character itself (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_phrase(text: str, column: str | None = None) -> str:
    """An FTS5 query matching ``text`` as one phrase (a substring, with trigrams)."""
    phrase = '"' + text.replace('"', '""') + '"'
    return f"{column} : {phrase}" if column else phrase


def snippet(text: str | None, query: str) -> str:
    """About 200 characters of ``text`` around the first (folded) match of ``query``."""
    if not text:
        return ""
    folded, needle = fold(text), fold(query)
    at = folded.find(needle) if len(folded) == len(text) and needle else -1
    if at < 0 or len(text) <= SNIPPET_CHARS:
        return text[:SNIPPET_CHARS]
    start = max(0, min(at - 60, len(text) - SNIPPET_CHARS))
    piece = text[start : start + SNIPPET_CHARS]
    return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(text) else "")


def contains_folded(text: str | None, needle: str) -> bool:
    """Whether ``text``, folded, contains ``needle`` (already folded, not empty)."""
    return bool(text) and needle in fold(text)


def ratio(query: str, text: str | None) -> float:
    """How much of ``text`` the query covers (0..1): a short title that matches scores higher."""
    return min(1.0, len(query) / max(1, len(text or "")))


#: What a search for unstorable text reads: no issue.
NO_MATCH = Source(where=("1 = 0",))


def needle_of(text: str) -> str | None:
    """What a search for ``text`` looks for: its folding, or ``None`` when it can match nothing
    (a text no stored text can contain, or one that folds to nothing)."""
    return None if unstorable_problem(text) else (fold(text) or None)


def searchable(nothing: Any) -> Callable:
    """Call the method with the search text folded (a ``needle``), or answer ``nothing`` (no
    match) for a text no stored text can contain or one that folds to nothing."""

    def decorator(method: Callable) -> Callable:
        @wraps(method)
        async def wrapper(self, text: str, *args: Any, **kwargs: Any) -> Any:
            needle = needle_of(text)
            if needle is None:
                return nothing() if callable(nothing) else nothing
            return await method(self, needle, *args, **kwargs)

        return wrapper

    return decorator


def issue_hit(row: dict[str, Any], column: str, text: str, base: float, weight: float) -> SearchHit:
    """An ``issue`` hit for ``row`` (id, title, description) matched in ``column``."""
    score = base + weight * ratio(text, row[column])
    return SearchHit(
        kind="issue",
        id=str(row["id"]),
        title=row["title"],
        snippet=snippet(row["description"], text),
        score=round(min(score, 1.0), 4),
        issue_id=row["id"],
        url=f"/api/v1/issues/{row['id']}",
    )


def comment_hit(row: dict[str, Any], text: str) -> SearchHit:
    """A ``comment`` hit for ``row`` (id, issue_id, content, title of the issue)."""
    return SearchHit(
        kind="comment",
        id=str(row["id"]),
        title=f"Comment on #{row['issue_id']}: {row['title']}",
        snippet=snippet(row["content"], text),
        score=round(0.3 + 0.2 * ratio(text, row["content"]), 4),
        issue_id=row["issue_id"],
        url=f"/api/v1/issues/{row['issue_id']}",
    )


#: Unified-search issue classes: the column, the column it must not match, score base and weight.
ISSUE_CLASSES = (("title", None, 0.7, 0.3), ("description", "title", 0.4, 0.2))


def ranked(hits: list[SearchHit], limit: int) -> list[SearchHit]:
    """Best score first (a stable sort), at most ``limit``."""
    hits.sort(key=lambda hit: -hit.score)
    return hits[:limit]


class SearchEngine:
    """What the service needs from a search backend: sources of matching issues, and hits."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def install(self) -> None:
        """Create the index (migrations and repairs call it)."""

    async def prepare(self) -> None:
        """Bring the index fully up to date now (the benchmark's generator)."""

    async def start(self) -> None:
        """At startup: make the index usable; long work (a first index of a big database)
        may go on in the background, with its progress logged."""
        await self.prepare()

    async def refresh(self) -> bool:
        """Before a search: make the index usable without waiting for long work; whether some
        issues are not in the index yet (and must be read directly)."""
        return False

    def written(self) -> None:
        """This server has just changed issue or comment text (after the commit)."""

    def worker(self, wake: Callable[[], object], interval: float) -> Worker | None:
        """The background worker that keeps this index current (``None``: it needs none)."""
        return None

    async def source(self, text: str) -> Source:
        """The issues whose title, description or a comment contains ``text`` (folded)."""
        raise NotImplementedError

    async def column_source(self, column: str, text: str, without: str | None = None) -> Source:
        """The issues whose ``column`` contains ``text`` (and whose ``without`` column does not)."""
        raise NotImplementedError

    async def comment_rows(self, text: str, limit: int) -> list[dict[str, Any]]:
        """Comments containing ``text``, newest first: id, issue_id, content, title (of the issue)."""
        raise NotImplementedError

    async def hits(self, text: str, limit: int) -> list[SearchHit]:
        """Issue hits (title or description matched) and comment hits, each scored in 0..1:
        the newest ``limit`` of each class, best score first.

        An issue matched only through comments is not an issue hit: its comments are the hits.
        """
        await self.refresh()
        hits: list[SearchHit] = []
        for column, without, base, weight in ISSUE_CLASSES:
            source = await self.column_source(column, text, without)
            rows = await self.db.fetch_all(
                f"SELECT i.id, i.title, i.description FROM {source.table} WHERE {' AND '.join(source.where)} "
                f"ORDER BY {source.newest_first} LIMIT ?",
                [*source.params, limit],
            )
            hits.extend(issue_hit(row, column, text, base, weight) for row in rows)
        hits.extend(comment_hit(row, text) for row in await self.comment_rows(text, limit))
        return ranked(hits, limit)
