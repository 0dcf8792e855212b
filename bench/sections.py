"""The sections of BENCHMARKS.md that separate bench modules write (``python -m bench.sync``,
``bench.locks``, ``bench.hub``, ``bench.team``, ``bench.scale``), between
``<!-- bench.<name>: start -->`` and ``<!-- bench.<name>: end -->``.

A module replaces its own section (:func:`replace_section`); the main report, rewritten whole
by ``make bench``, keeps every one it finds in the earlier file (:func:`carry_sections`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: Any module's section, its name in group 1.
ANY_SECTION = re.compile(r"<!-- bench\.([\w-]+): start -->.*?<!-- bench\.\1: end -->", re.DOTALL)


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of the section ``name``."""
    return f"<!-- bench.{name}: start -->", f"<!-- bench.{name}: end -->"


def replace_section(text: str, name: str, section: str) -> str:
    """``text`` with the section ``name`` replaced by ``section`` (which carries its markers),
    or ``section`` appended when ``text`` has none."""
    start, end = markers(name)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: section, text)
    return text.rstrip("\n") + "\n\n" + section + "\n"


def carry_sections(old: str | None, new: str) -> str:
    """Keep every module section of an earlier ``BENCHMARKS.md`` (``old``) in ``new``."""
    for found in ANY_SECTION.finditer(old or ""):
        new = replace_section(new, found.group(1), found.group(0))
    return new


def publish(out: Path, name: str, section: str, results: Path, payload: dict) -> None:
    """Write module ``name``'s ``section`` into the markdown file ``out`` and its raw figures
    (``payload``) to ``results/<name>.json``."""
    out.write_text(replace_section(out.read_text() if out.exists() else "", name, section))
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(payload, indent=1))
