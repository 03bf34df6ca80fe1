"""Handing a chat over: transfer to an operator or to an open channel, and intercept."""
from __future__ import annotations

import pytest

from models import Chat, ChatStatus, Event, Message, MessageAuthorKind, OperatorRole, QueueDistribution
from services.chats import chats
from services.messaging import messages
from services.policies.chats import get_visible_chat
from services.common.errors import AlreadyTaken, Forbidden, InvalidInput, InvalidState, NotFound
from tests.factories import (
    event_kinds, last_event_id, make_open_channel, make_operator, offered_to, participants_of, queued_chat, snapshot,
)

QUEUED, ACTIVE = ChatStatus.QUEUED, ChatStatus.ACTIVE


# --------------------------------------------------------------------------- transfer


async def test_transfer_an_active_chat_to_an_operator(db):
    channel, [(a, a_viewer), (b, b_viewer)], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=True)
    before = await last_event_id()

    transferred = await chats.transfer_chat(a_viewer, chat_id=chat.id, operator_id=b.id, comment="  VIP client  ")

    stored = await Chat.get(id=chat.id)
    assert transferred.status == stored.status == QUEUED
    assert stored.operator_id is None
    assert stored.open_channel_id == channel.id
    assert stored.pinned is False and stored.auto_close_at is None
    assert await participants_of(chat.id) == set()  # the old responsible is no longer on the chat
    assert await offered_to(chat.id) == {b.id}
    note = await Message.filter(chat_id=chat.id).order_by("-id").first()
    assert (note.author_kind, note.author_id, note.text, note.silent) == (
        MessageAuthorKind.SYSTEM, a.id, "VIP client", True)
    events = await Event.filter(chat_id=chat.id, id__gt=before).order_by("id")
    assert [e.kind for e in events] == ["CHAT_TRANSFERRED", "CHAT_OFFERED"]
    assert set(events[0].operator_ids) == {a.id, b.id}
    assert events[1].operator_ids == [b.id]

    # the new operator takes it
    await chats.answer_chat(b_viewer, chat_id=chat.id)
    assert (await Chat.get(id=chat.id)).operator_id == b.id
    assert await participants_of(chat.id) == {b.id}


async def test_transfer_to_an_operator_outside_the_channel_lets_them_see_and_answer_it(db):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    outsider, outsider_viewer = await make_operator("Outsider")
    with pytest.raises(NotFound):
        await get_visible_chat(outsider_viewer, chat.id)
    await chats.answer_chat(a_viewer, chat_id=chat.id)

    await chats.transfer_chat(a_viewer, chat_id=chat.id, operator_id=outsider.id)

    assert (await get_visible_chat(outsider_viewer, chat.id)).id == chat.id
    answered = await chats.answer_chat(outsider_viewer, chat_id=chat.id)
    assert answered.operator_id == outsider.id


async def test_transfer_to_a_channel_requeues_it_there(db):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    x, x_viewer = await make_operator("X")
    y, _ = await make_operator("Y")
    target = await make_open_channel([x, y], distribution=QueueDistribution.ALL)
    old_channel_id = chat.open_channel_id
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await last_event_id()

    await chats.transfer_chat(a_viewer, chat_id=chat.id, open_channel_id=target.id)

    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.open_channel_id, stored.operator_id) == (QUEUED, target.id, None)
    assert await participants_of(chat.id) == set()
    assert await offered_to(chat.id) == {x.id, y.id}
    events = await Event.filter(chat_id=chat.id, id__gt=before).order_by("id")
    assert [e.kind for e in events] == ["CHAT_TRANSFERRED", "CHAT_QUEUED", "CHAT_OFFERED"]
    # the old queue learns that the chat left it, the new one that it arrived
    assert events[0].open_channel_id == old_channel_id
    assert events[1].open_channel_id == target.id
    # the previous operator (not a member of the new channel) no longer sees it
    with pytest.raises(NotFound):
        await get_visible_chat(a_viewer, chat.id)
    assert (await get_visible_chat(x_viewer, chat.id)).id == chat.id


async def test_transfer_a_queued_chat_to_an_operator(db):
    _, [(a, a_viewer), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT)
    assert await offered_to(chat.id) == {a.id}

    await chats.transfer_chat(a_viewer, chat_id=chat.id, operator_id=b.id)

    assert (await Chat.get(id=chat.id)).status == QUEUED
    assert await offered_to(chat.id) == {b.id}
    assert (await event_kinds(chat.id))[-2:] == ["CHAT_TRANSFERRED", "CHAT_OFFERED"]


async def test_transfer_to_a_channel_forgets_earlier_skips(db):
    _, [(a, a_viewer)], chat, _ = await queued_chat(QueueDistribution.STRICT, members=1)
    await chats.skip_chat(a_viewer, chat_id=chat.id)
    other = await make_open_channel([a], distribution=QueueDistribution.STRICT)
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)

    await chats.transfer_chat(supervisor, chat_id=chat.id, open_channel_id=other.id)

    assert await offered_to(chat.id) == {a.id}


