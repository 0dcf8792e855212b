"""Formatting for the templates: relative times, durations, highlighted search terms."""

from __future__ import annotations

import re
from datetime import datetime

from markupsafe import Markup, escape

from kernel.timeutil import parse

_UNITS = ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "min"))


def duration(seconds: float | int | None) -> str:
    """``4500`` -> ``"1 h 15 min"``; under a minute ``"42 s"``."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    parts = []
    for size, unit in _UNITS:
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def relative(value: datetime | str | None, now: datetime) -> str:
    """``"5 min ago"``, ``"in 2 h"``, ``"just now"``; ``"never"`` for ``None``.

    The page's script keeps these current (``<time data-relative>``); this is the first text.
    """
    moment = parse(value) if isinstance(value, str) else value
    if moment is None:
        return "never" if value is None else str(value)
    delta = (now - moment).total_seconds()
    if abs(delta) < 45:
        return "just now"
    for size, unit in _UNITS:
        if abs(delta) >= size:
            amount = int(abs(delta) // size)
            return f"{amount} {unit} ago" if delta > 0 else f"in {amount} {unit}"
    return f"{int(abs(delta) // 60)} min ago"


def highlight(text: str, terms: list[str]) -> Markup:
    """``text`` escaped, with every case-insensitive occurrence of a term in ``<mark>``."""
    wanted = sorted({term for term in terms if term}, key=len, reverse=True)
    if not wanted:
        return Markup(escape(text))
    pattern = re.compile("|".join(re.escape(term) for term in wanted), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)
