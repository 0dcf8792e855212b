"""Issue search: case-insensitive (all of Unicode) substring search over titles, descriptions
and comments, for ``GET /issues?search=`` and the unified ``GET /search``.

SQLite: an FTS5 table with the ``trigram`` tokenizer (it folds Unicode case), one row per issue
(``rowid`` = issue id; columns title, description and the issue's comments joined by U+001E).
The crosslink CLI writes the same tables and its SQLite may lack FTS5, so the index is never
touched by a trigger: plain-SQL triggers only queue the touched issue id in
``server_search_dirty``, and the queue is drained into the index before a search is answered
(and periodically). If the triggers disappear (the CLI rebuilt a table), they are recreated and
the index rebuilt. Searches read from the FTS table joined to ``issues`` so the index drives the
query and a page stops early. A query shorter than three characters cannot use trigrams; it is
answered by a scan with Python's ``str.lower()`` semantics: the needle's few case variants
matched with ``instr`` where that is exact, otherwise SQLite's ``lower()`` for ASCII needles
or a ``server_fold()`` function registered on the connection.

PostgreSQL: ``ILIKE`` with LIKE wildcards escaped, served by ``pg_trgm`` GIN indexes when the
extension can be installed (otherwise the same query scans and a warning is logged).

No query text can break either engine: FTS5 gets the text as one quoted phrase (quotes
doubled), ``ILIKE`` gets it with its wildcards escaped, and a text holding what neither
database stores (U+0000, which also ends an FTS5 query string early) matches nothing, on both
alike (the API refuses it with a 400 before it gets here; other plugins may call the service).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any

from kernel import SearchHit, Worker, WorkerContext
from kernel.validation import unstorable_problem

from .store import Source

if TYPE_CHECKING:
    from kernel.storage.database import Database

log = logging.getLogger("crosslink.issues.search")

#: The kernel worker that keeps the SQLite index current (``kernel.workers.wake`` runs it).
WORKER = "issues-search-index"
#: Between two runs of the worker when nothing wakes it and no refresh interval is set.
IDLE_SECONDS = 3600.0

FTS_TABLE = "server_issue_search"
QUEUE_TABLE = "server_search_dirty"
FOLD_FUNCTION = "server_fold"
#: Joins an issue's comments in the index; a query containing it is answered by a scan.
COMMENT_SEPARATOR = "\x1e"
TRIGRAM = 3
SNIPPET_CHARS = 200
#: Issues re-indexed per write transaction when the queue is drained: the first chunk's size,
#: then whatever size keeps a chunk's transaction near ``CHUNK_SECONDS`` (a writer waits for
#: about that long at most), within ``CHUNK_MIN``..``CHUNK_MAX``.
CHUNK = 250
CHUNK_MIN, CHUNK_MAX = 16, 500
CHUNK_SECONDS = 0.025
#: Between two chunks of a background drain: room for other writers, the CLI's busy handler too.
CHUNK_PAUSE = 0.005
#: How long after this server's write the queue is drained (a burst of writes drains together).
DRAIN_DELAY = 0.2
#: At startup, a queue longer than this is indexed in the background (searches read the
#: queued issues directly meanwhile), with its progress logged every ``PROGRESS_SECONDS``.
STARTUP_INLINE = 2000
PROGRESS_SECONDS = 5.0
#: The background drain holds the database at most this part of the time: under a burst of
#: writes faster than it can index, the queue grows (searches read queued issues directly)
#: and is taken in once the burst is over, instead of slowing every writer down.
DRAIN_SHARE = 0.5

QUEUE_INDEX = "server_search_dirty_issue"
QUEUE_DDL = f"CREATE TABLE IF NOT EXISTS {QUEUE_TABLE} (id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL)"
QUEUE_INDEX_DDL = f"CREATE INDEX IF NOT EXISTS {QUEUE_INDEX} ON {QUEUE_TABLE} (issue_id)"
FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} "
    "USING fts5(title, description, comments, tokenize = 'trigram')"
)
#: FTS5 merges its index segments inside whichever write crosses a threshold: at 100k issues a
#: drain's commit then took 100-250 ms instead of 10, and every request waited for it. With
#: automatic merging off, each drain writes one small segment, and the drain merges them
#: afterwards in steps of ``MERGE_PAGES`` pages (a few ms each), paced like its chunks.
FTS_NO_AUTOMERGE = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('automerge', 0)"
FTS_MERGE_STEP = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('merge', ?)"
MERGE_PAGES = 16

_Q = QUEUE_TABLE
TRIGGERS = {
    "server_search_issue_insert": (
        f"CREATE TRIGGER IF NOT EXISTS server_search_issue_insert AFTER INSERT ON issues "
        f"BEGIN INSERT INTO {_Q} (issue_id) VALUES (new.id); END"
    ),
    "server_search_issue_update": (
        f"CREATE TRIGGER IF NOT EXISTS server_search_issue_update AFTER UPDATE ON issues "
        "WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.description IS NOT new.description "
        f"BEGIN INSERT INTO {_Q} (issue_id) VALUES (old.id); "
        f"INSERT INTO {_Q} (issue_id) SELECT new.id WHERE new.id IS NOT old.id; END"
    ),
    "server_search_issue_delete": (
        f"CREATE TRIGGER IF NOT EXISTS server_search_issue_delete AFTER DELETE ON issues "
        f"BEGIN INSERT INTO {_Q} (issue_id) VALUES (old.id); END"
    ),
    "server_search_comment_insert": (
        f"CREATE TRIGGER IF NOT EXISTS server_search_comment_insert AFTER INSERT ON comments "
        f"BEGIN INSERT INTO {_Q} (issue_id) VALUES (new.issue_id); END"
    ),
    "server_search_comment_update": (
        f"CREATE TRIGGER IF NOT EXISTS server_search_comment_update AFTER UPDATE ON comments "
        "WHEN old.issue_id IS NOT new.issue_id OR old.content IS NOT new.content "
        f"BEGIN INSERT INTO {_Q} (issue_id) VALUES (old.issue_id); "
        f"INSERT INTO {_Q} (issue_id) SELECT new.issue_id WHERE new.issue_id IS NOT old.issue_id; END"
    ),
    "server_search_comment_delete": (
        f"CREATE TRIGGER IF NOT EXISTS server_search_comment_delete AFTER DELETE ON comments "
        f"BEGIN INSERT INTO {_Q} (issue_id) VALUES (old.issue_id); END"
    ),
}

_FILL = (
    f"INSERT INTO {FTS_TABLE} (rowid, title, description, comments) "
    "SELECT i.id, i.title, i.description, "
    f"(SELECT group_concat(c.content, char(30)) FROM comments c WHERE c.issue_id = i.id) "
    "FROM issues i"
)

PG_TRGM_INDEXES = {
    "server_issues_title_trgm": "CREATE INDEX IF NOT EXISTS server_issues_title_trgm ON issues USING gin (title gin_trgm_ops)",
    "server_issues_description_trgm": (
        "CREATE INDEX IF NOT EXISTS server_issues_description_trgm ON issues USING gin (description gin_trgm_ops)"
    ),
    "server_comments_content_trgm": (
        "CREATE INDEX IF NOT EXISTS server_comments_content_trgm ON comments USING gin (content gin_trgm_ops)"
    ),
}


# --- text helpers ------------------------------------------------------------------------------


def fold(text: str | None) -> str | None:
    """The case folding of the scan path: Python's ``str.lower()``."""
    return None if text is None else text.lower()


