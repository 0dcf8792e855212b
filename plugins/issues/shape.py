"""Turning database rows into the API's JSON objects.

Rows come from :mod:`plugins.issues.store`; aggregated columns (labels, comments, subissues)
arrive as JSON text built by the database in the same statement. Stored timestamps are the
CLI's text (``...+00:00``); the API answers RFC 3339 with ``Z``.
"""

from __future__ import annotations

from typing import Any

import orjson

from kernel.api import parse_timestamp, to_api, to_db

ISSUE_COLUMNS = ("id", "title", "description", "status", "priority", "parent_id", "created_at", "updated_at", "closed_at")


def timestamp(value: str | None) -> str | None:
    """Stored text to the API form; the CLI's own format takes a fast path."""
    if value is None:
        return None
    if len(value) == 32 and value[26:] == "+00:00" and value[19] == "." and value[10] == "T":
        return value[:19] + "Z" if value[20:26] == "000000" else value[:26] + "Z"
    return to_api(value)


def time_key(value: str | None) -> str:
    """A key ordering stored timestamps by instant, whatever RFC 3339 form the writer used.

    The CLI's own form (``...ffffff+00:00``) sorts as text already; other forms are brought to
    it first. Unparsable text sorts last.
    """
    if value is not None and len(value) == 32 and value[26:] == "+00:00":
        return value
    moment = parse_timestamp(value)
    return to_db(moment) if moment is not None else "~" + (value or "")


def aggregate(value: Any) -> list:
    """A JSON array built by the database (text on SQLite, json text on PostgreSQL)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return orjson.loads(value)
    return list(value)


def issue(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "priority": row["priority"],
        "parent_id": row["parent_id"],
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
        "closed_at": timestamp(row["closed_at"]),
    }


def issue_from_array(values: list) -> dict[str, Any]:
    """An issue from ``[id, title, description, status, priority, parent_id, created, updated, closed]``."""
    return issue(dict(zip(ISSUE_COLUMNS, values)))


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """A list item: the issue plus its sorted labels and its count of open blockers."""
    item = issue(row)
    item["labels"] = sorted(aggregate(row["labels"]))
    item["blocker_count"] = row["blocker_count"]
    return item


def comment(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "issue_id": row["issue_id"],
        "content": row["content"],
        "created_at": timestamp(row["created_at"]),
        "kind": row["kind"] or "note",
        "trigger_type": row["trigger_type"],
        "intervention_context": row["intervention_context"],
        "driver_key_fingerprint": row["driver_key_fingerprint"],
    }


def ordered_comments(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comments by creation time, then id (stored texts may mix RFC 3339 forms)."""
    rows = sorted(rows, key=lambda r: (time_key(r["created_at"]), r["id"]))
    return [comment(r) for r in rows]


def detail(row: dict[str, Any]) -> dict[str, Any]:
    """IssueDetail from the one-statement detail query."""
    item = issue(row)
    item["labels"] = sorted(aggregate(row["labels"]))
    comments = sorted(aggregate(row["comments"]), key=lambda values: (time_key(values[3]), values[0]))
    item["comments"] = [
        {
            "id": values[0],
            "issue_id": values[1],
            "content": values[2],
            "created_at": timestamp(values[3]),
            "kind": values[4] or "note",
            "trigger_type": values[5],
            "intervention_context": values[6],
            "driver_key_fingerprint": values[7],
        }
        for values in comments
    ]
    item["blockers"] = sorted(aggregate(row["blockers"]))
    item["blocking"] = sorted(aggregate(row["blocking"]))
    children = sorted(aggregate(row["subissues"]), key=lambda values: values[0])
    item["subissues"] = [issue_from_array(values) for values in children]
    milestone = row["milestone"]
    if isinstance(milestone, (str, bytes)):
        milestone = orjson.loads(milestone)
    item["milestone"] = (
        {"id": milestone[0], "name": milestone[1], "status": milestone[2]} if milestone else None
    )
    return item


def progress_percent(completed: int, total: int) -> float:
    """``completed / total * 100`` rounded half-up to one decimal; 0.0 when empty."""
    if total <= 0:
        return 0.0
    tenths = (2 * completed * 1000 + total) // (2 * total)
    return tenths / 10


def milestone(row: dict[str, Any]) -> dict[str, Any]:
    total = int(row["issue_count"] or 0)
    completed = int(row["completed_count"] or 0)
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "status": row["status"],
        "created_at": timestamp(row["created_at"]),
        "closed_at": timestamp(row["closed_at"]),
        "issue_count": total,
        "completed_count": completed,
        "progress_percent": progress_percent(completed, total),
    }
