"""Races, on PostgreSQL only: SQLite has a single writer, so nothing there can race.

Each test starts the competing use cases at once with asyncio.gather; every use case runs
in its own transaction on its own pooled connection.
"""
from __future__ import annotations

import asyncio

import pytest

from models import Chat, ChatStatus, Event, QueueDistribution
from services.chats import chats
from services.messaging import messages
from services.common.errors import AlreadyTaken, DomainError
from tests.factories import make_open_channel, make_operator, offered_to, participants_of, start_chat

pytestmark = pytest.mark.postgres_only


async def test_twenty_operators_answer_at_once_and_exactly_one_wins(db):
    cast = [await make_operator(f"Operator {i}") for i in range(20)]
    channel = await make_open_channel([op for op, _ in cast], distribution=QueueDistribution.ALL)
    chat, _, _ = await start_chat(channel)
    assert await offered_to(chat.id) == {op.id for op, _ in cast}

    results = await asyncio.gather(
        *(chats.answer_chat(viewer, chat_id=chat.id) for _, viewer in cast), return_exceptions=True
    )

    winners = [viewer.operator_id for (_, viewer), result in zip(cast, results) if isinstance(result, Chat)]
    losers = [result for result in results if not isinstance(result, Chat)]
    assert len(winners) == 1, results
    assert len(losers) == 19
    assert all(isinstance(result, AlreadyTaken) for result in losers), losers
    stored = await Chat.get(id=chat.id)
    assert stored.status == ChatStatus.ACTIVE
    assert stored.operator_id == winners[0]
    assert await Event.filter(chat_id=chat.id, kind="CHAT_ANSWERED").count() == 1
    assert await participants_of(chat.id) == {winners[0]}
    assert await offered_to(chat.id) == set()


async def test_an_answer_racing_a_spam_mark_leaves_one_consistent_outcome(db):
    (a, a_viewer), (b, b_viewer) = await make_operator("A"), await make_operator("B")
    channel = await make_open_channel([a, b], distribution=QueueDistribution.ALL)
    for _ in range(5):
        chat, _, _ = await start_chat(channel)

        answered, spammed = await asyncio.gather(
            chats.answer_chat(a_viewer, chat_id=chat.id),
            chats.mark_chat_spam(b_viewer, chat_id=chat.id),
            return_exceptions=True,
        )

        outcomes = [isinstance(answered, Chat), isinstance(spammed, Chat)]
        assert outcomes.count(True) == 1, (answered, spammed)
        loser = spammed if outcomes[0] else answered
        assert isinstance(loser, DomainError), loser
        stored = await Chat.get(id=chat.id)
        kinds = list(await Event.filter(chat_id=chat.id, kind__in=["CHAT_ANSWERED", "CHAT_SPAM"])
                     .values_list("kind", flat=True))
        if outcomes[0]:
            assert (stored.status, stored.operator_id, kinds) == (ChatStatus.ACTIVE, a.id, ["CHAT_ANSWERED"])
        else:
            assert (stored.status, stored.operator_id, kinds) == (ChatStatus.SPAM, None, ["CHAT_SPAM"])


async def test_simultaneous_new_chats_are_spread_evenly(db):
    cast = [await make_operator(f"Operator {i}") for i in range(5)]
    channel = await make_open_channel([op for op, _ in cast], distribution=QueueDistribution.EVENLY)
    visitors = [(await start_chat(channel, text=None))[1] for _ in range(5)]

    written = await asyncio.gather(*(messages.send_visitor_message(v, text="Hello") for v in visitors))

    offers = [await offered_to(m.chat_id) for m in written]
    assert all(len(o) == 1 for o in offers), offers
    assert set().union(*offers) == {op.id for op, _ in cast}


async def test_a_reader_never_sees_a_later_event_before_an_earlier_one(db):
    """Events commit in id order: whoever reads the event table sees a gap-free prefix of ids,
    so a subscriber resuming `after` the highest id it saw can never miss one."""
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.STRICT)
    chat, visitor, _ = await start_chat(channel)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    snapshots: list[list[int]] = []
    done = asyncio.Event()

    async def read_until_done() -> None:
        while not done.is_set():
            snapshots.append(list(await Event.all().order_by("id").values_list("id", flat=True)))

    reader = asyncio.create_task(read_until_done())
    await asyncio.gather(
        *(messages.send_message(a_viewer, chat_id=chat.id, text=f"operator {i}") for i in range(15)),
        *(messages.send_visitor_message(visitor, text=f"visitor {i}") for i in range(15)),
    )
    done.set()
    await reader

    final = list(await Event.all().order_by("id").values_list("id", flat=True))
    assert await Event.filter(chat_id=chat.id, kind="MESSAGE_ADDED").count() == 31
    assert len({len(seen) for seen in snapshots}) > 1, "the reader saw no write in progress"
    for seen in snapshots:
        assert seen == [i for i in final if i <= max(seen)], "an event committed before an earlier id"


async def test_two_first_messages_at_once_open_one_chat(db):
    a, _ = await make_operator("A")
    channel = await make_open_channel([a])
    visitors = [(await start_chat(channel, text=None))[1] for _ in range(8)]

    # every visitor sends two first messages at once (a double click, two tabs)
    await asyncio.gather(*(
        messages.send_visitor_message(visitor, text=text) for visitor in visitors for text in ("Hello", "Anyone?")
    ))

    for visitor in visitors:
        assert await Chat.filter(client_id=visitor.client_id).count() == 1
