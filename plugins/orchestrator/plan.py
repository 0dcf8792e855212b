"""Every plan is validated here, whatever produced it (a decomposer, an LLM, a client).

:func:`build_plan` takes a raw plan in the LLM envelope's shape (``phases`` of ``stages`` of
``tasks``, ``depends_on`` naming stage *titles*) and returns the stored plan: ids assigned as
the original assigns them (plan UUID; phase ``<plan>-p<i>``, stage ``<phase>-s<j>``, task
``<stage>-t<k>``, 0-based), ``depends_on`` resolved to stage ids, hours filled in, totals
counted. A reference resolves, in this order, to a stage whose given ``id`` it is, to the one
stage with exactly that title, to the one stage with that title ignoring case, or to every
stage of the phase with that title (``Phase 1: Foundations`` also answers to ``Phase 1`` and
to ``Foundations``). Anything else is collected as a problem and the whole plan
is refused with one 400 that lists them all: no phase or no stage, blank titles, wrong types,
unknown or ambiguous references, a stage depending on itself or on a later phase, and cycles
(named by their titles).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from kernel import APIError

MAX_PHASES = 200
MAX_STAGES = 2000
MAX_TASKS = 500
MAX_TITLE = 400
MAX_TEXT = 32 * 1024
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class PlanError(APIError):
    """A plan that cannot be stored: 400 with every problem in ``problems``."""

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(400, f"invalid plan: {shown}", problems=problems)
        self.problems = problems


def slugify(text: str) -> str:
    """A document slug from a title: lower-case words joined by ``-`` (at most 100 characters)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:100].strip("-") or "untitled"


def check_slug(slug: str) -> str:
    """``slug`` if it is valid, else a 400 naming the field."""
    if not SLUG.match(slug):
        raise APIError(
            400,
            "slug: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
            fields=[{"field": "slug", "message": "invalid slug"}],
        )
    return slug


