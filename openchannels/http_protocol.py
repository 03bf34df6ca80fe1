"""uvicorn's httptools protocol with the two limits it lacks: time and size of a request's headers.

uvicorn 0.54 has neither: `timeout_keep_alive` starts only after a response and stops at the next
byte, so a client that sends half a request line and waits keeps its connection (and a slot of the
process) for as long as it likes, and httptools accepts a header of any size (a 200 MiB header grew
a server by about 270 MB). This subclass arms one timer when a request begins and closes the
connection with 408 when its headers are not complete in `HTTP_HEADER_TIMEOUT_SECONDS`, and answers
431 to headers past `HTTP_MAX_HEADER_BYTES`.

It cancels uvicorn's keep-alive timer when a connection is lost to a reset (uvicorn does so only
for a clean close: the timer held the lost connection's protocol for the whole keep-alive time).

It also drops its parser once a connection is upgraded to a WebSocket (`handle_websocket_upgrade`):
uvicorn breaks that reference cycle only when the connection is lost, which an upgraded connection
never reports to it, so every WebSocket left the HTTP protocol behind as cyclic garbage.

It reads attributes of uvicorn's protocol that are not a public API (`loop`, `transport`, `parser`,
`send_400_response`'s shape), so it is used only with the uvicorn version it was written for
(`TESTED_UVICORN`, pinned exactly in pyproject.toml; tests/cli/test_http_protocol.py fails when the
pin moves) and is switched off with `HTTP_HEADER_TIMEOUT_SECONDS=0`: then `serve` runs uvicorn's own
protocol unchanged.
"""
from __future__ import annotations

import asyncio
import logging

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from infrastructure.settings import Settings

#: the one uvicorn release whose protocol internals this module relies on
TESTED_UVICORN = "0.54.0"

logger = logging.getLogger("openchannels.http")


def running_tested_uvicorn(log: logging.Logger, what_is_off: str) -> bool:
    """uvicorn is the release whose private parts this project's protocol code was written for
    (TESTED_UVICORN); else `log` warns that `what_is_off`, and the caller takes uvicorn's own way."""
    if uvicorn.__version__ == TESTED_UVICORN:
        return True
    log.warning("uvicorn %s is not %s: %s", uvicorn.__version__, TESTED_UVICORN, what_is_off)
    return False


def header_limits_enabled(settings: Settings) -> bool:
    """The switch: on when a header timeout is set and uvicorn is the release this was made for."""
    return settings.http_header_timeout_seconds > 0 and running_tested_uvicorn(logger, "request header limits are off")


def _response(status: bytes, text: str) -> bytes:
    body = text.encode("ascii")
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\nconnection: close\r\n\r\n" + body)


class HeaderLimitedHttpToolsProtocol(HttpToolsProtocol):
    """A request's line and headers must arrive within the timeout and stay under the size."""

    # read once per process, at its first connection (uvicorn imports this class in every worker;
    # importing it reads no setting: `openchannels serve` imports this module before it checks them)
    header_timeout: float = -1.0
    max_header_bytes: int = 0
    _limits_read = False

    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0  # request line and headers as parsed
    _unparsed_bytes = 0  # bytes received while the headers stayed incomplete (httptools buffers them)
    _headers_done = True
    _began = False  # a byte of this request has arrived
    _refused = False  # answered 408 or 431: the connection is closing

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if not HeaderLimitedHttpToolsProtocol._limits_read:
            settings = Settings()
            HeaderLimitedHttpToolsProtocol.header_timeout = settings.http_header_timeout_seconds
            HeaderLimitedHttpToolsProtocol.max_header_bytes = settings.http_max_header_bytes
            HeaderLimitedHttpToolsProtocol._limits_read = True
        super().connection_made(transport)
        self._expect_headers()  # a connection that never sends its first byte is timed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._headers_done:  # the next request of a kept-alive connection
            self._expect_headers()
        self._began = True

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered and closing: nothing more is parsed
        pending = not self._headers_done
        super().data_received(data)
        # httptools buffers a header until it ends: a header that never ends is counted here, by
        # the chunks that arrived while the headers were (and stayed) incomplete
        if pending and not self._headers_done:
            self._unparsed_bytes += len(data)
            self._check_size(self._unparsed_bytes)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._cancel_timer()
        if not self._refused:  # the rest of a refused request's chunk starts no request
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)
        # uvicorn cancels its keep-alive timer only when the connection closed cleanly: one reset by
        # the client (a browser tab closed, a proxy's pool) stayed held by that timer, protocol, parser,
        # transport and the last request's scope, for HTTP_KEEP_ALIVE_SECONDS
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    def handle_websocket_upgrade(self) -> None:
        """The connection is the WebSocket protocol's from here on. uvicorn breaks the cycle between
        this protocol and its parser (which holds the protocol's callbacks) in `connection_lost`, which
        an upgraded connection never calls here: each WebSocket left this object, its parser, its scope
        and its flow control (about 45 objects) as cyclic garbage, freed only by a full collection.
        After 10,000 WebSockets had closed (the bench's B2), that collection held the process for
        1.2-1.3 s in the middle of later requests. Dropped here, they are freed as the upgrade returns."""
        self._cancel_timer()
        super().handle_websocket_upgrade()
        self.parser = None  # type: ignore[assignment]

    def _expect_headers(self) -> None:
        self._headers_done = False
        self._header_bytes = self._unparsed_bytes = 0
        self._began = False
        self._cancel_timer()
        if self.header_timeout > 0:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _count(self, size: int) -> None:
        self._header_bytes += size
        self._check_size(self._header_bytes)

    def _check_size(self, size: int) -> None:
        if size > self.max_header_bytes and not self.transport.is_closing():
            self._refuse(b"431 Request Header Fields Too Large", "Request headers too large.")

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._headers_done or self.transport.is_closing():
            return
        # a connection that sent nothing at all is closed silently (a browser's preconnect)
        if self._began:
            self._refuse(b"408 Request Timeout", "Request headers not received in time.")
        else:
            self.transport.close()

    def _refuse(self, status: bytes, text: str) -> None:
        self._refused = True
        self._cancel_timer()
        self.transport.write(_response(status, text))
        self.transport.close()
