"""Rows that exist only in SQLite, written into the hub before a hydration could drop them.

Which rows: issues whose uuid the hub lacks and whose ``created_by`` is NULL (the CLI's own rule
for what its hydration keeps; before the server's first hydration of a repository, every issue
the hub lacks), with their labels, comments, blockers, relations and milestone (a milestone the
hub lacks is written too); and comments with a uuid that such a server added to hub issues
(hydrated hub comments have a NULL uuid in V1 and the file's uuid in V2).

How: an issue keeps its number when no hub issue uses it, otherwise it takes the next free one
from the (reconciled) counters; V1 comments get ids from ``next_comment_id``, V2 comments become
comment files; ``created_by`` is the server's agent id. :meth:`Migration.files` is called from
the write's ``prepare``, so a rejected push renumbers against the new hub state.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import hubfiles as hf
from .hubfiles import Comment, HubState, IssueFile, MilestoneFile, Stamp

if TYPE_CHECKING:
    from kernel.storage.database import Database

Files = dict[str, Any]


async def sqlite_only(db: Database, state: HubState, *, first: bool, now: Stamp) -> Migration | None:
    """The rows of ``db`` that the hub ``state`` lacks (see the module docstring), or ``None``."""
    issues = await db.fetch_all(
        "SELECT id, uuid, title, description, status, priority, parent_id, created_by, created_at, "
        "updated_at, closed_at FROM issues"
    )
    # the CLI's rule (created_by NULL); before this server's first hydration of the repository,
    # every row the hub lacks (an older server also stored its MCP agents in created_by)
    only = [r for r in issues if (r["created_by"] is None or first)
            and (r["uuid"] is None or r["uuid"] not in state.issues)]
    hub_comment_uuids = {c.uuid for cs in state.v2_comments.values() for c in cs}
    uuid_of = {r["id"]: r["uuid"] for r in issues}
    hub_issue_ids = {r["id"] for r in issues if r["uuid"] in state.issues}
    comments = await db.fetch_all(
        "SELECT id, issue_id, uuid, author, content, created_at, kind, trigger_type, intervention_context, "
        "driver_key_fingerprint FROM comments"
    )
    only_ids = {r["id"] for r in only}
    stray = [c for c in comments if c["issue_id"] in hub_issue_ids and c["uuid"] is not None
             and c["uuid"] not in hub_comment_uuids]
    if not only and not stray:
        return None
    milestones = await db.fetch_all("SELECT id, uuid, name, description, status, created_at, closed_at "
                                         "FROM milestones")
    links = await db.fetch_all("SELECT milestone_id, issue_id FROM milestone_issues")
    labels = await db.fetch_all("SELECT issue_id, label FROM labels")
    deps = await db.fetch_all("SELECT blocker_id, blocked_id FROM dependencies")
    relations = await db.fetch_all("SELECT issue_id_1, issue_id_2 FROM relations")
    return Migration(only, [c for c in comments if c["issue_id"] in only_ids], stray, uuid_of,
                      {m["id"]: m for m in milestones}, links, labels, deps, relations, now)


class Migration:
    """SQLite-only issues (with their rows) and stray comments, turned into hub files."""

    def __init__(self, issues, comments, stray, uuid_of, milestones, links, labels, deps, relations, now):
        self.issues = sorted(issues, key=lambda r: r["id"])
        self.comments = comments
        self.stray = stray
        self.uuid_of = dict(uuid_of)
        self.milestones = milestones
        self.links = links
        self.labels = labels
        self.deps = deps
        self.relations = relations
        self.now = now
        for row in self.issues:  # an issue without a uuid gets one now (stable across retries)
            if row["uuid"] is None:
                self.uuid_of[row["id"]] = hf.new_uuid()

    def count(self) -> int:
        return len(self.issues) + len(self.stray)

    def _stamp(self, text: str | None) -> Stamp:
        try:
            return Stamp.parse(text)
        except ValueError:
            return self.now

    def _comment(self, row, state: HubState, counters: hf.Counters, issue_uuid: str) -> Comment:
        comment = Comment(author=row["author"] or "unknown", content=row["content"],
                          created_at=self._stamp(row["created_at"]), kind=row["kind"] or "note",
                          trigger_type=row["trigger_type"], intervention_context=row["intervention_context"],
                          driver_key_fingerprint=row["driver_key_fingerprint"])
        if state.layout >= 2:
            comment.uuid, comment.issue_uuid = row["uuid"] or hf.new_uuid(), issue_uuid
        else:
            comment.id = counters.next_comment_id
            counters.next_comment_id += 1
        return comment

    def files(self, state: HubState, agent_id: str, root: Path) -> tuple[Files, list[str]]:
        counters = hf.reconciled(state)
        used = {i.display_id for i in state.issues.values() if i.display_id is not None}
        migrating = {row["id"] for row in self.issues if self.uuid_of[row["id"]] not in state.issues}
        issues = [row for row in self.issues if row["id"] in migrating]
        files: Files = {}
        lines: list[str] = []
        numbers: dict[int, int] = {}
        for row in issues:
            keep = row["id"] > 0 and row["id"] not in used
            numbers[row["id"]] = row["id"] if keep else counters.next_display_id
            if not keep:
                counters.next_display_id += 1
            used.add(numbers[row["id"]])
        counters.next_display_id = max([counters.next_display_id, *(n + 1 for n in numbers.values())])
        hub_milestones = {m.uuid for m in state.milestones}
        used_ms = {m.display_id for m in state.milestones}
        milestone_of: dict[int, str] = {}
        for link in self.links:
            if link["issue_id"] in migrating and link["milestone_id"] in self.milestones:
                milestone_of.setdefault(link["issue_id"], self._milestone_uuid(
                    self.milestones[link["milestone_id"]], hub_milestones, used_ms, counters, files, lines))
        for row in issues:
            issue_uuid = self.uuid_of[row["id"]]
            status = row["status"] if row["status"] in hf.STATUSES else "open"
            priority = row["priority"] if row["priority"] in hf.PRIORITIES else "medium"
            parent = self.uuid_of.get(row["parent_id"]) if row["parent_id"] is not None else None
            issue = IssueFile(
                uuid=issue_uuid, display_id=numbers[row["id"]], title=row["title"], status=status, priority=priority,
                created_by=agent_id, created_at=self._stamp(row["created_at"]),
                updated_at=self._stamp(row["updated_at"]), description=row["description"], parent_uuid=parent,
                closed_at=self._stamp(row["closed_at"]) if row["closed_at"] else None,
                labels=sorted(r["label"] for r in self.labels if r["issue_id"] == row["id"]),
                blockers=[self.uuid_of[d["blocker_id"]] for d in self.deps
                          if d["blocked_id"] == row["id"] and self.uuid_of.get(d["blocker_id"])],
                related=[self.uuid_of[r["issue_id_2"]] for r in self.relations
                         if r["issue_id_1"] == row["id"] and self.uuid_of.get(r["issue_id_2"])],
                milestone_uuid=milestone_of.get(row["id"]),
            )
            for c in sorted((c for c in self.comments if c["issue_id"] == row["id"]), key=lambda c: c["id"]):
                comment = self._comment(c, state, counters, issue_uuid)
                if comment.id is None:
                    files[hf.comment_path(issue_uuid, comment.uuid)] = comment.file_dict()
                else:
                    issue.comments.append(comment)
            files[hf.issue_path(state.layout, issue_uuid)] = issue.to_dict()
            moved = "" if numbers[row["id"]] == row["id"] else f" as #{numbers[row['id']]} (#{row['id']} is taken)"
            lines.append(f"issue #{row['id']} ({issue_uuid}) existed only in SQLite: written to the hub{moved}")
        touched: dict[str, IssueFile] = {}
        for c in sorted(self.stray, key=lambda c: c["id"]):
            issue = touched.get(self.uuid_of.get(c["issue_id"])) or copy.deepcopy(
                state.issues.get(self.uuid_of.get(c["issue_id"])))
            if issue is None:
                continue
            comment = self._comment(c, state, counters, issue.uuid)
            if comment.id is None:
                files[hf.comment_path(issue.uuid, comment.uuid)] = comment.file_dict()
            else:
                issue.comments.append(comment)
                touched[issue.uuid] = issue
            lines.append(f"comment #{c['id']} on issue #{c['issue_id']} existed only in SQLite: written to the hub")
        for issue in touched.values():
            files[hf.issue_path(state.layout, issue.uuid)] = issue.to_dict()
        if files:
            files[hf.COUNTERS_PATH] = counters.to_dict()
        return files, lines

    def _milestone_uuid(self, row, hub_milestones, used, counters, files, lines) -> str:
        milestone_uuid = row["uuid"] or hf.new_uuid()
        if milestone_uuid in hub_milestones:
            return milestone_uuid
        keep = row["id"] > 0 and row["id"] not in used
        number = row["id"] if keep else counters.next_milestone_id
        if not keep:
            counters.next_milestone_id += 1
        counters.next_milestone_id = max(counters.next_milestone_id, number + 1)
        used.add(number)
        hub_milestones.add(milestone_uuid)
        status = row["status"] if row["status"] in hf.STATUSES else "open"
        entry = MilestoneFile(milestone_uuid, number, row["name"], status, self._stamp(row["created_at"]),
                              description=row["description"],
                              closed_at=self._stamp(row["closed_at"]) if row["closed_at"] else None)
        files[hf.milestone_path(milestone_uuid)] = entry.to_dict()
        lines.append(f"milestone #{row['id']} ({milestone_uuid}) existed only in SQLite: written to the hub"
                     + ("" if keep else f" as #{number}"))
        return milestone_uuid
