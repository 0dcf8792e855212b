"""The knowledge plugin's event: a page was created, updated or deleted."""

from __future__ import annotations

from typing import Literal

from kernel import Event


class KnowledgeChanged(Event):
    """A knowledge page changed through the API (after its git commit); ``action`` says how."""

    type = "knowledge_changed"
    channel = "knowledge"

    slug: str
    action: Literal["created", "updated", "deleted"]
