"""Typing over real WebSockets (both protocols) on both backends: setTyping / setVisitorTyping
reach the other side's `typing` subscription, a silent note's typing reaches operators and never
the visitor, each sender's budget, clear errors; on PostgreSQL+Redis across two processes.

A typing signal is not replayed, so a subscription is known to be live only once it received
one: each test first sends until the subscriptions got a signal, then a marker, and reads up to
the marker; from there on what each receives is exact.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.actors import Actor, Admin, GraphQLHttp, Operator, error_codes, start_visitor_chat
from tests.e2e.live import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, LiveConnection, LiveError, LiveSubscription
from tests.e2e.server import Deployment, ServerProcess

TYPING = "subscription ($chatId: ID) { typing(chatId: $chatId) { chatId authorKind operator { id name } typing at } }"
SET_TYPING = "mutation ($input: SetTypingInput!) { setTyping(input: $input) }"
SET_VISITOR_TYPING = "mutation ($input: SetVisitorTypingInput!) { setVisitorTyping(input: $input) }"


async def set_typing(actor: Actor, chat_id: str, typing: bool, *, silent: bool = False) -> bool:
    body = await actor.call(SET_TYPING, input={"chatId": chat_id, "typing": typing, "silent": silent})
    assert not body.get("errors"), body
    return body["data"]["setTyping"]


async def set_visitor_typing(actor: Actor, typing: bool) -> bool:
    body = await actor.call(SET_VISITOR_TYPING, input={"typing": typing})
    assert not body.get("errors"), body
    return body["data"]["setVisitorTyping"]


async def sent(send: Callable[[], Any]) -> None:
    """Send one signal, again after a moment if the sender's budget dropped it (false)."""
    for _ in range(20):
        if await send():
            return
        await asyncio.sleep(0.35)  # a third of a second refills one signal
    raise AssertionError("the signal was dropped 20 times")


async def live(send: Callable[[], Any], subscriptions: Iterable[LiveSubscription], marker: Callable[[dict], bool],
               send_marker: Callable[[], Any]) -> None:
    """Send until every subscription received a signal (it is live), then the marker, and read each
    subscription up to it: whatever came before is gone from their inboxes."""
    waiting = list(subscriptions)
    for _ in range(20):
        await sent(send)
        still = []
        for subscription in waiting:
            try:
                await subscription.next(timeout=0.5)
            except AssertionError:  # not live yet
                still.append(subscription)
        waiting = still
        if not waiting:
            break
    else:
        raise AssertionError("a typing subscription never became live")
    await sent(send_marker)
    for subscription in subscriptions:
        while not marker((await subscription.next())["typing"]):
            pass


STORED = "query ($id: ID!) { chat(id: $id) { messages(first: 1) { totalCount } timeline(first: 1) { totalCount } } }"


async def stored_of(operator: Operator, chat_id: str) -> tuple[int, int]:
    """How many messages and timeline events the chat holds."""
    chat = (await operator.data(STORED, id=chat_id))["chat"]
    return chat["messages"]["totalCount"], chat["timeline"]["totalCount"]


def is_stop_by(author_kind: str) -> Callable[[dict], bool]:
    return lambda event: event["authorKind"] == author_kind and event["typing"] is False


async def answered_chat(admin: Admin, http: GraphQLHttp):
    """A visitor's chat answered by `operator`; `colleague` is in the queue (reads the chat, writes nothing)."""
    operator, colleague = await admin.create_operator(), await admin.create_operator()
    channel_id = await admin.create_open_channel([operator, colleague], distribution="ALL")
    visitor = await start_visitor_chat(http, channel_id)
    await operator.answer(visitor.chat_id)
    return operator, colleague, visitor, channel_id


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_typing_reaches_the_other_side_and_a_silent_note_only_operators(admin, http, ws_url, protocol):
    operator, colleague, visitor, _ = await answered_chat(admin, http)
    async with LiveConnection(ws_url, protocol=protocol, token=visitor.token) as visitor_ws, \
            LiveConnection(ws_url, protocol=protocol, token=operator.token) as operator_ws, \
            LiveConnection(ws_url, protocol=protocol, token=colleague.token) as colleague_ws:
        at_visitor = await visitor_ws.subscribe(TYPING)  # their own chat: no chatId
        at_operator = await operator_ws.subscribe(TYPING, {"chatId": visitor.chat_id})
        at_colleague = await colleague_ws.subscribe(TYPING, {"chatId": visitor.chat_id})

        # the operator types: it reaches the visitor, with who types
        await live(lambda: set_typing(operator, visitor.chat_id, True), [at_visitor], is_stop_by("OPERATOR"),
                   lambda: set_typing(operator, visitor.chat_id, False))
        # the visitor types: it reaches the operators, without an operator
        await live(lambda: set_visitor_typing(visitor, True), [at_operator, at_colleague], is_stop_by("CLIENT"),
                   lambda: set_visitor_typing(visitor, False))

        await sent(lambda: set_typing(operator, visitor.chat_id, True, silent=True))
        silent = (await at_colleague.next())["typing"]
        assert (silent["chatId"], silent["authorKind"], silent["operator"]["id"], silent["typing"]) == (
            visitor.chat_id, "OPERATOR", operator.id, True)
        await sent(lambda: set_visitor_typing(visitor, True))
        from_visitor = (await at_operator.next())["typing"]  # the operator's own signal never comes back
        assert (from_visitor["authorKind"], from_visitor["operator"], from_visitor["typing"]) == ("CLIENT", None, True)
        assert (await at_colleague.next())["typing"]["authorKind"] == "CLIENT"

        await sent(lambda: set_typing(operator, visitor.chat_id, False))  # visible, and told apart: `typing: false`
        seen = (await at_visitor.next())["typing"]  # the first the visitor gets since the marker: not the silent one
        assert (seen["authorKind"], seen["operator"]["id"], seen["typing"]) == ("OPERATOR", operator.id, False)
        assert seen["at"] and seen["chatId"] == visitor.chat_id
        assert (await at_colleague.next())["typing"]["typing"] is False

    # never stored: the chat holds the visitor's first message only
    chat = await operator.chat_with_messages(visitor.chat_id)
    assert chat is not None and chat["messages"]["totalCount"] == 1


