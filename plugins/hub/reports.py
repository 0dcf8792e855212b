"""What the hub owner's operations report, and what it tells the plugins that listen to it.

* :class:`HubMoved`: "the hub checkout may have changed" (the notification subscribers get).
* :class:`RemoteContact`: the outcome of one attempt to reach the remote (for status pages).
* :class:`HubChange`: what one hub write changes (given by the writer's ``prepare``).
* :class:`FetchReport`, :class:`PushReport`, :class:`WriteReport`, :class:`InitReport`: what
  an operation did, with the counts a message is made of.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .checkout import BranchUpdate


@dataclass(frozen=True)
class HubMoved:
    """The hub checkout changed, or may have: re-read it.

    :ivar reason: ``watch`` (files changed on disk: the CLI, a person), ``fetch``, ``push``,
        ``write``, ``init`` or ``rescan``.
    :ivar before: HEAD before the operation (``None`` when unknown, e.g. for ``watch``).
    :ivar after: HEAD afterwards (``None``: no checkout, or unknown).
    """

    reason: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class RemoteContact:
    """One attempt to reach the remote.

    :ivar reachable: the remote answered.
    :ivar has_hub: the remote has ``crosslink/hub`` (``None``: not known from this attempt).
    :ivar fetched: the attempt fetched successfully (what ``last_fetch_at`` records).
    """

    operation: str
    remote: str
    at: datetime
    reachable: bool
    configured: bool = True
    has_hub: bool | None = None
    fetched: bool = False
    pushed: bool = False
    error: str | None = None


@dataclass(frozen=True)
class HubChange:
    """One hub write: files to put in place (relative path -> bytes, ``None`` removes it,
    a directory is removed with everything in it) and the commit message. ``amend``: fold the
    change into the checkout's last commit (the CLI's ``rewrite_as_offline``), never pushed."""

    files: dict[str, bytes | None]
    message: str
    amend: bool = False


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


@dataclass
class MovedCounts:
    """What a fetch brought: agents with a new heartbeat, issues whose lock holder changed,
    knowledge pages changed, hub commits received."""

    heartbeats: int = 0
    lock_changes: int = 0
    knowledge_pages: int = 0
    commits: int = 0

    def sentence(self) -> str:
        parts = [
            plural(self.heartbeats, "new heartbeat"),
            plural(self.lock_changes, "lock change"),
            plural(self.knowledge_pages, "knowledge page"),
        ]
        return ", ".join(parts)


@dataclass
class FetchReport:
    """What ``fetch`` did."""

    remote: str
    hub: BranchUpdate
    knowledge: BranchUpdate | None
    counts: MovedCounts
    committed_local_changes: bool = False
    repaired: list[str] = field(default_factory=list)
    remote_has_hub: bool = True

    @property
    def message(self) -> str:
        if not self.remote_has_hub:
            return (f"The remote '{self.remote}' has no crosslink/hub branch yet; nothing to fetch "
                    "(POST /api/v1/sync/push publishes this hub)")
        text = f"Fetched {self.counts.sentence()}"
        if self.hub.local and self.hub.action == "rebased":
            text += f"; {plural(self.hub.local, 'local commit')} rebased on top"
        if self.knowledge is not None and self.knowledge.action == "kept-dirty":
            text += "; the knowledge worktree has uncommitted changes and was not updated"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "remote_has_hub": self.remote_has_hub,
            **asdict(self.counts),
            "committed_local_changes": self.committed_local_changes,
            "repaired": list(self.repaired),
            "hub": _update(self.hub),
            "knowledge": _update(self.knowledge),
        }


@dataclass
class PushReport:
    """What ``push`` did: the fetch before it, then the pushes."""

    fetch: FetchReport
    pushed_commits: int = 0
    knowledge_pushed_commits: int = 0
    attempts: int = 0

    @property
    def remote(self) -> str:
        return self.fetch.remote

    @property
    def message(self) -> str:
        done = []
        if self.pushed_commits:
            done.append(f"{plural(self.pushed_commits, 'commit')} to {self.remote}/crosslink/hub")
        if self.knowledge_pushed_commits:
            done.append(f"{plural(self.knowledge_pushed_commits, 'commit')} to {self.remote}/crosslink/knowledge")
        if not done:
            text = f"Nothing to push: {self.remote} already has every local commit"
        else:
            start = "Committed local changes and pushed" if self.fetch.committed_local_changes else "Pushed"
            text = f"{start} {' and '.join(done)}"
            if self.attempts > 1:
                text += f" (after {plural(self.attempts - 1, 'retry', 'retries')})"
        moved = self.fetch.counts
        if moved.commits or moved.knowledge_pages:
            text += f"; fetched {moved.sentence()}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.fetch.as_dict(),
            "pushed_commits": self.pushed_commits,
            "knowledge_pushed_commits": self.knowledge_pushed_commits,
            "attempts": self.attempts,
        }


@dataclass
class WriteReport:
    """What ``write`` did.

    :ivar commit: the commit made (``None``: the change altered nothing).
    :ivar pushed: it reached the remote.
    :ivar offline: the remote could not be reached (or none is configured); the commit is local.
    :ivar gave_up: every push attempt was rejected (others kept pushing first); the commit is local.
    """

    commit: str | None
    pushed: bool = False
    offline: bool = False
    gave_up: bool = False
    attempts: int = 0
    remote: str | None = None
    detail: str | None = None


@dataclass
class InitReport:
    """What ``initialize`` did: ``created`` is ``False`` when the checkout already existed;
    ``source`` is ``existing``, ``local-branch``, ``remote`` or ``new``."""

    created: bool
    source: str
    remote: str | None
    head: str | None

    @property
    def message(self) -> str:
        return {
            "existing": "The hub is already initialized",
            "local-branch": "Checked out the existing local crosslink/hub branch",
            "remote": f"Attached to {self.remote}/crosslink/hub",
            "new": "Created a new crosslink/hub branch (layout version 2)"
            + (f"; POST /api/v1/sync/push publishes it to {self.remote}" if self.remote else ""),
        }[self.source]


def _update(update: BranchUpdate | None) -> dict[str, Any] | None:
    if update is None:
        return None
    return asdict(update)


