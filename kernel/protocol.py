"""uvicorn's httptools protocol with the time limits and JSON errors uvicorn lacks.

uvicorn bounds the idle time between requests (keep-alive) but not the time a request's
headers take: a client sending one byte a second holds a connection, a task-free slot of the
server, for ever. This protocol gives every request ``header_timeout`` seconds from its first
byte to its last header; then it answers ``408`` with the API's JSON error and closes the
connection. A connection that sends nothing at all is closed quietly after as long.

The body has its own limit, enforced by Quart (``BODY_TIMEOUT``, :mod:`kernel.app`): a route
reading a body that has not fully arrived in ``body_timeout`` seconds answers a JSON 408. A
response sent while the request's body is still arriving closes the connection afterwards, so
a trickling body cannot keep it.

uvicorn's own answer to a request it cannot parse (a plain-text 400) is the JSON error here too.
"""

from __future__ import annotations

import logging
from asyncio import TimerHandle

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .errors import category
from .jsonutil import dumps

log = logging.getLogger("crosslink.server")


def error_bytes(status: int, detail: str) -> bytes:
    """A complete ``Connection: close`` HTTP response carrying the API's JSON error."""
    body = dumps({"error": category(status), "detail": detail})
    head = (
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return STATUS_LINE[status] + head + body


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a header deadline, JSON parse errors and no trickling bodies."""

    #: Seconds from a request's first byte to its last header (set by :func:`protocol_class`).
    header_timeout: float = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: TimerHandle | None = None

    # --- the header deadline ---------------------------------------------------------------

    def _arm(self, callback) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, callback)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._idle_expired)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self._headers_expired)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _idle_expired(self) -> None:
        self._header_timer = None
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()  # connected, never sent a byte

    def _headers_expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # the previous (pipelined) response is still being written: close after it
            self.cycle.keep_alive = False
            return
        log.debug("request headers from %s took over %ss: 408", self.client, self.header_timeout)
        seconds = f"{self.header_timeout:g}"
        self.transport.write(error_bytes(408, f"The request headers did not arrive within {seconds} seconds"))
        self.transport.close()

    # --- JSON where uvicorn answers plain text ------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        self.transport.write(error_bytes(400, f"{msg} (the request could not be parsed as HTTP/1.1)"))
        self.transport.close()

    # --- no trickling bodies ---------------------------------------------------------------

    def on_response_complete(self) -> None:
        if self.cycle is not None and self.cycle.more_body and not self.pipeline:
            # answered before the body arrived (a 408, 413, 403...): do not wait for the rest
            self.server_state.total_requests += 1
            self.transport.close()
            return
        super().on_response_complete()


def protocol_class(header_timeout: float) -> type[TimedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, with this header deadline."""
    return type("TimedHttpToolsProtocol", (TimedHttpToolsProtocol,), {"header_timeout": header_timeout})
