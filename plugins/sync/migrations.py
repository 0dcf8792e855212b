"""Versioned schema changes of the sync plugin (app label ``sync``).

``server_sync_state`` is one row: what the last contacts with the remote found, so that
``GET /sync/status`` answers the same on every instance of a team server and after a restart.
"""

from kernel import Migration

_COLUMNS = """
    remote TEXT,
    last_fetch_at TEXT,
    last_push_at TEXT,
    last_attempt_at TEXT,
    last_operation TEXT,
    remote_configured INTEGER,
    remote_reachable INTEGER,
    remote_has_hub INTEGER,
    last_error TEXT,
    last_error_status INTEGER,
    last_error_operation TEXT,
    last_error_at TEXT,
    last_result_operation TEXT,
    last_result_success INTEGER,
    last_result_message TEXT,
    last_result_at TEXT
"""

MIGRATIONS = [
    Migration(
        "0001_server_sync_state",
        sqlite=[
            f"CREATE TABLE server_sync_state (id INTEGER PRIMARY KEY CHECK (id = 1), {_COLUMNS})",
            "INSERT INTO server_sync_state (id) VALUES (1)",
        ],
        postgres=[
            f"CREATE TABLE server_sync_state (id INTEGER PRIMARY KEY CHECK (id = 1), {_COLUMNS})",
            "INSERT INTO server_sync_state (id) VALUES (1)",
        ],
    ),
]
