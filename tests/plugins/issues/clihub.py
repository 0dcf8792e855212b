"""The crosslink CLI's side of a hub, written for the tests from ``hub-formats.md`` alone (none of
the server's code is used here):

* :class:`CliIssues` writes issue, comment, milestone and counter files into a hub checkout as
  the CLI's shared writer does (V1 flat files with inline comments, V2 directories with comment
  files; serde's pretty JSON, optional fields omitted, nanosecond ``Z`` timestamps) and commits
  them with the CLI's ``<agent>: <what> at <time>`` messages;
* :func:`cli_hydrate` computes the rows the CLI's hydration (v0.8) would write into SQLite;
* :func:`sqlite_rows` reads the same rows out of a real SQLite file, for comparison.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid as uuidlib
from datetime import UTC, datetime
from pathlib import Path

from tests.support import git

ISSUE_ORDER = ("uuid", "display_id", "title", "description", "status", "priority", "parent_uuid", "created_by",
               "created_at", "updated_at", "closed_at", "labels", "comments", "blockers", "related",
               "milestone_uuid", "time_entries")


def nanos_z(moment: datetime, nanos: int = 0) -> str:
    """chrono's serde form: ``Z`` and the fewest of 0/3/6/9 digits that show every digit."""
    total = moment.microsecond * 1000 + nanos
    base = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{total:09d}"
    for width in (0, 3, 6, 9):
        if int(digits[width:] or 0) == 0:
            return base + (("." + digits[:width]) if width else "") + "Z"
    return base + "." + digits + "Z"


def rfc3339(json_time: str) -> str:
    """What ``to_rfc3339`` gives for a parsed JSON timestamp (UTC, auto digits, ``+00:00``)."""
    match = re.fullmatch(r"(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", json_time)
    assert match, json_time
    base, fraction, offset = match.groups()
    assert offset in ("Z", "+00:00"), "the tests only write UTC"
    digits = (fraction or "").ljust(9, "0")[:9]
    for width in (0, 3, 6, 9):
        if digits[width:].strip("0") == "":
            return base + (("." + digits[:width]) if width else "") + "+00:00"
    raise AssertionError


