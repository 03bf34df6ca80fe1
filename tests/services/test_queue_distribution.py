"""A visitor's first message queues a chat and offers it per the channel's distribution."""
from __future__ import annotations

import pytest

from models import (
    Chat, ChatSkip, ChatStatus, Message, MessageAuthorKind, OperatorStatus, QueueDistribution, QueueMember,
)
from services.chats import chats
from services.messaging import messages
from services.chats import operators
from services.common.errors import Forbidden
from tests.factories import event_kinds, make_open_channel, make_operator, offered_to, start_chat

EVENLY, STRICT, ALL = QueueDistribution.EVENLY, QueueDistribution.STRICT, QueueDistribution.ALL


async def test_first_visitor_message_creates_a_queued_chat_and_offers_it(db):
    alice, _ = await make_operator("Alice")
    channel = await make_open_channel([alice], distribution=STRICT)
    chat, visitor, _ = await start_chat(channel, text=None, name="Vera")
    assert chat is None
    assert await Chat.all().count() == 0

    message = await messages.send_visitor_message(visitor, text="  Where is my parcel?  ")

    chat = await Chat.get(id=message.chat_id)
    assert chat.status == ChatStatus.QUEUED
    assert chat.open_channel_id == channel.id
    assert chat.client_id == visitor.client_id
    assert chat.operator_id is None
    assert chat.title == "Vera"
    assert (message.author_kind, message.text, message.silent) == (
        MessageAuthorKind.CLIENT, "Where is my parcel?", False)
    assert await offered_to(chat.id) == {alice.id}
    assert await event_kinds(chat.id) == ["CHAT_QUEUED", "MESSAGE_ADDED", "CHAT_OFFERED"]


async def test_start_with_text_queues_the_chat_at_once(db):
    alice, _ = await make_operator()
    channel = await make_open_channel([alice])
    chat, _, _ = await start_chat(channel, text="Hi")
    assert chat.status == ChatStatus.QUEUED
    assert await Message.filter(chat_id=chat.id).values_list("text", flat=True) == ["Hi"]
    assert await offered_to(chat.id) == {alice.id}


async def test_evenly_rotates_across_successive_chats(db):
    a, _ = await make_operator("A")
    b, _ = await make_operator("B")
    c, _ = await make_operator("C")
    channel = await make_open_channel([a, b, c], distribution=EVENLY)

    offers = []
    for _ in range(5):
        chat, _, _ = await start_chat(channel)
        offers.append(await offered_to(chat.id))

    assert offers == [{a.id}, {b.id}, {c.id}, {a.id}, {b.id}]


async def test_evenly_gives_the_next_chat_to_whoever_waited_longest(db):
    a, _ = await make_operator("A")
    b, _ = await make_operator("B")
    c, c_viewer = await make_operator("C", status=OperatorStatus.OFFLINE)
    channel = await make_open_channel([a, b, c], distribution=EVENLY)
    first, _, _ = await start_chat(channel)
    second, _, _ = await start_chat(channel)
    assert [await offered_to(first.id), await offered_to(second.id)] == [{a.id}, {b.id}]

    await operators.set_status(c_viewer, status=OperatorStatus.ONLINE)
    third, _, _ = await start_chat(channel)
    fourth, _, _ = await start_chat(channel)

    # C was never offered one, then A has waited longer than B
    assert [await offered_to(third.id), await offered_to(fourth.id)] == [{c.id}, {a.id}]


async def test_strict_always_offers_the_first_online_member_in_queue_order(db):
    first, first_viewer = await make_operator("First")
    second, _ = await make_operator("Second")
    third, _ = await make_operator("Third")
    channel = await make_open_channel([first, second, third], distribution=STRICT)

    for _ in range(3):
        chat, _, _ = await start_chat(channel)
        assert await offered_to(chat.id) == {first.id}

    await operators.set_status(first_viewer, status=OperatorStatus.AWAY)
    chat, _, _ = await start_chat(channel)
    assert await offered_to(chat.id) == {second.id}


async def test_strict_follows_queue_position_not_creation_order(db):
    older, _ = await make_operator("Older")
    newer, _ = await make_operator("Newer")
    channel = await make_open_channel([newer, older], distribution=STRICT)
    chat, _, _ = await start_chat(channel)
    assert await offered_to(chat.id) == {newer.id}


async def test_all_offers_every_online_member_at_once(db):
    members = [(await make_operator())[0] for _ in range(4)]
    channel = await make_open_channel(members, distribution=ALL)

    chat, _, _ = await start_chat(channel)

    assert await offered_to(chat.id) == {m.id for m in members}
    assert await event_kinds(chat.id) == ["CHAT_QUEUED", "MESSAGE_ADDED", "CHAT_OFFERED"]


