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
the response. It relies on uvicorn's `request` and `response` attributes and on `start_keepalive`
being called right after the answer is written, none of them a public API, so it is used only with
the uvicorn release it was written for (`TESTED_UVICORN` of openchannels/http_protocol.py, pinned
exactly in pyproject.toml; tests/cli/test_websocket_protocol.py fails when the pin moves) and is
switched off with `WS_FORGET_HANDSHAKE=off`: `serve` then runs uvicorn's own protocol.
"""
from __future__ import annotations

import logging

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from infrastructure.settings import Settings
from openchannels.http_protocol import TESTED_UVICORN

logger = logging.getLogger("openchannels.websocket")

#: `serve`'s `--ws` when the switch is on
PROTOCOL_PATH = "openchannels.websocket_protocol:HandshakeFreeWebSocketProtocol"


def forget_handshake_enabled(settings: Settings) -> bool:
    """The switch: on when WS_FORGET_HANDSHAKE is and uvicorn is the release this was made for."""
    if not settings.ws_forget_handshake:
        return False
    if uvicorn.__version__ != TESTED_UVICORN:
        logger.warning("uvicorn %s is not %s: WebSocket handshakes are kept (WS_FORGET_HANDSHAKE)",
                       uvicorn.__version__, TESTED_UVICORN)
        return False
    return True


class HandshakeFreeWebSocketProtocol(WebSocketsSansIOProtocol):
    """Once the handshake's answer is written, its request's headers and its response are let go."""

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after it has written the answer to `websocket.accept`
        super().start_keepalive()
        self.request.headers.clear()
        self.response = None  # type: ignore[assignment]
