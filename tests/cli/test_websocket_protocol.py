"""A WebSocket lets go of its opening handshake once it is accepted (openchannels/websocket_protocol.py).

uvicorn keeps the handshake's request, with every header the client sent, and its 101 response for
as long as the connection lives: the largest part of what an idle connection's own objects hold.
Real uvicorn, real sockets, a real WebSocket client sending a browser's headers; the server's memory
per connection is what tracemalloc traces while the connections stay open.
"""
from __future__ import annotations

import asyncio
import tomllib
import tracemalloc
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.ports import free_port
from infrastructure.settings import settings_of
from openchannels.cli.serve import uvicorn_options
from openchannels.http_protocol import TESTED_UVICORN
from openchannels.websocket_direct import direct_writer
from openchannels.websocket_protocol import PROTOCOL_PATH, HandshakeFreeWebSocketProtocol

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 150
#: what a browser sends with a WebSocket's opening request, besides the handshake's own headers
BROWSER_HEADERS = {
    "Origin": "https://console.example.com",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Accept-Language": "en-GB,en;q=0.9,de;q=0.8",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "Cookie": "session=" + "c" * 120 + "; theme=dark; locale=en-GB",
    "Sec-WebSocket-Protocol": "graphql-transport-ws",
}


def test_uvicorn_is_the_release_the_protocol_was_written_for():
    """The subclass relies on uvicorn's `request`, `response` and `start_keepalive`: moving the pin must
    fail here first (then check them against the new release, and move TESTED_UVICORN with the pin)."""
    assert uvicorn.__version__ == TESTED_UVICORN
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"uvicorn[standard]=={TESTED_UVICORN}" in dependencies


def test_serve_uses_it_unless_switched_off():
    assert uvicorn_options(settings_of({}))["ws"] == PROTOCOL_PATH
    assert uvicorn_options(settings_of({"WS_FORGET_HANDSHAKE": "off"}))["ws"] == "auto"


class _Echo:
    """Accepts with the subprotocol asked for, answers each text with the Origin header it was opened
    with and the text; keeps each connection's DirectWriter (openchannels/websocket_direct.py)."""

    def __init__(self) -> None:
        self.writers: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept", "subprotocol": scope["subprotocols"][0]})
        self.writers.append(direct_writer(send))
        origin = dict(scope["headers"])[b"origin"].decode()
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": f"{origin} {message['text']}"})


async def _bytes_per_open_connection(protocol: type, app: _Echo) -> float:
    """The memory traced while CONNECTIONS WebSockets stay open (they answer), per connection."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           ws=protocol, ws_per_message_deflate=False))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        url = f"ws://127.0.0.1:{port}/graphql"

        async def opened() -> Any:
            ws = await connect(url, additional_headers=BROWSER_HEADERS, subprotocols=[Subprotocol("graphql-transport-ws")],
                               compression=None)
            await ws.send("hello")
            assert await asyncio.wait_for(ws.recv(), 10) == "https://console.example.com hello"
            return ws

        for ws in [await opened() for _ in range(5)]:  # one-off allocations first
            await ws.close()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            clients = [await opened() for _ in range(CONNECTIONS)]
            for ws in clients:  # still open, and still answering after the handshake was let go
                await ws.send("again")
                assert await asyncio.wait_for(ws.recv(), 10) == "https://console.example.com again"
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        for ws in clients:
            await ws.close()
        return held / CONNECTIONS
    finally:
        server.should_exit = True
        await serving


async def test_an_open_websocket_holds_no_handshake_and_still_works():
    """The same app behind uvicorn's protocol and behind the subclass: about 7 KB less per open
    connection (the client's side, in the same process, is the same for both), the connection's
    headers still in its ASGI scope, messages both ways, and frames still written past the ASGI layers."""
    ours, theirs = _Echo(), _Echo()
    kept = await _bytes_per_open_connection(WebSocketsSansIOProtocol, theirs)
    let_go = await _bytes_per_open_connection(HandshakeFreeWebSocketProtocol, ours)
    assert let_go < kept - 4_000, (let_go, kept)
    assert ours.writers and all(writer is not None for writer in ours.writers)
