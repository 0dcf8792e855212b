"""SQLite brought to the hub state as the crosslink CLI's hydration (v0.8.0) leaves it.

:func:`desired_rows` is the CLI's ``hydrate_to_sqlite`` rule by rule: issue files deduplicated
by ``display_id`` (the newest ``updated_at`` wins); parents before children, each pass sorted by
``(created_at, uuid)``; an offline issue (``display_id`` null) gets -1, -2, ... in that order;
``parent_id`` from ``parent_uuid`` (NULL when unresolved); labels; V1 inline comments under their
own id with a NULL uuid; V2 comment files (layout >= 2) under -1, -2, ... across the whole
hydration, with their uuid; time entries; the milestone link when the milestone exists;
dependencies and relations only for issues with a display id, dangling uuids skipped; relations
normalised (min, max); timestamps in ``to_rfc3339`` form.

:func:`apply` writes the difference between those rows and the database's in one transaction
instead of clearing and re-inserting (the CLI's way), so the result is the same rows while an
unchanged hub costs one read, and the difference tells which issues changed: it returns the
``(issue_id, field)`` pairs for ``issue_updated`` events. Sessions keep their active issue (an
issue that was renumbered is followed to its new id); the server's own tables are not touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .hubfiles import HubState, IssueFile, Stamp

if TYPE_CHECKING:
    from kernel.storage.database import Database

ISSUE_COLS = ("uuid", "title", "description", "status", "priority", "parent_id", "created_by",
              "created_at", "updated_at", "closed_at")
COMMENT_COLS = ("issue_id", "uuid", "author", "content", "created_at", "kind", "trigger_type",
                "intervention_context", "driver_key_fingerprint")
MILESTONE_COLS = ("uuid", "name", "description", "status", "created_at", "closed_at")
TIME_COLS = ("issue_id", "started_at", "ended_at", "duration_seconds")


@dataclass
class Rows:
    """The shared tables' rows: ``issues``/``comments``/``milestones``/``time_entries`` by id
    (a tuple of the columns above), the link tables as sets."""

    issues: dict[int, tuple] = field(default_factory=dict)
    order: list[int] = field(default_factory=list, compare=False)  # issue ids, parents first
    labels: set[tuple[int, str]] = field(default_factory=set)
    comments: dict[int, tuple] = field(default_factory=dict)
    dependencies: set[tuple[int, int]] = field(default_factory=set)
    relations: set[tuple[int, int]] = field(default_factory=set)
    milestones: dict[int, tuple] = field(default_factory=dict)
    milestone_issues: set[tuple[int, int]] = field(default_factory=set)
    time_entries: dict[int, tuple] = field(default_factory=dict)


def dedup(issues: list[IssueFile]) -> list[IssueFile]:
    """One file per ``display_id`` (latest ``updated_at``), then every offline issue."""
    by_id: dict[int, IssueFile] = {}
    offline = []
    for issue in issues:
        if issue.display_id is None:
            offline.append(issue)
            continue
        kept = by_id.get(issue.display_id)
        if kept is None or issue.updated_at > kept.updated_at:
            by_id[issue.display_id] = issue
    return [*by_id.values(), *offline]


def topo_sorted(issues: list[IssueFile]) -> list[IssueFile]:
    """The CLI's ``topo_sort_issues``: roots by (created_at, uuid), then up to 10 passes of
    children whose parent is placed, each sorted the same way, then whatever is left."""
    present = {i.uuid for i in issues}
    roots = [i for i in issues if i.parent_uuid is None or i.parent_uuid not in present]
    remaining = [i for i in issues if i.parent_uuid is not None and i.parent_uuid in present]
    key = lambda i: (i.created_at, i.uuid)  # noqa: E731
    placed = sorted(roots, key=key)
    for _ in range(10):
        if not remaining:
            break
        done = {i.uuid for i in placed}
        ready = [i for i in remaining if i.parent_uuid is None or i.parent_uuid in done]
        remaining = [i for i in remaining if not (i.parent_uuid is None or i.parent_uuid in done)]
        placed.extend(sorted(ready, key=key))
    placed.extend(remaining)
    return placed


def desired_rows(state: HubState) -> Rows:
    """The rows the CLI's hydration would write for ``state``."""
    rows = Rows()
    kept = dedup(list(state.issues.values()))
    uuid_to_id: dict[str, int] = {i.uuid: i.display_id for i in kept if i.display_id is not None}
    milestone_ids: dict[str, int] = {}
    seen_milestones: set[str] = set()
    for m in state.milestones:
        if m.uuid in seen_milestones:  # the same milestone twice (a file and a copy): once
            continue
        seen_milestones.add(m.uuid)
        milestone_ids[m.uuid] = m.display_id
        rows.milestones[m.display_id] = (
            m.uuid, m.name, m.description, m.status, m.created_at.sqlite(),
            m.closed_at.sqlite() if m.closed_at else None,
        )
    next_local = -1
    next_comment = -1
    for issue in topo_sorted(kept):
        if issue.display_id is None:
            issue_id = next_local
            next_local -= 1
            uuid_to_id[issue.uuid] = issue_id
        else:
            issue_id = issue.display_id
        parent_id = uuid_to_id.get(issue.parent_uuid) if issue.parent_uuid else None
        if issue_id not in rows.issues:
            rows.order.append(issue_id)
        rows.issues[issue_id] = (
            issue.uuid, issue.title, issue.description, issue.status, issue.priority, parent_id,
            issue.created_by, issue.created_at.sqlite(), issue.updated_at.sqlite(),
            issue.closed_at.sqlite() if issue.closed_at else None,
        )
        for label in issue.labels:
            rows.labels.add((issue_id, label))
        for c in issue.comments:
            rows.comments[c.id] = (issue_id, None, c.author, c.content, c.created_at.sqlite(), c.kind,
                                   c.trigger_type, c.intervention_context, c.driver_key_fingerprint)
        if state.layout >= 2:
            for c in state.v2_comments.get(issue.uuid, []):
                rows.comments[next_comment] = (issue_id, c.uuid, c.author, c.content, c.created_at.sqlite(),
                                               c.kind, c.trigger_type, c.intervention_context,
                                               c.driver_key_fingerprint)
                next_comment -= 1
        for entry in issue.time_entries:
            try:
                started = Stamp.parse(entry["started_at"]).sqlite()
                ended = Stamp.parse(entry["ended_at"]).sqlite() if entry.get("ended_at") else None
                rows.time_entries[int(entry["id"])] = (issue_id, started, ended, entry.get("duration_seconds"))
            except (KeyError, ValueError, TypeError):
                continue
        if issue.milestone_uuid and issue.milestone_uuid in milestone_ids:
            rows.milestone_issues.add((milestone_ids[issue.milestone_uuid], issue_id))
    for issue in kept:
        if issue.display_id is None:
            continue
        for blocker in issue.blockers:
            if blocker in uuid_to_id:
                rows.dependencies.add((uuid_to_id[blocker], issue.display_id))
        for other in issue.related:
            if other in uuid_to_id:
                a, b = sorted((issue.display_id, uuid_to_id[other]))
                rows.relations.add((a, b))
    return rows


