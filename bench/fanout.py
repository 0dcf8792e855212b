"""WebSocket fan-out: N subscribers on ``/ws``, one mutating request per round, and the time
from that request's response to each delivery of its event.

All subscribers live in this process on one event loop (pinned to the load core), as minimal
RFC 6455 clients over asyncio protocols: a frame is timestamped in ``data_received``, before any
JSON parsing, so the client adds little beyond its own turn through the loop. Figures per round:
the delay from the response of the mutating ``POST`` (its last byte read) to the *last*
subscriber's delivery, and each subscriber's delay; a run reports p50/p99 of both.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .load import Request, _read_response, percentile

EVENT_MARK = b'"issue_updated"'


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payloads here are small)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    length = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([0x80 | length]) if length < 126 else bytes([0x80 | 126]) + struct.pack("!H", length)
    return head + mask + masked


class Subscriber(asyncio.Protocol):
    """One WebSocket client: handshake, subscribe, then timestamp every event frame."""

    def __init__(self, netloc: str, channels: list[str]) -> None:
        self.netloc = netloc
        self.channels = channels
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()  # subscribed
        self.received_at: float | None = None  # the current round's event
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (f"GET /ws HTTP/1.1\r\nHost: {self.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.upgraded:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self._fail(ConnectionError(f"upgrade refused: {head[:80]!r}"))
                return
            self.upgraded, self.buffer = True, rest
            self.transport.write(_frame(0x1, b'{"type":"subscribe","channels":%s}' % self._channels()))
        while len(self.buffer) >= 2:
            opcode, length, start = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, start = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return
                length, start = struct.unpack("!Q", self.buffer[2:10])[0], 10
            if len(self.buffer) < start + length:
                return
            payload, self.buffer = self.buffer[start : start + length], self.buffer[start + length :]
            if opcode == 0x1:
                if EVENT_MARK in payload:
                    if self.received_at is None:
                        self.received_at = now
                elif b'"subscribed"' in payload and not self.ready.done():
                    self.ready.set_result(True)
            elif opcode == 0x9:  # ping: answer, or the server closes us
                self.transport.write(_frame(0xA, payload))
            elif opcode == 0x8:
                self._fail(ConnectionError("the server closed the WebSocket"))

    def _channels(self) -> bytes:
        return ("[" + ",".join(f'"{c}"' for c in self.channels) + "]").encode()

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(exc)

    def connection_lost(self, exc) -> None:
        self._fail(ConnectionError(f"connection lost: {exc}"))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(0x8, struct.pack("!H", 1000)))
            self.transport.close()


@dataclass
class FanoutResult:
    subscribers: int
    rounds: int
    last_p50_ms: float  # response -> last delivery, over rounds
    last_p99_ms: float
    each_p50_ms: float  # response -> each delivery, over all deliveries
    each_p99_ms: float
    post_to_all_p50_ms: float  # request sent -> last delivery
    sent_p50_ms: float  # request sent -> each delivery, over all deliveries
    sent_p99_ms: float
    missing: int  # deliveries that never came (within the round timeout)
    connect_s: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


async def run(base_url: str, mutation: Request, *, subscribers: int, rounds: int, gap: float = 0.2,
              round_timeout: float = 5.0, mutate_url: str | None = None) -> FanoutResult:
    """Connect ``subscribers`` clients to the ``issues`` channel, then send ``mutation`` ``rounds`` times
    (to ``mutate_url`` when given: another instance of a team server)."""
    parts = urlsplit(base_url)
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    clients: list[Subscriber] = []
    for start in range(0, subscribers, 100):  # connect in batches: a burst of 1,000 SYNs overflows the backlog
        batch = []
        for _ in range(min(100, subscribers - start)):
            _, client = await loop.create_connection(
                lambda: Subscriber(parts.netloc, ["issues"]), parts.hostname, parts.port
            )
            batch.append(client)
        await asyncio.wait_for(asyncio.gather(*(c.ready for c in batch)), 30)
        clients.extend(batch)
    connect_s = time.perf_counter() - began

    target = urlsplit(mutate_url) if mutate_url else parts
    reader, writer = await asyncio.open_connection(target.hostname, target.port)
    raw = mutation.encode(target.netloc)
    last, each, post_to_all, from_sent = [], [], [], []
    missing = 0
    try:
        for _ in range(rounds):
            await asyncio.sleep(gap)
            for client in clients:
                client.received_at = None
            sent = time.perf_counter()
            writer.write(raw)
            status = await asyncio.wait_for(_read_response(reader), round_timeout)
            answered = time.perf_counter()
            if status // 100 != 2:
                raise RuntimeError(f"the mutating request answered {status}")
            deadline = answered + round_timeout
            while any(c.received_at is None for c in clients) and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            times = [c.received_at for c in clients if c.received_at is not None]
            missing += len(clients) - len(times)
            if times:
                last.append((max(times) - answered) * 1000)
                post_to_all.append((max(times) - sent) * 1000)
                each.extend((t - answered) * 1000 for t in times)
                from_sent.extend((t - sent) * 1000 for t in times)
    finally:
        writer.close()
        for client in clients:
            client.close()
        await asyncio.sleep(0.05)
    last.sort()
    each.sort()
    post_to_all.sort()
    from_sent.sort()
    return FanoutResult(
        subscribers=subscribers,
        rounds=rounds,
        last_p50_ms=percentile(last, 50),
        last_p99_ms=percentile(last, 99),
        each_p50_ms=percentile(each, 50),
        each_p99_ms=percentile(each, 99),
        post_to_all_p50_ms=percentile(post_to_all, 50),
        sent_p50_ms=percentile(from_sent, 50),
        sent_p99_ms=percentile(from_sent, 99),
        missing=missing,
        connect_s=connect_s,
    )
