"""Auto-close of idle answered chats, pinning, and the scheduler's guarantees (restart, races)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise import Tortoise

from models import Chat, ChatStatus, Event, Message, MessageAuthorKind, QueueDistribution, Timer
from infrastructure.settings import tortoise_config
from services.chats import chats
from services.messaging import messages
from services.automation import scheduler
from services.automation.rating import RATING_REQUEST_TEXT
from tests.factories import make_open_channel, make_operator, offered_to, queued_chat, start_chat

QUEUED, ACTIVE, CLOSED, SPAM = ChatStatus.QUEUED, ChatStatus.ACTIVE, ChatStatus.CLOSED, ChatStatus.SPAM


async def answered_chat(**settings):
    channel, [(a, a_viewer), _], chat, visitor = await queued_chat(QueueDistribution.STRICT, **settings)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    return channel, a, a_viewer, chat, visitor


async def test_an_idle_chat_closes_itself_and_asks_for_a_rating(db, clock):
    _, a, _, chat, _ = await answered_chat(auto_close_after_seconds=600)
    clock.advance(599)
    assert await scheduler.tick() == 0
    assert (await Chat.get(id=chat.id)).status == ACTIVE

    clock.advance(1)
    assert await scheduler.tick() == 1

    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.closed_at, stored.auto_close_at, stored.operator_id) == (CLOSED, clock.now, None, a.id)
    closing = await Event.get(chat_id=chat.id, kind="CHAT_AUTO_CLOSED")
    assert (closing.queue_kind, closing.chat_kind) == ("CHAT_AUTO_CLOSED", "CHAT_CLOSED")
    assert a.id in closing.operator_ids
    last = await Message.filter(chat_id=chat.id).order_by("-id").first()
    assert (last.author_kind, last.text, last.silent) == (MessageAuthorKind.SYSTEM, RATING_REQUEST_TEXT, False)
    clock.advance(10_000)
    assert await scheduler.tick() == 0  # once
    assert await Event.filter(chat_id=chat.id, kind="CHAT_AUTO_CLOSED").count() == 1


async def test_no_rating_request_when_the_channel_does_not_want_ratings(db, clock):
    _, _, _, chat, _ = await answered_chat(auto_close_after_seconds=60, rating_enabled=False)
    clock.advance(60)
    await scheduler.tick()
    assert (await Chat.get(id=chat.id)).status == CLOSED
    assert not await Message.filter(chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM).exists()


async def test_activity_pushes_auto_close_forward(db, clock):
    _, _, a_viewer, chat, visitor = await answered_chat(auto_close_after_seconds=100)
    clock.advance(90)
    await messages.send_visitor_message(visitor, text="Still there?")
    clock.advance(90)
    assert await scheduler.tick() == 0
    await messages.send_message(a_viewer, chat_id=chat.id, text="Yes")
    clock.advance(99)
    assert await scheduler.tick() == 0
    assert (await Chat.get(id=chat.id)).status == ACTIVE
    clock.advance(1)
    assert await scheduler.tick() == 1
    assert (await Chat.get(id=chat.id)).status == CLOSED


async def test_a_pinned_chat_never_auto_closes_and_unpinning_restarts_the_countdown(db, clock):
    _, _, a_viewer, chat, _ = await answered_chat(auto_close_after_seconds=100)
    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=True)
    assert (await Chat.get(id=chat.id)).auto_close_at is None
    clock.advance(1_000_000)
    assert await scheduler.tick() == 0
    assert (await Chat.get(id=chat.id)).status == ACTIVE

    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=False)
    assert (await Chat.get(id=chat.id)).auto_close_at == clock.now + timedelta(seconds=100)
    clock.advance(99)
    assert await scheduler.tick() == 0
    clock.advance(1)
    assert await scheduler.tick() == 1
    assert (await Chat.get(id=chat.id)).status == CLOSED


@pytest.mark.parametrize("status", [QUEUED, CLOSED, SPAM])
async def test_only_an_answered_chat_auto_closes(db, clock, status):
    """The AUTO_CLOSE edge starts from ACTIVE only."""
    channel, [(a, a_viewer), _], chat, _ = await queued_chat(QueueDistribution.STRICT, auto_close_after_seconds=10,
                                                             answer_timeout_seconds=10_000_000)
    if status == CLOSED:
        await chats.answer_chat(a_viewer, chat_id=chat.id)
        await chats.finish_chat(a_viewer, chat_id=chat.id)
    elif status == SPAM:
        await chats.mark_chat_spam(a_viewer, chat_id=chat.id)
    before = await Event.all().count()
    clock.advance(1000)

    assert await scheduler.tick() == 0
    assert (await Chat.get(id=chat.id)).status == status
    assert await Event.all().count() == before


async def test_a_restart_loses_no_timer(db, clock, database_url):
    """Due times are rows: a process that stops and a new one that starts fire them all."""
    _, _, _, active, _ = await answered_chat(auto_close_after_seconds=50)
    _, [(b, _), (c, _)], queued, _ = await queued_chat(QueueDistribution.STRICT, answer_timeout_seconds=50)
    assert await offered_to(queued.id) == {b.id}

    await Tortoise.close_connections()  # the process stops
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)  # a new one starts
    clock.advance(50)

    assert await scheduler.tick() == 2
    assert (await Chat.get(id=active.id)).status == CLOSED
    assert await offered_to(queued.id) == {c.id}


async def test_the_loop_fires_due_timers_and_stops_when_asked(db, platform, clock):
    _, _, _, chat, _ = await answered_chat(auto_close_after_seconds=30)
    clock.advance(30)
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler.run(platform, 0.01, stop))
    try:
        async with asyncio.timeout(10):
            while (await Chat.get(id=chat.id)).status != CLOSED:
                await asyncio.sleep(0.01)  # polling the effect, bounded by the timeout
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await loop
    assert loop.done() and loop.exception() is None


@pytest.mark.postgres_only
async def test_two_loops_racing_fire_each_timer_exactly_once(db, clock):
    """Many due offers and auto-closes, four ticks at once, again and again: each fires once."""
    chats_per_kind = 12
    a, a_viewer = await make_operator("A")
    b, _ = await make_operator("B")
    closing_channel = await make_open_channel([a], distribution=QueueDistribution.STRICT, auto_close_after_seconds=30)
    offering_channel = await make_open_channel([b, a], distribution=QueueDistribution.STRICT,
                                               answer_timeout_seconds=30)
    idle = []
    for _ in range(chats_per_kind):
        chat, _, _ = await start_chat(closing_channel)
        await chats.answer_chat(a_viewer, chat_id=chat.id)
        idle.append(chat.id)
    offered = [(await start_chat(offering_channel))[0].id for _ in range(chats_per_kind)]
    assert all([await offered_to(i) == {b.id} for i in offered])
    clock.advance(30)

    fired = []
    for _ in range(3):
        fired += await asyncio.gather(*(scheduler.tick(batch=5) for _ in range(4)))

    assert sum(fired) == 2 * chats_per_kind
    for chat_id in idle:
        assert await Event.filter(chat_id=chat_id, kind="CHAT_AUTO_CLOSED").count() == 1
        assert await Message.filter(chat_id=chat_id, text=RATING_REQUEST_TEXT).count() == 1
    for chat_id in offered:
        assert await Event.filter(chat_id=chat_id, kind="CHAT_OFFER_EXPIRED").count() == 1
        assert [list(x) for x in await Event.filter(chat_id=chat_id, kind="CHAT_OFFERED").order_by("id")
                .values_list("operator_ids", flat=True)] == [[b.id], [a.id]]
        assert await offered_to(chat_id) == {a.id}
    assert await Timer.all().count() == chats_per_kind  # the second offers' timers, not yet due


@pytest.mark.postgres_only
async def test_two_running_loops_fire_each_timer_once(db, platform, clock):
    """Two scheduler loops (as in two server processes) running side by side on PostgreSQL."""
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.ALL, auto_close_after_seconds=30,
                                      answer_timeout_seconds=30)
    answered = []
    for _ in range(8):
        chat, _, _ = await start_chat(channel)
        await chats.answer_chat(a_viewer, chat_id=chat.id)
        answered.append(chat.id)
    waiting = [(await start_chat(channel))[0].id for _ in range(8)]  # offered to A, who is busy answering none
    stop = asyncio.Event()
    loops = [asyncio.create_task(scheduler.run(platform, 0.001, stop)) for _ in range(2)]
    try:
        clock.advance(30)
        async with asyncio.timeout(20):
            while await Chat.filter(id__in=answered, status=ACTIVE).exists() or await Timer.exists():
                await asyncio.sleep(0.01)  # polling the effect, bounded by the timeout
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await asyncio.gather(*loops)
    for chat_id in answered:
        assert await Event.filter(chat_id=chat_id, kind="CHAT_AUTO_CLOSED").count() == 1
    for chat_id in waiting:
        assert await Event.filter(chat_id=chat_id, kind="CHAT_OFFER_EXPIRED").count() == 1
        assert (await Chat.get(id=chat_id)).status == QUEUED and await offered_to(chat_id) == set()
