"""A fork server for the suite's ``crosslink`` processes: the interpreter start and the imports
are paid once per test process instead of once per process the suite starts.

A server the suite starts costs about 0.85 s of CPU before it listens, and a ``crosslink mcp``
about 1.4 s (the MCP SDK alone takes 1.1 s to import); nearly all of it is Python starting and
importing the kernel, the plugins and their libraries. This module runs as a helper process
(``python -m tests.forkserver``) that imports what the command imports and then forks a child
per request. There is a helper per *profile*: ``serve`` builds one application in a scratch
repository (without starting it) and must not import the MCP SDK, which a server imports only
on its first ``/mcp`` request; ``mcp`` imports the SDK and the ``crosslink mcp`` modules too.

The child is a real process with a PID of its own: it takes the request's working directory,
environment, argv and standard streams, resets the signals and the ``sys`` streams a fresh
interpreter would have, and calls the same ``kernel.cli.main`` as the ``crosslink`` console
script; a ``SystemExit`` ends it through the interpreter's normal shutdown. Its exit status
comes back from the helper, which is its parent. What the helper imported stays frozen out of
the garbage collector's way in the child (``gc.freeze``, as a pre-fork server does): those
objects live as long as the process in any case, and a collector walking them would copy
every page it touches.

Two ways in:

* :func:`spawn` (``crosslink serve`` for :func:`tests.support.start_live_server`): the test
  process asks its ``serve`` helper over a ``SOCK_SEQPACKET`` socket pair, with the output
  pipe's write end attached (``SCM_RIGHTS``); the answer is ``{"pid": N}``, and later
  ``{"exited": N, "status": S}``. Signals go to the child itself.
* :func:`command` (any other ``crosslink`` command, also where a library starts the process,
  as the MCP SDK's stdio client does): an argv that runs :mod:`tests.forkserver_launcher`. The
  launcher passes its standard streams, environment and working directory to the helper's
  listening socket, forwards the signals it gets to the child, and exits as the child did (by
  the same signal, if a signal ended it). A launcher killed outright closes its connection, and
  the helper kills the child.

Where a fork cannot give the start an ``exec`` would, an ``exec`` is used: an environment that
changes a variable the interpreter reads as it starts (``PYTHON*`` other than adding
``PYTHONPATH`` entries, the locale), a helper that could not start, or
``CROSSLINK_TEST_FORKSERVER=0`` (every process is then executed). Helpers are keyed by those
variables, so a command whose environment sets ``PYTHONUNBUFFERED`` (as the MCP tests do) gets
a helper started with it. The CLI suite (``tests/kernel/test_cli.py``) and the storage tests run
the console script with ``subprocess`` in any case, so the entry point itself stays covered.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

#: The message size limit of the sockets (an environment is a few kB).
MAX_MESSAGE = 1 << 20
#: Variables an interpreter reads as it starts: a child is forked only where they are the
#: helper's (``PYTHONPATH`` may add entries).
STARTUP_VARIABLES = ("PYTHON", "LANG", "LC_")
#: The script a :func:`command` runs (standard library only, started with ``-I -S``).
LAUNCHER = str(Path(__file__).with_name("forkserver_launcher.py"))
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
#: What ``crosslink mcp`` imports on top (the SDK, its stdio server and client, the proxy).
MCP_MODULES = (
    "mcp.server.stdio",
    "mcp.client.streamable_http",
    "plugins.mcp.proxy",
    "plugins.mcp.server",
)


def _read_at_start(key: str) -> bool:
    """Whether the variable ``key`` must be the helper's for a fork (``PYTHONPATH`` may differ)."""
    return key.startswith(STARTUP_VARIABLES) and key != "PYTHONPATH"


def compatible(helper_env: dict[str, str], env: dict[str, str]) -> bool:
    """Whether a child forked from a helper started with ``helper_env`` starts as ``exec``
    with ``env`` would."""
    keys = {key for key in (*env, *helper_env) if _read_at_start(key)}
    if any(env.get(key) != helper_env.get(key) for key in keys):
        return False
    ours = [entry for entry in helper_env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    theirs = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    return all(entry in theirs for entry in ours)


def profile_of(argv: list[str]) -> str:
    """The helper a ``crosslink`` argv is forked from."""
    return "mcp" if argv[1:2] == ["mcp"] else "serve"


# --- the helper process ------------------------------------------------------------------


def _preload(profile: str) -> None:
    """Import what the profile's command imports: build (not start) one application with
    every plugin; for ``mcp``, the SDK and the ``crosslink mcp`` modules too."""
    from kernel.app import create_app
    from kernel.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["git", "init", "-q", scratch], check=True)
        create_app(Settings.for_repo(Path(scratch), autoload=False))
    for name in RUNTIME_MODULES + (MCP_MODULES if profile == "mcp" else ()):
        __import__(name)
    if profile == "serve" and "mcp" in sys.modules:  # a server imports the SDK on its first /mcp request
        raise RuntimeError("building the application imported the MCP SDK")
    gc.collect()
    gc.freeze()  # the children share these pages; their collectors never walk (nor write to) them


