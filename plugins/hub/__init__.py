"""The crosslink hub checkout and the knowledge branch: a shared library with one owner, **not a plugin**.

The crosslink CLI keeps multi-agent state on the git branch ``crosslink/hub``, checked out as a
worktree at ``<repo>/.crosslink/.hub-cache``, and knowledge pages on ``crosslink/knowledge`` at
``.crosslink/.knowledge-cache``. This package reads those checkouts and, through its one owner,
changes them. It has no ``hooks.py`` and is not listed in ``kernel.builtin_plugins``; plugins
that need the hub (``agents``, ``locks``, ``knowledge``, ``sync``) import it and share one
:class:`HubOwner`, made on first use by :func:`get_hub` (see :mod:`.owner`).

* :mod:`.layout`      where things are, agent-id validation, careful JSON file reading
* :mod:`.heartbeats`  V1 ``heartbeats/<id>.json`` and V2 ``agents/<id>/heartbeat.json``, merged
* :mod:`.locks`       V1 ``locks.json`` and V2 ``locks/<id>.json``, merged
* :mod:`.lockwrite`   lock claims, releases and steals written as the CLI writes them (V1, V2)
* :mod:`.eventlog`    V2 ``agents/<id>/events.log``: envelopes, order, chrono timestamps
* :mod:`.compaction`  the CLI's compaction of lock events into ``checkpoint/`` and ``locks/``
* :mod:`.worktrees`   ``.worktrees/<slug>`` discovery, branch and ``.kickoff-status``
* :mod:`.rules`       agent status thresholds and the one lock-staleness rule
* :mod:`.git`         the one git runner (timeouts, clean environment, validated names)
* :mod:`.history`     heartbeat commits in the hub's git log (a short history)
* :mod:`.writelock`   the CLI's ``.hub-write-lock`` PID-file protocol
* :mod:`.checkout`    one worktree of one branch: health check, commit, rebase, push
* :mod:`.create`      creating the hub checkout as the CLI v0.8 does
* :mod:`.owner`       the one owner: serialised fetch, push, write, init; the watcher; notifications
* :mod:`.reports`     what operations report and what subscribers are told
* :mod:`.announced`   what a watcher last announced, kept in the database (exactly-once events)
* :mod:`.watch`       a change signal: filesystem notifications with a polling fallback
* :mod:`.errors`      the API errors of hub operations (what happened, what to do)
"""

from .announced import AnnouncedState, state_table_migration, view_is_behind
from .checkout import BranchUpdate, Checkout
from .git import Git, GitError, InvalidGitName, check_branch_name, check_remote_name
from .heartbeats import Heartbeat, merge_heartbeats, read_heartbeats
from .history import heartbeat_log
from .layout import (
    AGENT_ID_PATTERN,
    AGENT_ID_SCHEMA,
    HUB_BRANCH,
    HUB_DIR_NAME,
    hub_dir,
    is_valid_agent_id,
)
from .locks import Lock, read_locks
from .owner import HubOwner, get_hub
from .reports import (
    FetchReport,
    HubChange,
    HubMoved,
    InitReport,
    PushReport,
    RemoteContact,
    WriteReport,
)
from .rules import (
    ACTIVE_SECONDS,
    IDLE_SECONDS,
    LockStaleness,
    agent_status,
    lock_staleness,
    next_status_change,
)
from .watch import ChangeSignal
from .worktrees import Worktree, find_worktree, list_worktrees, read_branch, read_kickoff_status

__all__ = [
    "ACTIVE_SECONDS",
    "AGENT_ID_PATTERN",
    "AGENT_ID_SCHEMA",
    "AnnouncedState",
    "BranchUpdate",
    "ChangeSignal",
    "Checkout",
    "FetchReport",
    "Git",
    "GitError",
    "HUB_BRANCH",
    "HUB_DIR_NAME",
    "Heartbeat",
    "HubChange",
    "HubMoved",
    "HubOwner",
    "IDLE_SECONDS",
    "InitReport",
    "InvalidGitName",
    "Lock",
    "LockStaleness",
    "PushReport",
    "RemoteContact",
    "Worktree",
    "WriteReport",
    "agent_status",
    "check_branch_name",
    "check_remote_name",
    "find_worktree",
    "get_hub",
    "heartbeat_log",
    "hub_dir",
    "is_valid_agent_id",
    "list_worktrees",
    "lock_staleness",
    "merge_heartbeats",
    "next_status_change",
    "read_branch",
    "read_heartbeats",
    "read_kickoff_status",
    "read_locks",
    "state_table_migration",
    "view_is_behind",
]
