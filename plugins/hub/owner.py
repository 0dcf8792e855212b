"""The one owner of the crosslink checkouts: the hub (``crosslink/hub`` at ``.crosslink/.hub-cache``)
and the knowledge branch (``crosslink/knowledge`` at ``.crosslink/.knowledge-cache``).

**One object per server.** :func:`get_hub` makes it the first time a plugin asks
(``kernel.services.get_or_create("hub", ...)``) and hands every later caller the same one; no
plugin has to be enabled for it, so ``--plugins issues,locks`` works as before. The agents,
locks, knowledge and sync plugins (and any other, such as a writer of issues through the hub)
all go through it, so there is one git runner, one set of locks and one watcher.

**Serialised changes.** Every operation that changes the hub checkout runs inside
:meth:`HubOwner.exclusive`: first the owner's in-process lock (operations of this server wait
for each other), then the crosslink CLI's own ``.hub-write-lock`` PID file (:mod:`.writelock`,
the CLI waits for the server and the server for the CLI, and for other server processes on the
same checkout), then the CLI's health check (:meth:`.checkout.Checkout.health_check`), so what
a crash left behind never wedges later calls. The knowledge checkout has an in-process lock of
its own, which the knowledge plugin holds for its page writes; fetch and push take it after the
hub's. Operations run to their end even when the request that asked for them is cancelled (a
client that disconnects mid-rebase must not leave a half-done rebase behind).

**Operations** (each returns a report from :mod:`.reports`; errors are API errors from
:mod:`.errors` that say what to do):

* :meth:`HubOwner.fetch`: commit dirty hub state (as the CLI does), fetch ``crosslink/*`` from
  the remote in one ``git fetch``, bring each checkout to the remote's branch (fast-forward, or
  rebase of the local commits; a conflict is aborted and the local commits kept);
* :meth:`HubOwner.push`: the same fetch, then push each branch that has local commits; a
  rejection (someone pushed in between) is answered by fetching, rebasing and retrying;
* :meth:`HubOwner.write`: one change of hub files as the CLI's ``write_commit_push`` makes it:
  write, ``git add``, commit, push, and on a rejection drop the commit, pull with rebase and
  run ``prepare`` again (it re-reads counters), a bounded number of times;
* :meth:`HubOwner.initialize`: create the checkout (:mod:`.create`).

**Notifications.** :meth:`HubOwner.subscribe` registers a callback told :class:`HubMoved` after
every operation of this instance and whenever the watcher sees the checkout change on disk (the
CLI wrote, someone ran git). The watcher is one kernel worker, ``hub-watch``, a singleton (on a
team server one instance watches); it starts with the first subscription. Subscribers that
publish events keep what they announced in the database (:mod:`.announced`), so a change is
announced once however many instances notice it. :meth:`HubOwner.on_remote` registers a
callback told every :class:`RemoteContact` (the sync plugin keeps ``last_fetch_at`` with it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kernel import Worker
from kernel.filelock import FileLock
from kernel.settings import CROSSLINK_DIR

from . import errors
from .checkout import DIRTY_MESSAGE, BranchUpdate, Checkout, DivergedError, is_offline_error
from .create import create_checkout
from .git import Git, GitError, InvalidGitName, check_remote_name
from .heartbeats import read_heartbeats
from .identity import agent_id_from
from .layout import HUB_BRANCH, HUB_DIR_NAME, read_text
from .locks import read_locks
from .reports import (
    FetchReport,
    HubChange,
    HubMoved,
    InitReport,
    MovedCounts,
    PushReport,
    RemoteContact,
    WriteReport,
)
from .watch import ChangeSignal
from .writelock import LOCK_FILE_NAME, HubWriteLock, pid_is_alive, read_holder

if TYPE_CHECKING:
    from kernel.app import Kernel
    from kernel.workers import WorkerContext

log = logging.getLogger("crosslink.hub")

SERVICE_NAME = "hub"
KNOWLEDGE_BRANCH = "crosslink/knowledge"
KNOWLEDGE_DIR_NAME = ".knowledge-cache"
#: The cross-process lock of knowledge changes (in `.crosslink/`, beside the checkout).
KNOWLEDGE_LOCK_FILE = ".knowledge-write.lock"
WATCH_WORKER = "hub-watch"
DEFAULT_REMOTE = "origin"
#: How long an operation waits for another one of this server before answering "busy".
DEFAULT_WAIT_SECONDS = 120.0
DEFAULT_PUSH_ATTEMPTS = 3
#: A leftover in the knowledge checkout is only removed once this old (no CLI lock guards it).
KNOWLEDGE_STALE_SECONDS = 60.0
#: The watcher waits at most this long for a CLI holding the write lock before reading anyway.
SETTLE_SECONDS = 5.0
#: Fetch every ``crosslink/*`` branch in one round trip; ``--prune`` drops the tracking refs of
#: branches the remote no longer has.
FETCH_REFSPEC = "+refs/heads/crosslink/*:refs/remotes/{remote}/crosslink/*"

T = TypeVar("T")
Progress = Callable[[str, str | None], None]
Prepare = Callable[[Path, int], Awaitable[HubChange | None]]


def get_hub(kernel: Kernel) -> HubOwner:
    """The server's one :class:`HubOwner` (made on first use)."""
    return kernel.services.get_or_create(SERVICE_NAME, lambda: HubOwner(kernel), owner="hub")


