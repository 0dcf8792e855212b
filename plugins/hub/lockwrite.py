"""Lock claims, releases and steals written to the hub exactly as the crosslink CLI writes them.

Each function reads the checkout as it is now (inside the hub owner's ``write``, so under the
CLI's write lock, and again after a rejected push was rebased) and returns a
:class:`LockWrite`: the :class:`~.reports.HubChange` to commit, or ``None`` when there is
nothing to write, or raises :class:`HeldByOther` when the hub shows another holder.

**V1** (``meta/version.json`` missing or below 2; ``SyncManager::claim_lock``/``release_lock``):
``locks.json`` = ``{"version": 1, "locks": {"<id>": {"agent_id", "branch" (null when unset),
"claimed_at", "signed_by"}}, "settings": {"stale_lock_timeout_minutes": 60}}``, pretty-printed;
``signed_by`` is the agent id (the server has no agent's SSH key). Commits:
``<agent>: claim lock on #<id>`` and ``<agent>: release lock on #<id>`` (no time). A steal is a
claim that overwrites the other agent's entry.

**V2** (``SharedWriter::claim_lock_v2``/``release_lock_v2``/``steal_lock_v2``): an unsigned
``LockClaimed``/``LockReleased`` event appended to ``agents/<agent>/events.log`` (its
``agent_seq`` one past the log's highest), then compaction (:mod:`.compaction`) materialises
``locks/<id>.json`` and rewrites ``checkpoint/state.json``; all committed together as
``<agent>: claim lock on #<id> at <UTC>`` / ``release lock on #<id> at <UTC>``. The winner is
read from the compacted state: when compaction gives the lock to another agent (an earlier
claim that was not compacted yet), nothing is written and :class:`HeldByOther` is raised (the
CLI writes its losing claim and a "contention cleanup" release instead; the result is the
same). A steal first prunes the stale holder's compacted events, drops the lock from the
checkpoint and removes ``locks/<id>.json``, as ``clear_stale_lock_state`` does; the pruned log
is committed in the same commit (the CLI leaves it uncommitted for its next sync).

An event must sort after the checkpoint's watermark, or every later compaction ignores it;
when the server's clock is not past the watermark the event is dated one microsecond after it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import compaction
from .compaction import Checkpoint, lock_path, log_path
from .eventlog import (
    HubFormatError,
    datetime_from_ns,
    format_ns,
    lock_event_line,
    ns_from_datetime,
    parse_log,
    parse_ns,
    repaired,
)
from .layout import is_regular_file
from .reports import HubChange

V1_FILE = "locks.json"
#: The CLI's agent-id rule; an agent id names a directory in the V2 layout.
CLI_AGENT_ID = re.compile(r"^[A-Za-z0-9_-]{3,64}$")


class HeldByOther(Exception):
    """The hub shows another agent holding the issue (``holder``)."""

    def __init__(self, issue_id: int, holder: str) -> None:
        self.issue_id = issue_id
        self.holder = holder
        super().__init__(f"issue #{issue_id} is held by '{holder}' in the hub")


@dataclass(frozen=True)
class LockWrite:
    """What a lock operation writes: ``change`` (``None``: nothing), and the claim's time."""

    change: HubChange | None
    claimed_at: datetime | None = None
    #: ``already-held``, ``claimed``, ``released``, ``not-locked``
    outcome: str = "claimed"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- V1: locks.json --------------------------------------------------------------------------


