"""Compaction of the V2 hub's lock events, as the CLI's ``compaction::compact`` (v0.5-v0.8) does it.

The CLI's V2 lock protocol appends an event to the agent's own ``agents/<id>/events.log``, then
compacts: it reads ``checkpoint/state.json`` and its ``watermark``, takes the events after the
watermark from **every** agent's log, sorts them by ``(timestamp, agent_id, agent_seq)`` and
applies them (a claim wins when the issue is free or already the same agent's: first claim
wins; only the holder's release counts), then writes the checkpoint back and materialises each
changed lock as ``locks/<id>.json`` (``{issue_id, agent_id, branch?, claimed_at}``; removed when
released). With no watermark the state is rebuilt from scratch.

This module does the same in memory and returns the files to write, so the hub owner commits
them in one change. What it does not do, on purpose:

* **issue events** (``IssueCreated``...) are never applied: the CLI up to v0.8 emits none, and
  a log holding them (a newer hub) makes compaction refuse (:class:`HubFormatError`) rather
  than rewrite state it does not understand;
* **signatures are not verified**: an unsigned event is recorded in
  ``unsigned_event_warnings`` as the CLI records it; a signed one is taken as valid;
* ``checkpoint/skew_warnings.json`` (the CLI's comparison of event times with git commit
  times) is kept as it is (``[]`` when missing); the next CLI compaction recomputes it;
* ``checkpoint/compaction.lock`` is not taken: the hub owner already holds the CLI's
  ``.hub-write-lock``, which every CLI since v0.5.2 takes around compaction.

Timestamps are nanoseconds (:mod:`.eventlog`); state keys keep the CLI's order and omissions
(serde's pretty JSON, two-space indent, no trailing newline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .eventlog import (
    LOCK_CLAIMED,
    LOCK_RELEASED,
    Envelope,
    HubFormatError,
    format_ns,
    parse_log,
    parse_ns,
)
from .layout import is_plain_dir, is_regular_file, sorted_entries

STATE_FILE = "checkpoint/state.json"
LEGACY_WATERMARK_FILE = "checkpoint/watermark.json"
SKEW_FILE = "checkpoint/skew_warnings.json"
#: Events dated further than this into the future are recorded as clock skew (the CLI's 60 s).
SKEW_THRESHOLD_SECONDS = 60
#: The order of ``CheckpointState``'s fields, as serde writes them.
STATE_KEYS = ("next_display_id", "next_comment_id", "display_id_map", "locks", "issues", "skew_warnings",
              "compaction_lease", "unsigned_event_warnings", "watermark")


def pretty(value: Any) -> bytes:
    """serde_json's ``to_string_pretty``: two-space indent, no trailing newline."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def log_path(agent_id: str) -> str:
    """The relative path of an agent's event log."""
    return f"agents/{agent_id}/events.log"


def lock_path(issue_id: int) -> str:
    """The relative path of an issue's materialised V2 lock."""
    return f"locks/{issue_id}.json"


def _read_text(path: Path) -> str | None:
    if not is_regular_file(path):
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HubFormatError(f"{path.name} cannot be read ({exc})") from None


def _key(value: Any) -> tuple[int, str, int] | None:
    if not isinstance(value, dict):
        return None
    moment, agent, seq = parse_ns(value.get("timestamp")), value.get("agent_id"), value.get("agent_seq")
    if moment is None or not isinstance(agent, str) or isinstance(seq, bool) or not isinstance(seq, int):
        return None
    return moment, agent, seq


def _watermark_json(key: tuple[int, str, int]) -> dict[str, Any]:
    return {"timestamp": format_ns(key[0]), "agent_id": key[1], "agent_seq": key[2]}


@dataclass
class Checkpoint:
    """``checkpoint/state.json`` as read: the raw fields, the locks parsed, the watermark."""

    raw: dict[str, Any]
    #: issue id -> ``{agent_id, branch?, claimed_at}`` (claimed_at in nanoseconds)
    locks: dict[int, dict[str, Any]]
    watermark: tuple[int, str, int] | None

    @classmethod
    def default(cls) -> Checkpoint:
        return cls({"next_display_id": 1, "next_comment_id": 1, "display_id_map": {}, "locks": {}, "issues": {}},
                   {}, None)

    @classmethod
    def read(cls, hub: Path) -> Checkpoint:
        """The checkpoint in ``hub`` (the default when there is none), and the legacy watermark file."""
        text = _read_text(hub / STATE_FILE)
        if text is None:
            state = cls.default()
        else:
            try:
                raw = json.loads(text)
            except ValueError:
                raise HubFormatError(f"{STATE_FILE} is not JSON the crosslink CLI can read") from None
            if not isinstance(raw, dict) or not isinstance(raw.get("locks", {}), dict):
                raise HubFormatError(f"{STATE_FILE} is not a checkpoint the crosslink CLI can read")
            locks: dict[int, dict[str, Any]] = {}
            for name, entry in raw.get("locks", {}).items():
                moment = parse_ns(entry.get("claimed_at")) if isinstance(entry, dict) else None
                try:
                    issue = int(name)
                except ValueError:
                    issue = None
                if issue is None or moment is None or not isinstance(entry.get("agent_id"), str):
                    raise HubFormatError(f"{STATE_FILE} has a lock the crosslink CLI cannot read ({name!r})")
                branch = entry.get("branch")
                locks[issue] = {"agent_id": entry["agent_id"], "branch": branch if isinstance(branch, str) else None,
                                "claimed_at": moment}
            state = cls(raw, locks, _key(raw.get("watermark")))
        if state.watermark is None:
            legacy = _read_text(hub / LEGACY_WATERMARK_FILE)
            if legacy is not None:
                try:
                    state.watermark = _key(json.loads(legacy))
                except ValueError:
                    raise HubFormatError(f"{LEGACY_WATERMARK_FILE} is not JSON") from None
        return state

    def serialise(self) -> bytes:
        """The state as ``write_checkpoint`` writes it (serde's field order and omissions)."""
        out: dict[str, Any] = {}
        for key in STATE_KEYS:
            if key == "locks":
                out["locks"] = {
                    str(issue): {"agent_id": lock["agent_id"],
                                 **({"branch": lock["branch"]} if lock["branch"] is not None else {}),
                                 "claimed_at": format_ns(lock["claimed_at"])}
                    for issue, lock in sorted(self.locks.items())
                }
            elif key == "watermark":
                if self.watermark is not None:
                    out["watermark"] = _watermark_json(self.watermark)
            elif key in ("skew_warnings", "unsigned_event_warnings"):
                if self.raw.get(key):
                    out[key] = self.raw[key]
            elif key == "compaction_lease":
                continue  # compaction always clears it
            else:
                default = {"next_display_id": 1, "next_comment_id": 1}.get(key, {})
                out[key] = self.raw.get(key, default)
        return pretty(out)


