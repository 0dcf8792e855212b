"""A fork server for the suite's ``crosslink serve`` processes: the interpreter start and the
imports are paid once per test process instead of once per server.

A server the suite starts costs about 0.85 s of CPU before it listens, and nearly all of it is
Python starting and importing the kernel, the plugins and their libraries (the suite starts
about 200 of them). This module runs as a helper process (``python -m tests.forkserver``) that
imports everything ``crosslink serve`` imports (it builds one application in a scratch
repository, without starting it) and then forks a child per request. The child is a real
process with a PID of its own: it takes the request's working directory, environment, argv and
output pipe, resets the signals a fresh interpreter would have, and calls the same
``kernel.cli.main`` as the ``crosslink`` console script; a ``SystemExit`` ends it through the
interpreter's normal shutdown. Signals (``SIGINT``, ``SIGTERM``, ``SIGKILL``) are sent to the
child itself, and its exit status comes back from the helper, which is its parent.

What a fork cannot give is asked of a real ``exec`` instead (:func:`spawn` returns ``None``):
an environment that changes a ``PYTHON*`` variable other than adding ``PYTHONPATH`` entries,
or a helper that could not start. ``CROSSLINK_TEST_FORKSERVER=0`` turns the fork server off;
the CLI suite (``tests/kernel/test_cli.py``) and the storage tests start the console script
with ``subprocess`` in any case, so the entry point itself stays covered.

The helper's protocol is a ``SOCK_SEQPACKET`` socket pair: a request is one JSON message with
the output pipe's write end attached (``SCM_RIGHTS``); the helper answers ``{"pid": N}``, and
later ``{"exited": N, "status": S}`` when it reaps the child.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

#: The message size limit of the socket pair (an environment is a few kB).
MAX_MESSAGE = 1 << 20
#: Variables an interpreter reads as it starts: a child is forked only where they are the
#: helper's (``PYTHONPATH`` may add entries).
STARTUP_VARIABLES = ("PYTHON", "LANG", "LC_")
#: Modules ``crosslink serve`` imports only once it runs (the event loop, the protocols, the
#: database drivers); building an application imports the rest.
RUNTIME_MODULES = (
    "uvloop",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
    "websockets.server",
    "aiosqlite",
    "asyncpg",
    "tortoise.backends.sqlite",
    "tortoise.backends.asyncpg",
)


# --- the helper process ------------------------------------------------------------------


def _preload() -> None:
    """Import what a server imports: build (not start) one application with every plugin."""
    from kernel.app import create_app
    from kernel.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["git", "init", "-q", scratch], check=True)
        create_app(Settings.for_repo(Path(scratch), autoload=False))
    for name in RUNTIME_MODULES:
        __import__(name)
    if "mcp" in sys.modules:  # the SDK is imported on the first /mcp request, never at start
        raise RuntimeError("building the application imported the MCP SDK")
    gc.collect()
    gc.freeze()  # the children share these pages; the collector need not walk them


def _become(request: dict, output: int, control: socket.socket, wakeup: int) -> None:
    """In the child: take the request's place of a freshly started ``crosslink`` and run it."""
    control.close()
    os.close(wakeup)
    os.close(signal.set_wakeup_fd(-1))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    for fd in (stdin, output):
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    added = [entry for entry in request["pythonpath"] if entry not in sys.path]
    sys.path[0:1] = [str(Path(request["argv"][0]).parent), *added]  # as a console script's
    sys.argv = list(request["argv"])
    gc.unfreeze()
    from kernel.cli import main

    main()  # click ends with SystemExit, which ends this process like any interpreter's
    raise SystemExit(0)


def serve(control: socket.socket) -> None:
    """Fork a child per request; report each child's exit; stop when the test process goes."""
    _preload()
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    control.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        readable, _, _ = select.select([control, wakeup_read], [], [])
        if wakeup_read in readable:
            os.read(wakeup_read, 4096)
        _reap(control)
        if control not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 1)
        if not message:
            return  # the test process is gone
        request = json.loads(message)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _become(request, fds[0], control, wakeup_read)
        os.close(fds[0])
        control.send(json.dumps({"pid": pid}).encode())


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.send(json.dumps({"exited": pid, "status": status}).encode())


