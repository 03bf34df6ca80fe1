"""Statement counts of the busiest use cases: they must not grow with the size of the queue."""
from __future__ import annotations

from models import QueueDistribution, ReadMarker
from services.chats import chats
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat

#: today: 15 on SQLite (its first statement takes the write lock: services/common/transactions.py),
#: 15 on PostgreSQL (its advisory lock orders the events); a visitor's first message, which also
#: creates the client, the chat and the offers, 22 and 21
MAX_STATEMENTS = 23


async def statements_per_use_case(count_queries, members: int) -> dict[str, int]:
    cast = [await make_operator() for _ in range(members)]
    channel = await make_open_channel([op for op, _ in cast], distribution=QueueDistribution.ALL)
    counts = {}
    with count_queries() as counter:  # the new chat is offered to every member at once (ALL)
        chat, visitor, _ = await start_chat(channel)
    counts["start_and_offer_to_all"] = counter.count
    _, viewer = cast[0]
    with count_queries() as counter:
        await chats.answer_chat(viewer, chat_id=chat.id)
    counts["answer"] = counter.count
    with count_queries() as counter:
        await messages.send_message(viewer, chat_id=chat.id, text="Hello")
    counts["send_message"] = counter.count
    with count_queries() as counter:
        await messages.send_visitor_message(visitor, text="Hi")
    counts["send_visitor_message"] = counter.count
    with count_queries() as counter:
        await chats.finish_chat(viewer, chat_id=chat.id)
    counts["finish"] = counter.count
    return counts


async def test_use_cases_cost_the_same_whatever_the_queue_size(db, count_queries):
    small = await statements_per_use_case(count_queries, members=2)
    large = await statements_per_use_case(count_queries, members=12)

    assert small == large
    assert all(0 < n <= MAX_STATEMENTS for n in small.values()), small


async def test_a_participant_s_message_is_three_round_trips_on_postgresql(db, backend, count_queries):
    """sendMessage is the busiest write: BEGIN with the chat's lock in one round trip, then the
    chat, its transition, the roles, the message and the writer's read marker in one statement,
    then the event with COMMIT in one round trip (services/common/transactions.py:
    DIRECT_TRANSACTIONS), the event's id reported in it (services/events/events.py
    REPORTED_SETTING); the lock and the event are the statements the session keeps prepared. (The
    writer's first message in a chat creates their read marker: three statements more.)"""
    operator, viewer = await make_operator()
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(viewer, chat_id=chat.id)
    await messages.send_message(viewer, chat_id=chat.id, text="Good morning")

    with count_queries() as counter:
        message = await messages.send_message(viewer, chat_id=chat.id, text="Hello")

    marker = await ReadMarker.get(chat_id=chat.id, operator_id=operator.id)
    assert marker.last_read_message_id == message.id
    if backend == "postgres":
        assert counter.count == 3, counter.statements
        assert counter.statements[0] == f"BEGIN; EXECUTE openchannels_lock_chat({chat.id})"
        assert "INSERT INTO message" in counter.statements[1]
        assert counter.statements[2].startswith("EXECUTE openchannels_write_event(")
        assert counter.statements[2].endswith("; COMMIT")


async def test_a_missing_read_marker_is_created_for_the_writer(db):
    operator, viewer = await make_operator()
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(viewer, chat_id=chat.id)
    await ReadMarker.filter(chat_id=chat.id).delete()

    message = await messages.send_message(viewer, chat_id=chat.id, text="Hello")

    assert [(m.operator_id, m.last_read_message_id) for m in await ReadMarker.filter(chat_id=chat.id)] == [
        (operator.id, message.id)]
