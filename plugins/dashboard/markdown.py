"""Markdown to safe HTML: markdown-it-py renders (CommonMark, tables, strikethrough), nh3 cleans.

Raw HTML in a page is allowed through the renderer and then sanitised by nh3 (the Ammonia
sanitiser): ``<script>``/``<style>`` go with their content, event-handler attributes and
``javascript:`` URLs are dropped, and links get ``rel="noopener noreferrer nofollow"``. The
page's Content-Security-Policy forbids inline script as a second line of defence.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

TAGS = nh3.ALLOWED_TAGS | {"details", "summary", "input"}
ATTRIBUTES = {
    **{tag: set(attributes) for tag, attributes in nh3.ALLOWED_ATTRIBUTES.items()},
    "code": {"class"},
    "input": {"type", "checked", "disabled"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise(html: str) -> Markup:
    """HTML with everything that could run script removed."""
    return Markup(
        nh3.clean(
            html,
            tags=TAGS,
            attributes=ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
    )


def render_markdown(text: str | None) -> Markup:
    """Markdown text as sanitised HTML (empty for ``None``)."""
    if not text:
        return Markup("")
    return sanitise(_renderer.render(text))
