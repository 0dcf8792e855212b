"""Who the server is on the hub: its own agent id, as the crosslink CLI would accept it.

The CLI's writer puts an agent id in every commit message (``<agent>: create issue: ... at
<time>``), in ``created_by`` of the issues it creates and in the locks it claims; it promotes
only the offline issues whose ``created_by`` is its own id. The server therefore writes under
an id of its own, never a user's: ``[hub] agent_id`` in ``.crosslink/server.toml``, or
``crosslink-server-<host>`` by default. It follows the CLI's rule for agent ids (3 to 64 of
``A-Z a-z 0-9 _ -``), so the CLI reads what the server writes.
"""

from __future__ import annotations

import re
import socket

from kernel import StartupError

#: The crosslink CLI's agent id rule (``identity.rs``): 3-64 of letters, digits, ``_`` and ``-``.
CLI_AGENT_ID = re.compile(r"[A-Za-z0-9_-]{3,64}")
DEFAULT_PREFIX = "crosslink-server-"


def default_agent_id(hostname: str | None = None) -> str:
    """``crosslink-server-<host>``, the host name reduced to what an agent id may hold."""
    host = re.sub(r"[^A-Za-z0-9_-]+", "-", (hostname or socket.gethostname()).split(".")[0]).strip("-")
    return (DEFAULT_PREFIX + (host or "host"))[:64]


def agent_id_from(section: dict) -> str:
    """The server's agent id from the ``[hub]`` table (``agent_id``), checked as the CLI would."""
    unknown = sorted(set(section) - {"agent_id"})
    if unknown:
        raise StartupError(f"[hub] has unknown key(s): {', '.join(unknown)}")
    value = section.get("agent_id", default_agent_id())
    if not isinstance(value, str) or not CLI_AGENT_ID.fullmatch(value):
        raise StartupError(
            f"[hub] agent_id {value!r} is not an agent id the crosslink CLI accepts: "
            "3 to 64 letters, digits, '_' or '-'"
        )
    return value
