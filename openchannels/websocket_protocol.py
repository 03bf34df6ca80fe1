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

It relies on uvicorn's `request` and `response` attributes and on `start_keepalive` being called
right after the answer is written, none of them a public API, so it is used only with
the uvicorn release it was written for (`TESTED_UVICORN` of openchannels/http_protocol.py, pinned
exactly in pyproject.toml; tests/cli/test_websocket_protocol.py fails when the pin moves) and is
switched off with `WS_FORGET_HANDSHAKE=off`: `serve` then runs uvicorn's own protocol.
"""
from __future__ import annotations

import logging
import traceback

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


class HandshakeFreeWebSocketProtocol(WebSocketsSansIOProtocol):
    """Once the handshake's answer is written, its request's headers and its response are let go."""

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after it has written the answer to `websocket.accept`
        super().start_keepalive()
        self.request.headers.clear()
        self.response = None  # type: ignore[assignment]

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
