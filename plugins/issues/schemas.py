"""Request and response shapes of the issues routes (they are what /openapi.json shows).

Limits: titles are at most 512 characters, not blank, and trimmed; labels likewise with 128;
a description is at most 64 KiB and a comment at most 1 MiB, both counted in UTF-8 bytes (the
crosslink CLI stores bytes; a limit in characters would let 4-byte text through at 4x size).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from kernel.validation import text_schema

PRIORITIES = ("low", "medium", "high", "critical")
ISSUE_STATUSES = ("open", "closed", "archived")
COMMENT_KINDS = (
    "note",
    "plan",
    "decision",
    "observation",
    "blocker",
    "resolution",
    "result",
    "intervention",
)

TITLE_MAX_CHARS = 512
LABEL_MAX_CHARS = 128
NAME_MAX_CHARS = 512
DESCRIPTION_MAX_BYTES = 64 * 1024
COMMENT_MAX_BYTES = 1024 * 1024
SHORT_TEXT_MAX_CHARS = 1024
LIST_LIMIT_MAX = 10_000

Priority = Literal["low", "medium", "high", "critical"]
CommentKind = Literal["note", "plan", "decision", "observation", "blocker", "resolution", "result", "intervention"]
IssueStatus = Literal["open", "closed", "archived"]
IssueStatusFilter = Literal["open", "closed", "archived", "all"]
MilestoneStatus = Literal["open", "closed"]
MilestoneStatusFilter = Literal["open", "closed", "all"]

#: A signed 64-bit id, as SQLite and PostgreSQL (BIGINT) store it.
Id64 = Annotated[int, Field(ge=-(2**63), lt=2**63)]


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def clean_title(value: str, what: str = "title", limit: int = TITLE_MAX_CHARS) -> str:
    """Refuse longer than `limit` characters (as sent) or blank; trim.

    The limit counts the text as sent, so that JSON Schema's ``maxLength`` says it exactly.
    """
    if len(value) > limit:
        raise _error("too_long", f"{what} must be at most {limit} characters (got {len(value)})")
    value = value.strip()
    if not value:
        raise _error("blank", f"{what} must not be empty")
    return value


def check_bytes(value: str, what: str, limit: int) -> str:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise _error("too_long", f"{what} must be at most {limit} bytes of UTF-8 (got {size})")
    return value


def _content(value: str) -> str:
    if not value.strip():
        raise _error("blank", "content must not be empty")
    return check_bytes(value, "content", COMMENT_MAX_BYTES)


Title = Annotated[
    str,
    AfterValidator(clean_title),
    Field(description="At most 512 characters, not blank; trimmed.", json_schema_extra=text_schema(not_blank=True, max_chars=TITLE_MAX_CHARS)),
]
Description = Annotated[
    str,
    AfterValidator(lambda v: check_bytes(v, "description", DESCRIPTION_MAX_BYTES)),
    Field(description="At most 64 KiB (UTF-8 bytes)."),
]
Label = Annotated[
    str,
    AfterValidator(lambda v: clean_title(v, "label", LABEL_MAX_CHARS)),
    Field(description="At most 128 characters, not blank; trimmed.", json_schema_extra=text_schema(not_blank=True, max_chars=LABEL_MAX_CHARS)),
]
Content = Annotated[
    str,
    AfterValidator(_content),
    Field(description="Not blank; at most 1 MiB (UTF-8 bytes).", json_schema_extra=text_schema(not_blank=True)),
]
MilestoneName = Annotated[
    str,
    AfterValidator(lambda v: clean_title(v, "name", NAME_MAX_CHARS)),
    Field(json_schema_extra=text_schema(not_blank=True, max_chars=NAME_MAX_CHARS)),
]
ShortText = Annotated[str, Field(max_length=SHORT_TEXT_MAX_CHARS)]


# --- requests ----------------------------------------------------------------------------------


class CreateIssueIn(BaseModel):
    """`POST /issues`."""

    title: Title
    description: Description | None = None
    priority: Priority = "medium"
    parent_id: Id64 | None = Field(default=None, description="An existing issue (else 400).")


class CreateSubissueIn(BaseModel):
    """`POST /issues/{id}/subissue`: the parent is the path's issue."""

    title: Title
    description: Description | None = None
    priority: Priority = "medium"


