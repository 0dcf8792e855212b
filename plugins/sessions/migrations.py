"""This plugin's migrations: one index of its own on the CLI's table (never a change to it).

``server_idx_sessions_agent`` serves "the newest open session of this agent" and the history
listing; the crosslink CLI ignores it (extra indexes are allowed on its tables).
"""

from __future__ import annotations

from kernel import Migration

AGENT_INDEX = "CREATE INDEX IF NOT EXISTS server_idx_sessions_agent ON sessions (agent_id, id)"

MIGRATIONS = [Migration("0001_agent_index", sqlite=[AGENT_INDEX], postgres=[AGENT_INDEX])]
