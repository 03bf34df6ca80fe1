"""Several subscriptions of one viewer load an event's data once (resolvers/chats/event_sharing.py);
another viewer does its own loading, through its own visibility."""
from __future__ import annotations

import asyncio
from unittest.mock import patch

from tests.graphql.helpers import execute  # noqa: F401 - imports the schema before its resolvers
from resolvers.context import Context
from schema import schema
from services.events import subscriptions
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat
from tests.engine import fast_path_only
from services.chats import chats
from models import OperatorRole

CHAT_EVENTS = """subscription ($c: ID!) { chatEvents(chatId: $c) {
  kind chat { id client { name } operator { name } unreadCount } message { text } } }"""


async def _subscriptions(viewer, chat_gid: str, count: int):
    """`count` subscriptions, returned once each is following the live stream: its last start-up
    statement (the newest event's id, services/events/subscriptions.py) has been answered, and
    what it does next reads nothing until an event comes. (A fixed sleep was not enough on a
    loaded machine: a late subscription's start-up statements fell into the counted window.)"""
    started, all_started, newest = 0, asyncio.Event(), subscriptions.latest_event_id

    async def counted() -> int:
        nonlocal started
        answer = await newest()
        started += 1
        if started == count:
            all_started.set()
        return answer

    with patch.object(subscriptions, "latest_event_id", counted):
        streams = [await schema.subscribe(CHAT_EVENTS, variable_values={"c": chat_gid},
                                          context_value=Context(viewer=viewer)) for _ in range(count)]
        firsts = [asyncio.ensure_future(stream.__anext__()) for stream in streams]
        async with asyncio.timeout(10):
            await all_started.wait()
    await asyncio.sleep(0)  # the last one goes on to wait for an event
    return streams, firsts


async def _received(streams, firsts) -> list[dict]:
    async with asyncio.timeout(10):
        results = await asyncio.gather(*firsts)
    for stream in streams:
        await stream.aclose()
    assert all(r.errors is None for r in results), [r.errors for r in results]
    return [r.data["chatEvents"] for r in results]


async def _statements_for_one_event(count_queries, me, visitor_chat, count: int) -> tuple[int, list]:
    chat_gid = (await execute(f'{{ chat(id: "{_gid(visitor_chat.id)}") {{ id }} }}', me))["chat"]["id"]
    streams, firsts = await _subscriptions(me, chat_gid, count)
    with count_queries() as counter:
        await messages.send_message(me, chat_id=visitor_chat.id, text=f"to {count}")
        payloads = await _received(streams, firsts)
    return counter.count, payloads


def _gid(pk: int) -> str:
    from resolvers.ids import to_global_id
    return to_global_id("Chat", pk)


@fast_path_only
async def test_ten_subscriptions_of_one_viewer_cost_the_statements_of_one(db, count_queries):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    first, _, _ = await start_chat(channel, name="Ana")
    second, _, _ = await start_chat(channel, name="Bea")
    for chat in (first, second):
        await chats.answer_chat(me, chat_id=chat.id)

    one, [payload] = await _statements_for_one_event(count_queries, me, first, 1)
    ten, payloads = await _statements_for_one_event(count_queries, me, second, 10)

    assert payload["message"]["text"] == "to 1" and payload["chat"]["client"]["name"] == "Ana"
    assert len(payloads) == 10 and all(p == payloads[0] for p in payloads)
    assert payloads[0]["message"]["text"] == "to 10" and payloads[0]["chat"]["client"]["name"] == "Bea"
    assert ten == one  # the nine others awaited the first one's loading


async def test_viewers_do_not_share_what_depends_on_the_viewer(db):
    """The operator's own reply is not unread for them; for a supervisor it is."""
    operator, me = await make_operator()
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel, name="Cy")
    await chats.answer_chat(me, chat_id=chat.id)
    mine, my_first = await _subscriptions(me, _gid(chat.id), 1)
    theirs, their_first = await _subscriptions(supervisor, _gid(chat.id), 1)
    await messages.send_message(me, chat_id=chat.id, text="seen by two")
    [for_me] = await _received(mine, my_first)
    [for_supervisor] = await _received(theirs, their_first)
    assert for_me["message"] == for_supervisor["message"] == {"text": "seen by two"}
    assert for_me["chat"]["unreadCount"] == 0  # sending moved my read marker to my reply
    assert for_supervisor["chat"]["unreadCount"] == 2  # and my reply
