"""Locks through the hub: claims, releases and steals of the API written as the CLI writes them.

When the repository's hub is in use (``.crosslink/.hub-cache`` is a worktree of
``crosslink/hub``), a lock the API grants must be one every CLI agent and every other machine
sees, or two agents would both believe they hold one issue. So, through the server's one hub
owner (:func:`plugins.hub.get_hub`, under the CLI's ``.hub-write-lock``):

1. :meth:`HubLockWriter.refresh`: fetch and integrate the remote (when one is reachable), so
   the decision is taken on what every machine has pushed;
2. :meth:`HubLockWriter.claim` / :meth:`release`: the hub owner's ``write`` with a ``prepare``
   from :mod:`plugins.hub.lockwrite` (V1 ``locks.json`` or V2 lock events and compaction, the
   layout the hub uses), committed with the CLI's messages and pushed; a rejected push is
   rebased and prepared again, where a holder that arrived meanwhile makes it a refusal.

Outcomes:

* pushed: the lock is on the remote; the answer's ``hub`` says ``pushed: true``;
* **offline** (no remote configured, or it cannot be reached): the commit stays in the local
  checkout, the lock is granted, the answer says ``pushed: false, offline: true``, and the next
  successful push (``POST /sync/push``, auto-sync, or the next hub write) publishes it, as the
  CLI's ``LocalOnly`` does. Until then other machines cannot see it;
* any other push failure (the remote refused it outright, git failed, the remote kept moving
  for every attempt): the commit is dropped, the checkout left as it was, the lock not granted,
  and the error says why (:func:`push_failed`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.api import APIError
from plugins.hub import HubOwner
from plugins.hub.eventlog import HubFormatError
from plugins.hub.lockwrite import CLI_AGENT_ID, HeldByOther, LockWrite, claim, release

if TYPE_CHECKING:
    from kernel.app import Kernel

log = logging.getLogger("crosslink.locks")

#: Errors of a fetch that mean "work offline" rather than "stop".
OFFLINE_ERRORS = ("remote unreachable", "remote missing")


@dataclass
class HubWrite:
    """What one lock operation did on the hub (the answer's ``hub`` object)."""

    layout: int
    written: bool = False
    commit: str | None = None
    pushed: bool = False
    offline: bool = False
    detail: str | None = None
    claimed_at: datetime | None = None
    outcome: str = "claimed"

    def as_dict(self) -> dict[str, Any]:
        return {"layout_version": self.layout, "written": self.written, "commit": self.commit,
                "pushed": self.pushed, "offline": self.offline, "detail": self.detail}


def check_cli_agent_id(agent_id: str) -> str:
    """The agent id, when the crosslink CLI would accept it (it names the agent on the hub and,
    in the V2 layout, its directory); 400 otherwise."""
    if not CLI_AGENT_ID.match(agent_id):
        raise APIError(
            400,
            f"agent_id: '{agent_id}' cannot be written to the hub, whose crosslink CLI accepts agent ids of 3 to "
            "64 letters, digits, '_' or '-'",
            fields=[{"field": "agent_id", "message": "not an agent id the crosslink CLI accepts"}],
        )
    return agent_id


def format_error(exc: HubFormatError) -> APIError:
    """409: a hub file the CLI could not read either; nothing was written."""
    return APIError(409, f"The hub's lock state cannot be read: {exc}. Nothing was written; repair the hub with "
                    "the crosslink CLI (`crosslink sync`, `crosslink integrity`).", error="hub unreadable")


def push_failed(issue_id: int, detail: str | None) -> APIError:
    """409: every push attempt was rejected; the commit was dropped, nothing was granted."""
    return APIError(
        409,
        f"The lock on issue #{issue_id} could not be pushed: the remote rejected every attempt ({detail or 'rejected'})"
        "; the commit was dropped and the lock not granted. Try again.",
        error="push rejected",
        operation="lock",
    )


class HubLockWriter:
    """Writes the API's lock operations to the hub checkout through the hub owner."""

    def __init__(self, kernel: Kernel, owner: HubOwner) -> None:
        self.kernel = kernel
        self.owner = owner

    def active(self) -> bool:
        """Locks go through the hub: its checkout is a worktree of crosslink/hub."""
        return self.owner.in_use()

    async def refresh(self) -> str | None:
        """Fetch and integrate the remote's hub; ``None`` when done, else why not (offline)."""
        try:
            await self.owner.fetch(knowledge=False)
        except APIError as exc:
            if exc.error in OFFLINE_ERRORS:
                return exc.detail
            raise
        return None

    async def claim(self, issue_id: int, agent_id: str, branch: str | None, *,
                    steal_from: str | None = None) -> HubWrite:
        """Claim (or steal from ``steal_from``) in the hub; :class:`HeldByOther` when another holds it."""
        now = self.kernel.clock.now()

        def build(path, layout):
            return claim(path, layout, agent_id, issue_id, branch, now, steal_from=steal_from)

        return await self._write(issue_id, build)

    async def release(self, issue_id: int, agent_id: str) -> HubWrite:
        """Release in the hub; :class:`HeldByOther` when another agent holds it there."""
        now = self.kernel.clock.now()

        def build(path, layout):
            return release(path, layout, agent_id, issue_id, now)

        return await self._write(issue_id, build)

    async def _write(self, issue_id: int, build) -> HubWrite:
        layout = self.owner.layout_version()
        result = HubWrite(layout)
        seen: list[LockWrite] = []

        async def prepare(path, attempt):
            prepared: LockWrite = await asyncio.to_thread(build, path, self.owner.layout_version())
            seen.append(prepared)
            return prepared.change

        try:
            report = await self.owner.write(prepare, keep_rejected=False)
        except HubFormatError as exc:
            raise format_error(exc) from None
        last = seen[-1] if seen else None
        result.claimed_at = last.claimed_at if last else None
        result.outcome = last.outcome if last else "claimed"
        if report.gave_up:
            raise push_failed(issue_id, report.detail)
        result.written = report.commit is not None
        result.commit = report.commit
        result.pushed = report.pushed
        result.offline = report.offline
        if report.offline:
            result.detail = (f"the remote could not be reached ({report.detail}); the lock is committed in the "
                             "local hub checkout only and is pushed by the next successful push")
        return result


__all__ = ["HeldByOther", "HubLockWriter", "HubWrite", "check_cli_agent_id"]
