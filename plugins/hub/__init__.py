"""Reading a crosslink hub checkout: a shared library, **not a plugin**.

The crosslink CLI keeps multi-agent state on the git branch ``crosslink/hub``, checked out as a
worktree at ``<repo>/.crosslink/.hub-cache``. This package reads that checkout (it never writes
it) and the kickoff worktrees under ``<repo>/.worktrees/``. It has no ``hooks.py`` and is not
listed in ``kernel.builtin_plugins``; plugins that need hub state (``agents``, ``locks``, later
``sync``) import it directly. Everything here is a pure function or a small class over paths
and timestamps: no kernel, no database.

* :mod:`.layout`      where things are, agent-id validation, careful JSON file reading
* :mod:`.heartbeats`  V1 ``heartbeats/<id>.json`` and V2 ``agents/<id>/heartbeat.json``, merged
* :mod:`.locks`       V1 ``locks.json`` and V2 ``locks/<id>.json``, merged
* :mod:`.worktrees`   ``.worktrees/<slug>`` discovery, branch and ``.kickoff-status``
* :mod:`.history`     heartbeat commits in the hub's git log (a short history)
* :mod:`.rules`       agent status thresholds and the one lock-staleness rule
* :mod:`.watch`       a change signal: filesystem notifications with a polling fallback
"""

from .heartbeats import Heartbeat, merge_heartbeats, read_heartbeats
from .layout import (
    AGENT_ID_PATTERN,
    AGENT_ID_SCHEMA,
    HUB_BRANCH,
    HUB_DIR_NAME,
    hub_dir,
    is_valid_agent_id,
)
from .history import heartbeat_log
from .locks import Lock, read_locks
from .rules import (
    ACTIVE_SECONDS,
    IDLE_SECONDS,
    LockStaleness,
    agent_status,
    lock_staleness,
    next_status_change,
)
from .watch import ChangeSignal, start_tracking
from .worktrees import Worktree, find_worktree, list_worktrees, read_branch, read_kickoff_status

__all__ = [
    "ACTIVE_SECONDS",
    "AGENT_ID_PATTERN",
    "AGENT_ID_SCHEMA",
    "ChangeSignal",
    "HUB_BRANCH",
    "HUB_DIR_NAME",
    "Heartbeat",
    "Lock",
    "IDLE_SECONDS",
    "LockStaleness",
    "Worktree",
    "agent_status",
    "find_worktree",
    "heartbeat_log",
    "hub_dir",
    "is_valid_agent_id",
    "list_worktrees",
    "lock_staleness",
    "merge_heartbeats",
    "next_status_change",
    "read_branch",
    "start_tracking",
    "read_heartbeats",
    "read_kickoff_status",
    "read_locks",
]
