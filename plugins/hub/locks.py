"""Issue locks on the hub branch, in both layouts, merged per issue.

* V1 ``locks.json``: ``{"version": 1, "locks": {"42": {"agent_id", "branch"?, "claimed_at",
  "signed_by"}}, "settings": {...}}``; keys are issue ids as strings.
* V2 ``locks/<id>.json``: ``{"issue_id", "agent_id", "branch"?, "claimed_at", "signed_by"?}``.

When both layouts name one issue, the newer claim wins (V2 on a tie). Entries without a valid
agent id, an issue id or a parseable ``claimed_at`` are skipped. ``locks.json``'s own
``settings.stale_lock_timeout_minutes`` is deliberately not read: the server has one staleness
rule, driven by ``hook-config.json`` (see :mod:`.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.timeutil import parse

from .layout import is_plain_dir, is_valid_agent_id, parse_issue_id, read_json, sorted_entries

V1_FILE = "locks.json"
V2_DIR = "locks"


@dataclass(frozen=True)
class Lock:
    """One agent's claim on one issue.

    The hub readers fill ``source`` with ``"hub-v1"`` or ``"hub-v2"``; the locks plugin uses the
    same record for its own claims (``source="server"``, with a fencing ``token``).
    """

    issue_id: int
    agent_id: str
    claimed_at: datetime
    branch: str | None = None
    signed_by: str | None = None
    source: str = "hub"
    token: int | None = None


def _lock_from(entry: Any, issue_id: int | None, source: str) -> Lock | None:
    if not isinstance(entry, dict) or issue_id is None:
        return None
    agent_id = entry.get("agent_id")
    claimed = entry.get("claimed_at")
    moment = parse(claimed) if isinstance(claimed, str) else None
    if not is_valid_agent_id(agent_id) or moment is None:
        return None
    branch = entry.get("branch")
    signed = entry.get("signed_by")
    return Lock(
        issue_id=issue_id,
        agent_id=agent_id,
        claimed_at=moment,
        branch=branch if isinstance(branch, str) and branch else None,
        signed_by=signed if isinstance(signed, str) and signed else None,
        source=source,
    )


def read_v1(hub: Path) -> dict[int, Lock]:
    data = read_json(hub / V1_FILE)
    entries = data.get("locks") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return {}
    found = {}
    for key, entry in entries.items():
        lock = _lock_from(entry, parse_issue_id(key), "hub-v1")
        if lock is not None:
            found[lock.issue_id] = lock
    return found


def read_v2(hub: Path) -> dict[int, Lock]:
    found = {}
    for path in sorted_entries(hub / V2_DIR):
        if path.suffix != ".json":
            continue
        data = read_json(path)
        named = data.get("issue_id") if isinstance(data, dict) else None
        issue_id = parse_issue_id(named) if named is not None else parse_issue_id(path.stem)
        lock = _lock_from(data, issue_id, "hub-v2")
        if lock is not None:
            found[lock.issue_id] = lock
    return found


def read_locks(hub: Path) -> dict[int, Lock]:
    """Every lock in the checkout by issue id, V1 and V2 merged (the newer claim wins)."""
    if not is_plain_dir(hub):
        return {}
    merged = read_v1(hub)
    for issue_id, lock in read_v2(hub).items():
        current = merged.get(issue_id)
        if current is None or lock.claimed_at >= current.claimed_at:
            merged[issue_id] = lock
    return merged
