"""The CLI's write-lock protocol as the library takes it: forced after the CLI's 30 s (shortened
here), with the server's real PID in the file."""

from __future__ import annotations

import os
import signal

from plugins.hub.writelock import HubWriteLock, read_holder
from tests.plugins.sync.conftest import dead_pid, live_process


async def test_a_lock_held_too_long_is_forced_as_the_cli_does(repo, tmp_path):
    holder = live_process()
    path = tmp_path / ".hub-write-lock"
    try:
        path.write_text(f"{holder.pid}\n")
        waited: list[int | None] = []
        lock = HubWriteLock(path, force_after=0.3)
        await lock.acquire(on_wait=waited.append)
        assert waited == [holder.pid]
        assert path.read_text() == f"{os.getpid()}\n"  # the server's real PID
        lock.release()
        assert not path.exists()
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


async def test_a_file_without_a_pid_yet_is_not_taken_at_once(tmp_path):
    """A holder between creating the file and writing its PID is not robbed: only a PID-less
    file older than a second counts as stale."""
    path = tmp_path / ".hub-write-lock"
    path.write_text("")
    old = os.stat(path).st_mtime - 5
    os.utime(path, (old, old))
    lock = HubWriteLock(path)
    await lock.acquire()
    assert read_holder(path) == os.getpid()
    lock.release()


async def test_a_dead_holder_is_replaced_and_release_leaves_anothers_lock_alone(tmp_path):
    path = tmp_path / ".hub-write-lock"
    path.write_text(f"{dead_pid()}\n")
    lock = HubWriteLock(path)
    await lock.acquire()
    assert read_holder(path) == os.getpid()
    path.write_text("1\n")  # someone forced it away meanwhile
    lock.release()
    assert read_holder(path) == 1