def _no_progress(step: str, detail: str | None = None) -> None:
    return None


@dataclass
class _Subscriber:
    callback: Callable[[HubMoved], Awaitable[Any]]
    poll_seconds: float
    watch_files: bool


class HubOwner:
    """The hub and knowledge checkouts, their locks, operations, watcher and notifications."""

    def __init__(self, kernel: Kernel, *, git: Git | None = None) -> None:
        self.kernel = kernel
        self.git = git or Git()
        root: Path = kernel.main_repo_root
        crosslink = root / CROSSLINK_DIR
        self.hub = Checkout(root, crosslink / HUB_DIR_NAME, HUB_BRANCH, self.git, exclude=(LOCK_FILE_NAME,))
        self.knowledge = Checkout(
            root, crosslink / KNOWLEDGE_DIR_NAME, KNOWLEDGE_BRANCH, self.git, stale_seconds=KNOWLEDGE_STALE_SECONDS
        )
        #: Hub operations of this process, one at a time (the CLI lock orders processes).
        self.hub_lock = asyncio.Lock()
        #: Knowledge-branch changes, one at a time (page writes, fetch, push), also across server
        #: processes serving this directory (a file lock beside the checkout, not inside it).
        self.knowledge_lock = FileLock(crosslink / KNOWLEDGE_LOCK_FILE)
        #: Who this checkout is, for announced state shared between hosts.
        self.origin = f"{socket.gethostname()}:{self.hub.path.resolve()}"
        #: The server's own agent id on the hub (``[hub] agent_id``; see :mod:`.identity`).
        self.agent_id = agent_id_from(kernel.settings.sections.get("hub", {}))
        kernel.keep_out_of_git(f"{HUB_DIR_NAME}/", f"{KNOWLEDGE_DIR_NAME}/", KNOWLEDGE_LOCK_FILE)
        self._subscribers: dict[str, _Subscriber] = {}
        self._remote_listeners: list[Callable[[RemoteContact], Awaitable[Any]]] = []
        self._operations: set[asyncio.Task] = set()
        self._watch_added = False
        #: The checkout's fingerprint when subscribers were last told (see :meth:`_fingerprint`).
        self._announced: tuple | None = None

    # --- configuration -----------------------------------------------------------------------

    def remote_name(self, override: str | None = None) -> str:
        """The remote to talk to: ``override`` (a request's ``remote``) or ``tracker_remote`` from
        hook-config.json (default ``origin``); 400 when it is not a plain remote name."""
        try:
            if override is not None:
                return check_remote_name(override, "remote")
            raw = self.kernel.hook_config.read_raw().get("tracker_remote", DEFAULT_REMOTE)
            return check_remote_name(raw, "tracker_remote")
        except InvalidGitName as exc:
            raise errors.bad_name(exc) from None

    async def remote_url(self, remote: str) -> str | None:
        """The configured URL of ``remote`` (a checked name), or ``None`` when it is not configured."""
        result = await self.git.run(self.hub.repo_root, "config", "--get", f"remote.{remote}.url", check=False)
        return result.stdout.strip() or None if result.ok else None

    # --- reading -------------------------------------------------------------------------------

    def is_initialized(self) -> bool:
        """The hub checkout's directory exists (the contract's ``hub_initialized``)."""
        return self.hub.exists()

    def in_use(self) -> bool:
        """The repository's hub is in use: its checkout is a worktree with crosslink/hub checked
        out (what writers of issues through the hub test)."""
        return self.hub.exists() and self.hub.on_branch()

    def layout_version(self) -> int:
        """``meta/version.json``'s ``layout_version`` (1 when missing), as the CLI reads it."""
        text = read_text(self.hub.path / "meta" / "version.json")
        try:
            value = json.loads(text)["layout_version"] if text else 1
        except (ValueError, KeyError, TypeError):
            return 1
        return value if isinstance(value, int) and value > 0 else 1

    async def position(self) -> tuple[str | None, str]:
        """``(HEAD of the hub checkout or None, origin)``: what announced state records."""
        return await self.hub.head(), self.origin

    # --- notifications -------------------------------------------------------------------------

    def subscribe(self, name: str, callback: Callable[[HubMoved], Awaitable[Any]], *,
                  poll_seconds: float = 5.0, watch_files: bool = True) -> None:
        """Call ``callback(HubMoved)`` whenever the hub may have changed (see the module docstring).

        The first subscription adds the ``hub-watch`` worker; its poll interval is the smallest
        any subscriber asked for, and it uses filesystem notifications when any subscriber does.
        """
        self._subscribers[name] = _Subscriber(callback, poll_seconds, watch_files)
        if not self._watch_added:
            self._watch_added = True
            self.kernel.workers.add(
                Worker(
                    WATCH_WORKER,
                    self._watch,
                    singleton=True,
                    description="watches the hub checkout and tells the agents and locks plugins what changed",
                ),
                plugin="hub",
            )

    def on_remote(self, callback: Callable[[RemoteContact], Awaitable[Any]]) -> None:
        """Call ``callback(RemoteContact)`` after every attempt to reach the remote."""
        self._remote_listeners.append(callback)

    async def announce(self, reason: str, before: str | None = None, after: str | None = None) -> None:
        """Tell every subscriber that the hub may have changed (each isolated from the others)."""
        self._announced = await asyncio.to_thread(self._fingerprint)
        moved = HubMoved(reason, before, after if after is not None else await self.hub.head())
        for name, subscriber in list(self._subscribers.items()):
            try:
                await subscriber.callback(moved)
            except Exception:
                log.exception("hub subscriber '%s' failed on %s", name, reason)

    async def _contact(self, contact: RemoteContact) -> None:
        for listener in list(self._remote_listeners):
            try:
                await listener(contact)
            except Exception:
                log.exception("a remote-contact listener failed")

    # --- the watcher ---------------------------------------------------------------------------

    async def _watch(self, ctx: WorkerContext) -> None:
        subscribers = list(self._subscribers.values())
        signal = ChangeSignal(
            self.hub.path,
            poll_seconds=min((s.poll_seconds for s in subscribers), default=5.0),
            notifications=any(s.watch_files for s in subscribers),
            ignore=frozenset({LOCK_FILE_NAME}),
        )
        watcher = asyncio.ensure_future(signal.run())

        async def relay() -> None:  # a wake() forces a scan; the worker stopping stops the signal
            while await ctx.sleep(None):
                signal.notify()
            signal.stop()

        relaying = asyncio.ensure_future(relay())
        try:
            while not signal.stopped:
                await self._settle()
                if signal.stopped:
                    break
                # the changes this server's own operations made were announced by them
                if await asyncio.to_thread(self._fingerprint) != self._announced:
                    await self.announce("watch")
                await signal.wait()
        finally:
            signal.stop()
            relaying.cancel()
            await asyncio.gather(watcher, relaying, return_exceptions=True)

    def _fingerprint(self) -> tuple:
        """What the watcher compares to know whether anything was left unannounced: the HEAD
        commit and the size and time of every heartbeat and lock file."""
        stats = []
        hub = self.hub.path
        candidates = [hub / "locks.json"]
        for directory in ("heartbeats", "locks"):
            candidates += _entries(hub / directory)
        candidates += [agent / "heartbeat.json" for agent in _entries(hub / "agents")]
        for path in candidates:
            try:
                info = path.stat()
            except OSError:
                continue
            stats.append((str(path), info.st_mtime_ns, info.st_size))
        head = self.hub.read_ref("HEAD") if self.hub.exists() else None
        if head is None and self.hub.exists():
            head = time.monotonic()  # refs that cannot be read from files: never skip
        return head, tuple(sorted(stats))

    async def _settle(self) -> None:
        """Let an operation in progress finish before reading: this server's (it announces
        itself afterwards) and, for a few seconds at most, the CLI's."""
        if self.hub_lock.locked():
            async with self.hub_lock:
                pass
        lock_file = self.hub.path / LOCK_FILE_NAME
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while loop.time() < deadline:
            holder = read_holder(lock_file)
            if holder is None or holder == os.getpid() or not pid_is_alive(holder):
                return
            await asyncio.sleep(0.1)

    # --- holding the checkouts -------------------------------------------------------------------

    async def _shielded(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run an operation as its own task: the caller may stop waiting, the operation goes on."""
        task = asyncio.ensure_future(coroutine)
        self._operations.add(task)
        task.add_done_callback(self._operation_done)
        return await asyncio.shield(task)

    def _operation_done(self, task: asyncio.Task) -> None:
        self._operations.discard(task)
        if not task.cancelled() and task.exception() is not None:  # retrieved: its caller may be gone
            log.debug("a hub operation failed: %r", task.exception())

    async def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for operations still running (at shutdown)."""
        if self._operations:
            await asyncio.wait(set(self._operations), timeout=timeout)

    @asynccontextmanager
    async def exclusive(self, operation: str, *, wait: float | None = None,
                        progress: Progress = _no_progress) -> AsyncIterator[list[str]]:
        """Hold the hub checkout for one operation; yields what the health check repaired.

        In-process lock (409 "hub busy" after ``wait`` seconds), then the CLI's write lock
        (waiting while a live process holds it, as the CLI waits), then the health check.
        409 "hub not initialized" when there is no checkout.
        """
        limit = DEFAULT_WAIT_SECONDS if wait is None else wait
        try:
            async with asyncio.timeout(limit):
                await self.hub_lock.acquire()
        except TimeoutError:
            raise errors.busy(operation, limit) from None
        try:
            if not self.hub.exists():
                raise errors.not_initialised(str(self.hub.path), operation)
            if self.hub.git_dir() is None:
                raise errors.not_a_checkout(str(self.hub.path), self.hub.branch, operation)
            cli_lock = HubWriteLock(self.hub.path / LOCK_FILE_NAME)
            await cli_lock.acquire(
                on_wait=lambda pid: progress("waiting-for-cli-lock", f"the hub write lock is held by PID {pid}")
            )
            try:
                repaired = await self.hub.health_check()
                if repaired:
                    progress("recovered", "; ".join(repaired))
                yield repaired
            finally:
                cli_lock.release()
        finally:
            self.hub_lock.release()

    # --- fetch ---------------------------------------------------------------------------------

    async def fetch(self, remote: str | None = None, *, knowledge: bool = True, wait: float | None = None,
                    progress: Progress = _no_progress) -> FetchReport:
        """Fetch the hub (and the knowledge branch) and bring the checkouts to it; see the module
        docstring. Subscribers are told before this returns."""
        name = self.remote_name(remote)
        return await self._shielded(self._fetch(name, knowledge, wait, progress))

    async def _fetch(self, remote: str, knowledge: bool, wait: float | None, progress: Progress) -> FetchReport:
        before_head = None
        try:
            async with self.exclusive("fetch", wait=wait, progress=progress) as repaired:
                before_head = await self.hub.head()
                report = await self._fetch_locked(remote, "fetch", knowledge, progress, repaired)
        finally:
            if before_head is not None:
                await self.announce("fetch", before_head)
        return report

    async def _fetch_locked(self, remote: str, operation: str, knowledge: bool, progress: Progress,
                            repaired: list[str]) -> FetchReport:
        """Inside :meth:`exclusive`: commit dirty state, fetch, integrate both checkouts."""
        before = await self._snapshot()
        committed = await self.hub.commit_all(DIRTY_MESSAGE)
        if committed:
            progress("committed-local-changes", DIRTY_MESSAGE)
        progress("fetching", f"crosslink/* from {remote}")
        await self._fetch_remote(remote, operation)
        has_hub = await self.hub.resolve(self.hub.tracking_ref(remote)) is not None
        hub_update = await self._integrate(self.hub, remote, operation)
        knowledge_update = None
        if knowledge and self.knowledge.exists():
            async with self.knowledge_lock:
                await self.knowledge.health_check()
                knowledge_update = await self._integrate(self.knowledge, remote, operation, keep_dirty=True)
        after = await self._snapshot()
        counts = _moved(before, after, hub_update)
        if knowledge_update is not None and knowledge_update.before and knowledge_update.after:
            changed = await self.knowledge.changed_files(knowledge_update.before, knowledge_update.after)
            counts.knowledge_pages = sum(1 for path in changed if path.endswith(".md") and "/" not in path)
        await self._contact(RemoteContact(operation, remote, self.kernel.clock.now(), reachable=True,
                                          has_hub=has_hub, fetched=True))
        report = FetchReport(remote, hub_update, knowledge_update, counts, committed, list(repaired), has_hub)
        for update, checkout in ((hub_update, self.hub), (knowledge_update, self.knowledge)):
            if update is not None and update.action == "conflict":
                raise errors.rebase_conflict(checkout.branch, remote, operation, update.local, update.detail,
                                             str(checkout.path))
        return report

    async def _fetch_remote(self, remote: str, operation: str) -> None:
        refspec = FETCH_REFSPEC.format(remote=remote)
        try:
            await self.git.run(self.hub.repo_root, "fetch", "--quiet", "--prune", "--no-tags", "--", remote, refspec,
                               remote=True)
        except GitError as exc:
            reason = exc.first_line
            if not exc.timed_out and await self.remote_url(remote) is None:
                await self._contact(RemoteContact(operation, remote, self.kernel.clock.now(), reachable=False,
                                                  configured=False, error=f"no remote named '{remote}'"))
                raise errors.remote_missing(remote, operation) from None
            await self._contact(RemoteContact(operation, remote, self.kernel.clock.now(), reachable=False,
                                              error=reason))
            if exc.timed_out or is_offline_error(exc.stderr):
                raise errors.remote_unreachable(remote, operation, reason) from None
            raise errors.git_failed(operation, f"git fetch from '{remote}'", reason) from None

    async def _integrate(self, checkout: Checkout, remote: str, operation: str, *,
                         keep_dirty: bool = False) -> BranchUpdate:
        try:
            return await checkout.integrate(remote, keep_dirty=keep_dirty)
        except DivergedError as exc:
            raise errors.diverged(str(exc), operation, remote) from None
        except GitError as exc:
            raise errors.git_failed(operation, f"Updating {checkout.branch}", exc.first_line) from None

    async def _snapshot(self) -> tuple[dict, dict]:
        """Heartbeat times per agent and lock holders per issue, read from the checkout."""
        def read() -> tuple[dict, dict]:
            beats = {agent: beat.timestamp for agent, beat in read_heartbeats(self.hub.path).items()}
            holders = {issue: lock.agent_id for issue, lock in read_locks(self.hub.path).items()}
            return beats, holders

        return await asyncio.to_thread(read)

    # --- push ----------------------------------------------------------------------------------

    async def push(self, remote: str | None = None, *, attempts: int = DEFAULT_PUSH_ATTEMPTS,
                   knowledge: bool = True, wait: float | None = None,
                   progress: Progress = _no_progress) -> PushReport:
        """Commit dirty hub state, fetch, then push each branch with local commits; a rejected
        push is fetched, rebased and retried, ``attempts`` pushes in all per branch."""
        name = self.remote_name(remote)
        return await self._shielded(self._push(name, max(1, attempts), knowledge, wait, progress))

    async def _push(self, remote: str, attempts: int, knowledge: bool, wait: float | None,
                    progress: Progress) -> PushReport:
        before_head = None
        try:
            async with self.exclusive("push", wait=wait, progress=progress) as repaired:
                before_head = await self.hub.head()
                fetched = await self._fetch_locked(remote, "push", knowledge, progress, repaired)
                report = PushReport(fetched)
                report.pushed_commits, report.attempts = await self._push_branch(
                    self.hub, remote, attempts, progress, known=fetched.hub
                )
                if knowledge and self.knowledge.exists():
                    async with self.knowledge_lock:
                        report.knowledge_pushed_commits, _ = await self._push_branch(
                            self.knowledge, remote, attempts, progress, keep_dirty=True, known=fetched.knowledge
                        )
                await self._contact(RemoteContact("push", remote, self.kernel.clock.now(), reachable=True,
                                                  has_hub=True, fetched=True, pushed=report.pushed_commits > 0))
        finally:
            if before_head is not None:
                await self.announce("push", before_head)
        return report

    async def _local_commits(self, checkout: Checkout, remote: str) -> int:
        counts = await checkout.ahead_behind(remote)
        if counts is not None:
            return counts[0]
        if await checkout.head() is None:
            return 0
        return int(await self.git.output(checkout.path, "rev-list", "--count", "HEAD"))

    async def _push_branch(self, checkout: Checkout, remote: str, attempts: int, progress: Progress, *,
                           keep_dirty: bool = False, known: BranchUpdate | None = None) -> tuple[int, int]:
        """Push ``checkout``'s branch if it has local commits: ``(commits pushed, attempts)``.

        :param known: what the fetch just before found (saves counting again).
        """
        if known is not None and known.action in ("up-to-date", "fast-forward", "rebased"):
            local = known.local
        else:
            local = await self._local_commits(checkout, remote)
        if local == 0:
            return 0, 0
        for attempt in range(1, attempts + 1):
            progress("pushing", f"{checkout.branch} to {remote} (attempt {attempt} of {attempts})")
            outcome = await checkout.push_once(remote)
            if outcome.outcome in ("pushed", "up-to-date"):
                await checkout.mark_pushed(remote)
                return local, attempt
            if outcome.outcome == "offline":
                await self._contact(RemoteContact("push", remote, self.kernel.clock.now(), reachable=False,
                                                  error=outcome.detail))
                raise errors.remote_unreachable(remote, "push", outcome.detail)
            if outcome.outcome == "failed":
                raise errors.git_failed("push", f"git push of {checkout.branch} to '{remote}'", outcome.detail)
            if attempt == attempts:
                break
            progress("retrying", f"{remote} has new commits on {checkout.branch}: fetching and rebasing")
            await self._fetch_remote(remote, "push")
            update = await self._integrate(checkout, remote, "push", keep_dirty=keep_dirty)
            if update.action == "kept-dirty":
                raise errors.APIError(
                    409,
                    f"{checkout.path} has uncommitted changes, so {checkout.branch} cannot take {remote}'s new "
                    "commits before pushing; commit or remove them, then push again",
                    error="uncommitted changes",
                    operation="push",
                    remote=remote,
                )
            if update.action == "conflict":
                raise errors.rebase_conflict(checkout.branch, remote, "push", update.local, update.detail,
                                             str(checkout.path))
            local = await self._local_commits(checkout, remote)
            if local == 0:
                return 0, attempt
        raise errors.APIError(
            409,
            f"{remote} rejected {checkout.branch} {attempts} times (others kept pushing first); the local "
            "commits are kept: push again",
            error="push rejected",
            operation="push",
            remote=remote,
        )

    # --- write ---------------------------------------------------------------------------------

    async def write(self, prepare: Prepare, *, push: bool = True, remote: str | None = None,
                    attempts: int = DEFAULT_PUSH_ATTEMPTS, wait: float | None = None,
                    keep_rejected: bool = True) -> WriteReport:
        """Change hub files as the CLI's shared writer does, serialised with every other change.

        ``prepare(hub_path, attempt)`` reads what it needs from the checkout and returns the
        :class:`HubChange` to make (or ``None``: nothing to do). The change is written (each
        file replaced atomically), staged, committed with its message and, when ``push``,
        pushed. A rejected push drops the commit (``reset --hard HEAD~1``), pulls with rebase and
        calls ``prepare`` again, ``attempts`` times in all; then the commit stays local
        (``gave_up``), or with ``keep_rejected=False`` is dropped (``gave_up``, ``commit`` ``None``:
        a lock claim must not linger unpushed). An unreachable or unconfigured remote leaves it
        local too (``offline``). A push that fails for any other reason (the remote refused it
        outright, git failed or timed out) drops the commit and raises: the checkout is left as
        it was. A failure before the commit puts the files back as they were. Subscribers are told.
        """
        name = self.remote_name(remote) if push else None
        return await self._shielded(self._write(prepare, name, max(1, attempts), wait, keep_rejected))

    async def _write(self, prepare: Prepare, remote: str | None, attempts: int, wait: float | None,
                     keep_rejected: bool = True) -> WriteReport:
        before_head = None
        try:
            async with self.exclusive("write", wait=wait):
                before_head = await self.hub.head()
                return await self._write_locked(prepare, remote, attempts, keep_rejected)
        finally:
            if before_head is not None:
                await self.announce("write", before_head)

    async def _write_locked(self, prepare: Prepare, remote: str | None, attempts: int,
                            keep_rejected: bool = True) -> WriteReport:
        for attempt in range(1, attempts + 1):
            change = await prepare(self.hub.path, attempt)
            if change is None or not change.files:
                return WriteReport(None, attempts=attempt, remote=remote)
            committed = await self._apply(change)
            head = await self.hub.head()
            if not committed:
                return WriteReport(None, attempts=attempt, remote=remote)
            if remote is None or change.amend:
                return WriteReport(head, attempts=attempt)
            try:
                outcome = await self.hub.push_once(remote)
            except GitError as exc:  # timed out: the commit goes, the checkout is as it was
                await self._drop_commit()
                raise errors.git_failed("write", f"git push to '{remote}'", exc.first_line) from None
            if outcome.outcome in ("pushed", "up-to-date"):
                await self.hub.mark_pushed(remote)
                await self._contact(RemoteContact("write", remote, self.kernel.clock.now(), reachable=True,
                                                  has_hub=True, pushed=True))
                return WriteReport(head, pushed=True, attempts=attempt, remote=remote)
            if outcome.outcome == "offline":
                configured = await self.remote_url(remote) is not None
                detail = outcome.detail if configured else f"no remote named '{remote}'"
                await self._contact(RemoteContact("write", remote, self.kernel.clock.now(), reachable=False,
                                                  configured=configured, error=detail))
                return WriteReport(head, offline=True, attempts=attempt, remote=remote, detail=detail)
            if outcome.outcome == "failed":
                await self._drop_commit()
                raise errors.git_failed("write", f"git push to '{remote}'", outcome.detail)
            if attempt == attempts:
                if not keep_rejected:
                    await self._drop_commit()
                    head = None
                return WriteReport(head, gave_up=True, attempts=attempt, remote=remote, detail=outcome.detail)
            # rejected: drop our commit, take the remote's, prepare again (the CLI's retry)
            await self._drop_commit()
            try:
                await self._fetch_remote(remote, "write")
            except errors.APIError:
                return WriteReport(None, offline=True, attempts=attempt, remote=remote,
                                   detail="the remote went away during a retry; the change was not made")
            update = await self._integrate(self.hub, remote, "write")
            if update.action == "conflict":
                raise errors.rebase_conflict(self.hub.branch, remote, "write", update.local, update.detail,
                                             str(self.hub.path))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _drop_commit(self) -> None:
        """Undo the commit ``_apply`` just made (the checkout back at its parent)."""
        await self.git.run(self.hub.path, "-c", "core.hooksPath=/dev/null", "reset", "--quiet", "--hard", "HEAD~1")

    async def _apply(self, change: HubChange) -> bool:
        """Write, stage and commit ``change``; on failure put every file back. ``True`` if committed."""
        paths = [_checked_path(path) for path in change.files]
        try:
            await asyncio.to_thread(_put, self.hub.path, change.files)
            written = [p for p in paths if change.files[p] is not None]
            removed = [p for p in paths if change.files[p] is None]
            if written:
                await self.git.run(self.hub.path, "add", "--", *written)
            if removed:
                await self.git.run(self.hub.path, "rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--",
                                   *removed)
            return await self.hub.commit_staged(change.message, amend=change.amend)
        except BaseException:
            await self._rollback(paths)
            raise

    async def _rollback(self, paths: list[str]) -> None:
        """Put ``paths`` back as HEAD has them (unstaged; ones HEAD lacks removed)."""
        await self.git.run(self.hub.path, "reset", "--quiet", "--", *paths, check=False)
        for path in paths:
            restored = await self.git.run(self.hub.path, "checkout", "--quiet", "HEAD", "--", path, check=False)
            if not restored.ok:
                await asyncio.to_thread(_put, self.hub.path, {path: None})

    # --- init ----------------------------------------------------------------------------------

    async def initialize(self, remote: str | None = None) -> InitReport:
        """Create the hub checkout when it is missing (:mod:`.create`); answers what was done."""
        name = self.remote_name(remote)
        return await self._shielded(self._initialize(name))

    async def _initialize(self, remote: str) -> InitReport:
        try:
            async with asyncio.timeout(DEFAULT_WAIT_SECONDS):
                await self.hub_lock.acquire()
        except TimeoutError:
            raise errors.busy("init", DEFAULT_WAIT_SECONDS) from None
        try:
            configured = await self.remote_url(remote) is not None
            if self.hub.exists():
                return InitReport(False, "existing", remote if configured else None, await self.hub.head())
            try:
                source = await create_checkout(self.hub, remote if configured else None)
            except errors.APIError:
                if not (self.hub.exists() and self.hub.on_branch()):
                    raise
                source = "existing"  # the CLI (``crosslink sync``) made it meanwhile
            if configured:
                await self._contact(RemoteContact("init", remote, self.kernel.clock.now(), reachable=True,
                                                  has_hub=source == "remote", fetched=source == "remote"))
            report = InitReport(source != "existing", source, remote if configured else None, await self.hub.head())
        finally:
            self.hub_lock.release()
        await self.announce("init", None)
        return report



def _moved(before: tuple[dict, dict], after: tuple[dict, dict], update: BranchUpdate) -> MovedCounts:
    beats_before, holders_before = before
    beats_after, holders_after = after
    heartbeats = sum(1 for agent, moment in beats_after.items() if beats_before.get(agent) != moment)
    issues = set(holders_before) | set(holders_after)
    lock_changes = sum(1 for issue in issues if holders_before.get(issue) != holders_after.get(issue))
    return MovedCounts(heartbeats=heartbeats, lock_changes=lock_changes, commits=update.fetched)


_SAFE_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _entries(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except OSError:
        return []


def _checked_path(path: str) -> str:
    """A relative hub path made of plain names (``issues/<uuid>/issue.json``), else ValueError."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(not part or part in (".", "..") or not set(part) <= _SAFE_PART for part in parts)
        or parts[0] in (".git", LOCK_FILE_NAME)
    ):
        raise ValueError(f"not a hub file path: {path!r}")
    return path


def _put(root: Path, files: dict[str, bytes | None]) -> None:
    """Put each file in place (atomically) or remove it (``None``; a directory with its content)."""
    for path, data in files.items():
        target = root / path
        if data is None:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data)


def _atomic_write(target: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=".hub-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
