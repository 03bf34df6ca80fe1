"""A closed GraphQL WebSocket is freed when it closes, not left for the next full collection.

Two reference cycles per connection, both now broken as it closes:
- the app hands each WebSocket's scope the writer of its frames (openchannels/websocket_direct.py),
  which holds uvicorn's protocol, which holds the scope;
- the websockets library's parser is a generator that holds its protocol, and when the stream ends
  without a closing handshake the error it keeps holds the parser's frames in its traceback
  (openchannels/websocket_protocol.py lets go of both);
- with PLAIN_EXECUTION=off, graphql-core's execution context of each operation is a cycle of its own
  that holds the operation's context, whose request (Starlette's WebSocket) held the connection's
  ASGI `receive` and `send`, uvicorn's protocol's: the handler gets them through `Detachable`s
  (openchannels/app.py), let go of as it ends.
After the bench's 10,000 fan-out connections had closed, the full collection that freed them held
the server for 0.35-0.69 s in the middle of later requests (B5's p99 up to 827 ms, target 300).

The whole app on a loopback port in the test's process (uvicorn with the project's HTTP and
WebSocket protocols), real WebSocket clients on both subprotocols, each with a subscription; the
garbage is what a collection finds (`gc.DEBUG_SAVEALL`).
"""
from __future__ import annotations

import asyncio

from starlette.routing import WebSocketRoute
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.server import ServerProtocol

from infrastructure.settings import Settings
from openchannels.app import create_app
from openchannels.websocket_direct import DirectWriter
from services.identity import auth
from tests.e2e.server import serving_in_process
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveConnection
from tests.factories import make_operator
from tests.garbage import cyclic_garbage

CONNECTIONS = 20


async def test_closed_websockets_leave_no_protocol_in_cyclic_garbage(db, database_url, platform):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id)
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0), platform)
    graphql = next(route.endpoint for route in app.routes if isinstance(route, WebSocketRoute))
    assert graphql.websocket_limits.direct_send  # each connection's scope gets its writer
    async with serving_in_process(app) as server:  # as `serve` runs it
        with cyclic_garbage() as garbage:
            for number in range(CONNECTIONS):
                protocol = TRANSPORT_WS if number % 2 else LEGACY_WS
                async with LiveConnection(f"ws://127.0.0.1:{server.config.port}/graphql", protocol=protocol,
                                          token=token) as live:
                    await live.subscribe("subscription { myChatsChanged { kind } }")
                    assert live.ws is not None
                    if number % 4 == 0:  # a frame the server refuses (unmasked: ProtocolError), then gone
                        live.ws.transport.write(b"\x81\x02hi")
                        await asyncio.sleep(0.05)
                    if number % 4 < 2:  # gone without a closing handshake: a tab killed, a network lost
                        live.ws.transport.abort()
            async with asyncio.timeout(10):
                while server.server_state.connections:  # the server's side of the closes
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
    # type(), not isinstance(): the garbage holds dead weak proxies, which isinstance() cannot look at
    protocols = [o for o in garbage if issubclass(type(o), WebSocketsSansIOProtocol)]
    writers = [o for o in garbage if type(o) is DirectWriter]
    parsers = [o for o in garbage if type(o) is ServerProtocol]  # the clients' side is ClientProtocol
    assert (len(protocols), len(writers), len(parsers)) == (0, 0, 0), \
        f"{len(protocols)} protocols, {len(writers)} writers, {len(parsers)} websockets parsers in garbage"
