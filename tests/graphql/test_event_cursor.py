"""`eventCursor` and `Message.eventId`: where an answer stands in the event log, to pass as `after`.

Every `eventCursor` of one answer is the same value, the newest event committed BEFORE the
answer's data was read (schema/event_cursor.py); operations that do not ask for it do not read it.
Through the real schema, on both backends.
"""
from __future__ import annotations

import asyncio

import pytest

from tests.graphql.helpers import execute  # noqa: F401 - imports the schema before its resolvers
from models import Event
from resolvers import event_cursor as cursor_module
from resolvers.context import Context
from resolvers.ids import to_global_id
from schema import schema
from services.chats import chats
from services.messaging import messages
from tests.factories import last_event_id, make_open_channel, make_operator, start_chat

EVERY_CURSOR = """query($c: ID!) {
  myChats { eventCursor active { eventCursor openChannel { eventCursor } } }
  conversations(first: 5) { eventCursor edges { node { eventCursor } } }
  chat(id: $c) { eventCursor messages(first: 5) { edges { node { chat { eventCursor } } } } }
  openChannels { eventCursor }
  node(id: $c) { ... on Chat { alias: eventCursor } }
}"""


@pytest.fixture
async def answered(db):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await start_chat(channel)
    await chats.answer_chat(me, chat_id=chat.id)
    await messages.send_message(me, chat_id=chat.id, text="how can I help?")
    return me, chat, visitor


def _all_cursors(value) -> list[str]:
    """Every eventCursor (and its alias) anywhere in an answer."""
    if isinstance(value, dict):
        return [c for k, v in value.items() for c in ([v] if k in ("eventCursor", "alias") else _all_cursors(v))]
    if isinstance(value, list):
        return [c for v in value for c in _all_cursors(v)]
    return []


async def test_every_event_cursor_of_an_answer_is_the_newest_event(answered):
    me, chat, _ = answered
    data = await execute(EVERY_CURSOR, me, c=to_global_id("Chat", chat.id))
    cursors = _all_cursors(data)
    assert len(cursors) == 1 + 2 + 1 + 1 + 2 + 1 + 1 + 1  # each field of the document was answered
    assert set(cursors) == {str(await last_event_id())}


async def test_only_an_operation_that_asks_for_the_cursor_reads_it(answered, count_queries):
    me, _, _ = answered
    with count_queries() as without:
        await execute("{ myChats { active { id } } }", me)
    with count_queries() as with_cursor:
        data = await execute("{ myChats { eventCursor active { id } } }", me)
    assert with_cursor.count == without.count + 1
    assert not any("event" in s.lower() for s in without.statements), without.statements
    assert data["myChats"]["eventCursor"] == str(await last_event_id())


async def test_the_cursor_is_read_before_the_data(answered, monkeypatch):
    """A message committed between the cursor's read and the data's shows in the answer AND is
    delivered after the cursor: seen twice, harmless. Read after the data, it would be skipped."""
    me, chat, visitor = answered
    read = cursor_module.newest_event_id

    async def read_then_a_change_commits() -> int:
        cursor = await read()
        await messages.send_visitor_message(visitor, text="between cursor and data")
        return cursor

    monkeypatch.setattr(cursor_module, "newest_event_id", read_then_a_change_commits)
    data = await execute("{ myChats { eventCursor active { lastMessage { text eventId } } } }", me)
    [active] = data["myChats"]["active"]
    assert active["lastMessage"]["text"] == "between cursor and data"  # the data came after the cursor
    assert int(active["lastMessage"]["eventId"]) > int(data["myChats"]["eventCursor"])

    stream = await schema.subscribe("subscription($a: String) { myChatsChanged(after: $a) { eventId message { text } } }",
                                    variable_values={"a": data["myChats"]["eventCursor"]},
                                    context_value=Context(viewer=me))
    try:
        async with asyncio.timeout(10):
            first = await stream.__anext__()
    finally:
        await stream.aclose()
    assert first.errors is None, first.errors
    assert first.data["myChatsChanged"]["message"]["text"] == "between cursor and data"
    assert first.data["myChatsChanged"]["eventId"] == active["lastMessage"]["eventId"]


