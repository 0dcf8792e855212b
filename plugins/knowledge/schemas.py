"""Request and response shapes of the knowledge routes (they appear in /openapi.json)."""

from __future__ import annotations

from pydantic import BaseModel, Field, RootModel, field_validator

from kernel.validation import CONTROL_RANGES, text_schema

from .slugs import SLUG_SCHEMA, validate_slug

MAX_TITLE = 512
MAX_CONTENT_BYTES = 4 * 1024 * 1024
MAX_TAGS = 100
MAX_TAG = 100
MAX_SOURCES = 200
MAX_TEXT = 2048
MAX_AGENT_ID = 200


#: JSON Schema of the fields below, as their validators accept them.
TITLE_SCHEMA = text_schema(not_blank=True, max_chars=MAX_TITLE)
TAGS_SCHEMA = {
    "maxItems": MAX_TAGS,
    "items": {"type": "string", **text_schema(not_blank=True, max_chars=MAX_TAG, forbid=(*CONTROL_RANGES, (0x2C, 0x2C)))},
}
CONTRIBUTOR_SCHEMA = text_schema(max_chars=MAX_AGENT_ID, forbid=CONTROL_RANGES)


def _has_control(text: str) -> bool:
    return any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text)


def _check_title(value: str | None) -> str | None:
    if value is None:
        return value
    if not value.strip():
        raise ValueError("title cannot be empty")
    if len(value) > MAX_TITLE:
        raise ValueError(f"at most {MAX_TITLE} characters")
    return value


def _check_content(value: str | None) -> str | None:
    if value is not None and len(value.encode("utf-8", errors="surrogatepass")) > MAX_CONTENT_BYTES:
        raise ValueError(f"at most {MAX_CONTENT_BYTES} bytes")
    return value


def _check_tags(value: list[str] | None) -> list[str] | None:
    """Tags: non-empty, no control characters or commas (the original CLI splits on commas)."""
    if value is None:
        return value
    if len(value) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    for tag in value:
        if not tag.strip():
            raise ValueError("a tag cannot be empty")
        if len(tag) > MAX_TAG or _has_control(tag) or "," in tag:
            raise ValueError(f"tag {tag[:40]!r}: at most {MAX_TAG} characters, no commas or control characters")
    return list(dict.fromkeys(value))  # drop repeats, keep order


class SourceIn(BaseModel):
    """A source of a page's knowledge."""

    url: str = Field(min_length=1, max_length=MAX_TEXT)
    title: str = Field(default="", max_length=MAX_TEXT)
    accessed_at: str | None = Field(default=None, max_length=64)


def _check_agent(value: str | None) -> str | None:
    if value is not None and _has_control(value):
        raise ValueError("must not contain control characters")
    return value


class ContributorFields(BaseModel):
    """Who makes the change; added to the page's ``contributors`` (the query's ``agent_id`` wins)."""

    agent_id: str | None = Field(default=None, max_length=MAX_AGENT_ID, json_schema_extra=CONTRIBUTOR_SCHEMA)
    contributor: str | None = Field(default=None, max_length=MAX_AGENT_ID, json_schema_extra=CONTRIBUTOR_SCHEMA)

    _agent = field_validator("agent_id", "contributor")(_check_agent)

    def contributor_name(self, query_agent: str | None = None) -> str | None:
        """The contributor: ``?agent_id=``, else ``agent_id``, else ``contributor``; blank = none."""
        for candidate in (query_agent, self.agent_id, self.contributor):
            if candidate is not None and candidate.strip():
                return candidate.strip()
        return None


class CreatePageIn(ContributorFields):
    """``POST /knowledge``."""

    slug: str = Field(json_schema_extra=SLUG_SCHEMA)
    title: str = Field(json_schema_extra=TITLE_SCHEMA)
    content: str = ""
    tags: list[str] = Field(default_factory=list, json_schema_extra=TAGS_SCHEMA)
    sources: list[SourceIn] = Field(default_factory=list, max_length=MAX_SOURCES)

    _slug = field_validator("slug")(validate_slug)
    _title = field_validator("title")(_check_title)
    _content = field_validator("content")(_check_content)
    _tags = field_validator("tags")(_check_tags)


class ReplacePageIn(ContributorFields):
    """``PUT /knowledge/<slug>``: title and content replace; tags and sources default to none."""

    title: str = Field(json_schema_extra=TITLE_SCHEMA)
    content: str
    tags: list[str] = Field(default_factory=list, json_schema_extra=TAGS_SCHEMA)
    sources: list[SourceIn] = Field(default_factory=list, max_length=MAX_SOURCES)
    version: str | None = Field(default=None, max_length=100)

    _title = field_validator("title")(_check_title)
    _content = field_validator("content")(_check_content)
    _tags = field_validator("tags")(_check_tags)


class PatchPageIn(ContributorFields):
    """``PATCH /knowledge/<slug>``: only the fields given change (``null`` = not given)."""

    title: str | None = Field(default=None, json_schema_extra=TITLE_SCHEMA)
    content: str | None = None
    tags: list[str] | None = Field(default=None, json_schema_extra=TAGS_SCHEMA)
    sources: list[SourceIn] | None = Field(default=None, max_length=MAX_SOURCES)
    version: str | None = Field(default=None, max_length=100)

    _title = field_validator("title")(_check_title)
    _content = field_validator("content")(_check_content)
    _tags = field_validator("tags")(_check_tags)


class AgentQuery(BaseModel):
    """``?agent_id=`` on writes: the contributor (wins over the body's fields)."""

    agent_id: str | None = Field(default=None, max_length=MAX_AGENT_ID, json_schema_extra=CONTRIBUTOR_SCHEMA)

    _agent = field_validator("agent_id")(_check_agent)


class IfMatchHeader(BaseModel):
    """The version a write is based on, as an ETag (or ``*``); a ``version`` body field also works."""

    if_match: str | None = Field(
        default=None,
        description="The page's ETag as GET answered it (or `*`). Writes need it or a `version` "
        "field (428 without either; 412 when the page has changed since).",
    )


class SearchQuery(BaseModel):
    """``GET /knowledge/search``: ``q`` is required and must hold more than whitespace."""

    q: str = Field(json_schema_extra=text_schema(not_blank=True))


class SourceOut(BaseModel):
    url: str
    title: str
    accessed_at: str | None = Field(default=None, description="left out when unknown")


class KnowledgePageSummary(BaseModel):
    slug: str
    title: str
    tags: list[str]
    updated: str


class KnowledgePage(BaseModel):
    slug: str
    title: str
    tags: list[str]
    sources: list[SourceOut]
    contributors: list[str]
    created: str
    updated: str
    content: str
    version: str = Field(description="the page's version token (also the ETag); send it back to update")


class KnowledgePageList(RootModel[list[KnowledgePageSummary]]):
    """Every page's summary, sorted by slug (a bare array)."""


class CreatedPage(BaseModel):
    slug: str


class KnowledgeSearchMatch(BaseModel):
    slug: str
    title: str
    line_number: int
    context_lines: list[tuple[int, str]]


class KnowledgeSearchResults(RootModel[list[KnowledgeSearchMatch]]):
    """Matching line groups, best pages first (a bare array)."""


class DeletedPage(BaseModel):
    ok: bool