@pytest.mark.parametrize("distribution", [EVENLY, STRICT, ALL])
@pytest.mark.parametrize("status", [OperatorStatus.AWAY, OperatorStatus.OFFLINE])
async def test_away_and_offline_members_are_not_offered(db, distribution, status):
    absent, _ = await make_operator("Absent", status=status)
    present, _ = await make_operator("Present")
    channel = await make_open_channel([absent, present], distribution=distribution)

    chat, _, _ = await start_chat(channel)

    assert await offered_to(chat.id) == {present.id}


@pytest.mark.parametrize("distribution", [EVENLY, STRICT, ALL])
async def test_with_nobody_online_the_chat_waits_in_the_queue(db, distribution):
    away, _ = await make_operator(status=OperatorStatus.AWAY)
    channel = await make_open_channel([away], distribution=distribution)

    chat, _, _ = await start_chat(channel)

    assert chat.status == ChatStatus.QUEUED
    assert await offered_to(chat.id) == set()
    assert await event_kinds(chat.id) == ["CHAT_QUEUED", "MESSAGE_ADDED"]


async def test_a_member_at_the_chat_limit_is_not_offered(db):
    busy, busy_viewer = await make_operator("Busy")
    free, _ = await make_operator("Free")
    channel = await make_open_channel([busy, free], distribution=STRICT, max_chats_per_operator=1)
    first, _, _ = await start_chat(channel)
    await chats.answer_chat(busy_viewer, chat_id=first.id)

    second, _, _ = await start_chat(channel)

    assert await offered_to(second.id) == {free.id}


@pytest.mark.parametrize("distribution", [EVENLY, STRICT])
async def test_skip_passes_the_chat_through_the_whole_queue(db, distribution):
    cast = [await make_operator(name) for name in ("A", "B", "C")]
    channel = await make_open_channel([op for op, _ in cast], distribution=distribution)
    chat, _, _ = await start_chat(channel)

    for i, (operator, viewer) in enumerate(cast):
        assert await offered_to(chat.id) == {operator.id}
        skipped = await chats.skip_chat(viewer, chat_id=chat.id)
        assert skipped.status == ChatStatus.QUEUED
        following = {cast[i + 1][0].id} if i + 1 < len(cast) else set()
        assert await offered_to(chat.id) == following

    chat = await Chat.get(id=chat.id)
    assert chat.status == ChatStatus.QUEUED and chat.operator_id is None
    skippers = set(await ChatSkip.filter(chat_id=chat.id).values_list("operator_id", flat=True))
    assert skippers == {op.id for op, _ in cast}
    assert await event_kinds(chat.id) == [
        "CHAT_QUEUED", "MESSAGE_ADDED", "CHAT_OFFERED",
        "CHAT_SKIPPED", "CHAT_OFFERED",
        "CHAT_SKIPPED", "CHAT_OFFERED",
        "CHAT_SKIPPED",
    ]


async def test_a_chat_skipped_by_everyone_can_still_be_answered_from_the_queue(db):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=STRICT)
    chat, _, _ = await start_chat(channel)
    await chats.skip_chat(a_viewer, chat_id=chat.id)
    assert await offered_to(chat.id) == set()

    answered = await chats.answer_chat(a_viewer, chat_id=chat.id)

    assert answered.status == ChatStatus.ACTIVE and answered.operator_id == a.id
    assert await ChatSkip.filter(chat_id=chat.id).count() == 0


async def test_skip_under_all_withdraws_only_the_skippers_offer(db):
    a, a_viewer = await make_operator("A")
    b, _ = await make_operator("B")
    c, _ = await make_operator("C")
    channel = await make_open_channel([a, b, c], distribution=ALL)
    chat, _, _ = await start_chat(channel)

    await chats.skip_chat(a_viewer, chat_id=chat.id)

    assert await offered_to(chat.id) == {b.id, c.id}
    assert (await event_kinds(chat.id))[-1] == "CHAT_SKIPPED"


async def test_a_skipped_chat_is_not_offered_again_to_the_skipper(db):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=STRICT)
    chat, _, _ = await start_chat(channel)
    await chats.skip_chat(a_viewer, chat_id=chat.id)

    with pytest.raises(Forbidden):
        await chats.skip_chat(a_viewer, chat_id=chat.id)

    assert await offered_to(chat.id) == set()
    assert await event_kinds(chat.id) == ["CHAT_QUEUED", "MESSAGE_ADDED", "CHAT_OFFERED", "CHAT_SKIPPED"]


async def test_an_offer_stamps_the_members_last_offered_time(db, clock):
    a, _ = await make_operator("A")
    b, _ = await make_operator("B")
    channel = await make_open_channel([a, b], distribution=EVENLY)

    await start_chat(channel)

    stamps = dict(await QueueMember.filter(open_channel_id=channel.id).values_list("operator_id", "last_offered_at"))
    assert stamps == {a.id: clock.now, b.id: None}