_MAX_VARIANTS = 16
_CONTEXTUAL = frozenset("i\u0307σς")


@lru_cache(maxsize=1)
def _lowercase_preimages() -> dict[str, tuple[str, ...]]:
    """For each lowercase character, every character whose ``lower()`` is exactly it."""
    preimages: dict[str, list[str]] = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        lowered = char.lower()
        if lowered != char and len(lowered) == 1:
            preimages.setdefault(lowered, [lowered]).append(char)
    return {lowered: tuple(chars) for lowered, chars in preimages.items()}


def case_variants(needle: str) -> list[str] | None:
    """Every string whose ``lower()`` equals the lowercase ``needle``, or ``None`` when there
    are too many or when ``str.lower()`` is not character-by-character for it: U+0130 lowers to
    ``i`` + U+0307, and a capital sigma lowers to ``σ`` or ``ς`` depending on its neighbours,
    so needles holding those are left to the general path."""
    if not needle or any(char in _CONTEXTUAL for char in needle):
        return None
    table = _lowercase_preimages()
    variants = [""]
    for char in needle:
        options = table.get(char, (char,))
        variants = [prefix + option for prefix in variants for option in options]
        if len(variants) > _MAX_VARIANTS:
            return None
    return variants


def escape_like(text: str) -> str:
    """Escape LIKE wildcards and the escape character itself (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_phrase(text: str, column: str | None = None) -> str:
    """An FTS5 query matching ``text`` as one phrase (a substring, with trigrams)."""
    phrase = '"' + text.replace('"', '""') + '"'
    return f"{column} : {phrase}" if column else phrase


def snippet(text: str | None, query: str) -> str:
    """About 200 characters of ``text`` around the first match of ``query``."""
    if not text:
        return ""
    lowered, needle = text.lower(), query.lower()
    at = lowered.find(needle) if len(lowered) == len(text) else -1
    if at < 0 or len(text) <= SNIPPET_CHARS:
        return text[:SNIPPET_CHARS]
    start = max(0, min(at - 60, len(text) - SNIPPET_CHARS))
    piece = text[start : start + SNIPPET_CHARS]
    return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(text) else "")


def contains(text: str | None, query: str) -> bool:
    """Whether ``text`` contains ``query``, ignoring case (full Unicode case folding)."""
    return bool(text) and query.casefold() in text.casefold()


def _ratio(query: str, text: str | None) -> float:
    return min(1.0, len(query) / max(1, len(text or "")))


#: What a search for unstorable text reads: no issue.
NO_MATCH = Source(where=("1 = 0",))


def _storable_text_only(nothing: Any) -> Callable:
    """Answer ``nothing`` (no match) for a search text no stored text can contain."""

    def decorator(method: Callable) -> Callable:
        @wraps(method)
        async def wrapper(self, text: str, *args: Any, **kwargs: Any) -> Any:
            if unstorable_problem(text):
                return nothing() if callable(nothing) else nothing
            return await method(self, text, *args, **kwargs)

        return wrapper

    return decorator


# --- the two engines ---------------------------------------------------------------------------


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

    async def warm_up(self) -> None:
        """Build lookup tables off the event loop (at startup)."""

    def worker(self, wake: Callable[[], object], interval: float) -> Worker | None:
        """The background worker that keeps this index current (``None``: it needs none)."""
        return None

    async def source(self, text: str) -> Source:
        """The issues whose title, description or a comment contains ``text``."""
        raise NotImplementedError

    async def column_source(self, column: str, text: str, without: str | None = None) -> Source:
        """The issues whose ``column`` contains ``text`` (and whose ``without`` column does not)."""
        raise NotImplementedError

    async def comment_rows(self, text: str, limit: int) -> list[dict[str, Any]]:
        """Comments containing ``text``, newest first: id, issue_id, content, title (of the issue)."""
        raise NotImplementedError

    async def hits(self, text: str, limit: int) -> list[SearchHit]:
        """Issue hits (title or description matched) and comment hits, each scored in 0..1.

        An issue matched only through comments is not an issue hit: its comments are the hits.
        """
        await self.refresh()
        hits: list[SearchHit] = []
        for column, without, base, weight in (("title", None, 0.7, 0.3), ("description", "title", 0.4, 0.2)):
            source = await self.column_source(column, text, without)
            rows = await self.db.fetch_all(
                f"SELECT i.id, i.title, i.description FROM {source.table} WHERE {' AND '.join(source.where)} "
                f"ORDER BY {source.newest_first} LIMIT ?",
                [*source.params, limit],
            )
            for row in rows:
                score = base + weight * _ratio(text, row[column])
                hits.append(
                    SearchHit(
                        kind="issue",
                        id=str(row["id"]),
                        title=row["title"],
                        snippet=snippet(row["description"], text),
                        score=round(min(score, 1.0), 4),
                        issue_id=row["id"],
                        url=f"/api/v1/issues/{row['id']}",
                    )
                )
        for row in await self.comment_rows(text, limit):
            hits.append(
                SearchHit(
                    kind="comment",
                    id=str(row["id"]),
                    title=f"Comment on #{row['issue_id']}: {row['title']}",
                    snippet=snippet(row["content"], text),
                    score=round(0.3 + 0.2 * _ratio(text, row["content"]), 4),
                    issue_id=row["issue_id"],
                    url=f"/api/v1/issues/{row['issue_id']}",
                )
            )
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]


def _ascii_lowered(column: str) -> str:
    """SQLite's ``lower()`` (ASCII only) of ``column``, made equal to Python's ``str.lower()``
    as far as an ASCII needle can tell: only U+212A (Kelvin) and U+0130 (dotted I) lower to
    ASCII, so they are replaced first."""
    return f"lower(replace(replace({column}, char(8490), 'k'), char(304), 'i' || char(775)))"


class SqliteSearch(SearchEngine):
    """The FTS5 trigram index fed from a trigger-maintained queue (see the module docstring)."""

    INDEXED = f"{FTS_TABLE} s CROSS JOIN issues i ON i.id = s.rowid"  # CROSS JOIN: FTS drives

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.fts_available: bool | None = None
        self._lock = asyncio.Lock()
        self._wake: Callable[[], object] | None = None
        self._written = False
        #: Issues queued at startup, indexed by the worker's first run (a long first index).
        self._first_build: int | None = None
        self._chunk_size = CHUNK

    # --- maintenance -------------------------------------------------------------------------

    async def _probe_fts(self) -> bool:
        if self.fts_available is None:
            try:
                await self.db.execute(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.server_fts_probe USING fts5(x, tokenize = 'trigram')"
                )
                await self.db.execute("DROP TABLE IF EXISTS temp.server_fts_probe")
                self.fts_available = True
            except Exception as exc:  # an SQLite without FTS5 or trigram: searches scan
                log.warning("SQLite has no FTS5 trigram tokenizer (%s); issue search will scan", exc)
                self.fts_available = False
        return self.fts_available

    async def install(self) -> None:
        """Queue table, triggers, an empty index and every issue queued for it (runs in the
        caller's transaction, which stays short: the queue is drained afterwards, in chunks).

        Without FTS5 nothing is installed: searches scan, and no queue grows unread.
        """
        if not await self._probe_fts():
            return
        await self.db.execute(QUEUE_DDL)
        await self.db.execute(QUEUE_INDEX_DDL)
        for statement in TRIGGERS.values():
            await self.db.execute(statement)
        await self.db.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        await self.db.execute(FTS_DDL)
        await self.db.execute(FTS_NO_AUTOMERGE)
        await self.db.execute(f"DELETE FROM {QUEUE_TABLE}")
        await self.db.execute(f"INSERT INTO {QUEUE_TABLE} (issue_id) SELECT id FROM issues")

    async def state(self) -> dict[str, Any]:
        """Triggers and tables present, and whether the queue holds work (one quick read)."""
        names = ", ".join(f"'{name}'" for name in TRIGGERS)
        sql = (
            "SELECT "
            f"(SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})) AS triggers, "
            f"(SELECT count(*) FROM sqlite_master WHERE name IN ('{FTS_TABLE}', '{QUEUE_TABLE}')) AS tables, "
            f"(SELECT count(*) FROM sqlite_master WHERE name = '{QUEUE_INDEX}') AS queue_index, "
            f"EXISTS (SELECT 1 FROM {QUEUE_TABLE}) AS pending"
        )
        try:
            return await self.db.fetch_point(sql)
        except Exception:  # the queue table itself is gone
            return {"triggers": 0, "tables": 0, "queue_index": 0, "pending": 1}

    @staticmethod
    def _intact(state: dict[str, Any]) -> bool:
        return state["triggers"] == len(TRIGGERS) and state["tables"] == 2 and state["queue_index"] == 1

    async def _repair(self) -> None:
        """Put back what is missing. Lost triggers or a lost table mean lost updates: the index
        is emptied and every issue queued (one short transaction; the drain does the rest)."""
        async with self._lock:
            state = await self.state()
            if self._intact(state):
                return
            async with self.db.transaction():
                if state["triggers"] == len(TRIGGERS) and state["tables"] == 2:
                    await self.db.execute(QUEUE_INDEX_DDL)  # a database indexed by an older server
                    return
                log.warning("the issue search index or its triggers were missing; rebuilding it")
                await self.install()

    async def refresh(self, wake: bool = True) -> bool:
        """Before a search: repair a lost index, have the worker drain the queue, and tell
        whether issues are queued (their rows are read directly, not the index)."""
        if not await self._probe_fts():
            return False
        state = await self.state()
        if not self._intact(state):
            await self._repair()
            state = await self.state()
        if state["pending"]:
            if wake:
                self.schedule_drain()
            return True
        return False

    async def _usable(self) -> bool:
        """Whether there is an index (FTS5 with trigrams), repaired if something was lost."""
        if not await self._probe_fts():
            return False
        if not self._intact(await self.state()):
            await self._repair()
        return True

    async def prepare(self) -> None:
        """Repair a lost index, then take the whole queue into the index (chunk by chunk)."""
        if await self._usable():
            await self.catch_up()

    async def start(self) -> None:
        """Repair a lost index; index a short queue now and leave a long one (the first start
        on a big database the CLI filled) to the worker, which logs its progress."""
        if not await self._usable():
            return
        queued = await self.db.fetch_value(f"SELECT count(DISTINCT issue_id) AS n FROM {QUEUE_TABLE}")
        if queued <= STARTUP_INLINE:
            await self.catch_up()
            return
        log.info("indexing %d issues for search in the background; searches are answered meanwhile", queued)
        self._first_build = queued

    def worker(self, wake: Callable[[], object], interval: float) -> Worker | None:
        """A singleton: with two servers on one file, one of them keeps the index."""
        if not self.fts_available:
            return None
        self._wake = wake
        return Worker(
            WORKER,
            self.run_worker,
            every=interval if interval > 0 else IDLE_SECONDS,
            singleton=True,
            stop_timeout=2.0,
            description="takes queued issue changes (the server's and the CLI's) into the search index",
        )

    async def run_worker(self, ctx: WorkerContext) -> None:
        """One run: the first index of a big database, or what was queued since the last run."""
        if self._first_build is not None:
            queued, self._first_build = self._first_build, None
            await self._build_in_background(queued, ctx)
            return
        if self._written:  # a burst of this server's writes is drained together
            await asyncio.sleep(DRAIN_DELAY)
        self._written = False
        if await self.refresh(wake=False):
            await self.catch_up(pause=CHUNK_PAUSE, until_short=True, share=DRAIN_SHARE)
        ctx.note(None)

    async def _build_in_background(self, queued: int, ctx: WorkerContext) -> None:
        began = last = time.perf_counter()

        def report(taken: int) -> None:
            nonlocal last
            ctx.note(f"indexing: {min(taken, queued)} of {queued} issues")
            now = time.perf_counter()
            if now - last >= PROGRESS_SECONDS:
                last = now
                log.info("search index: %d of %d issues (%.0f s)", min(taken, queued), queued, now - began)

        taken = await self.catch_up(pause=CHUNK_PAUSE, share=DRAIN_SHARE, progress=report)
        log.info("search index ready: %d issues in %.1f s", taken, time.perf_counter() - began)
        ctx.note(f"index ready: {taken} issues")

    async def drain_chunk(self, size: int = CHUNK) -> int:
        """Re-index the queued issues with the lowest ids, at most ``size`` of them, in one
        short write transaction (set-based: the queue names them); return how many issues were
        re-indexed (fewer than ``size``: the queue is empty now)."""
        async with self.db.transaction():
            chunk = await self.db.fetch_one(
                f"SELECT max(issue_id) AS bound, count(*) AS issues FROM (SELECT DISTINCT issue_id "
                f"FROM {QUEUE_TABLE} ORDER BY issue_id LIMIT ?)",
                [size],
            )
            if not chunk["issues"]:
                return 0
            queued = f"SELECT issue_id FROM {QUEUE_TABLE} WHERE issue_id <= ?"
            await self.db.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({queued})", [chunk["bound"]])
            await self.db.execute(f"{_FILL} WHERE i.id IN ({queued})", [chunk["bound"]])
            await self.db.execute(f"DELETE FROM {QUEUE_TABLE} WHERE issue_id <= ?", [chunk["bound"]])
            return chunk["issues"]

    async def catch_up(
        self,
        pause: float = 0.0,
        *,
        until_short: bool = False,
        share: float = 1.0,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Drain the queue chunk by chunk, each chunk its own transaction, so that other writers
        (this server's requests, the crosslink CLI) get the database between two chunks; return
        how many issues were re-indexed.

        A chunk is sized so that its transaction, commit included, takes about
        ``CHUNK_SECONDS``: a few hundred new issues, a few dozen existing ones at 100k issues
        (re-indexing an issue deletes its old trigrams first). ``until_short``: stop after a
        chunk that was not full (what was written since waits for the next round, so that a
        steady stream of writes is taken in batches rather than one tiny transaction after
        the other). ``share``: the part of the time the drain may hold the database; after a
        chunk it waits long enough to leave the rest to others (and at least ``pause``).
        ``progress``: called after each chunk with the issues re-indexed so far.
        """
        taken = 0
        while True:
            size = self._chunk_size
            began = time.perf_counter()
            done = await self.drain_chunk(size)
            taken += done
            if progress is not None and done:
                progress(taken)
            if not done or (until_short and done < size):
                break
            spent = max(time.perf_counter() - began, 1e-4)
            self._chunk_size = max(CHUNK_MIN, min(CHUNK_MAX, int(size * min(2.0, CHUNK_SECONDS / spent))))
            await asyncio.sleep(max(pause, spent * (1 - share) / share))
        if taken:
            await self.merge_segments(pause, share)
        return taken

    async def merge_step(self, pages: int = MERGE_PAGES) -> bool:
        """Merge about ``pages`` pages of the index's segments in one short write transaction;
        whether there was work (FTS5 changes fewer than two rows when there is none left)."""
        async with self.db.transaction():
            before = await self.db.fetch_value("SELECT total_changes()")
            await self.db.execute(FTS_MERGE_STEP, [pages])
            return await self.db.fetch_value("SELECT total_changes()") - before >= 2

    async def merge_segments(self, pause: float = 0.0, share: float = 1.0) -> None:
        """Merge the segments the drains wrote, step by step, paced like the chunks."""
        while True:
            began = time.perf_counter()
            if not await self.merge_step():
                return
            spent = max(time.perf_counter() - began, 1e-4)
            await asyncio.sleep(max(pause, spent * (1 - share) / share))

    async def drain(self) -> int:
        """Take the whole queue into the index now; return how many issues were re-indexed."""
        return await self.catch_up()

    def schedule_drain(self) -> None:
        """Have the worker drain the queue soon (a burst of writes is drained together)."""
        if self._wake is None or not self.fts_available:
            return
        self._written = True
        self._wake()

    def written(self) -> None:
        """This server changed issue or comment text: queue entries exist, drain them soon."""
        self.schedule_drain()

    # --- matching ----------------------------------------------------------------------------

    async def warm_up(self) -> None:
        await asyncio.to_thread(_lowercase_preimages)

    def _uses_index(self, text: str) -> bool:
        return bool(self.fts_available) and len(text) >= TRIGRAM and COMMENT_SEPARATOR not in text

    async def _contains(self, column: str, text: str) -> tuple[str, list[str]]:
        """A scan condition "``column`` contains ``text``" under ``str.lower()``, and its parameters.

        Short needles are matched as their few case variants with plain ``instr`` (C speed, no
        per-row conversion); otherwise an ASCII needle compares against SQLite's ``lower()``,
        and anything else against ``server_fold()`` (Python ``str.lower``).
        """
        needle = fold(text)
        variants = case_variants(needle) if len(needle) < TRIGRAM else None
        if variants:
            return "(" + " OR ".join(f"instr({column}, ?) > 0" for _ in variants) + ")", variants
        if needle.isascii():
            return f"instr({_ascii_lowered(column)}, ?) > 0", [needle]
        return f"instr({FOLD_FUNCTION}({column}), ?) > 0", [needle]

    async def _row_matches(self, text: str) -> tuple[str, tuple]:
        """"Issue ``i`` contains ``text`` in its title, description or a comment", tested on the
        row itself (a scan; a page stops after enough matches, the status test comes first)."""
        title, params = await self._contains("i.title", text)
        description, _ = await self._contains("i.description", text)
        content, _ = await self._contains("c.content", text)
        condition = (
            f"({title} OR {description} OR "
            f"EXISTS (SELECT 1 FROM comments c WHERE c.issue_id = i.id AND {content}))"
        )
        return condition, (*params, *params, *params)

    @staticmethod
    def _merged(query: str, condition: str, params: tuple) -> Source:
        """The index's matches among the issues not queued, and the queued issues whose rows
        match ``condition``: one statement, so one snapshot of the index and the queue."""
        return Source(
            where=(
                f"i.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? "
                f"UNION ALL SELECT issue_id FROM {QUEUE_TABLE})",
                f"(i.id NOT IN (SELECT issue_id FROM {QUEUE_TABLE}) OR {condition})",
            ),
            params=(query, *params),
        )

    @_storable_text_only(NO_MATCH)
    async def source(self, text: str) -> Source:
        if not await self._probe_fts() or not self._uses_index(text):
            condition, params = await self._row_matches(text)
            return Source(where=(condition,), params=params)
        query = fts_phrase(text)
        if await self.refresh():
            return self._merged(query, *await self._row_matches(text))
        # the page: the index drives, newest first, and stops after a page of matches; the
        # count: the matches looked up in the issues (through idx_issues_status when filtered)
        counted = Source(where=(f"i.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)",), params=(query,))
        return Source(self.INDEXED, (f"{FTS_TABLE} MATCH ?",), (query,), "s.rowid DESC", counted)

    async def column_source(self, column: str, text: str, without: str | None = None) -> Source:
        if unstorable_problem(text):
            return NO_MATCH
        if self._uses_index(text):
            query = fts_phrase(text, column)
            if without:
                query = f"{query} NOT {fts_phrase(text, without)}"
            if not await self.refresh():
                return Source(self.INDEXED, (f"{FTS_TABLE} MATCH ?",), (query,), "s.rowid DESC")
        condition, params = await self._contains(f"i.{column}", text)
        if without:
            excluded, _ = await self._contains(f"coalesce(i.{without}, '')", text)
            condition, params = f"({condition} AND NOT {excluded})", [*params, *params]
        if self._uses_index(text):
            return self._merged(query, condition, tuple(params))
        return Source(where=(condition,), params=tuple(params))

    @_storable_text_only(list)
    async def comment_rows(self, text: str, limit: int) -> list[dict[str, Any]]:
        select = "SELECT c.id, c.issue_id, c.content, i.title FROM comments c JOIN issues i ON i.id = c.issue_id"
        if not self._uses_index(text):
            condition, params = await self._contains("c.content", text)
            return await self.db.fetch_all(
                f"{select} WHERE {condition} ORDER BY c.id DESC LIMIT ?", [*params, limit]
            )
        query = fts_phrase(text, "comments")
        if await self.refresh():
            # one statement, one snapshot: a chunk drained between two statements would leave
            # its issues out of both the index's answer and the queue's
            condition, params = await self._contains("c.content", text)
            candidates = await self.db.fetch_all(
                f"SELECT id FROM (SELECT s.rowid AS id FROM {FTS_TABLE} s WHERE {FTS_TABLE} MATCH ? "
                f"AND s.rowid NOT IN (SELECT issue_id FROM {QUEUE_TABLE}) ORDER BY s.rowid DESC LIMIT ?) "
                f"UNION SELECT c.issue_id FROM comments c "
                f"WHERE c.issue_id IN (SELECT issue_id FROM {QUEUE_TABLE}) AND {condition}",
                [query, limit, *params],
            )
        else:
            candidates = await self.db.fetch_all(
                f"SELECT s.rowid AS id FROM {FTS_TABLE} s WHERE {FTS_TABLE} MATCH ? ORDER BY s.rowid DESC LIMIT ?",
                [query, limit],
            )
        if not candidates:
            return []
        ids = [row["id"] for row in candidates]
        marks = ", ".join("?" * len(ids))
        rows = await self.db.fetch_all(f"{select} WHERE c.issue_id IN ({marks}) ORDER BY c.id DESC", ids)
        return [row for row in rows if contains(row["content"], text)][:limit]


class PostgresSearch(SearchEngine):
    """``ILIKE`` over the CLI's tables, with ``pg_trgm`` GIN indexes when available."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.indexed: bool | None = None

    async def install(self) -> None:
        """Install ``pg_trgm`` if possible and build the trigram indexes (caller's transaction)."""
        available = await self.db.fetch_value(
            "SELECT count(*) AS n FROM pg_available_extensions WHERE name = 'pg_trgm'"
        )
        if available:
            await self.db.execute("SAVEPOINT server_pg_trgm")
            try:
                await self.db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception as exc:
                await self.db.execute("ROLLBACK TO SAVEPOINT server_pg_trgm")
                log.warning("cannot install pg_trgm (%s); issue search will scan", exc)
            else:
                await self.db.execute("RELEASE SAVEPOINT server_pg_trgm")
        installed = await self.db.fetch_value("SELECT count(*) AS n FROM pg_extension WHERE extname = 'pg_trgm'")
        if not installed:
            log.warning("PostgreSQL has no pg_trgm extension; issue search will scan without an index")
            return
        for statement in PG_TRGM_INDEXES.values():
            await self.db.execute(statement)

    async def _indexed(self) -> bool:
        names = ", ".join(f"'{name}'" for name in PG_TRGM_INDEXES)
        count = await self.db.fetch_value(f"SELECT count(*) AS n FROM pg_indexes WHERE indexname IN ({names})")
        return count == len(PG_TRGM_INDEXES)

    async def prepare(self) -> None:
        """Once per server: recreate lost trigram indexes, or warn that searches will scan."""
        if self.indexed is None:
            self.indexed = await self._indexed()
            if not self.indexed:
                async with self.db.transaction():
                    await self.install()
                self.indexed = await self._indexed()
                if not self.indexed:
                    log.warning("issue search runs without pg_trgm indexes (the extension is unavailable)")

    async def refresh(self) -> bool:
        await self.prepare()
        return False

    @staticmethod
    def _pattern(text: str) -> str:
        return f"%{escape_like(text)}%"

    @_storable_text_only(NO_MATCH)
    async def source(self, text: str) -> Source:
        await self.prepare()
        pattern = self._pattern(text)
        if len(text) < TRIGRAM:
            # no trigram to look up: test each issue's own row, newest first, so that a page
            # stops after enough matches. OFFSET 0 keeps the planner from turning the EXISTS
            # into a hashed subplan that reads every comment first.
            return Source(
                where=(
                    "(i.title ILIKE ? ESCAPE '\\' OR i.description ILIKE ? ESCAPE '\\' OR EXISTS "
                    "(SELECT 1 FROM comments c WHERE c.issue_id = i.id AND c.content ILIKE ? ESCAPE '\\' OFFSET 0))",
                ),
                params=(pattern, pattern, pattern),
            )
        return Source(
            where=(
                "i.id IN (SELECT id FROM issues WHERE title ILIKE ? ESCAPE '\\' "
                "UNION SELECT id FROM issues WHERE description ILIKE ? ESCAPE '\\' "
                "UNION SELECT issue_id FROM comments WHERE content ILIKE ? ESCAPE '\\')",
            ),
            params=(pattern, pattern, pattern),
            once=True,
        )

    async def column_source(self, column: str, text: str, without: str | None = None) -> Source:
        if unstorable_problem(text):
            return NO_MATCH
        pattern = self._pattern(text)
        source = Source(where=(f"i.{column} ILIKE ? ESCAPE '\\'",), params=(pattern,))
        if without:
            source = source.narrowed(f"coalesce(i.{without}, '') NOT ILIKE ? ESCAPE '\\'", pattern)
        return source

    @_storable_text_only(list)
    async def comment_rows(self, text: str, limit: int) -> list[dict[str, Any]]:
        return await self.db.fetch_all(
            "SELECT c.id, c.issue_id, c.content, i.title FROM comments c JOIN issues i ON i.id = c.issue_id "
            "WHERE c.content ILIKE ? ESCAPE '\\' ORDER BY c.id DESC LIMIT ?",
            [self._pattern(text), limit],
        )


def engine_for(db: Database) -> SearchEngine:
    return SqliteSearch(db) if db.is_sqlite else PostgresSearch(db)
