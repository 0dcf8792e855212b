"""Helpers the page modules share: HTML responses, paging, reading query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from quart import Response, render_template, request

from kernel.routing import INT64


async def html(template: str, status: int = 200, **context) -> Response:
    """Render ``template`` as an HTML response."""
    body = await render_template(template, **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8")


@dataclass(frozen=True)
class Pager:
    """Page ``number`` (1-based) of ``total`` rows, ``size`` per page."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        """1-based number of the page's first row (0 when there is none)."""
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        """1-based number of the page's last row."""
        return min(self.offset + self.size, self.total)

    def href(self, number: int) -> str:
        """The current URL with ``page`` set to ``number``."""
        args = {key: value for key, value in request.args.items() if key != "page" and value != ""}
        if number > 1:
            args["page"] = str(number)
        query = urlencode(args)
        return request.path + (f"?{query}" if query else "")


def page_number(errors: dict[str, str]) -> int:
    """``?page=`` as a positive number (1 when absent); a bad value is noted in ``errors``."""
    raw = request.args.get("page", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        errors["page"] = "must be a page number (1, 2, ...)"
        return 1
    return int(raw)


def text_arg(name: str, errors: dict[str, str], limit: int = 200) -> str:
    """A trimmed text parameter ('' when absent); longer than ``limit`` is an error."""
    value = request.args.get(name, "").strip()
    if len(value) > limit:
        errors[name] = f"must be at most {limit} characters"
        return ""
    return value


def choice_arg(name: str, choices: tuple[str, ...], default: str, errors: dict[str, str]) -> str:
    """A parameter that must be one of ``choices`` (``default`` when absent)."""
    value = request.args.get(name, "").strip() or default
    if value not in choices:
        errors[name] = f"must be one of: {', '.join(c for c in choices if c)}"
        return default
    return value


def id_arg(name: str, errors: dict[str, str]) -> int | None:
    """An issue id parameter (``None`` when absent)."""
    raw = request.args.get(name, "").strip().lstrip("#")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "must be an issue number"
        return None
    if not -INT64 <= value < INT64:
        errors[name] = "must be an issue number"
        return None
    return value
