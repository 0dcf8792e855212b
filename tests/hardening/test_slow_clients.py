"""Clients that are slow or speak broken HTTP, against a real ``crosslink serve`` over raw sockets.

The server runs with ``--header-timeout 1 --body-timeout 1`` so that the cut-offs happen within
the test; the tests assert what the client receives, never how long it took. One server serves
the whole module: every test opens its own connections and none stores anything (one checks
exactly that), so they share it rather than pay a start each.
"""

from __future__ import annotations

import json
import select
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support import LiveServer, copy_repository, start_live_server

pytestmark = pytest.mark.slow

WAIT = 30  # seconds a socket read may block before the test gives up (never reached when it works)


@pytest.fixture(scope="module")
def live(tmp_path_factory, repo_template: Path):
    """``crosslink serve --plugins issues`` with one-second header and body deadlines."""
    repo = copy_repository(repo_template, tmp_path_factory.mktemp("slow-clients") / "project")
    server: LiveServer = start_live_server(repo, ["--plugins", "issues", "--header-timeout", "1", "--body-timeout", "1"])
    yield server
    server.stop()
    assert "Traceback" not in server.text(), server.text()[-5000:]


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=WAIT)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def trickle(sock: socket.socket, data: bytes, pause: float = 0.2) -> int:
    """Send ``data`` one byte at a time until the server answers; the bytes sent by then."""
    for sent, byte in enumerate(data):
        readable, _, _ = select.select([sock], [], [], pause)
        if readable:
            return sent
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return sent
    return len(data)


def head_of(url: str, method: str = "GET", path: str = "/api/v1/health", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n{extra}".encode()


def test_request_headers_sent_byte_by_byte_are_cut_off_with_a_json_408(live):
    request = head_of(live.url, extra="User-Agent: slowloris\r\nAccept: application/json\r\n\r\n")
    with connect(live.url) as sock:
        sent = trickle(sock, request)
        response = read_all(sock)  # returns: the server closed the connection
    assert sent < len(request), "the server waited for the whole header"
    status, headers, body = parse(response)
    assert status == 408
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert json.loads(body) == {
        "error": "request timeout",
        "detail": "The request headers did not arrive within 1 seconds",
    }
    assert httpx.get(f"{live.url}/api/v1/health").status_code == 200  # the server is fine


def test_a_connection_that_sends_nothing_is_closed(live):
    with connect(live.url) as sock:
        assert read_all(sock) == b""  # closed quietly: no request, no response


def test_a_slow_body_is_a_json_408_and_nothing_is_stored(live):
    body = json.dumps({"title": "never stored"}).encode()
    head = head_of(
        live.url, "POST", "/api/v1/issues",
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n",
    )
    with connect(live.url) as sock:
        sock.sendall(head + body[:5])  # then nothing more
        status, headers, answer = parse(read_all(sock))
    assert status == 408 and headers["content-type"] == "application/json"
    assert json.loads(answer)["error"] == "request timeout"
    assert httpx.get(f"{live.url}/api/v1/issues", params={"status": "all"}).json()["total"] == 0


def test_a_request_that_is_not_http_is_a_json_400(live):
    with connect(live.url) as sock:
        sock.sendall(b"HELLO THERE\r\n\r\n")
        status, headers, body = parse(read_all(sock))
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "bad request"


@pytest.mark.parametrize(
    ("host", "status"),
    [("[::1", 403), ("[::1]x", 403), ("[not-an-ip]:1", 403), ("127.0.0.1:1@evil.example", 403), ("[::1]:1", 200)],
)
def test_hosts_are_parsed_strictly_on_the_wire(live, host, status):
    with connect(live.url) as sock:
        sock.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        got, headers, body = parse(read_all(sock))
    assert got == status and headers["content-type"] == "application/json", body


@pytest.mark.parametrize("path", ["/api/v1//issues", "/api/v1/issues//", "/api/v1/issues/"])
def test_doubled_and_trailing_slashes_are_json_404s_not_redirects(live, path):
    with connect(live.url) as sock:
        sock.sendall(head_of(live.url, path=path, extra="Connection: close\r\n\r\n"))
        status, headers, body = parse(read_all(sock))
    assert status == 404 and "location" not in headers
    assert json.loads(body)["detail"] == f"No such route: {path}"


def test_keep_alive_requests_are_served_as_before(live):
    with connect(live.url) as sock:
        for _ in range(3):
            sock.sendall(head_of(live.url, extra="\r\n"))
            response = b""
            while b'"ok"' not in response:
                response += sock.recv(65536)
            assert response.startswith(b"HTTP/1.1 200 ")
