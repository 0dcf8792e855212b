"""The ``markdown`` decomposer: a design document's own structure becomes the plan, no LLM.

The document is parsed with markdown-it-py (CommonMark, front matter through mdit-py-plugins),
so headings inside code blocks, lists nested in lists and emphasis are read as Markdown means
them. Then, on the tree of sections (a heading and everything up to the next heading of the
same or a higher level):

* **Title.** Front matter ``title:``, else a lone top-level heading (the document's title; its
  sub-sections are the content).
* **Phases.** Sections whose titles start with a phase word (``Phase``, ``Milestone``,
  ``Stage``, ``Step``, ``Part``, ``Iteration``, ``Sprint``, ``Release``, ``Week``), at the
  shallowest level where one appears, are phases, together with their non-context siblings.
  Without that vocabulary: sections that have sub-sections are phases (their sub-sections are
  stages); a flat list of sections is one phase whose stages are the sections; a document with
  a single heading is one phase with one stage; a document without headings is one phase whose
  stages are its top-level list items (a checklist is a list of work).
* **Stages.** A phase's sub-sections; a phase without sub-sections is one stage. Its paragraphs
  are the description, its list items (checked or not) the tasks (nested items and text go into
  the task's description), its own sub-sections more tasks. A stage without list items is one
  task.
* **Dependencies.** A paragraph or list item of a stage that starts with ``Depends on:``,
  ``After:``, ``Requires:``, ``Blocked by:`` or ``Needs:`` (the colon is required, so ordinary
  sentences starting with "After" are not read as dependencies), a stage sub-section titled
  ``Dependencies`` (its list items), or a stage title ending in ``(depends on ...)`` /
  ``(after ...)``, names other stages (or whole phases) by title, separated by commas,
  semicolons or "and"; emphasis, code spans and quotes around names are dropped. Written in a
  phase, it holds for each of the phase's stages. The names are resolved by the plan validator
  (unknown or ambiguous names are a 400).
* **Gates.** Sections titled ``Gate``, ``Done when``, ``Exit criteria``, ``Acceptance
  criteria``, ``Definition of done``, ``Success criteria``, ``Completion criteria`` or
  ``Checkpoint`` (inside a phase or one of its stages), and checklists written directly in a
  phase that has stage sub-sections, become the phase's ``gate_criteria``.
* **Context.** Sections such as Overview, Background, Motivation, Context, Introduction,
  Summary, Goals, Non-goals, References, Appendix, Glossary, Open questions, Risks,
  Alternatives, Notes and FAQ are not work: they become neither phases nor stages (unless the
  document has nothing else).

**Estimates** (``complexity_hours``). An explicit estimate in a task or stage wins: ``(2h)``,
``[1.5 hours]``, ``~3h``, ``estimate: 2d``, ``(30 min)``; a day is 8 hours; ``Estimate: 1d``
in a stage's text is the stage's estimate. Otherwise a task
is 1 hour, plus 0.5 hour per nested list item, plus 0.25 hour per 50 words of its description,
rounded to the quarter hour and capped at 8 hours. A stage is the sum of its tasks (or its
explicit ``Estimate:``); the plan is the sum of its stages. ``Agents: N`` in a stage sets its
``agent_count`` (default 1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import yaml

from kernel import APIError

from .decomposer import DecomposeRequest

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

PHASE_WORDS = re.compile(
    r"^\s*(phase|milestone|stage|step|part|iteration|sprint|release|week)\s+"
    r"([0-9]+(\.[0-9]+)*[a-z]?|[ivx]+|[a-z]|one|two|three|four|five|six|seven|eight|nine|ten)\b",
    re.I,
)
GATE_WORDS = re.compile(
    r"^\s*(gates?|phase gate|done when|exit criteria|acceptance criteria|definition of done|success criteria|"
    r"completion criteria|checkpoint)\b",
    re.I,
)
CONTEXT_WORDS = re.compile(
    r"^\s*(overview|background|motivation|context|introduction|intro|summary|abstract|goals?|non-goals?|"
    r"out of scope|references?|appendix|glossary|open questions?|questions|risks?|alternatives?"
    r"( considered)?|notes?|faq|table of contents|contents|changelog|history|status)\b",
    re.I,
)
DEPENDENCY = re.compile(r"^\s*(depends on|dependencies|after|requires|blocked by|needs)\s*:\s*(.*)$", re.I | re.S)
DEPENDENCY_HEADING = re.compile(r"^\s*(depends on|dependencies|prerequisites|blocked by)\s*:?\s*$", re.I)
TITLE_DEPENDENCY = re.compile(r"\s*\((?:depends on|after|requires|blocked by)\s*:?\s*([^)]*)\)\s*$", re.I)
_AMOUNT = r"(\d+(?:\.\d+)?)\s*(h|hrs?|hours?|d|days?|m|mins?|minutes?)\b"
ESTIMATE = re.compile(
    rf"\(\s*(?:est\.?|estimate:?|~)?\s*{_AMOUNT}\s*\)"
    rf"|\[\s*(?:est\.?|estimate:?|~)?\s*{_AMOUNT}\s*\]"
    rf"|[~≈]\s*{_AMOUNT}"
    rf"|\b(?:estimate|estimated|effort)\s*:?\s*{_AMOUNT}",
    re.I,
)
STAGE_ESTIMATE = re.compile(rf"\b(?:estimate|estimated|effort)\s*:\s*{_AMOUNT}\.?", re.I)
AGENTS = re.compile(r"^\s*agents?\s*:\s*(\d+)\s*$", re.I)
CHECKBOX = re.compile(r"^\[([ xX])\]\s+")
SEPARATORS = re.compile(r"\s*[,;]\s*")
CONJUNCTIONS = re.compile(r"\s+(?:and|&)\s+", re.I)

HOURS_PER_DAY = 8.0
TASK_BASE_HOURS = 1.0
HOURS_PER_SUBITEM = 0.5
HOURS_PER_50_WORDS = 0.25
TASK_CAP_HOURS = 8.0



@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """CommonMark with front matter and tables (imported on first use: not at server start)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    return MarkdownIt("commonmark").use(front_matter_plugin).enable("table")


