"""A short heartbeat history from the hub's git log.

The hub keeps only each agent's newest heartbeat file, but every V1 heartbeat the CLI writes is
committed as ``heartbeat: <agent> at <YYYY-MM-DDTHH:MM:SSZ>``. Reading the subjects of the last
few hundred commits gives a real history without storing anything. Only constant arguments are
passed to git (through the one runner, :mod:`.git`); the agent id is matched in Python
afterwards.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

from kernel.timeutil import parse

from .git import Git, GitError
from .layout import is_plain_dir, is_valid_agent_id

log = logging.getLogger("crosslink.hub")

_SUBJECT = re.compile(r"^heartbeat: (\S+) at (\S+)\s*$")
GIT_TIMEOUT_SECONDS = 5.0


async def heartbeat_log(git: Git, hub: Path, max_commits: int = 300) -> dict[str, list[datetime]]:
    """Heartbeat times per agent from the newest ``max_commits`` hub commits, newest first.

    Returns ``{}`` when the checkout is missing, git is unavailable or too slow.
    """
    if not is_plain_dir(hub):
        return {}
    try:
        result = await git.run(
            hub, "log", f"-n{int(max_commits)}", "--format=%s", "HEAD", "--",
            check=False, timeout=GIT_TIMEOUT_SECONDS,
        )
    except GitError as exc:  # timed out
        log.warning("git log in %s: %s; heartbeat history skipped", hub, exc)
        return {}
    except OSError as exc:
        log.warning("cannot run git in %s: %s", hub, exc)
        return {}
    if not result.ok:
        return {}
    history: dict[str, list[datetime]] = {}
    for line in result.stdout.splitlines():
        match = _SUBJECT.match(line)
        if not match or not is_valid_agent_id(match.group(1)):
            continue
        moment = parse(match.group(2))
        if moment is not None:
            history.setdefault(match.group(1), []).append(moment)
    return history
