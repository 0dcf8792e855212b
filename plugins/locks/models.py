"""The locks plugin's own tables: the server's locks and the fencing-token counter."""

from tortoise import fields
from tortoise.models import Model


class ServerLock(Model):
    """A lock claimed through the API (table ``server_locks``): one row per locked issue.

    ``token`` is the fencing token: it grows with every successful claim or steal, across all
    issues, in commit order. ``claimed_at`` is RFC 3339 text as the CLI stores timestamps.
    """

    issue_id = fields.BigIntField(primary_key=True, generated=False)
    agent_id = fields.TextField()
    branch = fields.TextField(null=True)
    claimed_at = fields.TextField()
    token = fields.BigIntField()

    class Meta:
        table = "server_locks"


class LockCounter(Model):
    """The single row (``id = 1``) holding the last fencing token handed out."""

    id = fields.IntField(primary_key=True, generated=False)
    value = fields.BigIntField()

    class Meta:
        table = "server_lock_counter"


__models__ = [ServerLock, LockCounter]