# --- the document as sections ----------------------------------------------------------------


@dataclass
class Item:
    """A list item: its first line, checkbox (None: no checkbox), nested items, other text."""

    text: str
    checked: bool | None
    children: list[Item] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(1 + child.count() for child in self.children)

    def details(self, depth: int = 0) -> list[str]:
        lines = list(self.extra)
        for child in self.children:
            lines.append("  " * depth + "- " + child.text)
            lines.extend(child.details(depth + 1))
        return lines


@dataclass
class Section:
    """A heading and its content up to the next heading of the same or a higher level."""

    level: int
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def is_gate(self) -> bool:
        return bool(GATE_WORDS.match(self.title))

    @property
    def is_context(self) -> bool:
        return bool(CONTEXT_WORDS.match(self.title))

    def work_children(self) -> list[Section]:
        return [c for c in self.children if not c.is_gate and not c.is_context]


def plain(node: SyntaxTreeNode) -> str:
    """The text of an inline node, without Markdown markers (emphasis, code, links)."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type == "softbreak":
        return " "
    if node.type == "hardbreak":
        return "\n"
    if node.type == "html_inline":
        return ""
    return "".join(plain(child) for child in node.children)


def _inline_text(node: SyntaxTreeNode) -> str:
    inline = next((child for child in node.children if child.type == "inline"), None)
    return " ".join(plain(inline).split()) if inline is not None else ""


def _item(node: SyntaxTreeNode) -> Item:
    text, checked, extra, children = "", None, [], []
    for child in node.children:
        if child.type == "paragraph":
            value = _inline_text(child)
            if not text and not children:
                mark = CHECKBOX.match(value)
                if mark:
                    checked = mark.group(1) != " "
                    value = value[mark.end():]
                text = value
            else:
                extra.append(value)
        elif child.type in ("bullet_list", "ordered_list"):
            children.extend(_item(grandchild) for grandchild in child.children)
        elif child.type in ("fence", "code_block"):
            extra.append(child.content.rstrip())
    return Item(text=text, checked=checked, children=children, extra=extra)


def _blocks_into(section: Section, node: SyntaxTreeNode) -> None:
    if node.type == "paragraph":
        text = _inline_text(node)
        if text:
            section.paragraphs.append(text)
    elif node.type in ("bullet_list", "ordered_list"):
        section.items.extend(_item(child) for child in node.children)
    elif node.type == "blockquote":
        for child in node.children:
            _blocks_into(section, child)


def parse_sections(document: str) -> tuple[Section, dict[str, Any]]:
    """The document as a tree of sections under a root (level 0), and its front matter."""
    root = Section(level=0, title="")
    front: dict[str, Any] = {}
    stack = [root]
    from markdown_it.tree import SyntaxTreeNode

    for node in SyntaxTreeNode(_parser().parse(document)).children:
        if node.type == "front_matter":
            try:
                loaded = yaml.safe_load(node.content)
            except yaml.YAMLError:
                loaded = None
            front = loaded if isinstance(loaded, dict) else {}
        elif node.type == "heading":
            level = int(node.tag[1])
            section = Section(level=level, title=_inline_text(node))
            while stack[-1].level >= level:
                stack.pop()
            stack[-1].children.append(section)
            stack.append(section)
        else:
            _blocks_into(stack[-1], node)
    return root, front


# --- estimates, dependencies ----------------------------------------------------------------


def _hours(amount: str, unit: str) -> float:
    value = float(amount)
    unit = unit.lower()
    if unit.startswith("d"):
        return value * HOURS_PER_DAY
    if unit.startswith("m"):
        return value / 60.0
    return value


def take_estimate(text: str) -> tuple[str, float | None]:
    """``text`` without its explicit estimate, and the estimate in hours (or ``None``)."""
    match = ESTIMATE.search(text)
    if match is None:
        return text, None
    groups = match.groups()
    amount, unit = next((groups[i], groups[i + 1]) for i in range(0, len(groups), 2) if groups[i] is not None)
    stripped = (text[: match.start()] + text[match.end():]).strip(" -–—:,")
    return " ".join(stripped.split()) or text, round(_hours(amount, unit), 2)


def _quarter(hours: float) -> float:
    return min(TASK_CAP_HOURS, math.ceil(hours * 4) / 4)


def heuristic_hours(description: str, subitems: int) -> float:
    """The documented estimate of a task without an explicit one."""
    words = len(description.split())
    return _quarter(TASK_BASE_HOURS + HOURS_PER_SUBITEM * subitems + HOURS_PER_50_WORDS * (words // 50))


def split_references(text: str) -> list[str]:
    """Names in "A, B; `C`." (quotes and a final full stop dropped). "A and B" stays one name
    here; :func:`split_conjunctions` splits it once the stage titles are known."""
    names = []
    for part in SEPARATORS.split(text.strip().rstrip(".")):
        name = part.strip().strip("\"'“”‘’`*_").strip()
        if name and name.lower() not in ("none", "nothing", "n/a", "-"):
            names.append(name)
    return names


def dependency_of(text: str) -> list[str] | None:
    """The names a dependency statement lists, or ``None`` when ``text`` is not one."""
    match = DEPENDENCY.match(text)
    if match is None:
        return None
    return split_references(match.group(2))


# --- sections into the raw plan ------------------------------------------------------------


def _task(title: str, description: str, subitems: int) -> dict[str, Any]:
    title, explicit = take_estimate(title)
    hours = explicit if explicit is not None else heuristic_hours(description, subitems)
    return {"title": title[:400], "description": description, "complexity_hours": hours}


def _stage(section: Section, gates: list[str], title: str | None = None) -> dict[str, Any]:
    raw_title = title or section.title
    depends_on: list[str] = []
    match = TITLE_DEPENDENCY.search(raw_title)
    if match:
        depends_on += split_references(match.group(1))
        raw_title = raw_title[: match.start()]
    stage_title, stage_estimate = take_estimate(raw_title)
    description, agents = [], 1
    for paragraph in section.paragraphs:
        names = dependency_of(paragraph)
        if names is not None:
            depends_on += names
            continue
        count = AGENTS.match(paragraph)
        if count:
            agents = max(1, min(100, int(count.group(1))))
            continue
        found = STAGE_ESTIMATE.search(paragraph)
        if found:  # "Estimate: 1d" anywhere in the stage's text is the stage's estimate
            stage_estimate = round(_hours(found.group(1), found.group(2)), 2)
            paragraph = " ".join((paragraph[: found.start()] + paragraph[found.end():]).split()).strip(" .")
            if not paragraph:
                continue
        description.append(paragraph)
    tasks = []
    for item in section.items:
        names = dependency_of(item.text)
        if names is not None:
            depends_on += names
            continue
        tasks.append(_task(item.text, "\n".join(item.details()), item.count()))
    for child in section.children:
        if child.is_gate:
            gates.extend(_criteria(child))
            continue
        if DEPENDENCY_HEADING.match(child.title):
            for item in child.items:
                depends_on += split_references(item.text)
            continue
        details = child.paragraphs + ["- " + item.text for item in child.items]
        subitems = sum(1 + item.count() for item in child.items)
        tasks.append(_task(child.title, "\n".join(details), subitems))
    text = "\n\n".join(description)
    if not tasks:
        task = _task(stage_title, text, 0)
        if stage_estimate is not None:
            task["complexity_hours"] = stage_estimate
        tasks.append(task)
    stage: dict[str, Any] = {
        "title": stage_title,
        "description": text,
        "tasks": tasks,
        "depends_on": depends_on,
        "agent_count": agents,
    }
    if stage_estimate is not None:
        stage["complexity_hours"] = stage_estimate
    return stage


def _criteria(section: Section) -> list[str]:
    found = [item.text for item in section.items if item.text]
    for child in section.children:
        found.extend(_criteria(child))
    return found or list(section.paragraphs)


def _phase(section: Section, title: str | None = None) -> dict[str, Any]:
    gates: list[str] = []
    for child in section.children:
        if child.is_gate:
            gates.extend(_criteria(child))
    work = [child for child in section.work_children() if not DEPENDENCY_HEADING.match(child.title)]
    if work:
        stages = [_stage(child, gates) for child in work]
        phase_refs: list[str] = []
        paragraphs = []
        for paragraph in section.paragraphs:
            names = dependency_of(paragraph)
            if names is None:
                paragraphs.append(paragraph)
            else:
                phase_refs += names
        for stage in stages:  # "Depends on: Phase 1" written in the phase holds for each stage
            stage["depends_on"] += [name for name in phase_refs if name not in stage["depends_on"]]
        for item in section.items:  # checklists of the phase itself are its gate
            if item.checked is not None and item.text:
                gates.append(item.text)
        description = paragraphs + [f"- {i.text}" for i in section.items if i.checked is None and i.text]
    else:
        stages = [_stage(section, gates, title=_without_phase_word(section.title))]
        description = [stages[0]["description"]] if stages[0]["description"] else []
    return {
        "title": title or section.title,
        "description": "\n\n".join(description),
        "stages": stages,
        "gate_criteria": gates,
    }


def _without_phase_word(title: str) -> str:
    """``Phase 2: Build the API`` as a stage title: ``Build the API``."""
    match = re.match(r"^\s*\w+\s*[\w.]*\s*[:.\-–—]\s*(.+)$", title)
    if match and PHASE_WORDS.match(title):
        return match.group(1)
    return title


def _find_vocabulary(section: Section) -> Section | None:
    """The parent of the shallowest sections named with a phase word."""
    level = [section]
    while level:
        for parent in level:
            if any(PHASE_WORDS.match(child.title) for child in parent.children):
                return parent
        level = [child for parent in level for child in parent.children]
    return None


def sections_to_plan(root: Section, front: dict[str, Any]) -> dict[str, Any]:
    """The raw plan (LLM envelope shape) for a parsed document."""
    title = front.get("title") if isinstance(front.get("title"), str) else None
    body = root
    if not root.paragraphs and not root.items and len(root.children) == 1 and root.children[0].children:
        body = root.children[0]
        title = title or body.title
    elif len(root.children) == 1 and not root.children[0].children:
        title = title or root.children[0].title
    parent = _find_vocabulary(body)
    if parent is not None:
        phases = [_phase(child) for child in parent.children
                  if not child.is_context and not child.is_gate and (PHASE_WORDS.match(child.title) or _has_work(child))]
    else:
        candidates = body.work_children() or [c for c in body.children if not c.is_gate]
        if any(child.work_children() for child in candidates):
            phases = [_phase(child) for child in candidates]
        elif candidates:
            phase = Section(level=body.level, title=title or "Plan", paragraphs=body.paragraphs,
                            children=candidates + [c for c in body.children if c.is_gate])
            phases = [_phase(phase)]
        elif body is not root or root.children:
            only = body if body is not root else root.children[0]
            phases = [_phase(only)]
        else:
            phases = [_checklist_phase(root, title)]
    split_conjunctions(phases)
    return {"title": title, "phases": phases}


def split_conjunctions(phases: list[dict[str, Any]]) -> None:
    """"A and B" names two stages when it is no title itself but each part is one."""
    known = set()
    for phase in phases:
        known.add(phase["title"].casefold())
        known.update(part.strip().casefold() for part in phase["title"].split(":", 1))
        known.update(stage["title"].casefold() for stage in phase["stages"])
    for phase in phases:
        for stage in phase["stages"]:
            names = []
            for name in stage["depends_on"]:
                parts = [part.strip("\"'“”‘’`*_ ") for part in CONJUNCTIONS.split(name)]
                if name.casefold() not in known and len(parts) > 1 and all(p.casefold() in known for p in parts):
                    names += parts
                else:
                    names.append(name)
            stage["depends_on"] = names


def _has_work(section: Section) -> bool:
    return bool(section.items or section.work_children())


def _checklist_phase(root: Section, title: str | None) -> dict[str, Any]:
    """A document without headings: its top-level list items are the stages of one phase."""
    intro = [p for p in root.paragraphs]
    if not title and intro and len(intro[0]) <= 120:
        title = intro.pop(0).rstrip(":")
    gates: list[str] = []
    stages = []
    for item in root.items:
        if not item.text:
            continue
        names = dependency_of(item.text)
        if names is not None:
            continue
        section = Section(level=1, title=item.text, paragraphs=item.extra, items=item.children)
        stages.append(_stage(section, gates))
    if not stages and intro:
        first = intro[0]
        stages.append(_stage(Section(level=1, title=first[:80], paragraphs=intro), gates))
    return {"title": title or "Plan", "description": "\n\n".join(intro), "stages": stages, "gate_criteria": gates}


class MarkdownDecomposer:
    """The built-in ``markdown`` decomposer (see the module docstring for the rules)."""

    name = "markdown"
    description = "The document's own structure (headings, lists, 'Depends on:', gates); no LLM"

    async def decompose(self, request: DecomposeRequest) -> dict[str, Any]:
        """The raw plan of ``request.document`` (a 400 when nothing in it reads as work)."""
        root, front = parse_sections(request.document)
        plan = sections_to_plan(root, front)
        if not any(phase["stages"] for phase in plan["phases"]):
            raise APIError(400, "document: nothing in it reads as work (no headings, list items or paragraphs)")
        return plan