async def current_rows(db: Database) -> Rows:
    """The shared tables as they are."""
    rows = Rows()
    for r in await db.fetch_all(f"SELECT id, {', '.join(ISSUE_COLS)} FROM issues"):
        rows.issues[r["id"]] = tuple(r[c] for c in ISSUE_COLS)
    for r in await db.fetch_all("SELECT issue_id, label FROM labels"):
        rows.labels.add((r["issue_id"], r["label"]))
    for r in await db.fetch_all(f"SELECT id, {', '.join(COMMENT_COLS)} FROM comments"):
        rows.comments[r["id"]] = tuple(r[c] for c in COMMENT_COLS)
    for r in await db.fetch_all("SELECT blocker_id, blocked_id FROM dependencies"):
        rows.dependencies.add((r["blocker_id"], r["blocked_id"]))
    for r in await db.fetch_all("SELECT issue_id_1, issue_id_2 FROM relations"):
        rows.relations.add((r["issue_id_1"], r["issue_id_2"]))
    for r in await db.fetch_all(f"SELECT id, {', '.join(MILESTONE_COLS)} FROM milestones"):
        rows.milestones[r["id"]] = tuple(r[c] for c in MILESTONE_COLS)
    for r in await db.fetch_all("SELECT milestone_id, issue_id FROM milestone_issues"):
        rows.milestone_issues.add((r["milestone_id"], r["issue_id"]))
    for r in await db.fetch_all(f"SELECT id, {', '.join(TIME_COLS)} FROM time_entries"):
        rows.time_entries[r["id"]] = tuple(r[c] for c in TIME_COLS)
    return rows


