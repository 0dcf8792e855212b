"""The tools' arguments: one pydantic model per tool, and the JSON schema clients are shown.

Every model forbids unknown fields (a misspelt argument is an error naming it, not silently
ignored). The schema sent in ``tools/list`` is pydantic's, made smaller, because every token of
it sits in the agent's context for the whole conversation: titles are dropped, an optional
field is shown as its type alone (``null`` is never needed: leave it out), and constraints
that only guard the database (64-bit id ranges) are checked without being advertised.

The limits repeat the API's (titles 1..512 characters, labels 1..128, descriptions 64 KiB,
comments 1 MiB, notes 64 KiB, page content 4 MiB); the services check what they own again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

ID_MIN, ID_MAX = -(2**63), 2**63 - 1
TITLE_MAX_CHARS = 512
LABEL_MAX_CHARS = 128
DESCRIPTION_MAX_BYTES = 64 * 1024
COMMENT_MAX_BYTES = 1024 * 1024
NOTES_MAX_BYTES = 64 * 1024
PAGE_MAX_BYTES = 4 * 1024 * 1024
QUERY_MAX_CHARS = 1000
SHORT_TEXT_MAX_CHARS = 4096

Priority = Literal["low", "medium", "high", "critical"]
CommentKind = Literal["note", "plan", "decision", "observation", "blocker", "resolution", "result", "intervention"]


def _invalid(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is shown as written (no "Value error, " prefix)."""
    return PydanticCustomError(kind, message)


def _id64(value: int) -> int:
    if not ID_MIN <= value <= ID_MAX:
        raise _invalid("id_range", "must be a signed 64-bit integer")
    return value


def _trimmed(limit: int):
    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise _invalid("blank", "must not be empty")
        if len(value) > limit:
            raise _invalid("too_long", f"must be at most {limit} characters (got {len(value)})")
        return value

    return AfterValidator(check)


def _bytes(limit: int, *, blank_ok: bool = True):
    def check(value: str) -> str:
        if not blank_ok and not value.strip():
            raise _invalid("blank", "must not be empty")
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise _invalid("too_long", f"must be at most {limit} bytes of UTF-8 (got {size})")
        return value

    return AfterValidator(check)


def _tag(value: str) -> str:
    if not value.strip():
        raise _invalid("blank", "a tag must not be empty")
    if len(value) > 100 or "," in value or any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in value):
        raise _invalid("tag", f"tag {value[:40]!r}: at most 100 characters, no commas or control characters")
    return value


IssueId = Annotated[int, AfterValidator(_id64)]
Title = Annotated[str, _trimmed(TITLE_MAX_CHARS)]
AgentId = Annotated[str | None, Field(description="Default: this connection's agent.")]
Limit = Annotated[int, Field(ge=1, le=100)]


class Arguments(BaseModel):
    """Base of every tool's arguments: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# --- issues --------------------------------------------------------------------------------------


class ReadyWorkArgs(Arguments):
    limit: Limit = 20


class SearchArgs(Arguments):
    query: Annotated[str, _trimmed(QUERY_MAX_CHARS)]
    limit: Limit = 10


class IssueArgs(Arguments):
    issue_id: IssueId


class CreateIssueArgs(Arguments):
    title: Title
    description: Annotated[str, _bytes(DESCRIPTION_MAX_BYTES)] | None = None
    priority: Priority = "medium"
    parent_id: Annotated[IssueId | None, Field(description="Makes it a subissue of this issue.")] = None


class CommentArgs(Arguments):
    issue_id: IssueId
    content: Annotated[str, _bytes(COMMENT_MAX_BYTES, blank_ok=False)]
    kind: CommentKind = "note"


class LabelArgs(Arguments):
    issue_id: IssueId
    label: Annotated[str, _trimmed(LABEL_MAX_CHARS)]


class BlockArgs(Arguments):
    issue_id: IssueId
    blocker_id: IssueId


class CloseArgs(Arguments):
    issue_id: IssueId
    comment: Annotated[
        str, _bytes(COMMENT_MAX_BYTES, blank_ok=False), Field(description="Added first, as a resolution comment.")
    ] | None = None


# --- sessions ------------------------------------------------------------------------------------


class AgentArgs(Arguments):
    agent_id: AgentId = None


class WorkOnArgs(Arguments):
    issue_id: IssueId
    agent_id: AgentId = None


class EndSessionArgs(Arguments):
    notes: Annotated[
        str, _bytes(NOTES_MAX_BYTES), Field(description="Handoff notes for your next session.")
    ] | None = None
    agent_id: AgentId = None


# --- locks and agents ----------------------------------------------------------------------------


class LockArgs(Arguments):
    issue_id: IssueId
    branch: Annotated[str, Field(max_length=256)] | None = None
    agent_id: AgentId = None


class ReleaseArgs(Arguments):
    issue_id: IssueId
    agent_id: AgentId = None


class HeartbeatArgs(Arguments):
    active_issue_id: IssueId | None = None
    description: Annotated[str, Field(max_length=SHORT_TEXT_MAX_CHARS)] | None = None
    agent_id: AgentId = None


# --- orchestrator --------------------------------------------------------------------------------


class ReportStageArgs(Arguments):
    stage_id: Annotated[str, Field(min_length=1, max_length=200, description="The stage's id, as the plan gives it.")]
    status: Literal["running", "done", "failed"]
    message: Annotated[str, Field(max_length=SHORT_TEXT_MAX_CHARS, description="What happened, in a line.")] | None = None
    agent_id: AgentId = None


# --- knowledge -----------------------------------------------------------------------------------


class PageSearchArgs(Arguments):
    query: Annotated[str, _trimmed(QUERY_MAX_CHARS)]
    limit: Limit = 10


class PageArgs(Arguments):
    slug: Annotated[str, Field(max_length=200)]


class WritePageArgs(Arguments):
    slug: Annotated[str, Field(max_length=200)]
    title: Title | None = None
    content: Annotated[str, _bytes(PAGE_MAX_BYTES)] | None = None
    tags: Annotated[list[Annotated[str, AfterValidator(_tag)]], Field(max_length=100)] | None = None
    version: Annotated[
        str, Field(max_length=100, description="From read_page; required to change a page.")
    ] | None = None
    agent_id: AgentId = None


# --- the schema clients see ------------------------------------------------------------------------


def _compact(node: Any) -> Any:
    """Drop titles and ``null`` alternatives of optional fields, recursively."""
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: value for key, value in node.items() if not (key == "title" and isinstance(value, str))}
    variants = node.get("anyOf")
    if isinstance(variants, list) and {"type": "null"} in variants:
        rest = [variant for variant in variants if variant != {"type": "null"}]
        node.pop("anyOf")
        if len(rest) == 1:
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
    if "default" in node and node["default"] is None:
        node.pop("default")
    return {key: _compact(value) for key, value in node.items()}


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The compact JSON schema (2020-12) of a tool's arguments."""
    schema = _compact(model.model_json_schema())
    schema.setdefault("properties", {})
    return schema
