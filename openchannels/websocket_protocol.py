"""uvicorn's websockets-sansio protocol without the opening handshake held for the connection's life.

uvicorn keeps a WebSocket's handshake after it has answered it: the request (`protocol.request`, also
held by the websockets library's parser, a generator whose frame keeps it as a local) with every
header the client sent, and the `101 Switching Protocols` response (`protocol.response`) with its own.
Nothing reads them once the connection is open: the ASGI scope has its own copy of the request's
headers. On an idle connection they were the largest part a connection's own Python objects hold
besides its subscriptions: 5.4 KiB of the server's memory per connection (38.3 against 32.9 KiB in
the bench's B2 idle, 3,000 connections with three subscriptions each).

This subclass lets them go as the handshake's answer is written: it empties the request's headers
(the websockets library's public `Headers.clear`, reaching the copy its parser holds too) and drops
the response.

It also lets go of a reference cycle when the connection is lost: the websockets library's parser
is a generator that holds its protocol, and when a client sent a frame it refuses (a protocol
error) the error it keeps (`parser_exc`) holds the parser's frames in its traceback. Each such
connection was left for the next full collection: after the bench's 10,000 fan-out connections
closed, that collection held the server for 0.35-0.69 s in the middle of later requests. The
parser is closed (`generator.close`) and the error's frames cleared (`traceback.clear_frames`).

It also sends every connection's keepalive pings from one timer per process (`KeepaliveTicks`).
uvicorn gives each connection two timers of its own, one for its next ping and one for its pong's
deadline, so an idle server woke once for each ping and once for each pong, each at its own moment:
with 10,000 idle connections (a ping every 20 s each, uvicorn's default) that was 5.9 % of a core
against 0.3 % without pings. Here the pings due in the same quarter of a second go out together,
their pongs come back together and are read in the same wake-ups, and a deadline is checked at the
next tick after it. What a ping is stays uvicorn's: its random payload, `ping_interval` after the
last ping (less the last round trip), `ping_timeout` for its pong, a stale or unsolicited pong
ignored, and the connection failed with 1011 when the pong does not come.

It relies on uvicorn's `request` and `response` attributes and on `start_keepalive` being called
right after the answer is written, and on its keepalive's attributes and methods (`schedule_ping`,
`stop_keepalive`, `handle_pong`, `keepalive_timeout`, `pending_ping_payload`, `ping_sent_at`,
`last_ping_rtt`), none of them a public API, so it is used only with the uvicorn release it was
written for (`TESTED_UVICORN` of openchannels/http_protocol.py, pinned exactly in pyproject.toml;
tests/cli/test_websocket_protocol.py fails when the pin moves) and is switched off with
`WS_FORGET_HANDSHAKE=off`: `serve` then runs uvicorn's own protocol.
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import struct
import traceback
import weakref
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from infrastructure.settings import Settings
from openchannels.http_protocol import running_tested_uvicorn

logger = logging.getLogger("openchannels.websocket")

#: `serve`'s `--ws` when the switch is on
PROTOCOL_PATH = "openchannels.websocket_protocol:HandshakeFreeWebSocketProtocol"


def forget_handshake_enabled(settings: Settings) -> bool:
    """The switch: on when WS_FORGET_HANDSHAKE is and uvicorn is the release this was made for."""
    return settings.ws_forget_handshake and running_tested_uvicorn(
        logger, "WebSocket handshakes are kept (WS_FORGET_HANDSHAKE)")


#: the keepalive's clock: pings due within the same tick go out together, a deadline is checked at
#: the first tick after it (uvicorn's timing, at most this much later)
KEEPALIVE_TICK_SECONDS = 0.25


class KeepaliveTicks:
    """The keepalive of every WebSocket of one event loop: which connection is due at which tick,
    and one timer for the earliest tick that has any."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: dict[int, dict[int, HandshakeFreeWebSocketProtocol]] = {}
        self._tick_of: dict[int, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for: int | None = None

    def __len__(self) -> int:
        return len(self._tick_of)

    def at(self, protocol: HandshakeFreeWebSocketProtocol, delay: float) -> None:
        """`protocol` is due in `delay` seconds (rounded up to a tick), and not before."""
        self.discard(protocol)
        tick = math.ceil((self.loop.time() + delay) / KEEPALIVE_TICK_SECONDS)
        self._due.setdefault(tick, {})[id(protocol)] = protocol
        self._tick_of[id(protocol)] = tick
        if self._armed_for is None or tick < self._armed_for:
            self._arm(tick)

    def discard(self, protocol: HandshakeFreeWebSocketProtocol) -> None:
        tick = self._tick_of.pop(id(protocol), None)
        if tick is not None:
            bucket = self._due[tick]
            del bucket[id(protocol)]
            if not bucket:
                del self._due[tick]

    def _arm(self, tick: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = tick
        self._timer = self.loop.call_at(tick * KEEPALIVE_TICK_SECONDS, self._fire)

    def _fire(self) -> None:
        self._timer = self._armed_for = None
        now = self.loop.time() / KEEPALIVE_TICK_SECONDS
        for tick in sorted(tick for tick in self._due if tick <= now + 1e-6):
            for key, protocol in self._due.pop(tick).items():
                del self._tick_of[key]
                try:
                    protocol.keepalive_due()
                except Exception:  # noqa: BLE001 - one connection's failure must not stop the others' pings
                    logger.exception("a WebSocket keepalive ping failed")
        if self._due:
            self._arm(min(self._due))


_ticks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KeepaliveTicks] = weakref.WeakKeyDictionary()


def keepalive_ticks(loop: asyncio.AbstractEventLoop) -> KeepaliveTicks:
    """The KeepaliveTicks of `loop` (one per event loop: each server process has one)."""
    ticks = _ticks.get(loop)
    if ticks is None:
        ticks = _ticks[loop] = KeepaliveTicks(loop)
    return ticks


class HandshakeFreeWebSocketProtocol(WebSocketsSansIOProtocol):
    """Once the handshake's answer is written, its request's headers and its response are let go;
    its keepalive pings go out on the process's ticks (KeepaliveTicks)."""

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after it has written the answer to `websocket.accept`
        super().start_keepalive()
        self.request.headers.clear()
        self.response = None  # type: ignore[assignment]

    def schedule_ping(self) -> None:
        # uvicorn: the next ping `ping_interval` after the last one (its round trip taken off), on a timer of its own
        assert self.ping_interval is not None  # called only with pings on (start_keepalive)
        keepalive_ticks(self.loop).at(self, max(0.0, self.ping_interval - self.last_ping_rtt))

    def stop_keepalive(self) -> None:
        super().stop_keepalive()
        keepalive_ticks(self.loop).discard(self)

    def handle_pong(self, event: Any) -> None:
        in_flight = self.pending_ping_payload
        super().handle_pong(event)  # its pong timer is None here: it only records the round trip
        if in_flight is not None and self.pending_ping_payload is None:  # the ping in flight was answered
            self.schedule_ping()

    def keepalive_due(self) -> None:
        """A tick: the next ping, or, when the last one is still unanswered, its deadline."""
        if self.close_sent or self.transport.is_closing():
            return
        if self.pending_ping_payload is not None:
            self.keepalive_timeout()  # uvicorn's: 1011 "keepalive ping timeout", the transport closed
            return
        # uvicorn's send_keepalive_ping without its timers
        self.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(self.pending_ping_payload)
        self.transport.write(b"".join(self.conn.data_to_send()))
        if self.ping_timeout is not None:
            keepalive_ticks(self.loop).at(self, self.ping_timeout)
        else:
            self.schedule_ping()

    def connection_lost(self, exc: Exception | None) -> None:
        """The websockets library's parser (a generator holding its protocol), and the error it
        kept when the stream ended without a closing handshake (a tab closed, a network gone: its
        traceback holds the parser's frames), are a reference cycle per connection: let go here,
        the connection is freed as it closes instead of by the next full collection."""
        super().connection_lost(exc)
        conn = self.conn
        failure = conn.parser_exc
        conn.parser.close()
        if failure is not None:
            traceback.clear_frames(failure.__traceback__)
