"""WebSocket frames written straight to the socket's transport, past the ASGI layers.

A shared subscription's event goes to thousands of sockets (openchannels/shared_subscriptions.py):
rendered once, the same bytes for every member but its operation id. Sent the ASGI way, each socket
still paid a writer task, Starlette's `send`, uvicorn's `send` (a `websocket.send` message, the text
encoded again) and websockets' framing: about half of a delivery's CPU besides the write system call
itself. Here a text frame is built once per distinct content (`text_frame`: RFC 6455's header for
an unmasked, unfragmented text frame, as a server sends it) and each socket only writes it: several
frames, one after the other, in one write when a member has several results to get at once.

It reads attributes of uvicorn's websockets-sansio protocol that are not a public API (`transport`,
`conn`, `writable`, `handshake_complete`, `close_sent`, `disconnected`, `initial_response`), so it is
used only with the uvicorn release it was written for (`TESTED_UVICORN` of openchannels/http_protocol.py,
pinned exactly in pyproject.toml; tests/engine/test_websocket_direct.py fails when the pin moves), only
with that protocol (`--ws auto` with websockets installed; wsproto or the legacy websockets protocol:
the ASGI path), only without permessage-deflate (a compressed frame is per connection), and is
switched off with `WS_DIRECT_SEND=off`: every frame then takes the ASGI path.

What stays the same (openchannels/websocket_limits.py decides when a frame may be written here):
- order: a frame is written directly only when nothing is queued for the socket and no writer is
  sending; otherwise it joins the queue behind what is there (a `complete`, an `error`, a `pong`);
- the bounded queue: a socket whose transport paused writing (its buffer past the high-water
  mark: the client does not read) gets its frames queued, and the queue's limit closes it (4429);
- closing: nothing is written once the server decided to close or uvicorn sent or got a close.
"""
from __future__ import annotations

import logging
import struct
from typing import Any

# uvicorn[standard] installs websockets, so uvicorn's websockets-sansio protocol is always there
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from openchannels.http_protocol import running_tested_uvicorn

log = logging.getLogger("openchannels.websocket")

#: the key of the ASGI scope under which the GraphQL app leaves a connection's DirectWriter (or None)
SCOPE_KEY = "openchannels.direct_writer"

_FIN_TEXT = 0x81
_HEADER_16 = struct.Struct("!BBH")
_HEADER_64 = struct.Struct("!BBQ")


def text_frame(data: bytes) -> bytes:
    """One final, unmasked text frame holding `data` (UTF-8), as a server writes it (RFC 6455 5.2)."""
    size = len(data)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + data
    if size < 65536:
        return _HEADER_16.pack(_FIN_TEXT, 126, size) + data
    return _HEADER_64.pack(_FIN_TEXT, 127, size) + data


def frame_of(text: str) -> bytes:
    """The text frame of `text` (a shared subscription's frames are made once per result and written to
    every member: openchannels/shared_subscriptions.py `Batch`)."""
    return text_frame(text.encode())


def direct_send_available() -> bool:
    """uvicorn is the release this was written for (else the ASGI path, with a warning)."""
    return running_tested_uvicorn(log, "WebSocket frames take the ASGI path (WS_DIRECT_SEND)")


class DirectWriter:
    """Writes frames to one connection's transport, when uvicorn's protocol is open for them."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def ready(self) -> bool:
        """Open, handshake done, no close sent or received, and the transport not paused."""
        protocol = self.protocol
        return (protocol.handshake_complete and not protocol.close_sent and not protocol.disconnected
                and protocol.initial_response is None and protocol.writable.is_set()
                and protocol.conn.state is _OPEN and not protocol.transport.is_closing())

    def write(self, frame: bytes) -> None:
        self.protocol.transport.write(frame)


_OPEN: Any = State.OPEN


def direct_writer(send: Any) -> DirectWriter | None:
    """The DirectWriter of the connection whose ASGI `send` this is: uvicorn's own sansio protocol's
    `send` (not wrapped by a middleware) on a connection without an extension (permessage-deflate);
    None for anything else (the ASGI path)."""
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    if getattr(send, "__func__", None) is not WebSocketsSansIOProtocol.send:
        return None
    conn = getattr(protocol, "conn", None)
    if conn is None or getattr(conn, "extensions", None):
        return None
    return DirectWriter(protocol)