async def test_a_mutation_answers_with_the_cursor_from_before_its_change(answered):
    me, chat, _ = answered
    before = await last_event_id()
    data = await execute("mutation($c: ID!) { renameChat(input: {chatId: $c, title: \"renamed\"}) "
                         "{ chat { title eventCursor } } }", me, c=to_global_id("Chat", chat.id))
    assert data["renameChat"]["chat"] == {"title": "renamed", "eventCursor": str(before)}
    assert await last_event_id() > before  # its own event comes after the cursor: delivered, not lost


async def _next(subscription: str, viewer, **variables):
    stream = await schema.subscribe(subscription, variable_values=variables, context_value=Context(viewer=viewer))
    return stream


async def test_message_event_id_resumes_message_added_after_that_message(answered):
    me, chat, visitor = answered
    for text in ("one", "two", "three"):
        await messages.send_visitor_message(visitor, text=text)
    data = await execute("query($c: ID!) { chat(id: $c) { messages(last: 3) { edges { node { text eventId } } } } }",
                         me, c=to_global_id("Chat", chat.id))
    one, two, three = [e["node"] for e in data["chat"]["messages"]["edges"]]
    events = dict(await Event.filter(kind="MESSAGE_ADDED", chat_id=chat.id).values_list("id", "message_id"))
    assert sorted(int(m["eventId"]) for m in (one, two, three)) == sorted(events)[-3:]

    stream = await _next("subscription($c: ID, $a: String) { messageAdded(chatId: $c, after: $a) "
                         "{ text eventId chat { eventCursor } } }", me, c=to_global_id("Chat", chat.id),
                         a=one["eventId"])
    try:
        async with asyncio.timeout(10):
            replayed = [(await stream.__anext__()).data["messageAdded"] for _ in range(2)]
            live = asyncio.ensure_future(stream.__anext__())
            await messages.send_visitor_message(visitor, text="four")
            four = (await live).data["messageAdded"]
    finally:
        await stream.aclose()
    assert [m["text"] for m in replayed] == ["two", "three"]
    assert [m["eventId"] for m in replayed] == [two["eventId"], three["eventId"]]
    assert four["text"] == "four" and int(four["eventId"]) > int(three["eventId"])
    # in an event, the cursor is the event's own id: the chat was read after it
    assert [m["chat"]["eventCursor"] for m in (*replayed, four)] == [m["eventId"] for m in (*replayed, four)]


async def test_a_chat_event_carries_its_own_id_as_the_chat_cursor(answered):
    me, chat, visitor = answered
    stream = await _next("subscription($c: ID!) { chatEvents(chatId: $c) { eventId chat { eventCursor "
                         "openChannel { eventCursor } } } }", me, c=to_global_id("Chat", chat.id))
    try:
        async with asyncio.timeout(10):
            first = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.1)  # following the live stream
            await messages.send_visitor_message(visitor, text="live")
            event = (await first).data["chatEvents"]
    finally:
        await stream.aclose()
    assert event["chat"]["eventCursor"] == event["eventId"] == event["chat"]["openChannel"]["eventCursor"]


async def test_a_message_without_an_event_of_its_own_resumes_after_the_message_before_it(answered):
    """A transfer's comment is written without a MESSAGE_ADDED event: its eventId is the previous
    message's, so `after` it replays nothing before it and misses nothing after it."""
    me, chat, visitor = answered
    colleague, _ = await make_operator()
    await chats.transfer_chat(me, chat_id=chat.id, operator_id=colleague.id, comment="over to you")
    data = await execute("query($c: ID!) { chat(id: $c) { messages(last: 2) { edges { node { text eventId } } } } }",
                         me, c=to_global_id("Chat", chat.id))
    previous, comment = [e["node"] for e in data["chat"]["messages"]["edges"]]
    assert comment["text"] == "over to you"
    assert comment["eventId"] == previous["eventId"]
    await messages.send_visitor_message(visitor, text="after the transfer")
    stream = await _next("subscription($c: ID, $a: String) { messageAdded(chatId: $c, after: $a) { text } }",
                         me, c=to_global_id("Chat", chat.id), a=comment["eventId"])
    try:
        async with asyncio.timeout(10):
            first = await stream.__anext__()
    finally:
        await stream.aclose()
    assert first.errors is None, first.errors
    assert first.data["messageAdded"]["text"] == "after the transfer"