@dataclass
class Compaction:
    """What one compaction changes: every file to put in place (``None`` removes it)."""

    state: Checkpoint
    files: dict[str, bytes | None] = field(default_factory=dict)

    def holder(self, issue_id: int) -> str | None:
        """Who holds ``issue_id`` after the compaction."""
        lock = self.state.locks.get(issue_id)
        return lock["agent_id"] if lock else None


def read_logs(hub: Path, overrides: dict[str, str]) -> dict[str, str]:
    """Every agent's event log by agent directory name, ``overrides`` (new contents) applied."""
    logs: dict[str, str] = {}
    for directory in sorted_entries(hub / "agents"):
        if not is_plain_dir(directory):
            continue
        text = _read_text(directory / "events.log")
        if text is not None:
            logs[directory.name] = text
    logs.update(overrides)
    return logs


def compact(hub: Path, state: Checkpoint, logs: dict[str, str], now_ns: int) -> Compaction:
    """Compact ``logs`` (every agent's log, as it will be committed) into ``state``."""
    watermark = state.watermark
    events: list[Envelope] = []
    for agent, text in sorted(logs.items()):
        for envelope in parse_log(text, f"agents/{agent}/events.log"):
            if watermark is None or envelope.key > watermark:
                events.append(envelope)
    foreign = sorted({e.type for e in events if e.type not in (LOCK_CLAIMED, LOCK_RELEASED)})
    if foreign:
        raise HubFormatError(
            f"the hub's event logs hold {', '.join(foreign)} events, which the crosslink CLI up to v0.8 never "
            "writes (a newer hub layout?); the server only compacts lock events: use the crosslink CLI"
        )
    result = Compaction(state)
    if not events and watermark is not None:
        result.files[STATE_FILE] = state.serialise()
        result.files[SKEW_FILE] = _skew_file(hub)
        return result
    if watermark is None:  # a full compaction: the state is rebuilt from every event
        fresh = Checkpoint.default()
        state.raw, state.locks = fresh.raw, {}
    events.sort(key=lambda e: e.key)
    changed: set[int] = set()
    skew = list(state.raw.get("skew_warnings") or [])
    unsigned = list(state.raw.get("unsigned_event_warnings") or [])
    for envelope in events:
        ahead = (envelope.timestamp - now_ns) // 1_000_000_000
        if ahead > SKEW_THRESHOLD_SECONDS:
            skew.append({"agent_id": envelope.agent_id, "skew_seconds": ahead,
                         "event_timestamp": format_ns(envelope.timestamp)})
        if not envelope.signed:
            unsigned.append({"agent_id": envelope.agent_id, "agent_seq": envelope.agent_seq,
                             "timestamp": format_ns(envelope.timestamp)})
        _apply(state, envelope, changed)
    state.raw["skew_warnings"], state.raw["unsigned_event_warnings"] = skew, unsigned
    state.watermark = events[-1].key
    for issue in sorted(changed):
        lock = state.locks.get(issue)
        if lock is None:
            result.files[lock_path(issue)] = None
        else:
            result.files[lock_path(issue)] = pretty({
                "issue_id": issue,
                "agent_id": lock["agent_id"],
                **({"branch": lock["branch"]} if lock["branch"] is not None else {}),
                "claimed_at": format_ns(lock["claimed_at"]),
            })
    result.files[STATE_FILE] = state.serialise()
    result.files[SKEW_FILE] = _skew_file(hub)
    return result


def _apply(state: Checkpoint, envelope: Envelope, changed: set[int]) -> None:
    issue = envelope.issue_display_id
    assert issue is not None
    existing = state.locks.get(issue)
    if envelope.type == LOCK_CLAIMED:
        if existing is not None and existing["agent_id"] != envelope.agent_id:
            return  # first claim wins
        state.locks[issue] = {"agent_id": envelope.agent_id, "branch": envelope.branch,
                              "claimed_at": envelope.timestamp}
        changed.add(issue)
    elif existing is not None and existing["agent_id"] == envelope.agent_id:
        del state.locks[issue]
        changed.add(issue)


def _skew_file(hub: Path) -> bytes:
    current = hub / SKEW_FILE
    if is_regular_file(current):
        try:
            return current.read_bytes()
        except OSError:
            pass
    return b"[]"


def prune(text: str, watermark: tuple[int, str, int] | None, where: str) -> str:
    """An agent's log without the events at or before the watermark (the CLI's ``prune_events``,
    used when a stale agent's lock is stolen). Remaining lines are kept as written."""
    if watermark is None:
        return text
    kept = [e.line + "\n" for e in parse_log(text, where) if e.key > watermark]
    return "".join(kept)
