"""URL converters the kernel offers to every plugin's routes."""

from __future__ import annotations

import re

from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

_INTEGER = re.compile(r"^-?\d{1,19}$")
INT64 = 2**63


class IdConverter(BaseConverter):
    """A signed 64-bit integer id: ``<id:issue_id>`` or ``<id("milestone"):milestone_id>``.

    Negative ids are valid (the crosslink CLI's offline issues). Anything that is not an
    integer is answered with 400 naming the parameter, instead of an opaque 404.
    """

    regex = r"[^/]+"
    part_isolating = True

    def __init__(self, url_map, what: str = "issue") -> None:
        super().__init__(url_map)
        self.what = what

    def to_python(self, value: str) -> int:
        if _INTEGER.match(value):
            number = int(value)
            if -INT64 <= number < INT64:
                return number
        # An HTTPException, so routing records it and the JSON error handler answers 400.
        raise BadRequest(f"invalid {self.what} id '{value}': must be an integer")

    def to_url(self, value: int) -> str:
        return str(int(value))


CONVERTERS = {"id": IdConverter}
