"""Tortoise models over the crosslink CLI's tables (app label ``issues``).

The kernel creates these tables exactly as the CLI lays them out; nothing here creates or alters
them. Timestamps are the CLI's TEXT (``kernel.timeutil.to_db``), not datetimes. The tables with
a composite primary key (``labels``, ``dependencies``, ``milestone_issues``) have no single
primary key, which Tortoise requires, so the plugin reaches them with SQL through ``kernel.db``
(:mod:`plugins.issues.store`), as it does wherever one statement beats several ORM round trips.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Issue(Model):
    """A row of ``issues``. ``id`` may be negative (the CLI's offline local issues)."""

    id = fields.BigIntField(primary_key=True)
    title = fields.TextField()
    description = fields.TextField(null=True)
    status = fields.TextField(default="open")
    priority = fields.TextField(default="medium")
    parent_id = fields.BigIntField(null=True)
    created_at = fields.TextField()
    updated_at = fields.TextField()
    closed_at = fields.TextField(null=True)
    uuid = fields.TextField(null=True)
    created_by = fields.TextField(null=True)

    class Meta:
        table = "issues"


class Comment(Model):
    """A row of ``comments``; a legacy NULL ``kind`` reads as ``note``."""

    id = fields.BigIntField(primary_key=True)
    issue_id = fields.BigIntField()
    content = fields.TextField()
    created_at = fields.TextField()
    uuid = fields.TextField(null=True)
    author = fields.TextField(null=True)
    kind = fields.TextField(null=True, default="note")
    trigger_type = fields.TextField(null=True)
    intervention_context = fields.TextField(null=True)
    driver_key_fingerprint = fields.TextField(null=True)

    class Meta:
        table = "comments"


class Milestone(Model):
    """A row of ``milestones``; its issues are linked through ``milestone_issues``."""

    id = fields.BigIntField(primary_key=True)
    name = fields.TextField()
    description = fields.TextField(null=True)
    status = fields.TextField(default="open")
    created_at = fields.TextField()
    closed_at = fields.TextField(null=True)
    uuid = fields.TextField(null=True)

    class Meta:
        table = "milestones"


__models__ = [Issue, Comment, Milestone]
