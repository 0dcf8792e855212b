"""Helpers for tests: git, waiting on WebSocket messages, live servers in subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quart import Quart

from tests import forkserver

#: The databases the plugin suites run on (``pytest.mark.parametrize("backend", BACKENDS, indirect=True)``).
BACKENDS = ["sqlite", "postgres"]
#: The PostgreSQL server the tests use (each test gets a database of its own on it).
PG_ADMIN_DSN = os.environ.get("CROSSLINK_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")

CROSSLINK = str(Path(sys.executable).parent / "crosslink")
_LISTENING = re.compile(r"listening on (http://\S+)")


def crosslink_command(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """The argv for ``crosslink ARGS`` run by ``subprocess`` (or a library) with ``env``
    (default: this process's): forked from a :mod:`tests.forkserver` helper through its
    launcher, or the console script itself where only an ``exec`` starts it the same way."""
    return forkserver.command([CROSSLINK, *args], env)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout


def copy_repository(template: Path, target: Path) -> Path:
    """A copy of the git repository ``template`` (the ``repo_template`` fixture) at ``target``."""
    shutil.copytree(template, target, symlinks=True)
    return target


@dataclass
class TestServer:
    """An application running in-process with its lifespan, and a test client."""

    __test__ = False  # not a test class

    app: Quart
    client: Any
    kernel: Any


async def receive_json(ws, timeout: float = 3.0) -> dict:
    """The next JSON message from a Quart test WebSocket, failing after ``timeout`` seconds."""
    return json.loads(await asyncio.wait_for(ws.receive(), timeout))


async def receive_until(ws, message_type: str, timeout: float = 3.0) -> dict:
    """Skip messages until one of ``message_type`` arrives."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        message = await receive_json(ws, max(remaining, 0.01))
        if message["type"] == message_type:
            return message


async def open_ws(client, path: str = "/ws", channels: list[str] | None = None):
    """Open a test WebSocket, read the hello, optionally subscribe and wait for the ack."""
    ws = client.websocket(path)
    connection = await ws.__aenter__()
    hello = await receive_json(connection)
    assert hello["type"] == "hello"
    if channels is not None:
        await connection.send(json.dumps({"type": "subscribe", "channels": channels}))
        ack = await receive_json(connection)
        assert ack["type"] == "subscribed", ack
    return ws, connection


@dataclass
class LiveServer:
    """``crosslink serve`` running as a subprocess (forked by :mod:`tests.forkserver` where
    that starts it as ``exec`` would); its output is collected."""

    process: subprocess.Popen | forkserver.ForkedProcess
    url: str
    output: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def text(self) -> str:
        return "".join(self.output)


def start_live_server(repo: Path, args: list[str], env: dict[str, str] | None = None,
                      timeout: float = 30) -> LiveServer:
    full_env = {**os.environ, **(env or {})}
    argv = [CROSSLINK, "serve", "--port", "0", "--repo", str(repo), *args]
    process = forkserver.spawn(argv, full_env) or subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in process.stdout:
            output.append(line)
            match = _LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("crosslink serve did not start in time:\n" + "".join(output))
    if not found:
        process.wait(5)
        raise RuntimeError(f"crosslink serve exited ({process.returncode}):\n" + "".join(output))
    return LiveServer(process=process, url=found[0], output=output)


class RawWebSocket:
    """A minimal WebSocket client over a raw socket, for a client that stops reading.

    Library clients keep reading in the background; this one reads only when asked, so the
    server sees real TCP back-pressure. The receive buffer is made as small as the kernel allows.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, url: str, receive_buffer: int = 1024) -> RawWebSocket:
        import base64
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        await writer.drain()
        status = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"WebSocket upgrade refused: {status!r}")
        return cls(reader, writer)

    async def recv(self) -> str:
        """The next text message (server frames are unmasked; control frames are skipped)."""
        while True:
            head = await self.reader.readexactly(2)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(length)
            if opcode == 0x1:
                return payload.decode()
            if opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                raise ConnectionError(f"the server closed the WebSocket ({code}: {payload[2:].decode()})")

    def send_text(self, text: str) -> None:
        """Queue one masked text frame (a client's frames are masked); not awaited, so a test
        can write far more than the server reads."""
        payload = text.encode()
        mask = os.urandom(4)
        head = bytearray([0x81])
        if len(payload) < 126:
            head.append(0x80 | len(payload))
        elif len(payload) < 65536:
            head.append(0x80 | 126)
            head += len(payload).to_bytes(2, "big")
        else:
            head.append(0x80 | 127)
            head += len(payload).to_bytes(8, "big")
        key = (mask * (len(payload) // 4 + 1))[: len(payload)]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(len(payload), "big")
        self.writer.write(bytes(head) + mask + masked)

    def close(self) -> None:
        self.writer.close()


def send_and_abort(url: str, method: str, path: str, body: Any, after: float) -> None:
    """Send one request on a raw socket, wait ``after`` seconds, then reset the connection
    without reading the answer: a client that crashed or gave up mid-request."""
    import socket
    import struct
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((parts.hostname, parts.port))
    try:
        sock.sendall(head + payload)
        time.sleep(after)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
    finally:
        sock.close()