# --- the test process's side -------------------------------------------------------------


class ForkedProcess:
    """A forked server, with the part of :class:`subprocess.Popen` the suite uses."""

    def __init__(self, pid: int, stdout, client: ForkServerClient) -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None
        self._client = client

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._client.returncode(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            code = self._client.wait(self.pid, timeout)
            if code is None:
                raise subprocess.TimeoutExpired(["crosslink"], timeout)
            self.returncode = code
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServerClient:
    """The test process's end: starts the helper, asks it for children, collects their exits."""

    def __init__(self) -> None:
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._env = dict(os.environ)
        self.helper = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )  # it ends when this process closes its end of the socket pair
        theirs.close()
        self._lock = threading.Lock()
        self._exits: dict[int, int] = {}
        self._exited = threading.Condition()
        self._replies: list[int] = []
        ready = json.loads(self._control.recv(MAX_MESSAGE) or b"{}")
        if "ready" not in ready:
            raise RuntimeError("the fork server did not start")
        threading.Thread(target=self._listen, name="forkserver-exits", daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                message = self._control.recv(MAX_MESSAGE)
            except OSError:
                message = b""
            with self._exited:
                if not message:
                    self._replies.append(-1)
                    self._exited.notify_all()
                    return
                data = json.loads(message)
                if "pid" in data:
                    self._replies.append(data["pid"])
                else:
                    self._exits[data["exited"]] = os.waitstatus_to_exitcode(data["status"])
                self._exited.notify_all()

    def compatible(self, env: dict[str, str]) -> bool:
        """Whether a child forked from the helper starts as ``exec`` with ``env`` would."""
        keys = {key for key in (*env, *self._env) if key.startswith(STARTUP_VARIABLES) and key != "PYTHONPATH"}
        if any(env.get(key) != self._env.get(key) for key in keys):
            return False
        ours = [entry for entry in self._env.get("PYTHONPATH", "").split(os.pathsep) if entry]
        theirs = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
        return all(entry in theirs for entry in ours)

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess:
        read, write = os.pipe()
        request = {
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "pythonpath": [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry],
        }
        with self._lock, self._exited:
            try:
                socket.send_fds(self._control, [json.dumps(request).encode()], [write])
            finally:
                os.close(write)
            while not self._replies:
                self._exited.wait()
            pid = self._replies.pop(0)
        if pid < 0:
            os.close(read)
            raise RuntimeError("the fork server stopped")
        return ForkedProcess(pid, open(read, encoding="utf-8", errors="replace"), self)

    def returncode(self, pid: int) -> int | None:
        with self._exited:
            return self._exits.get(pid)

    def wait(self, pid: int, timeout: float | None) -> int | None:
        with self._exited:
            self._exited.wait_for(lambda: pid in self._exits, timeout)
            return self._exits.get(pid)


_client: ForkServerClient | None = None
_unavailable = False
_start_lock = threading.Lock()


def spawn(argv: list[str], env: dict[str, str], cwd: str | None = None) -> ForkedProcess | None:
    """``argv`` (a ``crosslink`` command) forked from this test process's helper, or ``None``
    where only a real ``exec`` gives the same start (see the module's docstring)."""
    global _client, _unavailable
    if os.environ.get("CROSSLINK_TEST_FORKSERVER", "1") == "0" or _unavailable:
        return None
    with _start_lock:
        if _client is None:
            try:
                _client = ForkServerClient()
            except (OSError, RuntimeError, ValueError):
                _unavailable = True
                return None
    if not _client.compatible(env):
        return None
    try:
        return _client.spawn(argv, env, cwd or os.getcwd())
    except (OSError, RuntimeError):  # the helper is gone: the rest of this process executes
        _unavailable = True
        return None


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