def _fresh_stdio() -> None:
    """``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` made anew on descriptors 0-2, as the
    interpreter makes them at start for the environment now in ``os.environ``."""
    buffered = not os.environ.get("PYTHONUNBUFFERED")
    encoding = sys.stdout.encoding
    streams = []
    for fd, mode, errors in ((0, "r", sys.stdin.errors), (1, "w", sys.stdout.errors), (2, "w", sys.stderr.errors)):
        raw = io.FileIO(fd, mode + "b", closefd=False)
        if mode == "r":
            buffer = io.BufferedReader(raw)
        else:
            buffer = io.BufferedWriter(raw) if buffered else raw
        stream = io.TextIOWrapper(buffer, encoding=encoding, errors=errors, newline="\n",
                                  line_buffering=buffered and (raw.isatty() or fd == 2), write_through=not buffered)
        stream.mode = mode
        streams.append(stream)
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams


def _become(request: dict, streams: list[int], keep_closed: list[int]) -> None:
    """In the child: take the request's place of a freshly started ``crosslink`` and run it.

    ``streams`` are the descriptors that become 0, 1 and 2 (``None`` for ``/dev/null``);
    ``keep_closed`` are the helper's own descriptors."""
    for fd in keep_closed:
        os.close(fd)
    os.close(signal.set_wakeup_fd(-1))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    targets = [os.open(os.devnull, os.O_RDONLY) if fd is None else fd for fd in streams]
    for target, fd in zip(targets, (0, 1, 2), strict=True):
        os.dup2(target, fd)
    for target in set(targets) - {0, 1, 2}:
        os.close(target)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _fresh_stdio()
    pythonpath = [entry for entry in request["env"].get("PYTHONPATH", "").split(os.pathsep) if entry]
    added = [entry for entry in pythonpath if entry not in sys.path]
    sys.path[0:1] = [str(Path(request["argv"][0]).parent), *added]  # as a console script's
    sys.argv = list(request["argv"])
    from kernel.cli import main

    main()  # click ends with SystemExit, which ends this process like any interpreter's
    raise SystemExit(0)


class Helper:
    """The helper's loop: forks a child per request, reports each child's exit, and stops when
    the test process closes its end of the control socket."""

    def __init__(self, control: socket.socket, listen_path: str, profile: str) -> None:
        self.control = control
        self.startup_env = dict(os.environ)
        _preload(profile)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(listen_path)
        self.listener.listen(64)
        self.launchers: set[socket.socket] = set()  # connections of launchers (their child pending or running)
        self.children: dict[int, socket.socket | None] = {}  # pid -> the launcher's connection, or None
        self.wakeup_read, wakeup_write = os.pipe()
        os.set_blocking(wakeup_write, False)
        signal.set_wakeup_fd(wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def run(self) -> None:
        self.control.send(json.dumps({"ready": os.getpid()}).encode())
        while True:
            readable, _, _ = select.select([self.control, self.wakeup_read, self.listener, *self.launchers], [], [])
            if self.wakeup_read in readable:
                os.read(self.wakeup_read, 4096)
            self._reap()
            if self.listener in readable:
                self.launchers.add(self.listener.accept()[0])
            for connection in [c for c in readable if c in self.launchers]:
                self._from_launcher(connection)
            if self.control in readable and not self._from_control():
                return  # the test process is gone

    def _fork(self, request: dict, streams: list[int | None], connection: socket.socket | None) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            own = [self.control, self.listener, *self.launchers]
            _become(request, streams, [s.detach() for s in own] + [self.wakeup_read])
        self.children[pid] = connection
        return pid

    def _from_control(self) -> bool:
        message, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 1)
        if not message:
            return False
        pid = self._fork(json.loads(message), [None, fds[0], fds[0]], None)
        os.close(fds[0])
        self.control.send(json.dumps({"pid": pid}).encode())
        return True

    def _from_launcher(self, connection: socket.socket) -> None:
        try:
            message, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 3)
        except OSError:
            message, fds = b"", []
        pids = [pid for pid, owner in self.children.items() if owner is connection]
        if not message:  # the launcher is gone: so is its child
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            self.launchers.discard(connection)
            if not pids:
                connection.close()
            return
        # no try/finally around the fork: the child leaves through these frames as it exits
        request = json.loads(message)
        if pids or len(fds) != 3:
            reply = {"error": "one request per connection, with three descriptors"}
        elif not compatible(self.startup_env, request["env"]):
            reply = {"exec": "the environment changes how the interpreter starts"}
        else:
            reply = {"pid": self._fork(request, fds, connection)}
        for fd in fds:
            os.close(fd)
        try:
            connection.send(json.dumps(reply).encode())
        except OSError:  # the launcher went meanwhile: its end is read as closed next time round
            pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.children.pop(pid, None)
            message = json.dumps({"exited": pid, "status": status}).encode()
            if connection is None:
                self.control.send(message)
                continue
            try:
                connection.send(message)
            except OSError:
                pass  # the launcher went first
            self.launchers.discard(connection)
            connection.close()


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


