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

Buckets of the rollups are the first 10 (day) and 13 (hour) characters of that text.
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


Range = tuple[datetime | None, datetime | None]
KeyRange = tuple[str | None, str | None]


@dataclass(frozen=True)
class Plan:
    """How a half-open span ``[start, end)`` is read: raw rows at its ragged edges (less than an
    hour each), hourly buckets up to the first and from the last whole day, daily buckets for
    the whole days between. ``None`` bounds are open."""

    raw: tuple[Range, ...] = ()
    hours: tuple[KeyRange, ...] = ()
    days: KeyRange | None = None


def plan(start: datetime | None, end: datetime | None) -> Plan:
    """Split ``[start, end)`` into raw edges, hourly buckets and daily buckets (see :class:`Plan`)."""
    if start is not None and end is not None and start >= end:
        return Plan()
    first_hour = ceil_hour(start) if start is not None else None
    last_hour = floor_hour(end) if end is not None else None
    if first_hour is not None and last_hour is not None and first_hour >= last_hour:
        return Plan(raw=((start, end),))
    raw: list[Range] = []
    if start is not None and start < first_hour:
        raw.append((start, first_hour))
    if end is not None and last_hour < end:
        raw.append((last_hour, end))
    first_day = ceil_day(first_hour) if first_hour is not None else None
    last_day = floor_day(last_hour) if last_hour is not None else None
    if first_day is not None and last_day is not None and first_day >= last_day:
        return Plan(raw=tuple(raw), hours=((hour_key(first_hour), hour_key(last_hour)),))
    hours: list[KeyRange] = []
    if first_hour is not None and first_hour < first_day:
        hours.append((hour_key(first_hour), hour_key(first_day)))
    if last_hour is not None and last_day < last_hour:
        hours.append((hour_key(last_day), hour_key(last_hour)))
    days = (None if first_day is None else day_key(first_day), None if last_day is None else day_key(last_day))
    return Plan(raw=tuple(raw), hours=tuple(hours), days=days)
