"""Starting and stopping the servers under test, cold start, and resident memory.

Every server runs as a subprocess pinned to one core (``taskset -c <cpu>``), on a free
loopback port chosen up front; it is ready when ``GET <health path>`` answers 200.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent  # so that ``bench.apps`` imports in servers
HEALTH = "/api/v1/health"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """``command`` pinned to ``cpu`` with taskset (unpinned when there is no taskset)."""
    if cpu is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(cpu), *command]


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status of one ``GET path`` on 127.0.0.1:port, or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return None
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path
    started_in: float = 0.0  # seconds from spawn to the first 200
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> dict[str, float]:
        """Resident memory now and at its peak, in MB of 10^6 bytes (``/proc/<pid>/status``)."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return {"rss_mb": values.get("VmRSS", 0.0), "peak_mb": values.get("VmHWM", 0.0)}

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(name: str, command: list[str], port: int, log: Path, *, cpu: int | None = 0,
          env: dict[str, str] | None = None, health: str = HEALTH, timeout: float = 60,
          poll: float = 0.002) -> Server:
    """Spawn ``command`` and wait for ``GET health`` to answer 200; time it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab")
    began = time.perf_counter()
    process = subprocess.Popen(
        pinned(command, cpu), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
             **(env or {})},
    )
    out.close()
    server = Server(name, process, port, log)
    deadline = began + timeout
    while True:
        if http_status(port, health) == 200:
            server.started_in = time.perf_counter() - began
            return server
        if process.poll() is not None or time.perf_counter() > deadline:
            server.stop()
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} did not start (exit {process.returncode}); log {log}:\n{tail}")
        time.sleep(poll)


def crosslink(repo: Path, log: Path, *, cpu: int | None = 0, port: int | None = None,
              db: str | None = None) -> Server:
    """``crosslink serve`` on ``repo`` (built-in plugins only), as users run it; ``db``: a
    PostgreSQL URL to serve instead of the repository's SQLite file."""
    port = port or free_port()
    command = [str(BIN / "crosslink"), "serve", "--repo", str(repo), "--port", str(port),
               "--no-autoload", "--log-level", "warning", *(["--db", db] if db else [])]
    return start("crosslink", command, port, log, cpu=cpu)


#: How each ASGI server is started for the comparison (``{app}``: module:attribute).
ASGI_SERVERS = {
    "uvicorn": None,  # the crosslink way: kernel.server.run (uvloop, httptools)
    "granian": ["granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
                "--loop", "uvloop", "--no-access-log", "--log-level", "warning", "{app}"],
    "hypercorn": ["hypercorn", "-k", "uvloop", "-w", "1", "-b", "127.0.0.1:{port}", "--log-level", "warning",
                  "{app}"],
}


def _asgi_command(server: str, app: str, port: int) -> list[str]:
    program, *args = ASGI_SERVERS[server]
    return [str(BIN / program), *(arg.format(port=port, app=app) for arg in args)]


def hello(log: Path, *, server: str = "uvicorn", cpu: int | None = 0) -> Server:
    """The bare Quart hello app; on uvicorn through crosslink's own server runner."""
    port = free_port()
    if server == "uvicorn":
        command = [sys.executable, "-m", "bench.apps", "hello", "--port", str(port)]
    else:
        command = _asgi_command(server, "bench.apps:hello", port)
    return start(f"hello/{server}", command, port, log, cpu=cpu, health="/")


def crosslink_on(server: str, repo: Path, log: Path, *, cpu: int | None = 0) -> Server:
    """The crosslink app on ``server`` (uvicorn: ``crosslink serve`` itself)."""
    if server == "uvicorn":
        return crosslink(repo, log, cpu=cpu)
    port = free_port()
    command = _asgi_command(server, "bench.crosslink_app:app", port)
    return start(f"crosslink/{server}", command, port, log, cpu=cpu, env={"BENCH_REPO": str(repo)})


def has_server(server: str) -> bool:
    return server == "uvicorn" or (BIN / server).exists()
