"""The sync domain: status, fetch, push and init of the hub, each published on the ``sync`` channel.

The git work is the hub owner's (:class:`plugins.hub.HubOwner`, shared with the agents, locks
and knowledge plugins); this service runs its operations for requests and for the auto-sync
worker, publishes every step (``sync_started``, ``sync_progress``, ``sync_completed`` or
``sync_failed``) and keeps what the remote contacts found in ``server_sync_state``.

**Concurrent requests wait.** A sync request that arrives while another hub operation of this
server runs waits for it, then runs (a second "fetch" gets a fresh fetch, never a 409 for
being second); after ``wait_seconds`` (default 120) it answers 409 ``hub busy``. Other
processes (the CLI, other server instances on the same checkout) are waited for through the
CLI's write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from kernel.api import APIError
from plugins.hub import HUB_BRANCH, HubOwner, RemoteContact, get_hub

from .config import SyncConfig
from .events import SyncCompleted, SyncFailed, SyncProgress, SyncStarted
from .state import SyncState

if TYPE_CHECKING:
    from kernel.app import Kernel

log = logging.getLogger("crosslink.sync")


def redact_url(url: str | None) -> str | None:
    """A remote URL without the credentials a URL may carry (``https://***@host/...``)."""
    if not url or "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class SyncService:
    """What the routes, the auto-sync worker and other plugins (``"sync"``) use."""

    def __init__(self, kernel: Kernel, config: SyncConfig) -> None:
        self.kernel = kernel
        self.config = config
        self.owner: HubOwner = get_hub(kernel)
        self.state = SyncState(kernel.db)
        #: The operation this instance is running now, for the status page.
        self.running: str | None = None
        self.owner.on_remote(self._record_contact)

    async def _record_contact(self, contact: RemoteContact) -> None:
        await self.state.record_contact(contact)

    # --- status ---------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """``GET /sync/status``: the contract's fields, then what a person needs."""
        owner = self.owner
        remote, remote_problem = self._remote_for_status()
        url = await owner.remote_url(remote) if remote_problem is None else None
        hub, knowledge = owner.hub, owner.knowledge
        counts = await hub.ahead_behind(remote) if remote_problem is None and hub.exists() else None
        knowledge_counts = (
            await knowledge.ahead_behind(remote) if remote_problem is None and knowledge.exists() else None
        )
        active, stale = await self._lock_counts()
        stored = await self.state.load()
        auto = self.config.interval_seconds
        return {
            "hub_initialized": owner.is_initialized(),
            "hub_branch": HUB_BRANCH,
            "remote": remote,
            "last_fetch_at": stored["last_fetch_at"],
            "active_lock_count": active,
            "stale_lock_count": stale,
            "hub_in_use": owner.in_use(),
            "hub_writes": self._hub_writes(),
            "hub_path": str(hub.path),
            "layout_version": owner.layout_version() if hub.exists() else None,
            "head": await hub.head(),
            "uncommitted_changes": len(await hub.dirty_paths()) if owner.in_use() else 0,
            "ahead": counts[0] if counts else None,
            "behind": counts[1] if counts else None,
            "remote_configured": url is not None,
            "remote_url": redact_url(url),
            "remote_problem": remote_problem,
            "remote_reachable": stored["remote_reachable"] if stored["last_attempt_remote"] == remote else None,
            "remote_has_hub": stored["remote_has_hub"] if stored["last_attempt_remote"] == remote else None,
            "last_attempt_at": stored["last_attempt_at"],
            "last_push_at": stored["last_push_at"],
            "last_error": stored["last_error"],
            "last_result": stored["last_result"],
            "in_progress": self.running,
            "knowledge": {
                "initialized": knowledge.exists(),
                "branch": knowledge.branch,
                "head": await knowledge.head(),
                "ahead": knowledge_counts[0] if knowledge_counts else None,
                "behind": knowledge_counts[1] if knowledge_counts else None,
            },
            "auto_sync": {"enabled": auto is not None, "interval_seconds": auto},
        }

    def _remote_for_status(self) -> tuple[str, str | None]:
        """The remote name, or the configured text and why it cannot be used."""
        try:
            return self.owner.remote_name(), None
        except APIError as exc:
            try:
                raw = self.kernel.hook_config.read_raw().get("tracker_remote")
            except APIError:
                raw = None
            return (raw if isinstance(raw, str) else str(raw)), exc.detail

    def _hub_writes(self) -> dict[str, bool]:
        """Whether the issues and locks services write through the hub (each says so with
        ``writes_through_hub()``; a service that is missing or does not say writes no hub)."""
        answer = {}
        for name in ("issues", "locks"):
            service = self.kernel.services.get(name)
            check = getattr(service, "writes_through_hub", None)
            try:
                answer[name] = bool(check()) if callable(check) else False
            except Exception:
                log.exception("sync: asking %s whether it writes through the hub failed", name)
                answer[name] = False
        return answer

    async def _lock_counts(self) -> tuple[int, int]:
        """Active and stale locks from the locks service; 0 and 0 without the locks plugin."""
        locks = self.kernel.services.get("locks")
        if locks is None:
            return 0, 0
        try:
            entries = await locks.list_locks()
        except Exception:  # a broken lock file must not break the status page
            log.exception("sync: counting locks failed")
            return 0, 0
        return len(entries), sum(1 for entry in entries if entry.get("is_stale"))

    # --- operations -------------------------------------------------------------------------

    async def fetch(self, remote: str | None = None, *, trigger: str = "api") -> dict[str, Any]:
        """Fetch the hub and the knowledge branch; the response's counts say what moved."""
        name = self.owner.remote_name(remote)

        async def work(progress):
            return await self.owner.fetch(name, wait=self.config.wait_seconds, progress=progress)

        return await self._run("fetch", name, trigger, work)

    async def push(self, remote: str | None = None, *, trigger: str = "api") -> dict[str, Any]:
        """Commit dirty hub state, fetch, push (with rebase-and-retry)."""
        name = self.owner.remote_name(remote)

        async def work(progress):
            return await self.owner.push(name, attempts=self.config.push_attempts, wait=self.config.wait_seconds,
                                         progress=progress)

        return await self._run("push", name, trigger, work)

    async def init(self, remote: str | None = None, *, trigger: str = "api") -> dict[str, Any]:
        """Create the hub checkout when it is missing."""
        name = self.owner.remote_name(remote)

        async def work(progress):
            return await self.owner.initialize(name)

        return await self._run("init", name, trigger, work)

    async def _run(self, operation: str, remote: str, trigger: str,
                   work: Callable[[Callable[[str, str | None], None]], Awaitable[Any]]) -> dict[str, Any]:
        publish = self.kernel.publish

        def progress(step: str, detail: str | None = None) -> None:
            publish(SyncProgress(operation=operation, step=step, detail=detail))

        publish(SyncStarted(operation=operation, remote=remote, trigger=trigger))
        self.running = operation
        try:
            report = await work(progress)
        except APIError as exc:
            await self.state.record_error(operation, exc.status, exc.detail, self.kernel.clock.now())
            publish(SyncFailed(operation=operation, remote=remote, trigger=trigger, status=exc.status,
                               error=exc.error, detail=exc.detail))
            raise
        except Exception as exc:
            log.exception("sync: %s failed", operation)
            detail = f"{type(exc).__name__}: {exc}"[:500]
            await self.state.record_error(operation, 500, detail, self.kernel.clock.now())
            publish(SyncFailed(operation=operation, remote=remote, trigger=trigger, status=500,
                               error="internal error", detail=detail))
            raise
        finally:
            self.running = None
        body = self._body(operation, report)
        await self.state.record_result(operation, body["message"], self.kernel.clock.now())
        counts = {key: value for key, value in body.items() if isinstance(value, int) and not isinstance(value, bool)}
        publish(SyncCompleted(operation=operation, remote=remote, trigger=trigger, message=body["message"],
                              counts=counts))
        return body

    @staticmethod
    def _body(operation: str, report: Any) -> dict[str, Any]:
        if operation == "init":
            return {"success": True, "message": report.message, "created": report.created, "source": report.source,
                    "remote": report.remote, "head": report.head}
        return {"success": True, "message": report.message, **report.as_dict()}
