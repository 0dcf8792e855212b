"""schemathesis hooks for the hardening run (loaded through ``SCHEMATHESIS_HOOKS``).

``GET /api/v1/events/log?wait=N`` is a long poll: with no new event on the asked channels it
rightly answers after ``N`` seconds, and schemathesis's boundary values ask for the longest
(60 s) several times, which made one shard take over two minutes while doing nothing. A valid
``wait`` is shortened here to at most half a second before the request goes out: the same code
path runs (validation, the empty page, the wait, the second read) and schemathesis revalidates
the case after the edit, so invalid values (negative, above 60, not a number) go out unchanged.
Long-polling itself (answered by a new event, or empty once its wait is over) is tested in
``tests/kernel/test_event_log.py``.
"""

from __future__ import annotations

import math

import schemathesis

LONG_POLL_PATH = "/api/v1/events/log"
SHORTEST_WAIT = 0.5


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    """Shorten a valid long-poll ``wait`` of the event log to ``SHORTEST_WAIT`` seconds."""
    if case.operation.path != LONG_POLL_PATH or not isinstance(case.query, dict):
        return
    value = case.query.get("wait")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return
    if math.isfinite(seconds) and SHORTEST_WAIT < seconds <= 60:
        case.query["wait"] = SHORTEST_WAIT
