"""HTTP load: wrk (full runs) or a small asyncio client (smoke runs, and where wrk is absent).

A scenario is a list of requests that every connection takes in turn, round-robin (shuffled
up front, so "random id" means the same ids in the same order with both tools). wrk runs it
from a generated Lua script whose ``done`` hook prints the figures as JSON; wrk is written in C
and, pinned to the other core, is never the bottleneck of a Python server (a Python client on
one core would be: it costs about as much per request as the server does).

Figures of one run: requests, req/s, latency p50/p90/p99/max (wrk: its HdrHistogram), socket
errors, and responses of an unexpected status class.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .servers import pinned


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None  # JSON

    def encode(self, netloc: str) -> bytes:
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: {netloc}\r\n"
        if self.body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n"
        return (head + "\r\n").encode() + (self.body or b"")


def get(path: str) -> Request:
    return Request("GET", path)


def post(path: str, payload: dict) -> Request:
    return Request("POST", path, json.dumps(payload).encode())


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int = 0  # connect/read/write errors and timeouts
    unexpected: int = 0  # responses whose status class was not the expected one
    tool: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**self.__dict__, "rps": round(self.rps, 1)}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run(tool: str, base_url: str, requests: list[Request], *, connections: int, duration: float,
        expect: int = 200, cpu: int | None = 1) -> LoadResult:
    """One run of ``requests`` against ``base_url`` for ``duration`` seconds."""
    if tool == "wrk":
        return _wrk(base_url, requests, connections, duration, expect, cpu)
    return asyncio.run(_python(base_url, requests, connections, duration, expect))


# --- wrk -----------------------------------------------------------------------------------------

_LUA = r"""
local raw = {%(requests)s}
local reqs = {}
local i = 0
init = function(args)
  for k, r in ipairs(raw) do
    local headers = nil
    if r[3] ~= nil then headers = {["Content-Type"] = "application/json"} end
    reqs[k] = wrk.format(r[1], r[2], headers, r[3])
  end
end
request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\nBENCH_JSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"status":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _lua_string(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in data) + '"'


#: LuaJIT allows 65,536 constants in a chunk; each request holds up to three
MAX_REQUESTS = 20_000


def lua_script(requests: list[Request]) -> str:
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f"{len(requests)} requests in one wrk script; at most {MAX_REQUESTS}")
    rows = ",\n".join(
        "{" + ", ".join([_lua_string(r.method), _lua_string(r.path), _lua_string(r.body) if r.body is not None else "nil"]) + "}"
        for r in requests
    )
    return _LUA % {"requests": rows}


def _wrk(base_url: str, requests: list[Request], connections: int, duration: float, expect: int,
         cpu: int | None) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "scenario.lua"
        script.write_text(lua_script(requests))
        seconds = max(1, round(duration))
        command = pinned(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
                          base_url], cpu)
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    non2xx = figures["status"]
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=sum(figures[k] for k in ("connect", "read", "write", "timeout")),
        # wrk counts responses outside 2xx/3xx; a scenario expecting 4xx wants all of them there
        unexpected=non2xx if expect < 400 else figures["requests"] - non2xx,
        tool="wrk",
    )


# --- the asyncio client ----------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q / 100 * len(sorted_values)))]


async def _python(base_url: str, requests: list[Request], connections: int, duration: float,
                  expect: int) -> LoadResult:
    parts = urlsplit(base_url)
    raws = [r.encode(parts.netloc) for r in requests]
    order = itertools.cycle(range(len(raws)))
    latencies: list[float] = []
    counts = {"errors": 0, "unexpected": 0}
    began = time.perf_counter()
    deadline = began + duration

    async def connection() -> None:
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            counts["errors"] += 1
            return
        try:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                writer.write(raws[next(order)])
                status = await asyncio.wait_for(_read_response(reader), 5)
                latencies.append(time.perf_counter() - sent)
                if status // 100 != expect // 100:
                    counts["unexpected"] += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            counts["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return LoadResult(
        requests=len(ms),
        seconds=elapsed,
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1] if ms else 0.0,
        errors=counts["errors"],
        unexpected=counts["unexpected"],
        tool="python",
    )