@pytest.mark.parametrize(
    "target, error",
    [
        ({}, InvalidInput),
        ({"operator_id": "other", "open_channel_id": "channel"}, InvalidInput),
        ({"operator_id": 999_999}, NotFound),
        ({"open_channel_id": 999_999}, NotFound),
        ({"operator_id": "self"}, InvalidInput),
    ],
    ids=["no-target", "two-targets", "unknown-operator", "unknown-channel", "to-the-responsible-operator"],
)
async def test_transfer_with_a_bad_target_changes_nothing(db, target, error):
    channel, [(a, a_viewer), (b, _)], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    names = {"other": b.id, "self": a.id, "channel": channel.id}
    target = {k: names.get(v, v) for k, v in target.items()}
    before = await snapshot(chat.id)

    with pytest.raises(error):
        await chats.transfer_chat(a_viewer, chat_id=chat.id, **target)

    assert await snapshot(chat.id) == before


async def test_only_the_responsible_operator_or_a_supervisor_transfers_an_active_chat(db):
    _, [(a, a_viewer), (b, b_viewer)], chat, _ = await queued_chat()
    supervisor, supervisor_viewer = await make_operator(role=OperatorRole.SUPERVISOR)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(Forbidden):
        await chats.transfer_chat(b_viewer, chat_id=chat.id, operator_id=b.id)
    assert await snapshot(chat.id) == before

    await chats.transfer_chat(supervisor_viewer, chat_id=chat.id, operator_id=b.id)
    assert await offered_to(chat.id) == {b.id}


# --------------------------------------------------------------------------- intercept


async def test_intercept_takes_an_active_chat_from_another_operator(db):
    _, [(a, a_viewer), (b, b_viewer)], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await last_event_id()

    intercepted = await chats.intercept_chat(b_viewer, chat_id=chat.id)

    stored = await Chat.get(id=chat.id)
    assert intercepted.status == stored.status == ACTIVE
    assert stored.operator_id == b.id
    assert await participants_of(chat.id) == {b.id}
    event = await Event.get(chat_id=chat.id, id__gt=before)
    assert event.kind == "CHAT_INTERCEPTED"
    assert set(event.operator_ids) == {a.id, b.id}
    # the previous operator is no longer responsible: they cannot finish it any more
    with pytest.raises(Forbidden):
        await chats.finish_chat(a_viewer, chat_id=chat.id)


async def test_intercepting_your_own_chat_is_refused(db):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(InvalidInput):
        await chats.intercept_chat(a_viewer, chat_id=chat.id)

    assert await snapshot(chat.id) == before


async def test_an_operator_outside_the_channel_cannot_intercept(db):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    _, outsider = await make_operator()
    before = await snapshot(chat.id)

    with pytest.raises(NotFound):
        await chats.intercept_chat(outsider, chat_id=chat.id)

    assert await snapshot(chat.id) == before


# --------------------------------------------------------------------------- found while writing these tests (a fixed one, two open ones)


async def test_the_visitor_keeps_writing_into_a_chat_transferred_to_another_channel(db):
    _, [(_, a_viewer), _], chat, visitor = await queued_chat()
    x, x_viewer = await make_operator("X")
    other = await make_open_channel([x], distribution=QueueDistribution.STRICT)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    await chats.transfer_chat(a_viewer, chat_id=chat.id, open_channel_id=other.id)

    message = await messages.send_visitor_message(visitor, text="Hello? Anyone?")

    assert message.chat_id == chat.id
    assert await Chat.all().count() == 1
    assert (await get_visible_chat(visitor, chat.id)).open_channel_id == other.id
    await chats.answer_chat(x_viewer, chat_id=chat.id)
    assert (await messages.send_visitor_message(visitor, text="Thanks")).chat_id == chat.id


async def test_an_operator_offered_the_chat_by_transfer_who_lost_it_hears_already_taken(db):
    _, [(_, a_viewer), (_, b_viewer)], chat, _ = await queued_chat(QueueDistribution.STRICT)
    outsider, outsider_viewer = await make_operator("Outsider")
    await chats.transfer_chat(a_viewer, chat_id=chat.id, operator_id=outsider.id)
    await chats.answer_chat(b_viewer, chat_id=chat.id)  # a member takes it first

    with pytest.raises(AlreadyTaken):
        await chats.answer_chat(outsider_viewer, chat_id=chat.id)


async def test_transferring_a_closed_chat_is_invalid_state_whatever_the_target(db):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    await chats.finish_chat(a_viewer, chat_id=chat.id)
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)

    with pytest.raises(InvalidState):
        await chats.transfer_chat(supervisor, chat_id=chat.id, operator_id=a.id)


async def test_a_chat_handed_back_to_its_queue_is_not_offered_back_to_the_one_who_handed_it(db):
    channel, [(a, a_viewer), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT)
    await chats.answer_chat(a_viewer, chat_id=chat.id)

    await chats.transfer_chat(a_viewer, chat_id=chat.id, open_channel_id=channel.id)

    assert await offered_to(chat.id) == {b.id}
