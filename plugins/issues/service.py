"""Issues, comments, labels and dependencies: the domain logic behind the routes and the
``issues`` service (:mod:`plugins.issues.contract`).

Every write runs in ``kernel.db.transaction()`` (``BEGIN IMMEDIATE`` on SQLite, so the crosslink
CLI writing the same file waits instead of failing) and publishes its ``issue_updated`` events
inside it; the kernel sends them only after the commit. Rows written here are what the CLI
writes: a UUID v4 in ``uuid`` and timestamps in the CLI's text format.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kernel import APIError
from kernel.validation import describe_errors

from . import shape, store
from .events import IssueUpdated
from .hubsync import HubIssues
from .milestones import MilestonesService
from .schemas import CreateCommentIn
from .search import engine_for

if TYPE_CHECKING:
    from kernel.app import Kernel
    from kernel.storage.database import Database


#: Every dependency write is serialised on this (kernel.db.serialise).
DEPENDENCY_LOCK = "crosslink.issues.dependencies"


class CountCache:
    """List totals kept while the data is unchanged: the count of every match is most of what a
    list, search, ready or blocked request costs, and agents repeat the same ones (polling,
    paging). An entry is valid for one ``kernel.db.data_version()``, which moves on every commit
    (on SQLite by anyone, the crosslink CLI included; on PostgreSQL with the event log, so a
    change through another instance reaches the count when its event does). At most ``size`` entries, least recently used dropped first.
    """

    def __init__(self, db: Database, size: int = 256) -> None:
        self.db = db
        self.size = size
        self._version: int | None = None
        self._entries: OrderedDict[tuple[str, tuple], int] = OrderedDict()

    async def count(self, sql: str, params: tuple) -> int:
        version = self.db.data_version() if self.size else None
        if version is None:
            return int(await self.db.fetch_value(sql, params))
        if version != self._version:
            self._entries.clear()
            self._version = version
        key = (sql, tuple(params))
        total = self._entries.get(key)
        if total is not None:
            self._entries.move_to_end(key)
            return total
        total = int(await self.db.fetch_value(sql, params))
        # read after ``version`` was, so never older than it; a commit meanwhile moved the
        # version (and another request may have started a new generation): keep it only if not
        if self._version == version and self.db.data_version() == version:
            self._entries[key] = total
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return total


def not_found(issue_id: int, what: str = "Issue") -> APIError:
    return APIError(404, f"{what} #{issue_id} does not exist")


class IssuesService:
    """Everything about issues; also the object other plugins get as ``services.get("issues")``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.db = kernel.db
        self.sql = store.Statements(kernel.db.dialect)
        self.search = engine_for(kernel.db)
        #: Issues through the crosslink hub when the repository's hub is in use (:mod:`.hubsync`).
        self.hub = HubIssues(kernel, on_written=self.search.written)
        self.milestones = MilestonesService(kernel, self.hub)
        self.counts = CountCache(kernel.db)

    def writes_through_hub(self) -> bool:
        """Issue changes are written to the hub (it is in use), not only to the database."""
        return self.hub.active()

    # --- helpers -----------------------------------------------------------------------------

    def _emit(self, issue_id: int, field: str) -> None:
        self.kernel.publish(IssueUpdated(issue_id=issue_id, field=field))

    async def _status_of(self, issue_id: int, *, lock: bool = False) -> str | None:
        """The issue's status, or ``None``. ``lock`` (inside a write transaction) keeps the row
        from changing or vanishing until the transaction ends; SQLite's write transaction holds
        the whole database already, PostgreSQL needs ``FOR UPDATE``."""
        sql = "SELECT status FROM issues WHERE id = ?"
        if lock and not self.db.is_sqlite:
            sql += " FOR UPDATE"
        return await self.db.fetch_value(sql, [issue_id])

    async def _require(self, issue_id: int, what: str = "Issue", *, lock: bool = False) -> str:
        status = await self._status_of(issue_id, lock=lock)
        if status is None:
            raise not_found(issue_id, what)
        return status

    async def _serialize_dependencies(self) -> None:
        """One dependency writer at a time, so two edges cannot close a cycle together
        (SQLite's write transaction does this already)."""
        await self.db.serialise(DEPENDENCY_LOCK)

    # --- the contract other plugins use ------------------------------------------------------

    async def exists(self, issue_id: int) -> bool:
        return await self.db.fetch_point("SELECT 1 AS found FROM issues WHERE id = ?", [issue_id]) is not None

    async def get(self, issue_id: int) -> dict[str, Any] | None:
        row = await self.db.fetch_point(store.ISSUE_ROW, [issue_id])
        return None if row is None else shape.issue(row)

    async def detail(self, issue_id: int) -> dict[str, Any] | None:
        row = await self.db.fetch_point(self.sql.detail, [issue_id])
        return None if row is None else shape.detail(row)

    async def add_comment(
        self,
        issue_id: int,
        content: str,
        kind: str = "note",
        author: str | None = None,
        *,
        trigger_type: str | None = None,
        intervention_context: str | None = None,
    ) -> int:
        try:
            data = CreateCommentIn(
                content=content,
                kind=kind,
                author=author,
                trigger_type=trigger_type,
                intervention_context=intervention_context,
            )
        except ValidationError as exc:
            detail, fields = describe_errors(exc)
            raise APIError(400, detail, fields=fields) from None
        return await self.create_comment(issue_id, data)

    # --- milestones, for other plugins (the routes call ``self.milestones`` directly) --------

    async def create_milestone(self, name: str, description: str | None = None) -> int:
        """Create an open milestone; return its id."""
        if not isinstance(name, str) or not name.strip():
            raise APIError(400, "name: a milestone needs a non-empty name")
        return await self.milestones.create(name, description)

    async def get_milestone(self, milestone_id: int) -> dict[str, Any] | None:
        """The MilestoneDetail of ``GET /milestones/{id}``, or ``None``."""
        try:
            return await self.milestones.get(milestone_id)
        except APIError as exc:
            if exc.status == 404:
                return None
            raise

    async def assign_milestone(self, milestone_id: int, issue_id: int) -> bool:
        """Move the issue into the milestone (out of any other); True if that changed anything."""
        return await self.milestones.assign(milestone_id, issue_id)

    async def set_milestone_status(self, milestone_id: int, status: str) -> bool:
        """Close (``closed``) or reopen (``open``) a milestone; True if it changed."""
        if status not in ("open", "closed"):
            raise APIError(400, f"status: must be 'open' or 'closed', not {status!r}")
        return await self.milestones.set_status(milestone_id, status)

    # --- reading -----------------------------------------------------------------------------

    async def list(
        self,
        *,
        status: str = "open",
        label: str | None = None,
        priority: str | None = None,
        search: str | None = None,
        parent_id: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """List items matching every filter, id descending; and the count of all matches."""
        text = (search or "").strip()
        source = await self.search.source(text) if text else store.Source()
        if label and source.table == store.ISSUES and parent_id is None:
            source = self.sql.labelled(source, label)  # the label index drives page and count
        elif label:  # the search index or the parent's children drive; the label is a test per row
            source = source.narrowed("EXISTS (SELECT 1 FROM labels l2 WHERE l2.issue_id = i.id AND l2.label = ?)", label)
        if status != "all":
            source = source.narrowed("i.status = ?", status)
        if priority:
            source = source.narrowed("i.priority = ?", priority)
        if parent_id is not None:
            source = source.narrowed("i.parent_id = ?", parent_id)
        return await self._page(source, source.newest_first, limit, offset)

    async def blocked(self, limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Open issues with at least one open blocker, id ascending."""
        source = store.Source(where=("i.status = 'open'", self.sql.has_open_blocker))
        return await self._page(source, "i.id ASC", limit, offset)

    async def ready(self, limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Open issues without an open blocker, id ascending."""
        source = store.Source(where=("i.status = 'open'", f"NOT {self.sql.has_open_blocker}"))
        return await self._page(source, "i.id ASC", limit, offset)

    async def _page(
        self, source: store.Source, order: str, limit: int | None, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        if source.once and order == source.newest_first and limit != 0:
            rows = await self.db.fetch_all(self.sql.page_with_total(source, limit, offset), source.params)
            if rows:
                return [shape.summary(row) for row in rows], int(rows[0]["server_total"])
            if not offset:
                return [], 0
        rows = await self.db.fetch_all(self.sql.summaries(source, order, limit, offset), source.params)
        items = [shape.summary(row) for row in rows]
        if (limit is None or len(items) < limit) and (items or not offset):
            return items, offset + len(items)  # the page reached the end: no count needed
        sql, params = self.sql.count(source)
        return items, await self.counts.count(sql, params)

    async def tree(self, issue_id: int) -> list[dict[str, Any]]:
        """Every descendant, depth-first pre-order, children by id."""
        await self._require(issue_id)
        rows = await self.db.fetch_all(store.DESCENDANTS, [issue_id])
        children: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            children.setdefault(row["parent_id"], []).append(row)
        ordered: list[dict[str, Any]] = []
        stack = sorted(children.get(issue_id, []), key=lambda r: r["id"], reverse=True)
        visited = {issue_id}
        while stack:
            row = stack.pop()
            if row["id"] in visited:  # a corrupt parent loop must not repeat issues
                continue
            visited.add(row["id"])
            ordered.append(shape.issue(row))
            stack.extend(sorted(children.get(row["id"], []), key=lambda r: r["id"], reverse=True))
        return ordered

    async def comments(self, issue_id: int) -> list[dict[str, Any]]:
        rows = await self.db.fetch_all(store.COMMENTS_OF, [issue_id])
        if not rows:
            await self._require(issue_id)
        return shape.ordered_comments(rows)

    async def labels(self, issue_id: int) -> list[str]:
        rows = await self.db.fetch_all("SELECT label FROM labels WHERE issue_id = ?", [issue_id])
        if not rows:
            await self._require(issue_id)
        return sorted(row["label"] for row in rows)

    # --- issues ------------------------------------------------------------------------------

    async def create(
        self,
        title: str,
        description: str | None = None,
        priority: str = "medium",
        parent_id: int | None = None,
        *,
        missing_parent_status: int = 400,
        created_by: str | None = None,
        labels: Sequence[str] = (),
        milestone_id: int | None = None,
    ) -> int:
        """Insert an issue (and tell the parent's watchers); return its id. ``labels`` and
        ``milestone_id`` are set in the same transaction (for other plugins creating many)."""
        answer = await self.create_answer(title, description, priority, parent_id,
                                          missing_parent_status=missing_parent_status, created_by=created_by,
                                          labels=labels, milestone_id=milestone_id)
        return answer["id"]

    async def create_answer(
        self,
        title: str,
        description: str | None = None,
        priority: str = "medium",
        parent_id: int | None = None,
        *,
        missing_parent_status: int = 400,
        created_by: str | None = None,
        labels: Sequence[str] = (),
        milestone_id: int | None = None,
    ) -> dict[str, Any]:
        """:meth:`create`, answered as ``POST /issues`` answers: ``{id}``, and on a hub repository
        also ``display_id`` (``None`` for an offline issue) and ``hub`` (``pushed``, ``offline``
        or ``local``: committed, not pushed)."""
        now = self.kernel.clock.stored_now()
        for label in labels:
            if not isinstance(label, str) or not label.strip() or len(label) > 128:
                raise APIError(400, f"labels: {label!r} is not a label (1-128 characters)")
        if self.hub.active():
            issue_id, write, display_id = await self.hub.create(
                title, description, priority, parent_id, missing_parent_status=missing_parent_status,
                labels=[label.strip() for label in labels], milestone_id=milestone_id,
            )
            return {"id": issue_id, "display_id": display_id, "hub": write.state}
        async with self.db.transaction():
            if parent_id is not None and await self._status_of(parent_id, lock=True) is None:
                detail = (
                    f"parent_id: issue #{parent_id} does not exist"
                    if missing_parent_status == 400
                    else f"Parent issue #{parent_id} does not exist"
                )
                raise APIError(missing_parent_status, detail)
            issue_id = await self.db.insert(
                store.INSERT_ISSUE,
                [title, description, priority, parent_id, now, now, str(uuid.uuid4()), created_by],
            )
            self._emit(issue_id, "created")
            unique = list(dict.fromkeys(labels))
            if unique:
                rows = ", ".join("(?, ?)" for _ in unique)
                await self.db.execute(f"INSERT INTO labels (issue_id, label) VALUES {rows}",
                                      [value for label in unique for value in (issue_id, label)])
                self._emit(issue_id, "labels")
            if milestone_id is not None:
                linked = await self.db.fetch_all(
                    "INSERT INTO milestone_issues (milestone_id, issue_id) SELECT id, ? FROM milestones WHERE id = ? "
                    "RETURNING issue_id",
                    [issue_id, milestone_id],
                )
                if not linked:  # the transaction is rolled back: no issue is left behind
                    raise APIError(404, f"Milestone #{milestone_id} does not exist")
                self._emit(issue_id, "milestone")
            if parent_id is not None:
                self._emit(parent_id, "subissues")
        self.search.written()
        return {"id": issue_id}

    async def update(self, issue_id: int, changes: dict[str, Any]) -> list[str]:
        """Apply the given fields; bump ``updated_at`` only when a value really changes."""
        if self.hub.active():
            return await self.hub.update(issue_id, changes)
        async with self.db.transaction():
            row = await self.db.fetch_one(
                "SELECT title, description, priority FROM issues WHERE id = ?"
                + ("" if self.db.is_sqlite else " FOR UPDATE"),
                [issue_id],
            )
            if row is None:
                raise not_found(issue_id)
            changed = [name for name, value in changes.items() if row[name] != value]
            if not changed:
                return []
            assignments = ", ".join(f"{name} = ?" for name in changed)
            await self.db.execute(
                f"UPDATE issues SET {assignments}, updated_at = ? WHERE id = ?",
                [*(changes[name] for name in changed), self.kernel.clock.stored_now(), issue_id],
            )
            for name in changed:
                self._emit(issue_id, name)
        if "title" in changed or "description" in changed:
            self.search.written()
        return changed

    async def set_status(self, issue_id: int, status: str) -> bool:
        """Close (``closed``) or reopen (``open``); a no-op when already there. True if changed."""
        if self.hub.active():
            return await self.hub.set_status(issue_id, status)
        now = self.kernel.clock.stored_now()
        if status == "closed":
            sql = (
                "UPDATE issues SET status = 'closed', closed_at = ?, updated_at = ? "
                "WHERE id = ? AND status <> 'closed' RETURNING id"
            )
            params = [now, now, issue_id]
        else:
            sql = (
                "UPDATE issues SET status = 'open', closed_at = NULL, updated_at = ? "
                "WHERE id = ? AND status <> 'open' RETURNING id"
            )
            params = [now, issue_id]
        async with self.db.transaction():
            if not await self.db.fetch_all(sql, params):
                await self._require(issue_id)
                return False
            self._emit(issue_id, "status")
        return True

    async def delete(self, issue_id: int) -> list[int]:
        """Delete the issue and its subissues, recursively; return the removed ids."""
        if self.hub.active():
            return await self.hub.delete(issue_id)
        async with self.db.transaction():
            ids = [row["id"] for row in await self.db.fetch_all(store.SUBTREE_IDS, [issue_id])]
            if not ids:
                raise not_found(issue_id)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                await self.db.execute(f"DELETE FROM issues WHERE id IN ({marks})", chunk)
            for removed in ids:
                self._emit(removed, "deleted")
        self.search.written()
        return ids

    # --- comments ----------------------------------------------------------------------------

    async def create_comment(self, issue_id: int, data: CreateCommentIn) -> int:
        intervention = data.kind == "intervention"
        trigger_type = (data.trigger_type or "unknown") if intervention else None
        context = data.intervention_context if intervention else None
        if self.hub.active():
            return await self.hub.comment(issue_id, data.content, data.kind, data.author, trigger_type, context)
        async with self.db.transaction():
            await self._require(issue_id, lock=True)
            comment_id = await self.db.insert(
                store.INSERT_COMMENT,
                [issue_id, data.content, self.kernel.clock.stored_now(), str(uuid.uuid4()), data.author, data.kind, trigger_type, context],
            )
            self._emit(issue_id, "comments")
        self.search.written()
        return comment_id

    # --- labels ------------------------------------------------------------------------------

    async def add_label(self, issue_id: int, label: str) -> None:
        if self.hub.active():
            await self._require(issue_id)
            return await self.hub.add_label(issue_id, label)
        async with self.db.transaction():
            await self._require(issue_id, lock=True)
            rows = await self.db.fetch_all(
                "INSERT INTO labels (issue_id, label) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING issue_id",
                [issue_id, label],
            )
            if not rows:
                raise APIError(409, f"Issue #{issue_id} already has the label '{label}'")
            self._emit(issue_id, "labels")

    async def remove_label(self, issue_id: int, label: str) -> None:
        if self.hub.active():
            await self._require(issue_id)
            return await self.hub.remove_label(issue_id, label)
        async with self.db.transaction():
            rows = await self.db.fetch_all(
                "DELETE FROM labels WHERE issue_id = ? AND label = ? RETURNING issue_id", [issue_id, label]
            )
            if not rows:
                await self._require(issue_id)
                raise APIError(404, f"Label '{label}' is not on issue #{issue_id}")
            self._emit(issue_id, "labels")

    # --- dependencies ------------------------------------------------------------------------

    async def add_blocker(self, issue_id: int, blocker_id: int) -> None:
        """Record "``issue_id`` is blocked by ``blocker_id``"."""
        if self.hub.active():
            await self.hub.ensure_current()
            await self._check_blocker(issue_id, blocker_id)
            return await self.hub.add_blocker(issue_id, blocker_id)
        async with self.db.transaction():
            await self._serialize_dependencies()
            await self._check_blocker(issue_id, blocker_id, lock=True)
            await self.db.execute(
                "INSERT INTO dependencies (blocker_id, blocked_id) VALUES (?, ?)", [blocker_id, issue_id]
            )
            self._emit(issue_id, "blockers")

    async def _check_blocker(self, issue_id: int, blocker_id: int, *, lock: bool = False) -> None:
        """404 for a missing issue, 400 for a self-block or a cycle, 409 for a known edge."""
        await self._require(issue_id, lock=lock)
        await self._require(blocker_id, "Blocker issue", lock=lock)
        if issue_id == blocker_id:
            raise APIError(400, f"An issue cannot block itself (issue #{issue_id})")
        duplicate = await self.db.fetch_value(
            "SELECT count(*) AS n FROM dependencies WHERE blocker_id = ? AND blocked_id = ?",
            [blocker_id, issue_id],
        )
        if duplicate:
            raise APIError(409, f"Issue #{issue_id} is already blocked by #{blocker_id}")
        if await self.db.fetch_value(store.REACHES, [issue_id, blocker_id]):
            raise APIError(
                400,
                f"Blocking #{issue_id} by #{blocker_id} would create a dependency cycle: "
                f"#{blocker_id} is already blocked, directly or through other issues, by #{issue_id}",
            )

    async def remove_blocker(self, issue_id: int, blocker_id: int) -> None:
        if self.hub.active():
            await self._require(issue_id)
            return await self.hub.remove_blocker(issue_id, blocker_id)
        async with self.db.transaction():
            rows = await self.db.fetch_all(
                "DELETE FROM dependencies WHERE blocker_id = ? AND blocked_id = ? RETURNING blocked_id",
                [blocker_id, issue_id],
            )
            if not rows:
                await self._require(issue_id)
                raise APIError(404, f"Issue #{blocker_id} is not a blocker of issue #{issue_id}")
            self._emit(issue_id, "blockers")
