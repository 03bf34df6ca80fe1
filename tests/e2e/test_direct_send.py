"""WebSocket frames written straight to the socket (openchannels/websocket_direct.py, WS_DIRECT_SEND on,
the default) on a real server, on both subprotocols: every subscriber of a shared subscription gets
the event under its own id, a note stays with the operators, a `complete` comes after the events
before it and nothing after it, and a server with WS_DIRECT_SEND=off sends the same messages."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.actors import Admin, GraphQLHttp, Operator, start_visitor_chat
from tests.e2e.live import PROTOCOLS, TRANSPORT_WS, LiveConnection, LiveSubscription
from tests.e2e.server import Deployment, ServerProcess

#: no `after`: identical subscriptions of one viewer share one execution (openchannels/shared_subscriptions.py)
CHAT_EVENTS = "subscription ($chatId: ID!) { chatEvents(chatId: $chatId) { kind message { text silent } } }"
VISITOR_EVENTS = "subscription { visitorChatEvents { kind message { text silent } } }"


@pytest_asyncio.fixture(scope="module")
async def asgi_only(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server({"WS_DIRECT_SEND": "off"})
    try:
        yield server
    finally:
        deployment.stop_server(server)


SENT = ("one", "a note", "two", "three")


async def _messages(subscription: LiveSubscription, until: str) -> list[tuple[str, bool]]:
    """(text, silent) of the messages this test sent, as received, up to the one with text `until`."""
    received: list[tuple[str, bool]] = []
    while not received or received[-1][0] != until:
        event = next(iter((await subscription.next()).values()))
        message = event.get("message")
        if message and message["text"] in SENT:
            received.append((message["text"], message["silent"]))
    return received


async def _live(operator: Operator, chat_id: str, subscriptions: tuple[LiveSubscription, ...]) -> None:
    """A subscription is live once it got an event sent after it started (nothing answers a
    `subscribe`): events are sent until each got one, then what they got is dropped."""
    waiting = list(subscriptions)
    for attempt in range(20):
        await operator.send(chat_id, f"live? {attempt}")
        for subscription in list(waiting):
            try:
                await subscription.next(timeout=1.0)
                waiting.remove(subscription)
            except AssertionError:  # nothing yet: another event
                pass
        if not waiting:
            break
    assert not waiting, "subscriptions never live"
    for subscription in subscriptions:
        while not subscription.inbox.empty():
            subscription.inbox.get_nowait()


async def _run(server: ServerProcess, http: GraphQLHttp, admin: Admin, protocol: str) -> dict[str, list]:
    """Two connections of one operator (three subscriptions to one chat, two of them on one
    connection) and the chat's visitor: what each received, in order."""
    on_server = GraphQLHttp(http.client, server.graphql_url)
    made = await admin.create_operator()
    operator = Operator(on_server, made.token, id=made.id)
    channel_id = await Admin(on_server, admin.token).create_open_channel([operator])
    visitor = await start_visitor_chat(on_server, channel_id)
    await operator.answer(visitor.chat_id)
    variables = {"chatId": visitor.chat_id}
    async with LiveConnection(server.ws_url, protocol=protocol, token=operator.token) as one, \
            LiveConnection(server.ws_url, protocol=protocol, token=operator.token) as two, \
            LiveConnection(server.ws_url, protocol=protocol, token=visitor.token) as theirs:
        first, second = await one.subscribe(CHAT_EVENTS, variables), await one.subscribe(CHAT_EVENTS, variables)
        other, visitors = await two.subscribe(CHAT_EVENTS, variables), await theirs.subscribe(VISITOR_EVENTS)
        await _live(operator, visitor.chat_id, (first, second, other, visitors))
        await operator.send(visitor.chat_id, "one")
        await operator.send(visitor.chat_id, "a note", silent=True)
        await operator.send(visitor.chat_id, "two")
        received: dict[str, list] = {name: await _messages(subscription, "two") for name, subscription in (
            ("first", first), ("second", second), ("other", other), ("visitor", visitors))}
        await first.stop()
        if protocol != TRANSPORT_WS:  # graphql-ws answers a stop with its `complete`
            kind, _ = await first.inbox.get()
            received["first"].append(kind)
        await operator.send(visitor.chat_id, "three")
        received["second"] += await _messages(second, "three")
        # nothing for the stopped one after its end
        received["first"] += [first.inbox.get_nowait()[0] for _ in range(first.inbox.qsize())]
    return received


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_direct_frames_carry_each_subscription_s_id_in_order_as_the_asgi_path_does(
        deployment: Deployment, asgi_only: ServerProcess, http: GraphQLHttp, admin: Admin, protocol: str):
    direct = await _run(deployment.server, http, admin, protocol)
    plain = await _run(asgi_only, http, admin, protocol)

    notes = [("one", False), ("a note", True), ("two", False)]
    completed = [] if protocol == TRANSPORT_WS else ["complete"]
    assert direct == {"first": notes + completed, "second": notes + [("three", False)], "other": notes,
                      "visitor": [("one", False), ("two", False)]}
    assert plain == direct
