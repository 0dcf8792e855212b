"""Instants as the text keys that stored timestamps are compared with, and UTC periods.

The crosslink CLI and this server store ``token_usage.timestamp`` as UTC RFC 3339 text with
``+00:00`` (``2026-03-10T03:15:00.123456+00:00``; the CLI may write 0, 3, 6 or 9 fraction
digits). A filter instant is turned into :func:`key`: the UTC date and time, then the
microseconds without trailing zeros. For every stored row in that form, comparing its text with
the key (bytewise) gives the same answer as comparing the instants at microsecond precision
(the precision of every instant in the server; longer fractions are truncated, as
:func:`kernel.timeutil.parse` does): ``timestamp >= key(t)`` is "at or after ``t``" and
``timestamp < key(t)`` "before ``t``", and both use the index on the column. Rows in another
form (an offset other than UTC, ``Z`` with a short fraction) are compared by their text; neither
the CLI nor the server writes them.

Buckets of the rollups are the first 7 (month), 10 (day) and 13 (hour) characters of that text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MICROSECOND = timedelta(microseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def key(moment: datetime) -> str:
    """The text a stored UTC timestamp compares with as with the instant ``moment``."""
    m = moment.astimezone(UTC)
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if m.microsecond:
        text += "." + f"{m.microsecond:06d}".rstrip("0")
    return text


def day_key(moment: datetime) -> str:
    """``YYYY-MM-DD`` of the UTC day holding ``moment``."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}"


def hour_key(moment: datetime) -> str:
    """``YYYY-MM-DDTHH`` of the UTC hour holding ``moment``."""
    m = moment.astimezone(UTC)
    return f"{day_key(m)}T{m.hour:02d}"


def month_key(moment: datetime) -> str:
    """``YYYY-MM`` of the UTC month holding ``moment``."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}"


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def floor_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(moment: datetime) -> datetime:
    floor = floor_day(moment)
    return floor if floor == moment else floor + DAY


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The first instant of ``moment``'s UTC month and of the next one."""
    first = floor_day(moment).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def floor_month(moment: datetime) -> datetime:
    return floor_day(moment).replace(day=1)


def ceil_month(moment: datetime) -> datetime:
    floor = floor_month(moment)
    return floor if floor == moment else month_bounds(moment)[1]


#: Raw rows ``[low, high)`` added (+1) or taken away (-1).
Raw = tuple[datetime | None, datetime | None, int]
#: Buckets of a level, from the first key to the key after the last (``None``: open), and a sign.
Buckets = tuple[str, str | None, str | None, int]

#: The rollup levels from the finest: name, floor, ceiling, key of a bucket's first instant.
LEVELS = (
    ("hour", floor_hour, ceil_hour, hour_key),
    ("day", floor_day, ceil_day, day_key),
    ("month", floor_month, ceil_month, month_key),
)


@dataclass(frozen=True)
class Plan:
    """How a half-open span ``[start, end)`` is read: whole buckets of the coarsest level that
    fit, and at each end the rest from the next finer level, down to raw rows for the part of an
    hour. An end is covered either directly (the buckets from the edge to the boundary) or as the
    coarser bucket around it minus the finer buckets on its other side, whichever is the shorter
    stretch: the sums are linear, so ``-1`` parts subtract. ``None`` bounds are open."""

    raw: tuple[Raw, ...] = ()
    buckets: tuple[Buckets, ...] = ()


def plan(start: datetime | None, end: datetime | None, coarsest: str = "month") -> Plan:
    """Split ``[start, end)`` into raw edges and buckets of each level up to ``coarsest``
    (``day`` for sums by day: a month's bucket cannot be split into days)."""
    if start is not None and end is not None and start >= end:
        return Plan()
    top = next(i for i, level in enumerate(LEVELS) if level[0] == coarsest)
    raw: list[Raw] = []
    buckets: list[Buckets] = []

    def add(level: int, low: datetime | None, high: datetime | None, sign: int) -> None:
        if level < 0:
            raw.append((low, high, sign))
            return
        name, _, _, key_of = LEVELS[level]
        buckets.append((name, None if low is None else key_of(low), None if high is None else key_of(high), sign))

    def cover(low: datetime | None, high: datetime | None, level: int, sign: int) -> None:
        """Cover ``[low, high)`` with buckets of ``level`` and finer (``-1``: raw rows)."""
        if level < 0:
            add(-1, low, high, sign)
            return
        _, floor, ceil, _ = LEVELS[level]
        inner_low = None if low is None else ceil(low)
        inner_high = None if high is None else floor(high)
        if inner_low is not None and inner_high is not None and inner_low > inner_high:
            # inside one bucket: the finer parts, or the bucket minus what lies outside the span
            around, after = floor(low), ceil(high)
            if (low - around) + (after - high) < high - low:
                add(level, around, after, sign)
                cover(around, low, level - 1, -sign)
                cover(high, after, level - 1, -sign)
            else:
                cover(low, high, level - 1, sign)
            return
        if inner_low is None or inner_high is None or inner_low < inner_high:
            add(level, inner_low, inner_high, sign)
        if low is not None and low < inner_low:
            around = floor(low)
            if low - around < inner_low - low:
                add(level, around, inner_low, sign)
                cover(around, low, level - 1, -sign)
            else:
                cover(low, inner_low, level - 1, sign)
        if high is not None and inner_high < high:
            after = ceil(high)
            if after - high < high - inner_high:
                add(level, inner_high, after, sign)
                cover(high, after, level - 1, -sign)
            else:
                cover(inner_high, high, level - 1, sign)

    cover(start, end, top, 1)
    return Plan(tuple(raw), _merged(buckets))


def _merged(buckets: list[Buckets]) -> tuple[Buckets, ...]:
    """Adjacent ranges of one level and sign as one range (fewer parts in the statement)."""
    merged: list[Buckets] = []
    for level, low, high, sign in sorted(buckets, key=lambda b: (b[0], b[3], b[1] or "")):
        if merged and merged[-1][0] == level and merged[-1][3] == sign and low is not None and merged[-1][2] == low:
            merged[-1] = (level, merged[-1][1], high, sign)
        else:
            merged.append((level, low, high, sign))
    return tuple(merged)