def changes(old: Rows, new: Rows) -> list[tuple[int, str]]:
    """``(issue_id, field)`` for every issue whose state differs, in the issues plugin's fields
    (``created``, ``deleted``, ``title``, ..., ``comments``, ``labels``, ``blockers``,
    ``milestone``, ``subissues``); an issue known by uuid under a new id is ``deleted`` at the
    old id and ``created`` at the new one. Compared by uuid, so renumbered V2 comment ids or a
    renumbered neighbour are no change. Only the issues some row difference touches are looked
    at (a write touches one or two of thousands)."""
    touched = _touched(old, new)
    if not touched:
        return []
    found: list[tuple[int, str]] = []
    old_id = {row[0]: i for i, row in old.issues.items() if row[0] in touched}
    old_view, new_view = _by_uuid(old, touched), _by_uuid(new, touched)
    for issue_uuid, issue_id in old_id.items():
        if issue_uuid not in new_view or new_view[issue_uuid]["id"] != issue_id:
            found.append((issue_id, "deleted"))
    for issue_id in new.order or sorted(new.issues):
        row = new.issues[issue_id]
        if row[0] not in touched:
            continue
        if old_id.get(row[0]) != issue_id:
            found.append((issue_id, "created"))
            continue
        before, after = old_view[row[0]], new_view[row[0]]
        for name in ("title", "description", "priority", "status", "comments", "labels", "blockers",
                     "milestone", "subissues"):
            if before[name] != after[name]:
                found.append((issue_id, name))
    return found


def _touched(old: Rows, new: Rows) -> set[str]:
    """The uuids of the issues whose state may differ between ``old`` and ``new``."""
    ids_old: set[int] = set()
    ids_new: set[int] = set()
    moved = {i for i, row in old.issues.items() if new.issues.get(i) != row}
    moved |= {i for i, row in new.issues.items() if old.issues.get(i) != row}
    for i in moved:
        ids_old.add(i)
        ids_new.add(i)
        for rows in (old, new):
            row = rows.issues.get(i)
            if row is not None and row[5] is not None:  # the parent's children changed
                ids_old.add(row[5])
                ids_new.add(row[5])
    renamed = {i for i in moved if i in old.issues and i in new.issues and old.issues[i][0] != new.issues[i][0]}
    for pair in old.labels ^ new.labels:
        ids_old.add(pair[0])
        ids_new.add(pair[0])
    for _blocker, blocked in (old.dependencies ^ new.dependencies) | {
            d for d in old.dependencies | new.dependencies if d[0] in renamed}:
        ids_old.add(blocked)
        ids_new.add(blocked)
    for comment_id in {c for c, row in old.comments.items() if new.comments.get(c) != row} | {
            c for c, row in new.comments.items() if old.comments.get(c) != row}:
        for rows in (old, new):
            row = rows.comments.get(comment_id)
            if row is not None:
                ids_old.add(row[0])
                ids_new.add(row[0])
    changed_ms = {m for m in set(old.milestones) | set(new.milestones)
                  if (old.milestones.get(m) or (None,))[0] != (new.milestones.get(m) or (None,))[0]}
    for _milestone, issue_id in (old.milestone_issues ^ new.milestone_issues) | {
            p for p in old.milestone_issues | new.milestone_issues if p[0] in changed_ms}:
        ids_old.add(issue_id)
        ids_new.add(issue_id)
    uuids = {old.issues[i][0] for i in ids_old if i in old.issues}
    uuids |= {new.issues[i][0] for i in ids_new if i in new.issues}
    return uuids