async def test_each_sender_may_send_a_few_signals_per_second(admin, http):
    operator, _, visitor, _ = await answered_chat(admin, http)
    began = time.monotonic()
    results = await asyncio.gather(*(set_typing(operator, visitor.chat_id, True) for _ in range(10)))
    elapsed = time.monotonic() - began
    assert 1 <= results.count(True) <= 3 + 3 * elapsed + 1 and False in results, (results, elapsed)
    # the visitor's budget is their own
    assert await set_visitor_typing(visitor, True) is True


async def test_bad_input_and_foreign_chats_are_clear_errors(admin, http, ws_url):
    operator, colleague, visitor, channel_id = await answered_chat(admin, http)
    other = await start_visitor_chat(http, channel_id)
    outsider = await admin.create_operator()
    anonymous = Actor(http, None)

    async def codes(actor: Actor, query: str, **variables: Any) -> list[str | None]:
        body = await actor.call(query, **variables)
        assert body.get("data") is None, body
        return error_codes(body)

    assert await codes(operator, SET_TYPING, input={"chatId": "not an id", "typing": True}) == ["INVALID_INPUT"]
    unknown = "Q2hhdDo5OTk5OTk5"  # Chat:9999999
    assert await codes(operator, SET_TYPING, input={"chatId": unknown, "typing": True}) == ["NOT_FOUND"]
    assert await codes(outsider, SET_TYPING, input={"chatId": visitor.chat_id, "typing": True}) == ["NOT_FOUND"]
    assert await codes(colleague, SET_TYPING, input={"chatId": visitor.chat_id, "typing": True}) == ["FORBIDDEN"]
    assert await codes(admin, SET_TYPING, input={"chatId": other.chat_id, "typing": True}) == ["INVALID_STATE"]  # queued
    assert await codes(anonymous, SET_TYPING, input={"chatId": visitor.chat_id, "typing": True}) == [
        "UNAUTHENTICATED"]
    assert await codes(operator, SET_VISITOR_TYPING, input={"typing": True}) == ["FORBIDDEN"]
    assert await codes(visitor, SET_TYPING, input={"chatId": visitor.chat_id, "typing": True}) == ["FORBIDDEN"]

    for protocol in PROTOCOLS:
        async with LiveConnection(ws_url, protocol=protocol, token=visitor.token) as visitor_ws, \
                LiveConnection(ws_url, protocol=protocol, token=outsider.token) as outsider_ws, \
                LiveConnection(ws_url, protocol=protocol, token=operator.token) as operator_ws:
            for connection, variables, code in [
                (visitor_ws, {"chatId": other.chat_id}, "NOT_FOUND"),  # another visitor's chat
                (outsider_ws, {"chatId": visitor.chat_id}, "NOT_FOUND"),  # an operator who may not read it
                (operator_ws, {}, "INVALID_INPUT"),  # an operator names the chat
                (operator_ws, {"chatId": "not an id"}, "INVALID_INPUT"),
            ]:
                subscription = await connection.subscribe(TYPING, variables)
                with pytest.raises(LiveError) as refused:
                    await subscription.next()
                assert refused.value.codes == [code], (protocol, variables, refused.value.errors)


@pytest_asyncio.fixture
async def process_b(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server()
    try:
        yield server
    finally:
        deployment.stop_server(server)


@pytest.mark.postgres_only
async def test_typing_set_through_one_process_reaches_a_subscriber_on_another(
    deployment: Deployment, admin: Admin, http: GraphQLHttp, http_client, process_b: ServerProcess,
):
    operator, _, visitor, _ = await answered_chat(admin, http)
    operator_on_b = Operator(GraphQLHttp(http_client, process_b.graphql_url), operator.token, id=operator.id)
    stored_before = await stored_of(operator, visitor.chat_id)
    async with LiveConnection(deployment.server.ws_url, protocol=TRANSPORT_WS, token=visitor.token) as on_a, \
            LiveConnection(process_b.ws_url, protocol=LEGACY_WS, token=operator.token) as on_b:
        at_visitor = await on_a.subscribe(TYPING, {"chatId": visitor.chat_id})
        at_operator = await on_b.subscribe(TYPING, {"chatId": visitor.chat_id})
        await live(lambda: set_typing(operator_on_b, visitor.chat_id, True), [at_visitor], is_stop_by("OPERATOR"),
                   lambda: set_typing(operator_on_b, visitor.chat_id, False))
        await sent(lambda: set_typing(operator_on_b, visitor.chat_id, True))  # through B, to A
        event = (await at_visitor.next())["typing"]
        assert (event["authorKind"], event["operator"]["id"], event["typing"]) == ("OPERATOR", operator.id, True)
        # and the other way: the visitor through A, the operator subscribed on B
        await live(lambda: set_visitor_typing(visitor, True), [at_operator], is_stop_by("CLIENT"),
                   lambda: set_visitor_typing(visitor, False))
        await sent(lambda: set_visitor_typing(visitor, True))
        assert (await at_operator.next())["typing"]["authorKind"] == "CLIENT"
    # never stored, through either process: the chat's messages and its event log are as before
    assert await stored_of(operator_on_b, visitor.chat_id) == stored_before == (1, stored_before[1])
