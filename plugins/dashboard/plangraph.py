"""A plan's dependency graph laid out for an SVG drawn by the server (no script, no CDN).

Stages are placed in columns by their depth (the longest chain of dependencies before them)
and in horizontal bands by phase, so a phase reads as a row and the work flows left to right;
each ``depends_on`` edge is a curve from the dependency's right side to the dependent's left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOX_W = 180
BOX_H = 44
GAP_X = 56
GAP_Y = 14
BAND_PAD = 12
LABEL_W = 150
TITLE_CHARS = 24


@dataclass
class Box:
    """One stage's rectangle."""

    id: str
    title: str
    short: str
    status: str
    x: int
    y: int
    hours: float


@dataclass
class Band:
    """One phase's horizontal band."""

    id: str
    title: str
    short: str
    y: int
    height: int


@dataclass
class Graph:
    """Everything the template draws."""

    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    box_w: int = BOX_W
    box_h: int = BOX_H


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _depths(stages: list[dict[str, Any]]) -> dict[str, int]:
    """Longest dependency chain before each stage (a validated plan has no cycle; a reference
    to an unknown stage is ignored)."""
    by_id = {stage["id"]: stage for stage in stages}
    depth: dict[str, int] = {}

    def visit(stage_id: str, trail: frozenset[str]) -> int:
        if stage_id in depth:
            return depth[stage_id]
        deps = [d for d in by_id[stage_id].get("depends_on") or [] if d in by_id and d not in trail]
        depth[stage_id] = 1 + max((visit(d, trail | {stage_id}) for d in deps), default=-1)
        return depth[stage_id]

    for stage in stages:
        visit(stage["id"], frozenset())
    return depth


def layout(plan: dict[str, Any], statuses: dict[str, str]) -> Graph:
    """The graph of ``plan`` with each stage coloured by ``statuses`` (stage id -> status)."""
    stages = [stage for phase in plan["phases"] for stage in phase["stages"]]
    depth = _depths(stages)
    boxes: dict[str, Box] = {}
    bands: list[Band] = []
    y = 0
    for phase in plan["phases"]:
        rows: dict[int, int] = {}
        for stage in phase["stages"]:
            column = depth[stage["id"]]
            row = rows.get(column, 0)
            rows[column] = row + 1
            boxes[stage["id"]] = Box(
                id=stage["id"], title=stage["title"], short=_short(stage["title"], TITLE_CHARS),
                status=statuses.get(stage["id"], "pending"),
                x=LABEL_W + column * (BOX_W + GAP_X), y=y + BAND_PAD + row * (BOX_H + GAP_Y),
                hours=stage.get("complexity_hours") or 0,
            )
        height = 2 * BAND_PAD + max(rows.values(), default=1) * (BOX_H + GAP_Y) - GAP_Y
        bands.append(Band(id=phase["id"], title=phase["title"], short=_short(phase["title"], 20), y=y, height=height))
        y += height
    edges = []
    for stage in stages:
        target = boxes[stage["id"]]
        for dep in stage.get("depends_on") or []:
            source = boxes.get(dep)
            if source is None:
                continue
            x1, y1 = source.x + BOX_W, source.y + BOX_H // 2
            x2, y2 = target.x, target.y + BOX_H // 2
            bend = max(GAP_X // 2, (x2 - x1) // 2)
            edges.append({
                "from": dep, "to": stage["id"], "done": source.status in ("done", "skipped"),
                "path": f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2 - 4},{y2}",
            })
    columns = max(depth.values(), default=0) + 1
    return Graph(width=LABEL_W + columns * (BOX_W + GAP_X) - GAP_X + 8, height=max(y, BOX_H),
                 boxes=list(boxes.values()), bands=bands, edges=edges)