def pretty(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


class CliIssues:
    """Writes issues into an existing hub checkout as the CLI does, committing each change."""

    def __init__(self, checkout: Path, agent: str = "cli-agent") -> None:
        self.path = checkout
        self.agent = agent

    @property
    def layout(self) -> int:
        version = self.path / "meta" / "version.json"
        return json.loads(version.read_text())["layout_version"] if version.exists() else 1

    def counters(self) -> dict:
        path = self.path / "meta" / "counters.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        return {"next_display_id": data.get("next_display_id", 1), "next_comment_id": data.get("next_comment_id", 1),
                "next_milestone_id": data.get("next_milestone_id", 1)}

    def _write(self, relative: str, data: dict) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pretty(data), encoding="utf-8")

    def issue_file(self, issue_uuid: str) -> str:
        return f"issues/{issue_uuid}/issue.json" if self.layout >= 2 else f"issues/{issue_uuid}.json"

    def read_issue(self, issue_uuid: str) -> dict:
        return json.loads((self.path / self.issue_file(issue_uuid)).read_text())

    def commit(self, what: str, *paths: str) -> None:
        git(self.path, "add", "--", *paths)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        git(self.path, "-c", "commit.gpgsign=false", "commit", "-q", "-m", f"{self.agent}: {what} at {stamp}")

    def create(self, title: str, *, at: datetime, description: str | None = None, priority: str = "medium",
               parent: str | None = None, labels: tuple[str, ...] = (), display_id: int | None | str = "next",
               nanos: int = 123) -> str:
        counters = self.counters()
        if display_id == "next":
            display_id = counters["next_display_id"]
            counters["next_display_id"] += 1
        issue_uuid = str(uuidlib.uuid4())
        data: dict = {"uuid": issue_uuid, "display_id": display_id, "title": title}
        if description is not None:
            data["description"] = description
        data |= {"status": "open", "priority": priority}
        if parent:
            data["parent_uuid"] = parent
        data |= {"created_by": self.agent, "created_at": nanos_z(at, nanos), "updated_at": nanos_z(at, nanos)}
        if labels:
            data["labels"] = list(labels)
        self._write(self.issue_file(issue_uuid), data)
        self._write("meta/counters.json", counters)
        self.commit(f"create issue: {title}", self.issue_file(issue_uuid), "meta/counters.json")
        return issue_uuid

    def edit(self, issue_uuid: str, what: str, **fields) -> None:
        data = self.read_issue(issue_uuid)
        for key, value in fields.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        data = {k: data[k] for k in ISSUE_ORDER if k in data}
        self._write(self.issue_file(issue_uuid), data)
        self.commit(what, self.issue_file(issue_uuid))

    def comment(self, issue_uuid: str, content: str, *, at: datetime, kind: str = "note") -> None:
        counters = self.counters()
        comment_id = counters["next_comment_id"]
        counters["next_comment_id"] += 1
        self._write("meta/counters.json", counters)
        if self.layout >= 2:
            comment_uuid = str(uuidlib.uuid4())
            path = f"issues/{issue_uuid}/comments/{comment_uuid}.json"
            self._write(path, {"uuid": comment_uuid, "issue_uuid": issue_uuid, "author": self.agent,
                               "content": content, "created_at": nanos_z(at, 7), "kind": kind})
            self.commit("comment on issue", path, "meta/counters.json")
            return
        data = self.read_issue(issue_uuid)
        data.setdefault("comments", []).append(
            {"id": comment_id, "author": self.agent, "content": content, "created_at": nanos_z(at, 7), "kind": kind}
        )
        data["updated_at"] = nanos_z(at, 7)
        data = {k: data[k] for k in ISSUE_ORDER if k in data}
        self._write(self.issue_file(issue_uuid), data)
        self.commit("comment on issue", self.issue_file(issue_uuid), "meta/counters.json")

    def milestone(self, name: str, *, at: datetime) -> str:
        counters = self.counters()
        display_id = counters["next_milestone_id"]
        counters["next_milestone_id"] += 1
        milestone_uuid = str(uuidlib.uuid4())
        path = f"meta/milestones/{milestone_uuid}.json"
        self._write(path, {"uuid": milestone_uuid, "display_id": display_id, "name": name, "status": "open",
                           "created_at": nanos_z(at, 5)})
        self._write("meta/counters.json", counters)
        self.commit(f"create milestone: {name}", path, "meta/counters.json")
        return milestone_uuid


# --- hydration, the CLI's way ------------------------------------------------------------------


