"""An upgraded WebSocket leaves no cyclic garbage behind its HTTP protocol (openchannels/http_protocol.py).

uvicorn frees its HTTP protocol and parser (a reference cycle) when the connection is lost, which
an upgraded connection never reports to them: every WebSocket left them as garbage for the next
full collection, and after the bench's 10,000 closed WebSockets that collection held the server
for over a second in the middle of later requests. Real uvicorn with the project's protocol, real
sockets, a real WebSocket client; the garbage is what a collection finds (`gc.DEBUG_SAVEALL`).
"""
from __future__ import annotations

import asyncio

import httpx
import uvicorn
import websockets

from bench.ports import free_port
from openchannels.http_protocol import HeaderLimitedHttpToolsProtocol
from tests.garbage import cyclic_garbage

CONNECTIONS = 40


async def echo_app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "websocket":
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"]})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})



async def test_closed_websockets_leave_no_http_protocol_in_cyclic_garbage() -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(echo_app, host="127.0.0.1", port=port, log_level="warning",
                                           http=HeaderLimitedHttpToolsProtocol))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        with cyclic_garbage() as garbage:
            for number in range(CONNECTIONS):
                async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
                    await client.send(f"hello {number}")
                    assert await client.recv() == f"hello {number}"  # the upgrade works as before
            async with httpx.AsyncClient() as http:  # and plain HTTP beside it
                assert (await http.get(f"http://127.0.0.1:{port}/")).text == "ok"
            await asyncio.sleep(0.2)  # the server's side of the closes
    finally:
        server.should_exit = True
        await serving
    protocols = [o for o in garbage if isinstance(o, uvicorn.protocols.http.httptools_impl.HttpToolsProtocol)]
    parsers = [o for o in garbage if type(o).__name__ == "HttpRequestParser"]
    assert (len(protocols), len(parsers)) == (0, 0), f"{len(protocols)} protocols, {len(parsers)} parsers in garbage"
