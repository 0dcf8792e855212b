"""The agents plugin's own table: heartbeats posted to the server (a short history per agent)."""

from tortoise import fields
from tortoise.models import Model


class ServerHeartbeat(Model):
    """One ``POST /agents/:id/heartbeat`` (table ``server_agent_heartbeats``).

    ``timestamp`` is the server's clock at receipt, stored as the CLI stores timestamps
    (RFC 3339 text with ``+00:00``). Only the newest ``history_size`` rows per agent are kept.
    """

    id = fields.BigIntField(primary_key=True)
    agent_id = fields.TextField()
    timestamp = fields.TextField()
    machine_id = fields.TextField(null=True)
    description = fields.TextField(null=True)
    active_issue_id = fields.BigIntField(null=True)

    class Meta:
        table = "server_agent_heartbeats"


__models__ = [ServerHeartbeat]
