"""Request and response shapes of the sessions routes (they are what /openapi.json shows).

Limits: ``agent_id`` is 1..128 characters of ``A-Z a-z 0-9 . _ : @ / -``; handoff notes and
breadcrumbs (``last_action``) are at most 64 KiB of UTF-8. Every violation is a 400 naming
the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, RootModel, model_validator
from pydantic_core import PydanticCustomError

from kernel.validation import text_schema

AGENT_ID_MAX_CHARS = 128
TEXT_MAX_BYTES = 64 * 1024
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 1000

_AGENT_ID = re.compile(r"[A-Za-z0-9._:@/-]{1,128}")


def check_agent_id(value: str) -> str:
    """1..128 characters of ``[A-Za-z0-9._:@/-]``; anything else is refused (never trimmed)."""
    if not _AGENT_ID.fullmatch(value):
        if not value:
            problem = "must not be empty"
        elif len(value) > AGENT_ID_MAX_CHARS:
            problem = f"is {len(value)} characters long"
        else:
            bad = sorted({ch for ch in value if not re.fullmatch(r"[A-Za-z0-9._:@/-]", ch)})
            problem = "contains " + ", ".join(repr(ch) for ch in bad[:5])
        raise PydanticCustomError(
            "agent_id",
            "agent_id must be 1..128 characters of letters, digits and . _ : @ / - ({problem})",
            {"problem": problem},
        )
    return value


def check_text(what: str, *, blank_ok: bool = True):
    def check(value: str) -> str:
        if not blank_ok:
            value = value.strip()
            if not value:
                raise PydanticCustomError("blank", "{what} must not be empty", {"what": what})
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > TEXT_MAX_BYTES:
            raise PydanticCustomError(
                "too_long",
                "{what} must be at most {limit} bytes of UTF-8 (got {size})",
                {"what": what, "limit": TEXT_MAX_BYTES, "size": size},
            )
        return value

    return AfterValidator(check)


AgentId = Annotated[
    str,
    AfterValidator(check_agent_id),
    Field(
        description="1..128 characters of letters, digits and `. _ : @ / -`. Omitted: the sessions without an agent.",
        json_schema_extra={"pattern": f"^{_AGENT_ID.pattern}$", "minLength": 1, "maxLength": AGENT_ID_MAX_CHARS},
    ),
]
Notes = Annotated[str, check_text("notes"), Field(description="At most 64 KiB (UTF-8 bytes).")]
Action = Annotated[
    str,
    check_text("action", blank_ok=False),
    Field(description="Trimmed; not blank; at most 64 KiB (UTF-8 bytes).", json_schema_extra=text_schema(not_blank=True)),
]


# --- requests ----------------------------------------------------------------------------------


class AgentQuery(BaseModel):
    """``?agent_id=``; when given it wins over a body's ``agent_id``."""

    agent_id: AgentId | None = None


class AgentIn(BaseModel):
    """A body naming the agent (optional: no body at all is the same as ``{}``)."""

    agent_id: AgentId | None = None


class EndIn(AgentIn):
    """``POST /sessions/end``: ``notes`` become the handoff notes; omitted or null keeps them.
    ``handoff_notes`` (the name the session object uses) is accepted as the same field."""

    notes: Notes | None = Field(default=None, description="Handoff notes; omitted or null keeps the existing notes.")
    handoff_notes: Notes | None = Field(default=None, description="The same as `notes` (give one of the two).")

    @model_validator(mode="after")
    def _one_name_for_the_notes(self) -> EndIn:
        if self.handoff_notes is not None:
            if self.notes is not None and self.notes != self.handoff_notes:
                raise ValueError("give the handoff notes as `notes` or as `handoff_notes`, not both")
            self.notes = self.handoff_notes
        return self


class WorkIn(AgentIn):
    """``POST /sessions/work/{id}``; ``action`` overrides the breadcrumb written with it."""

    action: Action | None = Field(
        default=None, description="The breadcrumb to record; default `Working on #<id>: <title>`."
    )


class ActionIn(AgentIn):
    """``POST /sessions/action``: record a breadcrumb (``last_action``) in the current session."""

    action: Action
    comment: bool = Field(
        default=False,
        description="Also add `[action] <text>` as a note comment on the session's active issue (as the CLI's `session action` does).",
    )


class SessionListQuery(AgentQuery):
    """``GET /sessions``: one agent's sessions, newest first."""

    status: Literal["active", "ended", "all"] = Field(default="all", description="`active`, `ended` or `all`.")
    limit: int = Field(default=LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(default=0, ge=0)


# --- responses ---------------------------------------------------------------------------------


class SessionOut(BaseModel):
    """A session; every key is always present. Timestamps are RFC 3339 UTC with `Z`."""

    id: int
    started_at: str
    ended_at: str | None
    active_issue_id: int | None
    handoff_notes: str | None
    last_action: str | None
    agent_id: str | None


class CurrentSessionOut(RootModel[SessionOut | None]):
    """The agent's current session, or `null` when it has none."""


class StartOut(SessionOut):
    """The started (201) or already active (200) session, and the handoff notes of the agent's
    last ended session (additive)."""

    previous_handoff_notes: str | None


class OkSessionOut(BaseModel):
    """The contract's `{ok: true}` and, additively, the session after the change."""

    ok: bool = True
    session: SessionOut


class ActionOut(SessionOut):
    """The session after the breadcrumb; `comment_id` is the comment added on request, else null."""

    comment_id: int | None


class SessionListOut(BaseModel):
    items: list[SessionOut]
    total: int
