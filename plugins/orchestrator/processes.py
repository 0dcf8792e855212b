"""Stage processes: started detached, watched without blocking, found again after a restart.

A stage's command runs in a session of its own (its process group is the command and all it
starts), with stdin from ``/dev/null`` and stdout and stderr into its log file, under a small
``/bin/sh`` wrapper that writes the command's exit status to a status file before it exits. So:

* while the server that started it runs, the exit is noticed through a pidfd (Linux; polling
  elsewhere) on the event loop, and the status comes from ``waitpid``;
* a server that restarts (or another instance on the same machine taking over) finds the
  process by pid, checked against its start time (no confusion with a reused pid), watches it
  the same way, and reads the status file when it exits; one that ended while no server was
  running has left its status file;
* a process that is gone without a status file ended without one (killed with its wrapper).

Stopping a stage signals its whole process group: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from functools import lru_cache
from pathlib import Path

#: Runs ``"$@"`` and writes its exit status to ``$1`` (a list command).
_WRAP_ARGV = 'status_file=$1; shift; "$@"; s=$?; echo "$s" > "$status_file"; exit "$s"'
#: Runs the command string ``$2`` in a subshell and writes its exit status to ``$1``.
_WRAP_STRING = 'status_file=$1; ( eval "$2" ); s=$?; echo "$s" > "$status_file"; exit "$s"'
POLL_SECONDS = 0.2


def wrapped(command: list[str] | str, status_file: Path) -> list[str]:
    """The argv that runs ``command`` (a list, or a ``/bin/sh`` string) and records its status."""
    if isinstance(command, str):
        return ["/bin/sh", "-c", _WRAP_STRING, "crosslink-stage", str(status_file), command]
    return ["/bin/sh", "-c", _WRAP_ARGV, "crosslink-stage", str(status_file), *command]


def spawn(argv: list[str], *, env: dict[str, str], cwd: str, log_path: Path) -> subprocess.Popen:
    """Start ``argv`` detached (own session), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env,
            start_new_session=True, close_fds=True,
        )


@lru_cache(maxsize=1)
def machine_id() -> str:
    """This machine and boot: a pid means something only where (and since when) it was given."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown-boot"
    return f"{socket.gethostname()}/{boot}"


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat``), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def is_running(pid: int, ticks: int | None) -> bool:
    """The process ``pid`` started at ``ticks`` still runs (a zombie does not)."""
    if ticks is not None:
        now = start_ticks(pid)
        if now is None or now != ticks:
            return False
        return _state(pid) not in ("Z", "X", None)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in ("Z", "X")


async def wait_exit(pid: int, ticks: int | None, timeout: float | None) -> bool:
    """Wait until the process has exited (True) or ``timeout`` seconds passed (False)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    fd = None
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        try:
            if not is_running(pid, ticks):
                return True
            exited = loop.create_future()
            loop.add_reader(fd, lambda: exited.done() or exited.set_result(True))
            try:
                await asyncio.wait_for(exited, None if deadline is None else max(0.0, deadline - loop.time()))
                return True
            except TimeoutError:
                return not is_running(pid, ticks)
            finally:
                loop.remove_reader(fd)
        finally:
            os.close(fd)
    while is_running(pid, ticks):  # no pidfd: poll
        if deadline is not None and loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


def read_status(status_file: Path | str) -> int | None:
    """The exit status the wrapper recorded, or ``None`` when it recorded none."""
    if not status_file:
        return None
    try:
        return int(Path(status_file).read_text().strip())
    except (OSError, ValueError):
        return None


def signal_group(pgid: int, sig: int, ticks: int | None = None) -> bool:
    """Send ``sig`` to the process group (only while its leader is the same process, when
    ``ticks`` is known); True if it was sent."""
    if ticks is not None and start_ticks(pgid) not in (ticks, None):
        return False
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


async def stop_group(pgid: int, ticks: int | None, grace: float) -> None:
    """SIGTERM the group, then SIGKILL it if its leader still runs after ``grace`` seconds."""
    if not signal_group(pgid, signal.SIGTERM, ticks):
        return
    if not await wait_exit(pgid, ticks, grace):
        signal_group(pgid, signal.SIGKILL, ticks)
        await wait_exit(pgid, ticks, grace or 1.0)
    # whatever the leader left behind in its group goes too
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def monotonic_age(started_at: float) -> float:
    """Seconds since ``started_at`` (epoch seconds), never negative."""
    return max(0.0, time.time() - started_at)