class UpdateIssueIn(BaseModel):
    """`PATCH /issues/{id}`: only the fields present change; `description: null` clears it."""

    title: Title | SkipJsonSchema[None] = None
    description: Description | None = Field(default=None, description="null clears the description.")
    priority: Priority | SkipJsonSchema[None] = None

    @field_validator("title", "priority")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for fields the client sent: an explicit null is an error.
        if value is None:
            raise _error("null", "cannot be null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their (validated) values."""
        return {
            name: getattr(self, name)
            for name in ("title", "description", "priority")
            if name in self.model_fields_set
        }


class CreateCommentIn(BaseModel):
    """`POST /issues/{id}/comments`."""

    content: Content
    kind: CommentKind = "note"
    trigger_type: ShortText | None = Field(default=None, description="Stored for intervention comments.")
    intervention_context: Description | None = Field(
        default=None, description="Stored for intervention comments; at most 64 KiB."
    )
    author: ShortText | None = Field(default=None, description="Who wrote it, e.g. an agent id (additive).")


class AddLabelIn(BaseModel):
    """`POST /issues/{id}/labels`."""

    label: Label


class AddBlockerIn(BaseModel):
    """`POST /issues/{id}/block`: the path's issue becomes blocked by `blocker_id`."""

    blocker_id: Id64


class CreateMilestoneIn(BaseModel):
    """`POST /milestones`; `title` is accepted as an alias of `name` (either is validated when
    given; `name` wins when both are)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["name"], "properties": {"name": {"type": "string"}}},
                {"required": ["title"], "properties": {"title": {"type": "string"}}},
            ]
        }
    )

    name: MilestoneName | None = Field(default=None, description="Required (or `title`); at most 512 characters, not blank; trimmed.")
    title: MilestoneName | None = Field(default=None, description="Alias of `name` (older dashboards send it).")
    description: Description | None = Field(default=None, description="At most 64 KiB (UTF-8 bytes).")

    @model_validator(mode="after")
    def _name(self) -> CreateMilestoneIn:
        if self.name is None:
            if self.title is None:
                raise _error("required", "name (or its alias title) is required")
            self.name = self.title
        return self


class AssignMilestoneIn(BaseModel):
    """`POST /milestones/{id}/assign`: moves the issue into this milestone."""

    issue_id: Id64


class IssueListQuery(BaseModel):
    """Filters of `GET /issues`; `limit`/`offset` are additive (`total` counts every match)."""

    status: IssueStatusFilter = "open"
    label: str | None = None
    priority: Priority | None = None
    search: str | None = Field(default=None, description="Case-insensitive substring of title, description or a comment.")
    parent_id: Id64 | None = None
    limit: int | None = Field(default=None, ge=0, le=LIST_LIMIT_MAX)
    offset: int = Field(default=0, ge=0, lt=2**63)


class PageQuery(BaseModel):
    """Additive paging of list routes; `total` counts every match."""

    limit: int | None = Field(default=None, ge=0, le=LIST_LIMIT_MAX)
    offset: int = Field(default=0, ge=0, lt=2**63)


class MilestoneListQuery(BaseModel):
    status: MilestoneStatusFilter = "open"
    limit: int | None = Field(default=None, ge=0, le=LIST_LIMIT_MAX)
    offset: int = Field(default=0, ge=0, lt=2**63)


# --- responses ---------------------------------------------------------------------------------


class IdOut(BaseModel):
    id: int


class CreatedIssueOut(BaseModel):
    """``{id}``; on a repository whose crosslink hub is in use, also what the hub write did."""

    id: int
    display_id: int | None = Field(
        None,
        description="Hub repositories only: the display id every machine sees (`id` itself); "
        "null for an offline issue (a negative `id`, the CLI's `L1`, promoted after the next push)",
    )
    hub: Literal["pushed", "offline", "local"] | None = Field(
        None,
        description="Hub repositories only: `pushed` (the commit reached the remote), `offline` (no "
        "reachable remote: an offline issue) or `local` (committed, not pushed)",
    )


class OkOut(BaseModel):
    ok: bool = True


class IssueOut(BaseModel):
    """An issue; every key is always present."""

    id: int
    title: str
    description: str | None
    status: IssueStatus
    priority: Priority
    parent_id: int | None
    created_at: str
    updated_at: str
    closed_at: str | None


class IssueSummaryOut(IssueOut):
    """A list item: the issue, its labels (sorted) and its number of OPEN blockers."""

    labels: list[str]
    blocker_count: int


class IssueListOut(BaseModel):
    items: list[IssueSummaryOut]
    total: int


class IssueTreeOut(BaseModel):
    """All descendants, depth-first pre-order, children by id."""

    items: list[IssueOut]
    total: int


class CommentOut(BaseModel):
    id: int
    issue_id: int
    content: str
    created_at: str
    kind: str
    trigger_type: str | None
    intervention_context: str | None
    driver_key_fingerprint: str | None


class MilestoneRefOut(BaseModel):
    id: int
    name: str
    status: str


class IssueDetailOut(IssueOut):
    labels: list[str]
    comments: list[CommentOut]
    blockers: list[int]
    blocking: list[int]
    subissues: list[IssueOut]
    milestone: MilestoneRefOut | None


class MilestoneOut(BaseModel):
    id: int
    name: str
    description: str | None
    status: str
    created_at: str
    closed_at: str | None
    issue_count: int
    completed_count: int
    progress_percent: float


class MilestoneListOut(BaseModel):
    items: list[MilestoneOut]
    total: int
