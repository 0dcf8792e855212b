"""Timestamps as the crosslink CLI stores them and as the API answers them.

The CLI stores RFC 3339 text with ``+00:00`` and microseconds
(``2026-03-10T03:15:00.123456+00:00``) and reads any RFC 3339 form. The API answers RFC 3339
UTC with a ``Z`` suffix. A :class:`Clock` can be injected so tests move time without sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_FRACTION = re.compile(r"\.(\d+)")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    """The server's notion of now. ``Clock(fixed)`` or ``clock.advance()`` serve tests."""

    def __init__(self, source: Callable[[], datetime] | None = None):
        self._source = source or utcnow
        self._offset = timedelta()

    def now(self) -> datetime:
        """Now, an aware UTC datetime."""
        return self._source() + self._offset

    def stored_now(self) -> str:
        """Now, as the CLI stores timestamps (:func:`to_db`): the one spelling every table uses."""
        return to_db(self.now())

    def advance(self, **delta: float) -> None:
        """Move this clock forward (``clock.advance(minutes=6)``)."""
        self._offset += timedelta(**delta)


def parse(text: str | None) -> datetime | None:
    """Parse any RFC 3339 / ISO 8601 timestamp; naive values are taken as UTC.

    Fractions longer than microseconds (chrono writes nanoseconds) are truncated. Returns
    ``None`` for ``None`` or text that is not a timestamp.
    """
    if not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    value = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_db(moment: datetime) -> str:
    """Format as the CLI stores timestamps: ``2026-03-10T03:15:00.123456+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def to_api(value: datetime | str | None) -> str | None:
    """Format for the API: RFC 3339 UTC with ``Z``; stored text is normalised on the way."""
    if value is None:
        return None
    moment = parse(value) if isinstance(value, str) else value.astimezone(UTC)
    if moment is None:  # unparsable stored text: hand it back rather than lose it
        return value if isinstance(value, str) else None
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