def _startup_key(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables of ``env`` a helper must be started with to fork for it."""
    return tuple(sorted((k, v) for k, v in env.items() if _read_at_start(k)))


class ForkServerClient:
    """The test process's end of one helper: starts it, asks it for servers, collects their exits."""

    def __init__(self, profile: str, startup: tuple[tuple[str, str], ...], socket_dir: Path) -> None:
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if not _read_at_start(k)}
        self._env = {**env, **dict(startup)}
        self.socket_path = str(socket_dir / f"{profile}-{len(list(socket_dir.iterdir()))}.sock")
        self.helper = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver", str(theirs.fileno()), self.socket_path, profile],
            pass_fds=[theirs.fileno()],
            cwd=Path(__file__).resolve().parents[1],
            env=self._env,
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
        """Whether a child of this helper starts as ``exec`` with ``env`` would."""
        return compatible(self._env, env)

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess:
        read, write = os.pipe()
        with self._lock, self._exited:
            try:
                socket.send_fds(self._control, [json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()], [write])
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


_helpers: dict[tuple, ForkServerClient | None] = {}
_start_lock = threading.Lock()
_socket_dir: Path | None = None


def _enabled() -> bool:
    return os.environ.get("CROSSLINK_TEST_FORKSERVER", "1") != "0"


def _helper(profile: str, env: dict[str, str]) -> ForkServerClient | None:
    """This test process's helper for ``profile`` and ``env``'s start-up variables (started on
    first use), or ``None`` if it could not start."""
    global _socket_dir
    key = (profile, _startup_key(env))
    with _start_lock:
        if key not in _helpers:
            if _socket_dir is None:
                _socket_dir = Path(tempfile.mkdtemp(prefix="crosslink-fork-"))
                atexit.register(shutil.rmtree, _socket_dir, True)
            try:
                _helpers[key] = ForkServerClient(profile, key[1], _socket_dir)
            except (OSError, RuntimeError, ValueError):
                _helpers[key] = None
        return _helpers[key]


def spawn(argv: list[str], env: dict[str, str], cwd: str | None = None) -> ForkedProcess | None:
    """``argv`` (a ``crosslink`` command) forked from this test process's helper, or ``None``
    where only a real ``exec`` gives the same start (see the module's docstring)."""
    if not _enabled():
        return None
    client = _helper(profile_of(argv), dict(os.environ))  # a one-off setting is cheaper to exec
    if client is None or not client.compatible(env):
        return None
    try:
        return client.spawn(argv, env, cwd or os.getcwd())
    except (OSError, RuntimeError):  # the helper is gone: the rest of this process executes
        _helpers[(profile_of(argv), _startup_key(dict(os.environ)))] = None
        return None


def command(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The argv that runs ``argv`` (a ``crosslink`` command) forked from a helper when it is
    started with ``env`` (default: this process's), through the launcher; ``argv`` itself
    where the fork server is off or its helper could not start."""
    if not _enabled():
        return list(argv)
    client = _helper(profile_of(argv), dict(os.environ) if env is None else env)
    if client is None:
        return list(argv)
    return [sys.executable, "-I", "-S", LAUNCHER, client.socket_path, *argv]


if __name__ == "__main__":
    Helper(socket.socket(fileno=int(sys.argv[1])), sys.argv[2], sys.argv[3]).run()
