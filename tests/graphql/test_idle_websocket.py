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

A member of a group of identical subscriptions (openchannels/shared_subscriptions.py) had a task of
its own that only waited for the group to end (10 objects and about 1.2 KiB each); it has none now,
and still gets every event, leaves when its connection closes, and the group stops with its last member.

The whole app on a loopback port in the test's process (uvicorn with the project's HTTP and
WebSocket protocols, as `serve` runs it), real WebSocket clients, each with a live subscription.
"""
from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from infrastructure.settings import Settings
from openchannels.app import create_app
from openchannels.shared_subscriptions import shared_subscriptions
from resolvers.ids import to_global_id
from services.chats import chats
from services.identity import auth
from services.messaging import messages
from tests.e2e.live import TRANSPORT_WS, LiveConnection
from tests.e2e.server import serving_in_process
from tests.engine import fast_path_only
from tests.factories import make_open_channel, make_operator, start_chat

CONNECTIONS = 10
CHAT_EVENTS = "subscription ($c: ID!) { chatEvents(chatId: $c) { kind message { text } } }"


def _tasks_running(qualname: str) -> int:
    """The event loop's tasks whose coroutine is `qualname`."""
    return sum(1 for task in asyncio.all_tasks()
               if getattr(task.get_coro(), "cr_code", None) is not None
               and task.get_coro().cr_code.co_qualname == qualname)


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


@asynccontextmanager
async def _serving(database_url, platform) -> AsyncIterator[str]:
    """The whole app served as `serve` serves it; yields its WebSocket URL."""
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0), platform)
    async with serving_in_process(app) as server:
        yield f"ws://127.0.0.1:{server.config.port}/graphql"


async def _open(url: str, token: str, query: str, variables: dict | None = None) -> list[LiveConnection]:
    connections: list[LiveConnection] = []
    for _ in range(CONNECTIONS):
        live = LiveConnection(url, protocol=TRANSPORT_WS, token=token)
        await live.open()
        connections.append(live)
        await live.subscribe(query, variables)
    return connections


async def test_an_idle_subscriber_holds_no_connection_init_timeout_and_no_task_to_read(db, database_url, platform):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id)
    async with _serving(database_url, platform) as url:
        connections = await _open(url, token, "subscription { myChatsChanged { kind } }")
        try:
            await asyncio.sleep(0.1)  # the connections idle, each acknowledged with its subscription running

            assert all(live.ws is not None and live.ws.close_code is None for live in connections)  # still open
            assert _held_init_timeouts() == 0
            assert _tasks_running("WebSocket.receive") == 0
            answered = await connections[-1].subscribe("query { __typename }")  # and each still reads and answers
            assert await answered.next() == {"__typename": "Query"}
        finally:
            for live in connections:
                await live.close()


@fast_path_only  # shared subscriptions run with plain execution only
async def test_members_of_a_shared_subscription_have_no_task_and_get_every_event(db, database_url, platform):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel, name="Ana")
    await chats.answer_chat(me, chat_id=chat.id)
    token = await auth.issue_token(operator.id)
    async with _serving(database_url, platform) as url:
        connections = await _open(url, token, CHAT_EVENTS, {"c": to_global_id("Chat", chat.id)})
        try:
            async with asyncio.timeout(10):
                while not shared_subscriptions._groups or \
                        sum(len(group.members) for group in shared_subscriptions._groups.values()) < CONNECTIONS:
                    await asyncio.sleep(0.01)
            assert len(shared_subscriptions) == 1  # one group of ten members

            assert _tasks_running("LimitedTransportWSHandler.run_operation") == 0
            await messages.send_message(me, chat_id=chat.id, text="to every tab")
            for live in connections:
                [subscription] = live.subscriptions.values()
                event = await subscription.next()
                assert event["chatEvents"]["message"]["text"] == "to every tab"
        finally:
            for live in connections:
                await live.close()
        async with asyncio.timeout(10):  # the group stops with its last member's connection
            while len(shared_subscriptions):
                await asyncio.sleep(0.01)