def _by_uuid(rows: Rows, only: set[str]) -> dict[str, dict[str, Any]]:
    """The state of the issues ``only`` names, keyed by uuid, every reference as a uuid."""
    uuid_of = {i: row[0] for i, row in rows.issues.items()}
    mine = {i for i, u in uuid_of.items() if u in only}
    view: dict[str, dict[str, Any]] = {}
    for issue_id in mine:
        row = rows.issues[issue_id]
        view[row[0]] = {
            "id": issue_id, "title": row[1], "description": row[2], "priority": row[4],
            "status": (row[3], row[9]), "comments": [], "labels": set(), "blockers": set(),
            "milestone": set(), "subissues": set(),
        }
    for row in rows.issues.values():
        if row[5] in mine:
            view[uuid_of[row[5]]]["subissues"].add(row[0])
    for comment in rows.comments.values():
        if comment[0] in mine:
            view[uuid_of[comment[0]]]["comments"].append(comment[1:])
    for item in view.values():
        item["comments"].sort(key=repr)
    for issue_id, label in rows.labels:
        if issue_id in mine:
            view[uuid_of[issue_id]]["labels"].add(label)
    for blocker, blocked in rows.dependencies:
        if blocked in mine:
            view[uuid_of[blocked]]["blockers"].add(uuid_of.get(blocker, blocker))
    for milestone, issue_id in rows.milestone_issues:
        if issue_id in mine:
            view[uuid_of[issue_id]]["milestone"].add(rows.milestones.get(milestone, (milestone,))[0])
    return view


def _marks(count: int) -> str:
    return ", ".join("?" * count)


