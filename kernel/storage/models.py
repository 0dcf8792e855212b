"""The kernel's own Tortoise model: the ledger of applied migrations."""

from tortoise import fields
from tortoise.models import Model


class AppliedMigration(Model):
    """One migration that ran on this database (table ``server_migrations``)."""

    id = fields.IntField(primary_key=True)
    app = fields.TextField()
    name = fields.TextField()
    applied_at = fields.TextField()

    class Meta:
        table = "server_migrations"
        unique_together = (("app", "name"),)


__models__ = [AppliedMigration]
