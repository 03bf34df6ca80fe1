"""An idle graphql-transport-ws connection keeps nothing of its connection_init timeout, and no
task of its own waits for the client's next message.

Strawberry times connection_init out with a task per connection, cancelled when connection_init
comes in and kept on the handler: the task held its cancellation error, whose traceback held two
frames (with their locals), for as long as the connection lived, in every idle subscriber. The
server times it with a timer of the event loop instead (openchannels/websocket_limits.py,
`ConnectionLimits.handle`); tests/e2e/test_websocket_limits.py checks that a connection which never
sends connection_init is still closed with 4408 on both protocols.

The read loop raced each message against the server's decision to close with a task for the receive
and `asyncio.wait` (18 objects and 2.5 KiB of every idle connection); it now awaits the message
itself, and a close decided by the server interrupts that wait (openchannels/websocket_limits.py,
`_receive_or_stop`): the tests of the server's closes (4403, 4429, 1000...) check that it still ends.

The whole app on a loopback port in the test's process (uvicorn with the project's HTTP and
WebSocket protocols, as `serve` runs it), real WebSocket clients, each with a live subscription.
"""
from __future__ import annotations

import asyncio
import gc

import uvicorn

from infrastructure.settings import Settings
from openchannels.app import create_app
from openchannels.http_protocol import HeaderLimitedHttpToolsProtocol
from openchannels.websocket_protocol import HandshakeFreeWebSocketProtocol
from services.identity import auth
from tests.e2e.server import free_port
from tests.e2e.live import TRANSPORT_WS, LiveConnection
from tests.factories import make_operator

CONNECTIONS = 10


def _tasks_waiting_for_a_message() -> int:
    """The event loop's tasks whose coroutine is Starlette's `WebSocket.receive`."""
    return sum(1 for task in asyncio.all_tasks()
               if getattr(task.get_coro(), "cr_code", None) is not None
               and task.get_coro().cr_code.co_qualname == "WebSocket.receive")


def _held_init_timeouts() -> int:
    """Errors alive in this process whose traceback passes through Strawberry's connection_init timeout."""
    held = 0
    for error in [o for o in gc.get_objects() if type(o) is asyncio.CancelledError]:
        trace = error.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code.co_name == "handle_connection_init_timeout":
                held += 1
                break
            trace = trace.tb_next
    return held


async def test_an_idle_subscriber_holds_no_connection_init_timeout_and_no_task_to_read(db, database_url, platform):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id)
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0), platform)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           http=HeaderLimitedHttpToolsProtocol, ws=HandshakeFreeWebSocketProtocol,
                                           ws_per_message_deflate=False))  # as `serve` runs it
    serving = asyncio.create_task(server.serve())
    connections: list[LiveConnection] = []
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        for _ in range(CONNECTIONS):
            live = LiveConnection(f"ws://127.0.0.1:{port}/graphql", protocol=TRANSPORT_WS, token=token)
            await live.open()
            connections.append(live)
            await live.subscribe("subscription { myChatsChanged { kind } }")
        await asyncio.sleep(0.1)  # the connections idle, each acknowledged with its subscription running

        assert all(live.ws is not None and live.ws.close_code is None for live in connections)  # still open
        assert _held_init_timeouts() == 0
        assert _tasks_waiting_for_a_message() == 0
        answered = await connections[-1].subscribe("query { __typename }")  # and each still reads and answers
        assert await answered.next() == {"__typename": "Query"}
    finally:
        for live in connections:
            await live.close()
        server.should_exit = True
        await serving
