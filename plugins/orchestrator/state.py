"""What an execution's rows mean: which stages may start, which gates may run, whether it has
ended. Pure functions over one consistent read of the rows (:class:`Snapshot`).

* A stage may start when it is ``pending``, every stage it depends on is ``done`` or
  ``skipped`` (a skipped dependency counts, as the original's "newly ready" promised), and,
  with phase gating, every earlier phase's gate has ``passed`` (or was ``skipped``).
* A phase's gate may run (phase gating) when every stage of the phase is done or skipped and
  the earlier gates are open.
* The execution is **done** when every stage is done or skipped (and, with gating, every gate
  is open) and their tracking issues and milestones are closed; it has **failed** when nothing runs and nothing can start any more while a stage or
  a gate has failed (a retry or a skip brings it back to ``running``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FINISHED = frozenset({"done", "skipped"})
STAGE_STATUSES = ("pending", "running", "done", "failed", "skipped", "blocked")
ACTIVE_STATES = frozenset({"running", "paused"})
ENDED_STATES = frozenset({"done", "failed", "cancelled"})
OPEN_GATES = frozenset({"passed", "skipped"})


@dataclass
class Snapshot:
    """One execution's rows: the execution, its phases and stages in plan order."""

    execution: dict[str, Any]
    phases: list[dict[str, Any]]
    stages: list[dict[str, Any]]

    @property
    def gating(self) -> bool:
        return bool(self.execution["phase_gating"])


@dataclass
class Derived:
    """What follows from a snapshot."""

    launchable: list[dict[str, Any]] = field(default_factory=list)
    runnable_gates: list[dict[str, Any]] = field(default_factory=list)
    closable_phases: list[dict[str, Any]] = field(default_factory=list)
    running: int = 0
    gates_running: int = 0
    outcome: str | None = None  # "done" / "failed" when the execution has ended
    message: str | None = None
    current_phase_id: str | None = None
    progress_percent: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def derive(snapshot: Snapshot) -> Derived:
    """What follows from the rows (see the module docstring)."""
    stages, phases, gating = snapshot.stages, snapshot.phases, snapshot.gating
    status = {stage["stage_id"]: stage["status"] for stage in stages}
    by_phase: dict[str, list[dict[str, Any]]] = {phase["phase_id"]: [] for phase in phases}
    for stage in stages:
        by_phase.setdefault(stage["phase_id"], []).append(stage)
    derived = Derived(counts={name: 0 for name in STAGE_STATUSES})
    for stage in stages:
        derived.counts[stage["status"]] = derived.counts.get(stage["status"], 0) + 1
    finished = {p["phase_id"]: all(s["status"] in FINISHED for s in by_phase[p["phase_id"]]) for p in phases}
    gate_open = {p["phase_id"]: (not gating) or p["gate_status"] in OPEN_GATES for p in phases}
    unlocked: dict[str, bool] = {}
    open_so_far = True
    for phase in phases:
        unlocked[phase["phase_id"]] = open_so_far
        open_so_far = open_so_far and gate_open[phase["phase_id"]]
    for stage in stages:
        if stage["status"] == "running":
            derived.running += 1
        elif (stage["status"] == "pending" and unlocked.get(stage["phase_id"], True)
              and all(status.get(dep) in FINISHED for dep in stage["depends_on"])):
            derived.launchable.append(stage)
    for phase in phases:
        pid = phase["phase_id"]
        if phase["gate_status"] == "running":
            derived.gates_running += 1
        if gating and phase["gate_status"] == "pending" and finished[pid] and unlocked[pid]:
            derived.runnable_gates.append(phase)
        if finished[pid] and gate_open[pid] and not phase["closed"]:
            derived.closable_phases.append(phase)
    total = len(stages)
    done = derived.counts["done"] + derived.counts["skipped"]
    derived.progress_percent = round(100.0 * done / total, 1) if total else 100.0
    derived.current_phase_id = next(
        (p["phase_id"] for p in phases if not (finished[p["phase_id"]] and gate_open[p["phase_id"]])),
        phases[-1]["phase_id"] if phases else None,
    )
    if all(finished.values()) and all(gate_open.values()):
        # done once the tracking issues and milestones are closed too (the driver closes them)
        closing = any(s["status"] in FINISHED and s["issue_id"] is not None and not s["issue_closed"] for s in stages)
        closing = closing or any(not p["closed"] and (p["issue_id"] is not None or p["milestone_id"] is not None)
                                 for p in phases)
        derived.outcome = None if closing else "done"
    elif not (derived.running or derived.gates_running or derived.launchable or derived.runnable_gates):
        failed = [s for s in stages if s["status"] == "failed"]
        failed_gates = [p for p in phases if p["gate_status"] == "failed"]
        if failed or failed_gates:
            derived.outcome = "failed"
            derived.message = _why(failed, failed_gates)
    return derived


def _why(failed: list[dict[str, Any]], failed_gates: list[dict[str, Any]]) -> str:
    parts = [f"the gate of phase '{p['title']}' failed" + (f": {p['gate_message']}" if p.get("gate_message") else "")
             for p in failed_gates]
    parts += [f"stage '{s['title']}' failed" + (f": {s['message']}" if s.get("message") else "") for s in failed[:3]]
    if len(failed) > 3:
        parts.append(f"and {len(failed) - 3} more stages failed")
    return "; ".join(parts) + " (retry or skip to go on)"


def newly_ready(before: Derived, after: Derived) -> list[str]:
    """Stage ids that may start now and could not before."""
    was = {stage["stage_id"] for stage in before.launchable}
    return [stage["stage_id"] for stage in after.launchable if stage["stage_id"] not in was]
