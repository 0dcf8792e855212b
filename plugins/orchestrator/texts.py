"""The words the orchestrator writes: tracking issue titles and descriptions, stage prompts."""

from __future__ import annotations

from typing import Any

#: Issue titles are at most 512 characters, descriptions 64 KiB (the issues plugin's limits).
TITLE_LIMIT = 512
DESCRIPTION_LIMIT = 60 * 1024


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def milestone_name(phase: dict[str, Any]) -> str:
    """``[Orchestrator] <phase title>``."""
    return _cut(f"[Orchestrator] {phase['title']}", TITLE_LIMIT)


def phase_title(phase: dict[str, Any]) -> str:
    """``[Phase] <phase title>``."""
    return _cut(f"[Phase] {phase['title']}", TITLE_LIMIT)


def stage_title(stage: dict[str, Any]) -> str:
    """``[Stage] <stage title>``."""
    return _cut(f"[Stage] {stage['title']}", TITLE_LIMIT)


def _tasks(stage: dict[str, Any]) -> list[str]:
    lines = []
    for task in stage["tasks"]:
        line = f"- **{task['title']}**"
        if task["description"]:
            line += f": {' '.join(task['description'].split())}"
        if task["complexity_hours"]:
            line += f" (~{task['complexity_hours']:.1f} h)"
        lines.append(line)
    return lines


def phase_description(plan: dict[str, Any], phase: dict[str, Any]) -> str:
    """The phase issue's description: the phase's description and its gate criteria."""
    parts = [phase["description"]] if phase["description"] else []
    if phase["gate_criteria"]:
        parts.append("## Gate criteria\n" + "\n".join(f"- [ ] {c}" for c in phase["gate_criteria"]))
    parts.append(f"---\nOrchestrator phase `{phase['id']}` of plan `{plan['id']}` ({plan['document_slug']}).")
    return _cut("\n\n".join(parts), DESCRIPTION_LIMIT)


def stage_description(plan: dict[str, Any], stage: dict[str, Any], titles: dict[str, str]) -> str:
    """As the original builds it: description, tasks, dependencies, estimates."""
    parts = [stage["description"]] if stage["description"] else []
    if stage["tasks"]:
        parts.append("## Tasks\n" + "\n".join(_tasks(stage)))
    blocked_by = ", ".join(titles.get(dep, dep) for dep in stage["depends_on"]) or "none"
    parts.append(f"## Dependencies\nBlocked by: {blocked_by}")
    parts.append(
        f"## Estimates\n- Complexity: {stage['complexity_hours']:.1f} hours\n"
        f"- Suggested agents: {stage['agent_count']}"
    )
    parts.append(f"---\nOrchestrator stage `{stage['id']}` of plan `{plan['id']}` ({plan['document_slug']}).")
    return _cut("\n\n".join(parts), DESCRIPTION_LIMIT)


def stage_prompt(plan: dict[str, Any], phase: dict[str, Any], stage: dict[str, Any], issue_id: int | None,
                 titles: dict[str, str]) -> str:
    """What an agent working on the stage is asked to do (``CROSSLINK_STAGE_PROMPT``)."""
    if stage.get("prompt"):
        return stage["prompt"]
    lines = [
        f"You are working on the stage \"{stage['title']}\" of the phase \"{phase['title']}\" of the plan "
        f"\"{plan.get('title') or plan['document_slug']}\".",
    ]
    if issue_id is not None:
        lines.append(f"It is tracked as issue #{issue_id}.")
    if stage["description"]:
        lines += ["", stage["description"]]
    if stage["tasks"]:
        lines += ["", "Tasks:", *_tasks(stage)]
    if stage["depends_on"]:
        lines += ["", "Already finished before this stage: " + ", ".join(titles.get(d, d) for d in stage["depends_on"]) + "."]
    if phase["gate_criteria"]:
        lines += ["", "The phase is complete when:", *[f"- {c}" for c in phase["gate_criteria"]]]
    lines += ["", "Exit with status 0 when the stage is done, and with another status if it cannot be done."]
    return "\n".join(lines)
