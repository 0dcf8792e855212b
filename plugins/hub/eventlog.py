"""The V2 hub's per-agent event logs, ``agents/<agent_id>/events.log``, as the CLI (v0.5-v0.8) writes them.

One compact JSON object per line, each ending in ``\\n`` (NDJSON), the envelope's keys in the
CLI's order: ``agent_id``, ``agent_seq``, ``timestamp``, ``event`` (tagged with ``"type"``
first), then ``signed_by``/``signature`` when signed. Up to v0.8 the only events the CLI emits
are ``LockClaimed {issue_display_id, branch?}`` and ``LockReleased {issue_display_id}``; the
server emits the same two and nothing else (issue events would make the next compaction assign
display ids of its own; see ``hub-formats.md`` §2.5).

Events are totally ordered by ``(timestamp, agent_id, agent_seq)``. Timestamps are kept as
integer nanoseconds since the epoch (the CLI writes nanoseconds; Python's ``datetime`` would
lose them and misorder two events of one microsecond) and written as chrono writes
``DateTime<Utc>``: RFC 3339 with ``Z`` and 0, 3, 6 or 9 fractional digits, whichever shows
every non-zero digit.

A torn last line (a crash mid-append) is tolerated and cut before the next append, as the CLI
does; a broken line in the middle is an error (:class:`HubFormatError`), as it is for the CLI.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NANOS = 1_000_000_000

#: The event types the CLI up to v0.8 emits (the lock protocol); anything else is refused.
LOCK_CLAIMED = "LockClaimed"
LOCK_RELEASED = "LockReleased"


class HubFormatError(Exception):
    """A hub file the CLI would also refuse (a broken event log, an unreadable checkpoint)."""


def parse_ns(text: object) -> int | None:
    """An RFC 3339 timestamp with an offset as nanoseconds since the epoch (``None`` otherwise)."""
    if not isinstance(text, str):
        return None
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(9, "0")
    zone = match.group(8)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * NANOS + int(fraction)


def ns_from_datetime(moment: datetime) -> int:
    """A timezone-aware ``datetime`` as nanoseconds since the epoch."""
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1) * 1000


def datetime_from_ns(ns: int) -> datetime:
    """Nanoseconds since the epoch as a UTC ``datetime`` (truncated to microseconds)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def format_ns(ns: int) -> str:
    """chrono's serde form of a ``DateTime<Utc>``: ``2026-03-10T03:15:00.123Z`` (auto digits)."""
    seconds, nanos = divmod(ns, NANOS)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        fraction = ""
    elif nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}"
    elif nanos % 1000 == 0:
        fraction = f".{nanos // 1000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return f"{text}{fraction}Z"


def compact_json(value: Any) -> str:
    """serde_json's compact form: no spaces, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Envelope:
    """One event of one agent's log (only what compaction needs, and the line as written)."""

    agent_id: str
    agent_seq: int
    timestamp: int
    type: str
    issue_display_id: int | None
    branch: str | None
    signed: bool
    line: str

    @property
    def key(self) -> tuple[int, str, int]:
        """The CLI's total order: ``(timestamp, agent_id, agent_seq)``."""
        return self.timestamp, self.agent_id, self.agent_seq


def _envelope(data: Any, line: str) -> Envelope | None:
    if not isinstance(data, dict):
        return None
    agent_id, seq, stamp, event = data.get("agent_id"), data.get("agent_seq"), data.get("timestamp"), data.get("event")
    moment = parse_ns(stamp)
    if (not isinstance(agent_id, str) or isinstance(seq, bool) or not isinstance(seq, int) or seq < 0
            or moment is None or not isinstance(event, dict) or not isinstance(event.get("type"), str)):
        return None
    kind = event["type"]
    issue = event.get("issue_display_id")
    branch = event.get("branch")
    if kind in (LOCK_CLAIMED, LOCK_RELEASED) and (isinstance(issue, bool) or not isinstance(issue, int)):
        return None
    return Envelope(
        agent_id=agent_id,
        agent_seq=seq,
        timestamp=moment,
        type=kind,
        issue_display_id=issue if isinstance(issue, int) else None,
        branch=branch if isinstance(branch, str) else None,
        signed=isinstance(data.get("signed_by"), str) and isinstance(data.get("signature"), str),
        line=line,
    )


def parse_log(text: str, where: str) -> list[Envelope]:
    """Every event of a log; a broken last line is skipped, a broken line elsewhere is an error."""
    lines = text.split("\n")
    events: list[Envelope] = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            envelope = _envelope(json.loads(line), line)
        except ValueError:
            envelope = None
        if envelope is None:
            if number == last:
                continue  # a torn last line: the CLI truncates it on its next append
            raise HubFormatError(f"{where}: line {number + 1} is not an event the crosslink CLI can read")
        events.append(envelope)
    return events


def repaired(text: str) -> str:
    """The log with a torn last line cut off (what the CLI's append does first)."""
    if not text or text.endswith("\n"):
        return text
    cut = text.rfind("\n")
    return "" if cut < 0 else text[: cut + 1]


def lock_event_line(agent_id: str, seq: int, timestamp: int, issue_id: int, *, claim: bool,
                    branch: str | None = None) -> str:
    """One unsigned ``LockClaimed``/``LockReleased`` line as the CLI serialises it (with ``\\n``)."""
    event: dict[str, Any] = {"type": LOCK_CLAIMED if claim else LOCK_RELEASED, "issue_display_id": issue_id}
    if claim and branch is not None:
        event["branch"] = branch
    return compact_json({"agent_id": agent_id, "agent_seq": seq, "timestamp": format_ns(timestamp),
                         "event": event}) + "\n"
