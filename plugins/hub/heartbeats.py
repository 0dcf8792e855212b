"""Heartbeats on the hub branch, in both layouts, merged per agent (the newest wins).

* V1 ``heartbeats/<agent_id>.json``:
  ``{"agent_id", "last_heartbeat", "active_issue_id"?, "machine_id"}``
* V2 ``agents/<agent_id>/heartbeat.json``: ``{"agent_id", "timestamp", "status"}``; the agent
  id is the directory name.

Both files are read whatever ``meta/version.json`` says, and each reader accepts either shape
(``last_heartbeat`` or ``timestamp``). A file without a parseable timestamp is skipped: unlike
the original server, which took "now" and so showed such an agent as active forever, an
unreadable heartbeat is no heartbeat at all. Agent ids that are not valid ids are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.timeutil import parse

from .layout import is_plain_dir, is_valid_agent_id, parse_issue_id, read_json, sorted_entries

V1_DIR = "heartbeats"
V2_DIR = "agents"
V2_FILE = "heartbeat.json"


@dataclass(frozen=True)
class Heartbeat:
    """An agent's newest heartbeat from one source (or merged from several)."""

    agent_id: str
    timestamp: datetime
    active_issue_id: int | None = None
    machine_id: str | None = None
    description: str | None = None
    source: str = "hub"


def _from_json(data: Any, agent_id: str, source: str) -> Heartbeat | None:
    if not isinstance(data, dict):
        return None
    raw_time = data.get("last_heartbeat", data.get("timestamp"))
    moment = parse(raw_time) if isinstance(raw_time, str) else None
    if moment is None:
        return None
    machine = data.get("machine_id")
    issue = data.get("active_issue_id")
    return Heartbeat(
        agent_id=agent_id,
        timestamp=moment,
        active_issue_id=parse_issue_id(issue) if issue is not None else None,
        machine_id=machine if isinstance(machine, str) and machine else None,
        source=source,
    )


def read_v1(hub: Path) -> dict[str, Heartbeat]:
    """``heartbeats/*.json``; the id is the file's ``agent_id`` field, else its name."""
    found: list[dict[str, Heartbeat]] = []
    for path in sorted_entries(hub / V1_DIR):
        if path.suffix != ".json":
            continue
        data = read_json(path)
        named = data.get("agent_id") if isinstance(data, dict) else None
        agent_id = named if is_valid_agent_id(named) else path.stem
        if not is_valid_agent_id(agent_id):
            continue
        beat = _from_json(data, agent_id, "hub-v1")
        if beat is not None:
            found.append({agent_id: beat})
    return merge_heartbeats(*found)  # two files may name one agent


def read_v2(hub: Path) -> dict[str, Heartbeat]:
    """``agents/<id>/heartbeat.json``; the id is the directory name."""
    found: dict[str, Heartbeat] = {}
    for directory in sorted_entries(hub / V2_DIR):
        agent_id = directory.name
        if not is_valid_agent_id(agent_id) or not is_plain_dir(directory):
            continue
        beat = _from_json(read_json(directory / V2_FILE), agent_id, "hub-v2")
        if beat is not None:
            found[agent_id] = beat
    return found


def read_heartbeats(hub: Path) -> dict[str, Heartbeat]:
    """Every agent's newest heartbeat in the checkout, V1 and V2 merged."""
    if not is_plain_dir(hub):
        return {}
    return merge_heartbeats(read_v1(hub), read_v2(hub))


def merge_heartbeats(*sources: Mapping[str, Heartbeat]) -> dict[str, Heartbeat]:
    """Merge per agent: the newest timestamp wins (the earlier source on a tie).

    ``machine_id`` and ``description`` missing from the winner are taken from the newest other
    heartbeat that has them (a V2 file has no machine id, an older V1 file may).
    """
    by_agent: dict[str, list[Heartbeat]] = {}
    for source in sources:
        for agent_id, beat in source.items():
            by_agent.setdefault(agent_id, []).append(beat)
    return {agent_id: _merge_one(beats) for agent_id, beats in by_agent.items()}


def _merge_one(beats: Iterable[Heartbeat]) -> Heartbeat:
    ordered = sorted(enumerate(beats), key=lambda pair: (-pair[1].timestamp.timestamp(), pair[0]))
    winner = ordered[0][1]
    machine = winner.machine_id or next((b.machine_id for _, b in ordered if b.machine_id), None)
    description = winner.description or next((b.description for _, b in ordered if b.description), None)
    if machine == winner.machine_id and description == winner.description:
        return winner
    return replace(winner, machine_id=machine, description=description)