@dataclass
class _Stage:
    phase: int
    index: int
    id: str
    title: str
    alias: str | None
    path: str
    refs: list[tuple[str, str]] = field(default_factory=list)  # (reference, its path)
    depends_on: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def text(self, value: Any, path: str, *, required: bool, limit: int = MAX_TEXT) -> str:
        if value is None:
            if required:
                self.problem(f"{path}: required")
            return ""
        if not isinstance(value, str):
            self.problem(f"{path}: must be a string")
            return ""
        value = value.strip()
        if required and not value:
            self.problem(f"{path}: must not be blank")
        if len(value) > limit:
            self.problem(f"{path}: longer than {limit} characters")
            value = value[:limit]
        return value

    def hours(self, value: Any, path: str) -> float:
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
            self.problem(f"{path}: must be a number of hours >= 0")
            return 0.0
        return round(float(value), 2)

    def strings(self, value: Any, path: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(f"{path}: must be a list of strings")
            return []
        found = []
        for i, item in enumerate(value):
            text = self.text(item, f"{path}[{i}]", required=True)
            if text:
                found.append(text)
        return found


def build_plan(raw: Any, *, slug: str, created_at: str, plan_id: str | None = None) -> dict[str, Any]:
    """Validate ``raw`` and return the plan to store; raise :class:`PlanError` listing problems."""
    check = _Checker()
    if not isinstance(raw, dict):
        raise PlanError(["the plan must be a JSON object with 'phases'"])
    phases_in = raw.get("phases")
    if not isinstance(phases_in, list):
        raise PlanError(["phases: required, a list of phases"])
    if not phases_in:
        raise PlanError(["the plan has no phases (at least one phase with one stage is needed)"])
    if len(phases_in) > MAX_PHASES:
        raise PlanError([f"phases: at most {MAX_PHASES} phases"])
    plan_id = plan_id or str(uuid.uuid4())
    phases: list[dict[str, Any]] = []
    stages: list[_Stage] = []
    for p, phase_in in enumerate(phases_in):
        path = f"phases[{p}]"
        if not isinstance(phase_in, dict):
            check.problem(f"{path}: must be an object")
            continue
        phase_id = f"{plan_id}-p{p}"
        title = check.text(phase_in.get("title"), f"{path}.title", required=True, limit=MAX_TITLE)
        phase = {
            "id": phase_id,
            "title": title,
            "description": check.text(phase_in.get("description"), f"{path}.description", required=False),
            "stages": [],
            "gate_criteria": check.strings(phase_in.get("gate_criteria"), f"{path}.gate_criteria"),
        }
        phases.append(phase)
        stages_in = phase_in.get("stages")
        if not isinstance(stages_in, list) or not stages_in:
            check.problem(f"{path}: phase '{title or p}' has no stages")
            continue
        for s, stage_in in enumerate(stages_in):
            stage = _stage(check, stage_in, f"{path}.stages[{s}]", phase_id, p, s)
            if stage is not None:
                stages.append(stage)
                phase["stages"].append(stage.data)
    if len(stages) > MAX_STAGES:
        check.problem(f"the plan has {len(stages)} stages; at most {MAX_STAGES} are allowed")
    if not stages and not check.problems:
        check.problem("the plan has no stages")
    _resolve(check, stages, phases)  # reference problems are reported with the others
    if not check.problems:
        _find_cycle(check, stages)
    if check.problems:
        raise PlanError(check.problems)
    for stage in stages:
        stage.data["depends_on"] = stage.depends_on
    total_hours = round(sum(stage.data["complexity_hours"] for stage in stages), 2)
    given = raw.get("estimated_hours")
    given_hours = isinstance(given, (int, float)) and not isinstance(given, bool) and given > 0
    estimated = round(float(given), 2) if given_hours else total_hours
    title = raw.get("title")
    return {
        "id": plan_id,
        "document_slug": slug,
        "title": title.strip()[:MAX_TITLE] if isinstance(title, str) and title.strip() else None,
        "phases": phases,
        "created_at": created_at,
        "total_stages": len(stages),
        "estimated_hours": estimated,
    }


def _stage(check: _Checker, stage_in: Any, path: str, phase_id: str, p: int, s: int) -> _Stage | None:
    if not isinstance(stage_in, dict):
        check.problem(f"{path}: must be an object")
        return None
    stage_id = f"{phase_id}-s{s}"
    title = check.text(stage_in.get("title"), f"{path}.title", required=True, limit=MAX_TITLE)
    tasks_in = stage_in.get("tasks") or []
    if not isinstance(tasks_in, list):
        check.problem(f"{path}.tasks: must be a list")
        tasks_in = []
    if len(tasks_in) > MAX_TASKS:
        check.problem(f"{path}.tasks: at most {MAX_TASKS} tasks")
        tasks_in = tasks_in[:MAX_TASKS]
    tasks = []
    for k, task_in in enumerate(tasks_in):
        task_path = f"{path}.tasks[{k}]"
        if isinstance(task_in, str):
            task_in = {"title": task_in}
        if not isinstance(task_in, dict):
            check.problem(f"{task_path}: must be an object or a string")
            continue
        tasks.append({
            "id": f"{stage_id}-t{k}",
            "title": check.text(task_in.get("title"), f"{task_path}.title", required=True, limit=MAX_TITLE),
            "description": check.text(task_in.get("description"), f"{task_path}.description", required=False),
            "complexity_hours": check.hours(task_in.get("complexity_hours"), f"{task_path}.complexity_hours"),
        })
    agents = stage_in.get("agent_count", 1)
    if agents is None:
        agents = 1
    if isinstance(agents, bool) or not isinstance(agents, int) or not 1 <= agents <= 100:
        check.problem(f"{path}.agent_count: must be an integer from 1 to 100")
        agents = 1
    hours = check.hours(stage_in.get("complexity_hours"), f"{path}.complexity_hours")
    if not hours:
        hours = round(sum(task["complexity_hours"] for task in tasks), 2)
    data: dict[str, Any] = {
        "id": stage_id,
        "title": title,
        "description": check.text(stage_in.get("description"), f"{path}.description", required=False),
        "tasks": tasks,
        "depends_on": [],
        "agent_count": agents,
        "complexity_hours": hours,
    }
    prompt = stage_in.get("prompt")
    if prompt is not None:
        data["prompt"] = check.text(prompt, f"{path}.prompt", required=False)
    alias = stage_in.get("id")
    stage = _Stage(p, s, stage_id, title, alias.strip() if isinstance(alias, str) and alias.strip() else None, path,
                   data=data)
    for r, ref in enumerate(check.strings(stage_in.get("depends_on"), f"{path}.depends_on")):
        stage.refs.append((ref, f"{path}.depends_on[{r}]"))
    return stage


def _resolve(check: _Checker, stages: list[_Stage], phases: list[dict[str, Any]]) -> None:
    by_id: dict[str, _Stage] = {}
    for stage in stages:
        by_id.setdefault(stage.id, stage)
        if stage.alias:
            by_id.setdefault(stage.alias, stage)
    by_title: dict[str, list[_Stage]] = {}
    by_folded: dict[str, list[_Stage]] = {}
    for stage in stages:
        by_title.setdefault(stage.title, []).append(stage)
        by_folded.setdefault(stage.title.casefold(), []).append(stage)
    phase_stages: dict[str, list[_Stage]] = {}
    for index, phase in enumerate(phases):
        members = [stage for stage in stages if stage.phase == index]
        names = [phase["title"]]
        if ":" in phase["title"]:  # "Phase 1: Foundations" is also "Phase 1" and "Foundations"
            names += [part.strip() for part in phase["title"].split(":", 1) if part.strip()]
        for name in names:
            phase_stages.setdefault(name, members)
            phase_stages.setdefault(name.casefold(), members)
    for stage in stages:
        for ref, path in stage.refs:
            targets = _targets(ref, by_id, by_title, by_folded, phase_stages)
            if targets is None:
                check.problem(f"{path}: '{ref}' (in stage '{stage.title}') matches no stage or phase")
                continue
            if isinstance(targets, tuple):  # ambiguous
                names = ", ".join(f"{t.id} ('{t.title}')" for t in targets[0])
                check.problem(f"{path}: '{ref}' (in stage '{stage.title}') is ambiguous: it matches {names}")
                continue
            for target in targets:
                if target is stage:
                    check.problem(f"{path}: stage '{stage.title}' depends on itself")
                elif target.phase > stage.phase:
                    check.problem(
                        f"{path}: stage '{stage.title}' (phase {stage.phase + 1}) depends on '{target.title}', "
                        f"which is in a later phase (phase {target.phase + 1})"
                    )
                elif target.id not in stage.depends_on:
                    stage.depends_on.append(target.id)


def _targets(ref, by_id, by_title, by_folded, phase_stages):
    """The stages ``ref`` names: a list, ``(candidates,)`` when ambiguous, ``None`` when none."""
    if ref in by_id:
        return [by_id[ref]]
    for index, key in ((by_title, ref), (by_folded, ref.casefold())):
        found = index.get(key)
        if found:
            return [found[0]] if len(found) == 1 else (found,)
    members = phase_stages.get(ref) or phase_stages.get(ref.casefold())
    return members or None


def _find_cycle(check: _Checker, stages: list[_Stage]) -> None:
    by_id = {stage.id: stage for stage in stages}
    state: dict[str, int] = {}
    for start in stages:
        if state.get(start.id):
            continue
        stack: list[tuple[_Stage, int]] = [(start, 0)]
        path: list[_Stage] = [start]
        state[start.id] = 1
        while stack:
            stage, i = stack[-1]
            if i < len(stage.depends_on):
                stack[-1] = (stage, i + 1)
                nxt = by_id[stage.depends_on[i]]
                mark = state.get(nxt.id, 0)
                if mark == 1:
                    loop = path[path.index(nxt):] + [nxt]
                    check.problem("dependency cycle: " + " -> ".join(f"'{s.title}'" for s in loop))
                    return
                if mark == 0:
                    state[nxt.id] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[stage.id] = 2
                stack.pop()
                path.pop()


def stages_of(plan: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(phase, stage)`` pairs in plan order."""
    return [(phase, stage) for phase in plan["phases"] for stage in phase["stages"]]
