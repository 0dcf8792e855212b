"""Named background workers: started after startup, restarted when they fail, stopped on time.

A plugin declares its workers in ``crosslink_register_workers`` (or adds one later with
``kernel.workers.add(worker, plugin=...)``). A :class:`Worker` is either

* **long-running** (``every=None``): ``run(ctx)`` is called once and is expected to loop until
  ``ctx.stopping``; returning normally ends the worker (a one-shot job), or
* **periodic** (``every=seconds``): ``run(ctx)`` is called, then again ``every`` seconds after
  it returned, or at once when someone calls ``kernel.workers.wake(name)``.

When ``run`` raises, the error and the worker's name are logged, the restart is counted, and
the worker runs again after a backoff that doubles from ``backoff[0]`` up to ``backoff[1]``
(reset once a run has lasted ``backoff[1]`` seconds, or a periodic run succeeds).

A **singleton** worker runs on exactly one instance of a team server at a time: before each
start it takes a lease (:mod:`kernel.leases`: a PostgreSQL advisory lock, or a file lock next
to the SQLite database). An instance that does not hold the lease waits in ``standby`` and
retries every ``LEASE_RETRY_SECONDS``; when the holder dies its lease is freed by the database
or the operating system, and a standby instance takes over within a few seconds. A worker whose
lease is lost while it runs (the database connection broke) is cancelled and waits again.

At shutdown every worker is asked to stop (``ctx.stopping`` becomes true, its sleeps return);
one still running after its ``stop_timeout`` is cancelled, and that is logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import StartupError
from .timeutil import to_api, utcnow

if TYPE_CHECKING:
    from .leases import Leases

log = logging.getLogger("crosslink.workers")

#: Worker names: lower-case letters, digits, ``.``, ``_`` and ``-``; they name lock files too.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: How often an instance in standby tries to take a singleton's lease.
LEASE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Worker:
    """A background job of a plugin.

    :ivar name: unique on the server; ``[a-z0-9][a-z0-9._-]*``, at most 64 characters.
    :ivar run: ``async def run(ctx: WorkerContext)``.
    :ivar every: seconds between periodic runs; ``None`` for a long-running worker.
    :ivar singleton: run on one instance of a team server only (see the module docstring).
    :ivar stop_timeout: seconds a worker gets to return after being asked to stop.
    :ivar backoff: first and largest delay before a restart after a failure.
    :ivar description: one line for ``GET /api/v1/workers``.
    """

    name: str
    run: Callable[[WorkerContext], Awaitable[Any]]
    every: float | None = None
    singleton: bool = False
    stop_timeout: float = 5.0
    backoff: tuple[float, float] = (0.5, 30.0)
    description: str = ""

    def check(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise StartupError(
                f"worker name {self.name!r} is not valid: use lower-case letters, digits, '.', '_' "
                "and '-' (at most 64 characters, starting with a letter or digit)"
            )
        if self.every is not None and self.every <= 0:
            raise StartupError(f"worker '{self.name}': 'every' must be a positive number of seconds")
        if not callable(self.run):
            raise StartupError(f"worker '{self.name}': 'run' must be an async function")


class WorkerContext:
    """What a running worker is handed: the stop flag, interruptible sleeps, a status note."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    @property
    def name(self) -> str:
        return self._state.worker.name

    @property
    def stopping(self) -> bool:
        """True once the server shuts down: finish the current step and return."""
        return self._state.stop.is_set()

    async def sleep(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (``None``: until woken), waking early on ``kernel.workers.wake()``
        or at shutdown. Returns ``False`` when the worker should stop, ``True`` otherwise."""
        state = self._state
        if state.stop.is_set():
            return False
        try:
            await asyncio.wait_for(state.wake.wait(), seconds)
        except TimeoutError:
            pass
        state.wake.clear()
        return not state.stop.is_set()

    async def linger(self, seconds: float) -> bool:
        """Sleep ``seconds`` whatever wakes the worker meanwhile (a deliberate delay, such as
        letting a burst of writes gather), cut short only at shutdown. Returns ``False`` when the
        worker should stop, ``True`` otherwise."""
        stop = self._state.stop
        if not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), seconds)
            except TimeoutError:
                pass
        return not stop.is_set()

    def note(self, text: str | None) -> None:
        """A short status line shown in ``GET /api/v1/workers`` (progress, last result)."""
        self._state.note = None if text is None else str(text)[:200]


class WorkerState:
    """One worker as the supervisor runs it, and what ``/workers`` shows of it."""

    def __init__(self, worker: Worker, plugin: str) -> None:
        self.worker = worker
        self.plugin = plugin
        self.state = "pending"
        self.restarts = 0
        self.runs = 0
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.started_at: datetime | None = None
        self.last_run_at: datetime | None = None
        self.note: str | None = None
        self.holds_lease = False
        self.stop = asyncio.Event()
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.run_task: asyncio.Task | None = None

    def describe(self) -> dict[str, Any]:
        worker = self.worker
        return {
            "name": worker.name,
            "plugin": self.plugin,
            "description": worker.description,
            "kind": "periodic" if worker.every is not None else "long-running",
            "every_seconds": worker.every,
            "singleton": worker.singleton,
            "state": self.state,
            "holds_lease": self.holds_lease if worker.singleton else None,
            "runs": self.runs,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_error_at": to_api(self.last_error_at),
            "started_at": to_api(self.started_at),
            "last_run_at": to_api(self.last_run_at),
            "note": self.note,
        }


class Workers:
    """The supervisor: ``kernel.workers``."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases
        self._states: dict[str, WorkerState] = {}
        self._running = False

    # --- what plugins use ----------------------------------------------------------------------

    def add(self, worker: Worker, *, plugin: str) -> None:
        """Add ``worker`` for ``plugin``; it starts now if the workers are already running."""
        worker.check()
        if worker.name in self._states:
            other = self._states[worker.name].plugin
            raise StartupError(f"worker '{worker.name}' is added twice: by '{other}' and by '{plugin}'")
        state = WorkerState(worker, plugin)
        self._states[worker.name] = state
        if self._running:
            self._launch(state)

    def wake(self, name: str) -> bool:
        """Run a periodic worker now / end a sleeping worker's ``ctx.sleep``. False if unknown."""
        state = self._states.get(name)
        if state is None:
            return False
        state.wake.set()
        return True

    def get(self, name: str) -> dict[str, Any] | None:
        state = self._states.get(name)
        return None if state is None else state.describe()

    def describe(self) -> list[dict[str, Any]]:
        """Every worker, by name (``GET /api/v1/workers``)."""
        return [self._states[name].describe() for name in sorted(self._states)]

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, names: list[str] | None = None) -> None:
        """Start the workers added so far (or only ``names``); later ``add`` calls start at once."""
        for state in self._states.values():
            if state.task is None and (names is None or state.worker.name in names):
                self._launch(state)
        if names is None:
            self._running = True

    async def stop(self) -> None:
        """Ask every worker to stop; cancel the ones that outlive their ``stop_timeout``."""
        self._running = False
        states = [s for s in self._states.values() if s.task is not None and not s.task.done()]
        for state in states:
            state.stop.set()
            state.wake.set()
            if state.state not in ("finished", "stopped"):
                state.state = "stopping"
        await asyncio.gather(*(self._stop_one(state) for state in states))
        await self.leases.close()

    async def _stop_one(self, state: WorkerState) -> None:
        assert state.task is not None
        done, _ = await asyncio.wait([state.task], timeout=state.worker.stop_timeout)
        if not done:
            log.warning(
                "worker '%s' (plugin '%s') did not stop within %.1f s; it is cancelled",
                state.worker.name, state.plugin, state.worker.stop_timeout,
            )
            state.task.cancel()
            await asyncio.gather(state.task, return_exceptions=True)
        if state.state != "finished":
            state.state = "stopped"

    def _launch(self, state: WorkerState) -> None:
        state.task = asyncio.get_running_loop().create_task(self._supervise(state), name=f"worker:{state.worker.name}")

    # --- one worker ----------------------------------------------------------------------------

    async def _supervise(self, state: WorkerState) -> None:
        worker = state.worker
        delay = worker.backoff[0]
        context = WorkerContext(state)
        while not state.stop.is_set():
            if worker.singleton and not await self._take_lease(state):
                return
            state.started_at = utcnow()
            began = time.monotonic()
            failed = False
            try:
                finished = await self._run_while_leased(state, context)
            except asyncio.CancelledError:
                if state.stop.is_set():
                    raise
                # the lease was lost under the worker: it stops here and waits for the lease again
                finished = False
            except Exception as exc:
                failed = True
                finished = False
                state.restarts += 1
                state.last_error = f"{type(exc).__name__}: {exc}"[:500]
                state.last_error_at = utcnow()
                log.error(
                    "worker '%s' (plugin '%s') failed: %s; restart %d in %.1f s",
                    worker.name, state.plugin, state.last_error, state.restarts, delay,
                    exc_info=exc,
                )
            finally:
                if worker.singleton and state.holds_lease:
                    await self._drop_lease(state)
            if finished:
                state.state = "finished"
                return
            if failed:
                if time.monotonic() - began >= worker.backoff[1]:
                    delay = worker.backoff[0]
                state.state = "backoff"
                await self._pause(state, delay)
                delay = min(delay * 2, worker.backoff[1])
            else:
                delay = worker.backoff[0]

    async def _run_while_leased(self, state: WorkerState, context: WorkerContext) -> bool:
        """Run until the worker returns (True: a long-running worker finished) or fails; a lost
        lease cancels the run."""
        worker = state.worker
        lost = self.leases.lost_signal(worker.name) if worker.singleton else None
        state.run_task = asyncio.ensure_future(self._run_loop(state, context))
        try:
            if lost is None:
                return await state.run_task
            lost_waiter = asyncio.ensure_future(lost.wait())
            try:
                done, _ = await asyncio.wait([state.run_task, lost_waiter], return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost_waiter.cancel()
            if state.run_task in done:
                return state.run_task.result()
            log.warning("worker '%s' lost its lease; it stops and waits to take it again", worker.name)
            state.holds_lease = False
            state.run_task.cancel()
            await asyncio.gather(state.run_task, return_exceptions=True)
            raise asyncio.CancelledError
        finally:
            if not state.run_task.done():
                state.run_task.cancel()
                await asyncio.gather(state.run_task, return_exceptions=True)
            state.run_task = None

    async def _run_loop(self, state: WorkerState, context: WorkerContext) -> bool:
        worker = state.worker
        if worker.every is None:
            state.state = "running"
            state.runs += 1
            state.last_run_at = utcnow()
            await worker.run(context)
            return not state.stop.is_set()
        while not state.stop.is_set():
            state.state = "running"
            state.runs += 1
            state.last_run_at = utcnow()
            await worker.run(context)
            state.state = "idle"
            if not await context.sleep(worker.every):
                break
        return False

    async def _take_lease(self, state: WorkerState) -> bool:
        """Wait in standby until this instance holds the worker's lease; False when stopping."""
        while not state.stop.is_set():
            try:
                if await self.leases.acquire(state.worker.name):
                    state.holds_lease = True
                    return True
            except Exception as exc:  # the database is away: keep trying
                log.warning("worker '%s': taking its lease failed (%s); retrying", state.worker.name, exc)
            state.state = "standby"
            await self._pause(state, LEASE_RETRY_SECONDS)
        return False

    async def _drop_lease(self, state: WorkerState) -> None:
        state.holds_lease = False
        try:
            await self.leases.release(state.worker.name)
        except Exception as exc:
            log.warning("worker '%s': releasing its lease failed (%s)", state.worker.name, exc)

    @staticmethod
    async def _pause(state: WorkerState, seconds: float) -> None:
        try:
            await asyncio.wait_for(state.stop.wait(), seconds)
        except TimeoutError:
            pass