async def write_difference(db: Database, old: Rows, new: Rows, now: str) -> None:
    """Inside a transaction: make the tables hold ``new`` (``old`` is what they hold).

    Order matters because of the CLI's cascades (``parent_id``, the child tables and
    ``sessions.active_issue_id`` all follow a deleted issue): child rows that go are deleted
    first, children of deleted issues are detached, sessions are remembered, issues and
    milestones are deleted, then issues are written parents first, then the child rows.
    """
    gone_issues = [i for i, row in old.issues.items() if i not in new.issues or new.issues[i][0] != row[0]]
    gone_milestones = [m for m, row in old.milestones.items() if m not in new.milestones or new.milestones[m][0] != row[0]]
    gone = set(gone_issues)
    gone_ms = set(gone_milestones)
    #: kept issues whose parent is deleted: detached below, so rewritten whatever they were
    detached = {i for i, row in old.issues.items() if i not in gone and row[5] in gone}

    async def delete_pairs(table: str, a: str, b: str, pairs) -> None:
        for x, y in pairs:
            await db.execute(f"DELETE FROM {table} WHERE {a} = ? AND {b} = ?", [x, y])

    await delete_pairs("labels", "issue_id", "label", old.labels - new.labels)
    await delete_pairs("dependencies", "blocker_id", "blocked_id", old.dependencies - new.dependencies)
    await delete_pairs("relations", "issue_id_1", "issue_id_2", old.relations - new.relations)
    await delete_pairs("milestone_issues", "milestone_id", "issue_id", old.milestone_issues - new.milestone_issues)
    for table, old_rows, new_rows in (("comments", old.comments, new.comments),
                                      ("time_entries", old.time_entries, new.time_entries)):
        stale = [i for i, row in old_rows.items() if new_rows.get(i) != row]
        for start in range(0, len(stale), 500):
            chunk = stale[start:start + 500]
            await db.execute(f"DELETE FROM {table} WHERE id IN ({_marks(len(chunk))})", chunk)

    sessions: list[dict[str, Any]] = []
    if gone_issues:
        new_id_of_uuid = {row[0]: i for i, row in new.issues.items()}
        for start in range(0, len(gone_issues), 500):
            chunk = gone_issues[start:start + 500]
            marks = _marks(len(chunk))
            sessions += await db.fetch_all(
                f"SELECT id, active_issue_id FROM sessions WHERE active_issue_id IN ({marks})", chunk
            )
            await db.execute(f"UPDATE issues SET parent_id = NULL WHERE parent_id IN ({marks})", chunk)
            await db.execute(f"DELETE FROM issues WHERE id IN ({marks})", chunk)
        for session in sessions:
            old_uuid = old.issues[session["active_issue_id"]][0]
            session["active_issue_id"] = new_id_of_uuid.get(old_uuid)
    for start in range(0, len(gone_milestones), 500):
        chunk = gone_milestones[start:start + 500]
        await db.execute(f"DELETE FROM milestones WHERE id IN ({_marks(len(chunk))})", chunk)

    columns = ", ".join(ISSUE_COLS)
    for issue_id in new.order or sorted(new.issues):
        row = new.issues[issue_id]
        before = old.issues.get(issue_id)
        if before is not None and issue_id not in gone:
            if before != row or issue_id in detached:
                assignments = ", ".join(f"{c} = ?" for c in ISSUE_COLS[1:])
                await db.execute(f"UPDATE issues SET {assignments} WHERE id = ?", [*row[1:], issue_id])
            continue
        await db.execute(f"INSERT INTO issues (id, {columns}) VALUES (?, {_marks(len(ISSUE_COLS))})",
                         [issue_id, *row])
    for milestone_id, row in new.milestones.items():
        before = old.milestones.get(milestone_id)
        if before is not None and milestone_id not in gone_ms:
            if before != row:
                assignments = ", ".join(f"{c} = ?" for c in MILESTONE_COLS[1:])
                await db.execute(f"UPDATE milestones SET {assignments} WHERE id = ?", [*row[1:], milestone_id])
            continue
        await db.execute(f"INSERT INTO milestones (id, {', '.join(MILESTONE_COLS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [milestone_id, *row])

    def missing(pairs_new, pairs_old, indexes: tuple[int, ...]):
        """Rows to insert: new ones, and those a cascade took with a deleted issue."""
        for pair in pairs_new:
            if pair not in pairs_old or any(pair[i] in gone for i in indexes):
                yield pair

    for issue_id, label in missing(new.labels, old.labels, (0,)):
        await db.execute("INSERT INTO labels (issue_id, label) VALUES (?, ?) ON CONFLICT DO NOTHING", [issue_id, label])
    for blocker, blocked in missing(new.dependencies, old.dependencies, (0, 1)):
        await db.execute("INSERT INTO dependencies (blocker_id, blocked_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         [blocker, blocked])
    for a, b in missing(new.relations, old.relations, (0, 1)):
        await db.execute("INSERT INTO relations (issue_id_1, issue_id_2, created_at) VALUES (?, ?, ?) "
                         "ON CONFLICT DO NOTHING", [a, b, now])
    for m, i in new.milestone_issues:
        if (m, i) not in old.milestone_issues or i in gone or m in gone_ms:
            await db.execute("INSERT INTO milestone_issues (milestone_id, issue_id) VALUES (?, ?) "
                             "ON CONFLICT DO NOTHING", [m, i])
    for comment_id, row in new.comments.items():
        if old.comments.get(comment_id) != row or row[0] in gone:
            await db.execute(f"INSERT INTO comments (id, {', '.join(COMMENT_COLS)}) VALUES (?, {_marks(9)}) "
                             "ON CONFLICT DO NOTHING", [comment_id, *row])
    for entry_id, row in new.time_entries.items():
        if old.time_entries.get(entry_id) != row or row[0] in gone:
            await db.execute(f"INSERT INTO time_entries (id, {', '.join(TIME_COLS)}) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT DO NOTHING", [entry_id, *row])
    for session in sessions:
        if session["active_issue_id"] is not None:
            await db.execute("UPDATE sessions SET active_issue_id = ? WHERE id = ?",
                             [session["active_issue_id"], session["id"]])