def _read_v1(hub: Path) -> dict[str, Any]:
    path = hub / V1_FILE
    if not is_regular_file(path):
        return {"version": 1, "locks": {}, "settings": {"stale_lock_timeout_minutes": 60}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise HubFormatError(f"{V1_FILE} is not JSON the crosslink CLI can read") from None
    if not isinstance(data, dict) or not isinstance(data.get("locks"), dict) or not isinstance(data.get("version"), int):
        raise HubFormatError(f"{V1_FILE} is not a locks file the crosslink CLI can read")
    return data


def _v1_entry(entry: Any, key: str) -> dict[str, Any]:
    """One lock re-serialised as serde would (fields in order, ``claimed_at`` re-rendered)."""
    moment = parse_ns(entry.get("claimed_at")) if isinstance(entry, dict) else None
    if moment is None or not isinstance(entry.get("agent_id"), str) or not isinstance(entry.get("signed_by"), str):
        raise HubFormatError(f"{V1_FILE} has a lock the crosslink CLI cannot read ({key!r})")
    branch = entry.get("branch")
    return {"agent_id": entry["agent_id"], "branch": branch if isinstance(branch, str) else None,
            "claimed_at": format_ns(moment), "signed_by": entry["signed_by"]}


def _v1_bytes(data: dict[str, Any], locks: dict[str, Any]) -> bytes:
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    timeout = settings.get("stale_lock_timeout_minutes", 60)
    return compaction.pretty({"version": data["version"], "locks": locks,
                              "settings": {"stale_lock_timeout_minutes": timeout}})


def claim_v1(hub: Path, agent_id: str, issue_id: int, branch: str | None, now: datetime, *,
             steal_from: str | None = None) -> LockWrite:
    """``crosslink locks claim`` (or ``steal`` when ``steal_from`` names the holder) on a V1 hub."""
    data = _read_v1(hub)
    locks = {key: _v1_entry(entry, key) for key, entry in data["locks"].items()}
    key = str(issue_id)
    existing = locks.get(key)
    if existing is not None and existing["agent_id"] == agent_id:
        return LockWrite(None, parse_dt(existing["claimed_at"]), "already-held")
    if existing is not None and existing["agent_id"] != steal_from:
        raise HeldByOther(issue_id, existing["agent_id"])
    moment = datetime_from_ns(ns_from_datetime(now))
    locks[key] = {"agent_id": agent_id, "branch": branch, "claimed_at": format_ns(ns_from_datetime(moment)),
                  "signed_by": agent_id}
    change = HubChange({V1_FILE: _v1_bytes(data, locks)}, f"{agent_id}: claim lock on #{issue_id}")
    return LockWrite(change, moment, "claimed")


def release_v1(hub: Path, agent_id: str, issue_id: int) -> LockWrite:
    """``crosslink locks release`` on a V1 hub."""
    data = _read_v1(hub)
    locks = {key: _v1_entry(entry, key) for key, entry in data["locks"].items()}
    existing = locks.get(str(issue_id))
    if existing is None:
        return LockWrite(None, None, "not-locked")
    if existing["agent_id"] != agent_id:
        raise HeldByOther(issue_id, existing["agent_id"])
    del locks[str(issue_id)]
    change = HubChange({V1_FILE: _v1_bytes(data, locks)}, f"{agent_id}: release lock on #{issue_id}")
    return LockWrite(change, None, "released")


# --- V2: events and compaction ------------------------------------------------------------------


def _materialised_holder(hub: Path, issue_id: int) -> tuple[str | None, int | None]:
    """``locks/<id>.json``'s holder and claim time (what ``read_lock_v2`` reads)."""
    path = hub / lock_path(issue_id)
    if not is_regular_file(path):
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise HubFormatError(f"{lock_path(issue_id)} is not JSON the crosslink CLI can read") from None
    holder = data.get("agent_id") if isinstance(data, dict) else None
    if not isinstance(holder, str):
        raise HubFormatError(f"{lock_path(issue_id)} is not a lock file the crosslink CLI can read")
    return holder, parse_ns(data.get("claimed_at"))


def _append(hub: Path, agent_id: str, issue_id: int, now: datetime, state: Checkpoint, *, claim: bool,
            branch: str | None) -> tuple[str, int]:
    """The agent's log with one more lock event, and that event's time."""
    path = hub / log_path(agent_id)
    current = path.read_text(encoding="utf-8") if is_regular_file(path) else ""
    current = repaired(current)
    seq = max((e.agent_seq for e in parse_log(current, log_path(agent_id))), default=0) + 1
    moment = ns_from_datetime(now)
    if state.watermark is not None and moment <= state.watermark[0]:
        moment = (state.watermark[0] // 1000 + 1) * 1000  # sort after the watermark (microseconds)
    return current + lock_event_line(agent_id, seq, moment, issue_id, claim=claim, branch=branch), moment


def claim_v2(hub: Path, agent_id: str, issue_id: int, branch: str | None, now: datetime, *,
             steal_from: str | None = None) -> LockWrite:
    """``claim_lock_v2`` (or ``steal_lock_v2`` when ``steal_from`` names the stale holder)."""
    holder, claimed = _materialised_holder(hub, issue_id)
    if holder == agent_id:
        return LockWrite(None, datetime_from_ns(claimed) if claimed is not None else None, "already-held")
    if holder is not None and holder != steal_from:
        raise HeldByOther(issue_id, holder)
    state = Checkpoint.read(hub)
    overrides: dict[str, str] = {}
    extra: dict[str, bytes | None] = {}
    if steal_from is not None:
        stale_log = hub / log_path(steal_from)
        if CLI_AGENT_ID.match(steal_from) and is_regular_file(stale_log):
            text = stale_log.read_text(encoding="utf-8")
            pruned = compaction.prune(text, state.watermark, log_path(steal_from))
            if len(parse_log(pruned, "")) != len(parse_log(text, "")):
                overrides[steal_from] = pruned
                extra[log_path(steal_from)] = pruned.encode("utf-8")
        state.locks.pop(issue_id, None)
        extra[lock_path(issue_id)] = None
    log, moment = _append(hub, agent_id, issue_id, now, state, claim=True, branch=branch)
    overrides[agent_id] = log
    result = compaction.compact(hub, state, compaction.read_logs(hub, overrides), ns_from_datetime(now))
    winner = result.holder(issue_id)
    if winner != agent_id:
        raise HeldByOther(issue_id, winner or "unknown")
    files = _changed(hub, {**extra, **result.files, log_path(agent_id): log.encode("utf-8")})
    change = HubChange(files, f"{agent_id}: claim lock on #{issue_id} at {_stamp(now)}")
    return LockWrite(change, datetime_from_ns(moment), "claimed")


def release_v2(hub: Path, agent_id: str, issue_id: int, now: datetime) -> LockWrite:
    """``release_lock_v2``: only the holder of ``locks/<id>.json`` releases."""
    holder, _ = _materialised_holder(hub, issue_id)
    if holder is None:
        return LockWrite(None, None, "not-locked")
    if holder != agent_id:
        raise HeldByOther(issue_id, holder)
    state = Checkpoint.read(hub)
    log, _moment = _append(hub, agent_id, issue_id, now, state, claim=False, branch=None)
    result = compaction.compact(hub, state, compaction.read_logs(hub, {agent_id: log}), ns_from_datetime(now))
    files = _changed(hub, {**result.files, log_path(agent_id): log.encode("utf-8")})
    change = HubChange(files, f"{agent_id}: release lock on #{issue_id} at {_stamp(now)}")
    return LockWrite(change, None, "released")


def _changed(hub: Path, files: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """Only the files whose content changes (an unchanged one is not rewritten, nor fsynced)."""
    kept: dict[str, bytes | None] = {}
    for path, data in files.items():
        target = hub / path
        if data is None:
            if target.exists():
                kept[path] = None
            continue
        try:
            if is_regular_file(target) and target.read_bytes() == data:
                continue
        except OSError:
            pass
        kept[path] = data
    return kept


# --- by layout ---------------------------------------------------------------------------------


def claim(hub: Path, layout: int, agent_id: str, issue_id: int, branch: str | None, now: datetime, *,
          steal_from: str | None = None) -> LockWrite:
    """A claim (or steal) in the layout the hub uses."""
    if layout >= 2:
        return claim_v2(hub, agent_id, issue_id, branch, now, steal_from=steal_from)
    return claim_v1(hub, agent_id, issue_id, branch, now, steal_from=steal_from)


def release(hub: Path, layout: int, agent_id: str, issue_id: int, now: datetime) -> LockWrite:
    """A release in the layout the hub uses."""
    if layout >= 2:
        return release_v2(hub, agent_id, issue_id, now)
    return release_v1(hub, agent_id, issue_id)


def parse_dt(text: str) -> datetime | None:
    """An RFC 3339 timestamp as a UTC ``datetime`` (microseconds), or ``None``."""
    moment = parse_ns(text)
    return None if moment is None else datetime_from_ns(moment)
