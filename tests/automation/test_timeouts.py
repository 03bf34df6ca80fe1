"""Offer timeouts, presence and capacity, driven by the services' clock and one scheduler tick."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models import Chat, ChatStatus, Event, OperatorStatus, QueueDistribution, Timer
from services.chats import chats
from services.chats import open_channels
from services.chats import operators
from services.automation import scheduler
from services.common.errors import LimitExceeded
from tests.factories import event_kinds, make_admin, make_open_channel, make_operator, offered_to, queued_chat, start_chat

QUEUED, ACTIVE, CLOSED = ChatStatus.QUEUED, ChatStatus.ACTIVE, ChatStatus.CLOSED


async def offered_events(chat_id: int) -> list[list[int]]:
    """Who each CHAT_OFFERED event of the chat went to, in order."""
    return [list(ids) for ids in await Event.filter(chat_id=chat_id, kind="CHAT_OFFERED").order_by("id")
            .values_list("operator_ids", flat=True)]


async def test_an_unanswered_offer_passes_down_the_queue_then_waits(db, clock):
    channel, [(a, _), (b, _), (c, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, members=3,
                                                                  answer_timeout_seconds=30)
    assert await offered_to(chat.id) == {a.id}

    clock.advance(29)
    assert await scheduler.tick() == 0  # not due yet
    assert await offered_to(chat.id) == {a.id}

    clock.advance(1)
    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == {b.id}
    clock.advance(30)
    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == {c.id}
    clock.advance(30)
    assert await scheduler.tick() == 1

    # nobody left: still queued, offered to nobody, no timer running
    stored = await Chat.get(id=chat.id)
    assert stored.status == QUEUED and await offered_to(chat.id) == set()
    assert not await Timer.filter(chat_id=chat.id).exists()
    assert await offered_events(chat.id) == [[a.id], [b.id], [c.id]]
    assert (await event_kinds(chat.id)).count("CHAT_OFFER_EXPIRED") == 3
    clock.advance(3600)
    assert await scheduler.tick() == 0

    # a newcomer who becomes ONLINE gets it
    d, d_viewer = await make_operator("D", status=OperatorStatus.OFFLINE)
    _, admin = await make_admin()
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, operator_ids=[a.id, b.id, c.id, d.id])
    assert await offered_to(chat.id) == set()
    await operators.set_status(d_viewer, status=OperatorStatus.ONLINE)
    assert await offered_to(chat.id) == {d.id}
    # and the new offer has its own timeout
    assert (await Timer.get(chat_id=chat.id)).due_at == clock.now + timedelta(seconds=30)


async def test_an_answered_offer_never_expires(db, clock):
    _, [(a, a_viewer), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, answer_timeout_seconds=10)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    clock.advance(600)

    assert await scheduler.tick() == 0
    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.operator_id) == (ACTIVE, a.id)
    assert await offered_events(chat.id) == [[a.id]]


async def test_an_offer_to_everyone_expires_for_everyone(db, clock):
    _, [(a, _), (b, _)], chat, _ = await queued_chat(QueueDistribution.ALL, answer_timeout_seconds=20)
    assert await offered_to(chat.id) == {a.id, b.id}
    clock.advance(20)

    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == set()
    assert (await Chat.get(id=chat.id)).status == QUEUED


async def test_evenly_passes_to_the_member_offered_least_recently(db, clock):
    _, [(a, _), (b, _), (c, _)], first, _ = await queued_chat(QueueDistribution.EVENLY, members=3,
                                                              answer_timeout_seconds=15)
    assert await offered_to(first.id) == {a.id}
    clock.advance(15)
    await scheduler.tick()
    assert await offered_to(first.id) == {b.id}
    clock.advance(15)
    await scheduler.tick()
    assert await offered_to(first.id) == {c.id}


async def test_away_and_offline_operators_get_no_offers_and_are_skipped_on_expiry(db, clock):
    a, _ = await make_operator("A")
    b, b_viewer = await make_operator("B")
    c, _ = await make_operator("C", status=OperatorStatus.OFFLINE)
    channel = await make_open_channel([a, b, c], distribution=QueueDistribution.STRICT, answer_timeout_seconds=5)
    await operators.set_status(b_viewer, status=OperatorStatus.AWAY)
    chat, _, _ = await start_chat(channel)
    assert await offered_to(chat.id) == {a.id}

    clock.advance(5)
    await scheduler.tick()
    assert await offered_to(chat.id) == set()  # B is AWAY, C OFFLINE: nobody left

    await operators.set_status(b_viewer, status=OperatorStatus.ONLINE)
    assert await offered_to(chat.id) == {b.id}


async def test_an_operator_at_capacity_is_passed_over_and_gets_the_chat_when_a_slot_frees(db, clock):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.STRICT, max_chats_per_operator=1,
                                      answer_timeout_seconds=60)
    first, _, _ = await start_chat(channel)
    await chats.answer_chat(a_viewer, chat_id=first.id)
    waiting, _, _ = await start_chat(channel)
    assert await offered_to(waiting.id) == set()  # A is at capacity

    await chats.finish_chat(a_viewer, chat_id=first.id)

    assert await offered_to(waiting.id) == {a.id}
    assert await offered_events(waiting.id) == [[a.id]]


@pytest.mark.parametrize("free_a_slot", ["finish", "spam", "transfer", "auto-close"])
async def test_every_way_of_freeing_a_slot_moves_the_queue(db, clock, free_a_slot):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.STRICT, max_chats_per_operator=1,
                                      auto_close_after_seconds=100)
    other = await make_open_channel([], name="Elsewhere")
    first, _, _ = await start_chat(channel)
    await chats.answer_chat(a_viewer, chat_id=first.id)
    waiting, _, _ = await start_chat(channel)
    assert await offered_to(waiting.id) == set()

    if free_a_slot == "finish":
        await chats.finish_chat(a_viewer, chat_id=first.id)
    elif free_a_slot == "spam":
        await chats.mark_chat_spam(a_viewer, chat_id=first.id)
    elif free_a_slot == "transfer":
        await chats.transfer_chat(a_viewer, chat_id=first.id, open_channel_id=other.id)
    else:
        clock.advance(100)
        assert await scheduler.tick() == 1

    assert await offered_to(waiting.id) == {a.id}


async def test_answer_respects_the_chat_limit(db, clock):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.ALL, max_chats_per_operator=1)
    first, _, _ = await start_chat(channel)
    second, _, _ = await start_chat(channel)
    await chats.answer_chat(a_viewer, chat_id=first.id)

    with pytest.raises(LimitExceeded) as err:
        await chats.answer_chat(a_viewer, chat_id=second.id)

    assert err.value.code == "LIMIT_EXCEEDED"
    stored = await Chat.get(id=second.id)
    assert (stored.status, stored.operator_id) == (QUEUED, None)
    await chats.finish_chat(a_viewer, chat_id=first.id)
    assert (await chats.answer_chat(a_viewer, chat_id=second.id)).status == ACTIVE


@pytest.mark.parametrize("status", ["ACTIVE", "CLOSED", "SPAM"])
async def test_a_stale_offer_timer_changes_nothing_once_the_chat_left_the_queue(db, clock, status):
    _, [(a, a_viewer), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, answer_timeout_seconds=10)
    timer = await Timer.get(chat_id=chat.id)
    if status == "SPAM":
        await chats.mark_chat_spam(a_viewer, chat_id=chat.id)
    else:
        await chats.answer_chat(a_viewer, chat_id=chat.id)
        if status == "CLOSED":
            await chats.finish_chat(a_viewer, chat_id=chat.id)
    # as if the timer had survived (a crash between writes cannot happen, but the tick must not trust it)
    await Timer.create(id=timer.id, kind=timer.kind, chat_id=chat.id, due_at=timer.due_at)
    before = await Event.all().count()
    clock.advance(10)

    await scheduler.tick()

    assert (await Chat.get(id=chat.id)).status == status
    assert await Event.all().count() == before
    assert await offered_to(chat.id) == set()
    assert not await Timer.filter(chat_id=chat.id).exists()


async def test_a_new_offer_restarts_the_answer_timeout(db, clock):
    _, [(a, a_viewer), (b, _), (c, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, members=3,
                                                                    answer_timeout_seconds=30)
    clock.advance(20)
    await chats.skip_chat(a_viewer, chat_id=chat.id)
    assert await offered_to(chat.id) == {b.id}
    assert await Timer.filter(chat_id=chat.id).count() == 1

    clock.advance(29)
    assert await scheduler.tick() == 0  # B has their full 30 s
    clock.advance(1)
    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == {c.id}


async def test_answer_over_the_limit_is_a_limit_exceeded_user_error(db):
    from resolvers.ids import to_global_id
    from tests.graphql.helpers import execute

    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.ALL, max_chats_per_operator=1)
    first, _, _ = await start_chat(channel)
    second, _, _ = await start_chat(channel)
    await chats.answer_chat(a_viewer, chat_id=first.id)

    data = await execute("mutation ($id: ID!) { answerChat(input: {chatId: $id}) { chat { id } "
                         "userErrors { code field } } }", a_viewer, id=to_global_id("Chat", second.id))

    assert data["answerChat"] == {"chat": None,
                                  "userErrors": [{"code": "LIMIT_EXCEEDED", "field": ["input", "chatId"]}]}


async def test_going_away_passes_the_offers_on_at_once(db, clock):
    _, [(a, a_viewer), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, answer_timeout_seconds=30)
    everyone, _, _ = await start_chat(await make_open_channel([a, b], distribution=QueueDistribution.ALL))
    assert await offered_to(chat.id) == {a.id} and await offered_to(everyone.id) == {a.id, b.id}

    await operators.set_status(a_viewer, status=OperatorStatus.AWAY)

    assert await offered_to(chat.id) == {b.id}
    assert (await Timer.get(chat_id=chat.id)).due_at == clock.now + timedelta(seconds=30)
    assert "CHAT_OFFER_WITHDRAWN" in await event_kinds(chat.id)
    assert await offered_to(everyone.id) == {b.id}  # B still has it: nothing else changes
    await operators.set_status(a_viewer, status=OperatorStatus.ONLINE)
    assert await offered_to(chat.id) == {b.id}  # B keeps it: it was not waiting
