"""Versioned schema changes of the locks plugin (app label ``locks``).

``server_locks`` has no foreign key to ``issues``: the crosslink CLI rebuilds its tables when
it hydrates from the hub, and a cascade would drop locks silently. Locks of deleted or closed
issues are released by the plugin instead, with an event.
"""

from kernel import Migration
from plugins.hub import state_table_migration

MIGRATIONS = [
    Migration(
        "0001_server_locks",
        sqlite=[
            """CREATE TABLE server_locks (
                issue_id INTEGER PRIMARY KEY,
                agent_id TEXT NOT NULL,
                branch TEXT,
                claimed_at TEXT NOT NULL,
                token INTEGER NOT NULL
            )""",
            "CREATE INDEX idx_server_locks_agent ON server_locks(agent_id)",
            """CREATE TABLE server_lock_counter (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                value INTEGER NOT NULL
            )""",
            "INSERT INTO server_lock_counter (id, value) VALUES (1, 0)",
        ],
        postgres=[
            """CREATE TABLE server_locks (
                issue_id BIGINT PRIMARY KEY,
                agent_id TEXT NOT NULL,
                branch TEXT,
                claimed_at TEXT NOT NULL,
                token BIGINT NOT NULL
            )""",
            "CREATE INDEX idx_server_locks_agent ON server_locks(agent_id)",
            """CREATE TABLE server_lock_counter (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                value BIGINT NOT NULL
            )""",
            "INSERT INTO server_lock_counter (id, value) VALUES (1, 0)",
        ],
    ),
    # what the hub-lock watcher last announced (exactly-once events across instances)
    state_table_migration("0002_server_locks_announced", "server_locks_announced"),
]