def _json_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if p.is_file()) if directory.is_dir() else []


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def cli_hydrate(hub: Path) -> dict:
    """The rows the crosslink CLI (v0.8) writes when it hydrates from ``hub``:
    ``{"issues": {id: row}, "labels": set, "comments": set, "dependencies": set,
    "milestones": {id: row}, "milestone_issues": set}`` (relations get ``now`` as created_at,
    so they are left out)."""
    version_file = hub / "meta" / "version.json"
    issues_dir = hub / "issues"
    if version_file.exists():
        layout = json.loads(version_file.read_text())["layout_version"]
    else:
        layout = 2 if any((d / "issue.json").exists() for d in issues_dir.iterdir() if d.is_dir()) else 1
    by_uuid: dict[str, dict] = {}
    for path in _json_files(issues_dir):  # V1 files first; a V2 file of the same uuid wins
        data = _read(path)
        if data:
            by_uuid.setdefault(data["uuid"], data)
    for directory in sorted(d for d in issues_dir.iterdir() if d.is_dir()) if issues_dir.is_dir() else []:
        data = _read(directory / "issue.json")
        if data:
            by_uuid[data["uuid"]] = data
    numbered: dict[int, dict] = {}
    offline = []
    for data in by_uuid.values():
        if data.get("display_id") is None:
            offline.append(data)
        elif data["display_id"] not in numbered or data["updated_at"] > numbered[data["display_id"]]["updated_at"]:
            numbered[data["display_id"]] = data  # (the tests write one timestamp form, so text order works)
    files = list(numbered.values()) + offline
    milestones = [m for m in (_read(p) for p in _json_files(hub / "meta" / "milestones")) if m]
    ids = {d["uuid"]: d["display_id"] for d in files if d.get("display_id") is not None}
    milestone_ids = {m["uuid"]: m["display_id"] for m in milestones}

    present = {d["uuid"] for d in files}
    key = lambda d: (rfc3339(d["created_at"]), d["uuid"])  # noqa: E731
    ordered = sorted((d for d in files if d.get("parent_uuid") not in present), key=key)
    rest = [d for d in files if d.get("parent_uuid") in present]
    while rest:
        placed = {d["uuid"] for d in ordered}
        ready = [d for d in rest if d["parent_uuid"] in placed]
        rest = [d for d in rest if d["parent_uuid"] not in placed]
        ordered += sorted(ready, key=key)

    out = {"issues": {}, "labels": set(), "comments": set(), "dependencies": set(), "milestones": {},
           "milestone_issues": set()}
    for m in milestones:
        out["milestones"][m["display_id"]] = (m["uuid"], m["name"], m.get("description"), m["status"],
                                              rfc3339(m["created_at"]),
                                              rfc3339(m["closed_at"]) if m.get("closed_at") else None)
    local, v2 = -1, -1
    for d in ordered:
        if d.get("display_id") is None:
            ids[d["uuid"]] = local
            local -= 1
        issue_id = ids[d["uuid"]]
        out["issues"][issue_id] = (
            d["uuid"], d["title"], d.get("description"), d["status"], d["priority"], ids.get(d.get("parent_uuid")),
            d["created_by"], rfc3339(d["created_at"]), rfc3339(d["updated_at"]),
            rfc3339(d["closed_at"]) if d.get("closed_at") else None,
        )
        out["labels"] |= {(issue_id, label) for label in d.get("labels", [])}
        for c in d.get("comments", []):
            out["comments"].add((c["id"], issue_id, None, c["author"], c["content"], rfc3339(c["created_at"]),
                                 c.get("kind", "note")))
        if layout >= 2:
            found = [_read(p) for p in _json_files(issues_dir / d["uuid"] / "comments")]
            found = sorted((c for c in found if c), key=lambda c: (rfc3339(c["created_at"]), c["author"], c["uuid"]))
            for c in found:
                out["comments"].add((v2, issue_id, c["uuid"], c["author"], c["content"], rfc3339(c["created_at"]),
                                     c["kind"]))
                v2 -= 1
        if d.get("milestone_uuid") in milestone_ids:
            out["milestone_issues"].add((milestone_ids[d["milestone_uuid"]], issue_id))
    for d in files:
        if d.get("display_id") is None:
            continue
        for blocker in d.get("blockers", []):
            if blocker in ids:
                out["dependencies"].add((ids[blocker], d["display_id"]))
    return out


def sqlite_rows(db_path: Path) -> dict:
    """The same rows, read from a SQLite file."""
    connection = sqlite3.connect(db_path)
    try:
        q = connection.execute
        return {
            "issues": {r[0]: tuple(r[1:]) for r in q(
                "SELECT id, uuid, title, description, status, priority, parent_id, created_by, created_at, "
                "updated_at, closed_at FROM issues")},
            "labels": set(q("SELECT issue_id, label FROM labels")),
            "comments": set(q("SELECT id, issue_id, uuid, author, content, created_at, kind FROM comments")),
            "dependencies": set(q("SELECT blocker_id, blocked_id FROM dependencies")),
            "milestones": {r[0]: tuple(r[1:]) for r in q(
                "SELECT id, uuid, name, description, status, created_at, closed_at FROM milestones")},
            "milestone_issues": set(q("SELECT milestone_id, issue_id FROM milestone_issues")),
        }
    finally:
        connection.close()
