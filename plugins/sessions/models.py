"""A Tortoise model over the crosslink CLI's ``sessions`` table (app label ``sessions``).

The kernel creates the table exactly as the CLI lays it out; nothing here creates or alters it.
Timestamps are the CLI's TEXT (``kernel.timeutil.to_db``). ``active_issue_id`` is a plain
column here (the foreign key to ``issues``, ``ON DELETE SET NULL``, lives in the table, not in
the model: this plugin never reaches into the issues plugin's models).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Session(Model):
    """A row of ``sessions``. ``agent_id`` is NULL for sessions the CLI started without an agent."""

    id = fields.BigIntField(primary_key=True)
    started_at = fields.TextField()
    ended_at = fields.TextField(null=True)
    active_issue_id = fields.BigIntField(null=True)
    handoff_notes = fields.TextField(null=True)
    last_action = fields.TextField(null=True)
    agent_id = fields.TextField(null=True)

    class Meta:
        table = "sessions"


__models__ = [Session]
