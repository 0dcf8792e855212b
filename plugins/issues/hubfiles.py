"""The crosslink CLI's hub files for issues, read and written as the CLI (v0.5.1-v0.8) does.

Layouts (``meta/version.json``; missing = 1, or 2 when an ``issues/<uuid>/issue.json`` exists):

* V1: ``issues/<uuid>.json`` with comments inline (``comments[]``, numeric ``id`` each);
* V2: ``issues/<uuid>/issue.json`` and ``issues/<uuid>/comments/<comment-uuid>.json`` (no id).

Both share ``meta/counters.json`` (``next_display_id``, ``next_comment_id``,
``next_milestone_id``) and ``meta/milestones/<uuid>.json`` (legacy ``meta/milestones.json`` is
read when the directory holds none). Files are serde_json's pretty output: 2-space indent, keys
in the Rust structs' order, optional fields **omitted** (``display_id`` is always written, null
for an offline issue), no trailing newline. Timestamps are RFC 3339 UTC with ``Z`` and 0, 3, 6 or
9 fractional digits (chrono's "auto"); SQLite gets the same instant as ``to_rfc3339`` writes it
(``+00:00``). Nanoseconds are kept, so a CLI timestamp survives a round trip unchanged.

A file that does not parse, lacks a required field or has a status/priority outside the CLI's
enums is skipped (the CLI skips it too, with a warning).
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger("crosslink.issues.hub")

STATUSES = ("open", "closed", "archived")
PRIORITIES = ("low", "medium", "high", "critical")
MAX_FILE_BYTES = 16 * 1024 * 1024

_TS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- timestamps ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Stamp:
    """An instant with nanoseconds: ``seconds`` since the epoch (UTC) and ``nanos``."""

    seconds: int
    nanos: int = 0

    @classmethod
    def parse(cls, text: Any) -> Stamp:
        """RFC 3339 with an offset (as chrono reads it); ValueError otherwise."""
        if not isinstance(text, str):
            raise ValueError("not a timestamp")
        match = _TS.match(text)
        if match is None:
            raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        if offset not in ("Z", "z"):
            sign = 1 if offset[0] == "+" else -1
            moment -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        nanos = int((fraction or "").ljust(9, "0")) if fraction else 0
        return cls(int((moment - _EPOCH).total_seconds()), nanos)

    @classmethod
    def of(cls, moment: datetime) -> Stamp:
        moment = moment.astimezone(UTC)
        whole = moment.replace(microsecond=0)
        return cls(int((whole - _EPOCH).total_seconds()), moment.microsecond * 1000)

    def _text(self, suffix: str) -> str:
        base = (_EPOCH + timedelta(seconds=self.seconds)).strftime("%Y-%m-%dT%H:%M:%S")
        if self.nanos == 0:
            fraction = ""
        elif self.nanos % 1_000_000 == 0:
            fraction = f".{self.nanos // 1_000_000:03d}"
        elif self.nanos % 1000 == 0:
            fraction = f".{self.nanos // 1000:06d}"
        else:
            fraction = f".{self.nanos:09d}"
        return base + fraction + suffix

    def json(self) -> str:
        """The hub form (serde): ``...Z``, auto digits."""
        return self._text("Z")

    def sqlite(self) -> str:
        """The SQLite form (chrono ``to_rfc3339``): ``...+00:00``, auto digits (kept: a parsed
        file's stamps are rendered again at every hydration)."""
        text = self.__dict__.get("_sqlite")
        if text is None:
            text = self._text("+00:00")
            object.__setattr__(self, "_sqlite", text)
        return text


def commit_time(moment: datetime) -> str:
    """The ``at <time>`` of the CLI's commit messages (``%Y-%m-%dT%H:%M:%SZ``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- records ---------------------------------------------------------------------------------


@dataclass
class Comment:
    """A V1 inline comment (``id`` set) or a V2 comment file (``uuid`` set)."""

    author: str
    content: str
    created_at: Stamp
    kind: str = "note"
    id: int | None = None
    uuid: str | None = None
    issue_uuid: str | None = None
    trigger_type: str | None = None
    intervention_context: str | None = None
    driver_key_fingerprint: str | None = None
    signed_by: str | None = None
    signature: str | None = None

    def inline_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "author": self.author,
            "content": self.content,
            "created_at": self.created_at.json(),
            "kind": self.kind,
        }
        self._optional(data)
        return data

    def file_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uuid": self.uuid,
            "issue_uuid": self.issue_uuid,
            "author": self.author,
            "content": self.content,
            "created_at": self.created_at.json(),
            "kind": self.kind,
        }
        self._optional(data)
        return data

    def _optional(self, data: dict[str, Any]) -> None:
        for name in ("trigger_type", "intervention_context", "driver_key_fingerprint", "signed_by", "signature"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value


@dataclass
class IssueFile:
    """``IssueFile`` of the CLI (the fields in its declaration order)."""

    uuid: str
    display_id: int | None
    title: str
    status: str
    priority: str
    created_by: str
    created_at: Stamp
    updated_at: Stamp
    description: str | None = None
    parent_uuid: str | None = None
    closed_at: Stamp | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    milestone_uuid: str | None = None
    time_entries: list[dict[str, Any]] = field(default_factory=list)
    #: Extra keys another writer added (kept when the server rewrites the file).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"uuid": self.uuid, "display_id": self.display_id, "title": self.title}
        if self.description is not None:
            data["description"] = self.description
        data["status"] = self.status
        data["priority"] = self.priority
        if self.parent_uuid is not None:
            data["parent_uuid"] = self.parent_uuid
        data["created_by"] = self.created_by
        data["created_at"] = self.created_at.json()
        data["updated_at"] = self.updated_at.json()
        if self.closed_at is not None:
            data["closed_at"] = self.closed_at.json()
        if self.labels:
            data["labels"] = list(self.labels)
        if self.comments:
            data["comments"] = [c.inline_dict() for c in self.comments]
        if self.blockers:
            data["blockers"] = list(self.blockers)
        if self.related:
            data["related"] = list(self.related)
        if self.milestone_uuid is not None:
            data["milestone_uuid"] = self.milestone_uuid
        if self.time_entries:
            data["time_entries"] = list(self.time_entries)
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data


@dataclass
class MilestoneFile:
    """``MilestoneEntry`` of the CLI."""

    uuid: str
    display_id: int
    name: str
    status: str
    created_at: Stamp
    description: str | None = None
    closed_at: Stamp | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"uuid": self.uuid, "display_id": self.display_id, "name": self.name}
        if self.description is not None:
            data["description"] = self.description
        data["status"] = self.status
        data["created_at"] = self.created_at.json()
        if self.closed_at is not None:
            data["closed_at"] = self.closed_at.json()
        return data


@dataclass
class Counters:
    next_display_id: int = 1
    next_comment_id: int = 1
    next_milestone_id: int = 1

    def to_dict(self) -> dict[str, int]:
        return {
            "next_display_id": self.next_display_id,
            "next_comment_id": self.next_comment_id,
            "next_milestone_id": self.next_milestone_id,
        }


def dumps(data: dict[str, Any]) -> bytes:
    """serde_json's ``to_string_pretty``: 2-space indent, UTF-8 unescaped, no trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


# --- parsing ---------------------------------------------------------------------------------


def _uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a uuid")
    return str(uuidlib.UUID(value))


def _opt_str(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: not a string")
    return value


def _opt_stamp(data: dict, key: str) -> Stamp | None:
    value = data.get(key)
    return None if value is None else Stamp.parse(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _str(data: dict, key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"{key}: not a string")
    return value


def _comment(data: dict, *, inline: bool) -> Comment:
    kind = data.get("kind", "note") if inline else data["kind"]
    if not isinstance(kind, str):
        raise ValueError("kind: not a string")
    return Comment(
        author=_str(data, "author"),
        content=_str(data, "content"),
        created_at=Stamp.parse(data["created_at"]),
        kind=kind,
        id=_int(data["id"]) if inline else None,
        uuid=None if inline else _uuid(data["uuid"]),
        issue_uuid=None if inline else _uuid(data["issue_uuid"]),
        trigger_type=_opt_str(data, "trigger_type"),
        intervention_context=_opt_str(data, "intervention_context"),
        driver_key_fingerprint=_opt_str(data, "driver_key_fingerprint"),
        signed_by=_opt_str(data, "signed_by"),
        signature=_opt_str(data, "signature"),
    )


KNOWN_ISSUE_KEYS = frozenset({
    "uuid", "display_id", "title", "description", "status", "priority", "parent_uuid", "created_by",
    "created_at", "updated_at", "closed_at", "labels", "comments", "blockers", "related", "milestone_uuid",
    "time_entries",
})


def parse_issue(data: Any) -> IssueFile:
    if not isinstance(data, dict):
        raise ValueError("not an object")
    status, priority = _str(data, "status"), _str(data, "priority")
    if status not in STATUSES or priority not in PRIORITIES:
        raise ValueError(f"status {status!r} / priority {priority!r} is not one the CLI reads")
    display_id = data.get("display_id")
    labels = data.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError("labels: not a list of strings")
    parent = data.get("parent_uuid")
    milestone = data.get("milestone_uuid")
    time_entries = data.get("time_entries") or []
    if not isinstance(time_entries, list):
        raise ValueError("time_entries: not a list")
    return IssueFile(
        uuid=_uuid(data["uuid"]),
        display_id=None if display_id is None else _int(display_id),
        title=_str(data, "title"),
        status=status,
        priority=priority,
        created_by=_str(data, "created_by"),
        created_at=Stamp.parse(data["created_at"]),
        updated_at=Stamp.parse(data["updated_at"]),
        description=_opt_str(data, "description"),
        parent_uuid=None if parent is None else _uuid(parent),
        closed_at=_opt_stamp(data, "closed_at"),
        labels=list(labels),
        comments=[_comment(c, inline=True) for c in data.get("comments") or []],
        blockers=[_uuid(u) for u in data.get("blockers") or []],
        related=[_uuid(u) for u in data.get("related") or []],
        milestone_uuid=None if milestone is None else _uuid(milestone),
        time_entries=[dict(t) for t in time_entries if isinstance(t, dict)],
        extra={k: v for k, v in data.items() if k not in KNOWN_ISSUE_KEYS},
    )


def parse_milestone(data: Any) -> MilestoneFile:
    if not isinstance(data, dict):
        raise ValueError("not an object")
    status = _str(data, "status")
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one the CLI reads")
    return MilestoneFile(
        uuid=_uuid(data["uuid"]),
        display_id=_int(data["display_id"]),
        name=_str(data, "name"),
        status=status,
        created_at=Stamp.parse(data["created_at"]),
        description=_opt_str(data, "description"),
        closed_at=_opt_stamp(data, "closed_at"),
    )


def _load(path: Path) -> Any:
    """A JSON file (no symlinks, bounded size); ValueError/OSError when unreadable."""
    if path.is_symlink():
        raise ValueError("a symlink")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("too large")
    return json.loads(path.read_bytes())


# --- the hub as the CLI reads it ---------------------------------------------------------------


def layout_version(root: Path) -> int:
    """``meta/version.json`` (v0.8: missing, but an ``issues/<dir>/issue.json`` exists -> 2)."""
    path = root / "meta" / "version.json"
    if path.exists():
        try:
            value = _load(path)["layout_version"]
            return value if isinstance(value, int) and value > 0 else 1
        except (OSError, ValueError, KeyError, TypeError):
            return 1
    issues = root / "issues"
    try:
        for entry in os.scandir(issues):
            if entry.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(entry.path, "issue.json")):
                return 2
    except OSError:
        pass
    return 1


def issue_path(layout: int, issue_uuid: str) -> str:
    return f"issues/{issue_uuid}/issue.json" if layout >= 2 else f"issues/{issue_uuid}.json"


def comment_path(issue_uuid: str, comment_uuid: str) -> str:
    return f"issues/{issue_uuid}/comments/{comment_uuid}.json"


def milestone_path(milestone_uuid: str) -> str:
    return f"meta/milestones/{milestone_uuid}.json"


COUNTERS_PATH = "meta/counters.json"


class _Cache:
    """Parsed files by path, valid while the file's (mtime, size, inode) stays the same: a
    re-read of a hub of thousands of files after one change parses one file."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[tuple, Any]] = {}

    def get(self, path: str, parse) -> Any:
        try:
            info = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        key = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = self.entries.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            value = parse(_load(Path(path)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("skipping malformed hub file %s: %s", path, exc)
            value = None
        self.entries[path] = (key, value)
        return value


@dataclass
class HubState:
    """What hydration reads: issue files (V2 winning over V1 for a uuid), their V2 comment
    files (sorted by ``(created_at, author, uuid)``), milestones, counters, the layout."""

    layout: int
    issues: dict[str, IssueFile]
    v2_comments: dict[str, list[Comment]]
    milestones: list[MilestoneFile]
    counters: Counters
    #: uuids present on disk as ``issues/<uuid>`` (file or directory), readable or not.
    uuids_on_disk: set[str]


class HubReader:
    """Reads a hub checkout as the CLI does, parsing only the files that changed since last time."""

    def __init__(self) -> None:
        self._cache = _Cache()

    def read(self, root: Path) -> HubState:
        layout = layout_version(root)
        issues: dict[str, IssueFile] = {}
        v2_comments: dict[str, list[Comment]] = {}
        on_disk: set[str] = set()
        issues_dir = root / "issues"
        v1: dict[str, IssueFile] = {}
        try:
            entries = list(os.scandir(issues_dir))
        except OSError:
            entries = []
        for entry in entries:
            name = entry.name
            if entry.is_file(follow_symlinks=False) and name.endswith(".json"):
                on_disk.add(name[:-5])
                issue = self._cache.get(entry.path, parse_issue)
                if issue is not None:
                    v1.setdefault(issue.uuid, issue)
            elif entry.is_dir(follow_symlinks=False):
                on_disk.add(name)
                issue = self._cache.get(os.path.join(entry.path, "issue.json"), parse_issue)
                if issue is not None:
                    issues[issue.uuid] = issue
                if layout >= 2:
                    comments = self._comments(Path(entry.path) / "comments")
                    if comments:
                        v2_comments[name] = comments
        for key, issue in v1.items():
            issues.setdefault(key, issue)
        return HubState(layout, issues, v2_comments, self._milestones(root), read_counters(root), on_disk)

    def _comments(self, directory: Path) -> list[Comment]:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return []
        comments = []
        for entry in entries:
            if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False):
                comment = self._cache.get(entry.path, lambda d: _comment(d, inline=False))
                if comment is not None:
                    comments.append(comment)
        comments.sort(key=lambda c: (c.created_at, c.author, c.uuid))
        return comments

    def _milestones(self, root: Path) -> list[MilestoneFile]:
        found = []
        try:
            entries = list(os.scandir(root / "meta" / "milestones"))
        except OSError:
            entries = []
        for entry in entries:
            if entry.name.endswith(".json"):
                milestone = self._cache.get(entry.path, parse_milestone)
                if milestone is not None:
                    found.append(milestone)
        if found:
            return found
        legacy = root / "meta" / "milestones.json"
        if not legacy.exists():
            return []
        try:
            values = _load(legacy)["milestones"].values()
            return [parse_milestone(value) for value in values]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("skipping malformed hub file %s: %s", legacy, exc)
            return []


def read_counters(root: Path) -> Counters:
    """``meta/counters.json`` (missing: all 1; ``next_milestone_id`` missing: 1)."""
    path = root / COUNTERS_PATH
    if not path.exists():
        return Counters()
    try:
        data = _load(path)
        return Counters(_int(data["next_display_id"]), _int(data["next_comment_id"]),
                        _int(data.get("next_milestone_id", 1)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("unreadable %s (%s): counting from the files", path, exc)
        return Counters()


def reconciled(state: HubState) -> Counters:
    """The counters raised above the highest id on disk (v0.8's reconciliation, extended to V1
    comment ids, whose duplicates would abort every CLI hydration)."""
    counters = Counters(**state.counters.to_dict())
    top_issue = max((i.display_id for i in state.issues.values() if i.display_id is not None), default=0)
    top_comment = max((c.id for i in state.issues.values() for c in i.comments if c.id is not None), default=0)
    top_milestone = max((m.display_id for m in state.milestones), default=0)
    counters.next_display_id = max(counters.next_display_id, top_issue + 1)
    counters.next_comment_id = max(counters.next_comment_id, top_comment + 1)
    counters.next_milestone_id = max(counters.next_milestone_id, top_milestone + 1)
    return counters


def new_uuid() -> str:
    return str(uuidlib.uuid4())
