"""Issue search on SQLite: an FTS5 table with the ``trigram`` tokenizer over the *folded* text
(``server_fold()``, i.e. :func:`kernel.textfold.fold`: case and diacritics folded away), one row
per issue (``rowid`` = issue id; columns title, description and the issue's comments joined by
U+001E).

The crosslink CLI writes the same tables and its SQLite may lack FTS5 (and has no
``server_fold``), so the index is never touched by a trigger: plain-SQL triggers only queue the
touched issue id in ``server_search_dirty``, and the queue is drained into the index by this
server (before a search is answered, and periodically). If the triggers disappear (the CLI
rebuilt a table), they are recreated and the index rebuilt. Searches read from the FTS table
joined to ``issues`` so the index drives the query and a page stops early. A needle shorter than
three characters (after folding) cannot use trigrams; it is matched with ``instr`` against the
index's own folded columns (C speed, newest first, no Python per row). Queued issues (not in the
index yet) are tested on their rows with ``server_fold()``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernel import SearchHit, Worker, WorkerContext

from ..store import Source
from .base import (
    FOLD_FUNCTION,
    ISSUE_CLASSES,
    NO_MATCH,
    TRIGRAM,
    SearchEngine,
    comment_hit,
    contains_folded,
    fts_phrase,
    issue_hit,
    needle_of,
    ranked,
    searchable,
)

if TYPE_CHECKING:
    from kernel.storage.database import Database

log = logging.getLogger("crosslink.issues.search")

FTS_TABLE = "server_issue_fold_search"
#: Indexes of earlier servers (unfolded text): dropped when the folded one is built.
OLD_FTS_TABLES = ("server_issue_search",)
QUEUE_TABLE = "server_search_dirty"
#: Joins an issue's comments in the index; a query containing it is answered by a scan.
COMMENT_SEPARATOR = "\x1e"
#: The kernel worker that keeps the SQLite index current (``kernel.workers.wake`` runs it).
WORKER = "issues-search-index"
#: Between two runs of the worker when nothing wakes it and no refresh interval is set.
IDLE_SECONDS = 3600.0

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
    f"SELECT i.id, {FOLD_FUNCTION}(i.title), {FOLD_FUNCTION}(i.description), "
    f"{FOLD_FUNCTION}((SELECT group_concat(c.content, char(30)) FROM comments c WHERE c.issue_id = i.id)) "
    "FROM issues i"
)


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
        for table in (*OLD_FTS_TABLES, FTS_TABLE):
            await self.db.execute(f"DROP TABLE IF EXISTS {table}")
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
        if self._written:  # a burst of this server's writes is drained together (at shutdown: now)
            await ctx.linger(DRAIN_DELAY)
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

    def _uses_index(self, needle: str) -> bool:
        return bool(self.fts_available) and COMMENT_SEPARATOR not in needle

    @staticmethod
    def _indexed(needle: str, column: str | None = None, without: str | None = None) -> tuple[str, tuple]:
        """A condition on the index row ``s``: "``column`` (any column when ``None``) contains
        ``needle`` and ``without`` does not". Three folded characters or more: an FTS5 phrase
        query (trigrams); fewer: ``instr`` on the index's folded columns."""
        if len(needle) >= TRIGRAM:
            query = fts_phrase(needle, column)
            if without:
                query = f"{query} NOT {fts_phrase(needle, without)}"
            return f"{FTS_TABLE} MATCH ?", (query,)
        columns = [column] if column else ["title", "description", "comments"]
        condition = " OR ".join(f"instr(s.{name}, ?) > 0" for name in columns)
        params: tuple = (needle,) * len(columns)
        if without:
            condition = f"({condition}) AND NOT coalesce(instr(s.{without}, ?) > 0, 0)"
            params = (*params, needle)
        return f"({condition})", params

    @staticmethod
    def _contains(column: str, needle: str) -> tuple[str, list[str]]:
        """A row condition "``column``, folded, contains ``needle``" (Python per row: for the
        queued issues only, or a database without FTS5)."""
        return f"instr({FOLD_FUNCTION}({column}), ?) > 0", [needle]

    def _row_matches(self, needle: str) -> tuple[str, tuple]:
        """"Issue ``i`` contains ``needle`` in its title, description or a comment", tested on
        the row itself."""
        title, params = self._contains("i.title", needle)
        description, _ = self._contains("i.description", needle)
        content, _ = self._contains("c.content", needle)
        condition = (
            f"({title} OR {description} OR "
            f"EXISTS (SELECT 1 FROM comments c WHERE c.issue_id = i.id AND {content}))"
        )
        return condition, (*params, *params, *params)

    @staticmethod
    def _merged(indexed: str, indexed_params: tuple, condition: str, params: tuple) -> Source:
        """The index's matches among the issues not queued, and the queued issues whose rows
        match ``condition``: one statement, so one snapshot of the index and the queue."""
        return Source(
            where=(
                f"i.id IN (SELECT s.rowid FROM {FTS_TABLE} s WHERE {indexed} "
                f"UNION ALL SELECT issue_id FROM {QUEUE_TABLE})",
                f"(i.id NOT IN (SELECT issue_id FROM {QUEUE_TABLE}) OR {condition})",
            ),
            params=(*indexed_params, *params),
        )

    @searchable(NO_MATCH)
    async def source(self, needle: str) -> Source:
        if not await self._probe_fts() or not self._uses_index(needle):
            condition, params = self._row_matches(needle)
            return Source(where=(condition,), params=params)
        indexed, params = self._indexed(needle)
        if await self.refresh():
            return self._merged(indexed, params, *self._row_matches(needle))
        # the page: the index drives, newest first, and stops after a page of matches; the
        # count: the matches looked up in the issues (through idx_issues_status when filtered)
        counted = Source(where=(f"i.id IN (SELECT s.rowid FROM {FTS_TABLE} s WHERE {indexed})",), params=params)
        return Source(self.INDEXED, (indexed,), params, "s.rowid DESC", counted)

    async def column_source(self, column: str, text: str, without: str | None = None) -> Source:
        needle = needle_of(text)
        if needle is None:
            return NO_MATCH
        condition, params = self._contains(f"i.{column}", needle)
        if without:
            excluded, _ = self._contains(f"coalesce(i.{without}, '')", needle)
            condition, params = f"({condition} AND NOT {excluded})", [*params, *params]
        if not await self._probe_fts() or not self._uses_index(needle):
            return Source(where=(condition,), params=tuple(params))
        indexed, indexed_params = self._indexed(needle, column, without)
        if not await self.refresh():
            return Source(self.INDEXED, (indexed,), indexed_params, "s.rowid DESC")
        return self._merged(indexed, indexed_params, condition, tuple(params))

    @searchable(list)
    async def comment_rows(self, needle: str, limit: int) -> list[dict[str, Any]]:
        select = "SELECT c.id, c.issue_id, c.content, i.title FROM comments c JOIN issues i ON i.id = c.issue_id"
        if not await self._probe_fts() or not self._uses_index(needle):
            condition, params = self._contains("c.content", needle)
            return await self.db.fetch_all(
                f"{select} WHERE {condition} ORDER BY c.id DESC LIMIT ?", [*params, limit]
            )
        indexed, indexed_params = self._indexed(needle, "comments")
        if await self.refresh():
            # one statement, one snapshot: a chunk drained between two statements would leave
            # its issues out of both the index's answer and the queue's
            condition, params = self._contains("c.content", needle)
            candidates = await self.db.fetch_all(
                f"SELECT id FROM (SELECT s.rowid AS id FROM {FTS_TABLE} s WHERE {indexed} "
                f"AND s.rowid NOT IN (SELECT issue_id FROM {QUEUE_TABLE}) ORDER BY s.rowid DESC LIMIT ?) "
                f"UNION SELECT c.issue_id FROM comments c "
                f"WHERE c.issue_id IN (SELECT issue_id FROM {QUEUE_TABLE}) AND {condition}",
                [*indexed_params, limit, *params],
            )
        else:
            candidates = await self.db.fetch_all(
                f"SELECT s.rowid AS id FROM {FTS_TABLE} s WHERE {indexed} ORDER BY s.rowid DESC LIMIT ?",
                [*indexed_params, limit],
            )
        return await self._comments_of([row["id"] for row in candidates], needle, limit)

    async def _comments_of(self, issue_ids: list[int], needle: str, limit: int) -> list[dict[str, Any]]:
        """The comments of ``issue_ids`` that contain ``needle``, newest first, at most ``limit``."""
        if not issue_ids:
            return []
        marks = ", ".join("?" * len(issue_ids))
        rows = await self.db.fetch_all(
            "SELECT c.id, c.issue_id, c.content, i.title FROM comments c JOIN issues i ON i.id = c.issue_id "
            f"WHERE c.issue_id IN ({marks}) ORDER BY c.id DESC",
            issue_ids,
        )
        return [row for row in rows if contains_folded(row["content"], needle)][:limit]

    # --- unified search ------------------------------------------------------------------------

    async def hits(self, text: str, limit: int) -> list[SearchHit]:
        """The base class's answer (newest ``limit`` title matches, description-only matches
        and comment matches) in one walk of the index instead of three: the matching rows are
        read newest first, in growing batches, and classified by ``instr`` on their folded
        columns until each class holds ``limit`` issues or the matches end; once only the title
        class lacks issues, the rest of its matches come from a title-only query, which reads
        no folded text of the other matches. (FTS5 decodes the
        phrase's trigram position lists once per query, whatever the column filter: three
        column queries cost three walks.) With issues queued, the base class's merged path."""
        needle = needle_of(text)
        if needle is None:
            return []
        if not await self._probe_fts() or not self._uses_index(needle) or await self.refresh():
            return await super().hits(text, limit)
        indexed, params = self._indexed(needle)
        classes: dict[str, list[int]] = {"title": [], "description": [], "comments": []}
        before, batch = None, max(64, 4 * limit)
        while True:
            bound, bound_params = ("AND s.rowid < ? ", [before]) if before is not None else ("", [])
            rows = await self.db.fetch_all(
                "SELECT s.rowid AS id, instr(s.title, ?) > 0 AS t, instr(s.description, ?) > 0 AS d, "
                f"instr(s.comments, ?) > 0 AS c FROM {FTS_TABLE} s WHERE {indexed} {bound}"
                "ORDER BY s.rowid DESC LIMIT ?",
                [needle, needle, needle, *params, *bound_params, batch],
            )
            for row in rows:
                if row["t"]:
                    target = classes["title"]
                elif row["d"]:
                    target = classes["description"]
                else:
                    target = None
                if target is not None and len(target) < limit:
                    target.append(row["id"])
                if row["c"] and len(classes["comments"]) < limit:
                    classes["comments"].append(row["id"])
            if len(rows) < batch or all(len(ids) >= limit for ids in classes.values()):
                break
            before, batch = rows[-1]["id"], batch * 2
            if len(classes["description"]) >= limit and len(classes["comments"]) >= limit:
                # only title matches can still change the answer: ask the index for those
                # alone, so the older matches' folded text (most of the cost) is never read
                title, title_params = self._indexed(needle, "title")
                rows = await self.db.fetch_all(
                    f"SELECT s.rowid AS id FROM {FTS_TABLE} s WHERE {title} AND s.rowid < ? "
                    "ORDER BY s.rowid DESC LIMIT ?",
                    [*title_params, before, limit - len(classes["title"])],
                )
                classes["title"].extend(row["id"] for row in rows)
                break
        issue_ids = classes["title"] + classes["description"]
        found: dict[int, dict[str, Any]] = {}
        if issue_ids:
            marks = ", ".join("?" * len(issue_ids))
            found = {
                row["id"]: row
                for row in await self.db.fetch_all(
                    f"SELECT id, title, description FROM issues WHERE id IN ({marks})", issue_ids
                )
            }
        hits: list[SearchHit] = []
        for (column, _without, base, weight) in ISSUE_CLASSES:
            hits.extend(issue_hit(found[i], column, text, base, weight) for i in classes[column] if i in found)
        comments = await self._comments_of(classes["comments"], needle, limit)
        hits.extend(comment_hit(row, text) for row in comments)
        return ranked(hits, limit)
