"""Messages: an operator's (visible or silent), a visitor's, first response, unread counters."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models import (
    Chat, ChatStatus, Event, Message, MessageAuthorKind, OpenChannel, OperatorRole, QueueDistribution, ReadMarker,
)
from services.chats import chats
from services.messaging import messages
from services.chats import reads
from services.common.errors import Forbidden, InvalidInput
from services.messaging.messages import MAX_TEXT_LENGTH
from services.identity.viewer import Viewer
from tests.factories import event_kinds, make_open_channel, make_operator, participants_of, snapshot, start_chat


async def active_chat(**settings):
    """A chat answered by A; B is another member of the channel."""
    (a, a_viewer), (b, b_viewer) = await make_operator("A"), await make_operator("B")
    channel = await make_open_channel([a, b], distribution=QueueDistribution.STRICT, **settings)
    chat, visitor, _ = await start_chat(channel, text="Hello")
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    return chat, (a, a_viewer), (b, b_viewer), visitor


async def unread(chat_id: int, viewer: Viewer) -> int:
    """The operator's unread counter for the chat, as the API shows it."""
    return (await reads.unread_counts(viewer.operator_id, [chat_id])).get(chat_id, 0)


async def test_the_responsible_operator_writes(db):
    chat, (a, a_viewer), _, _ = await active_chat()

    message = await messages.send_message(a_viewer, chat_id=chat.id, text="  How can I help?  ")

    stored = await Message.get(id=message.id)
    assert (stored.chat_id, stored.author_kind, stored.author_id, stored.text, stored.silent) == (
        chat.id, MessageAuthorKind.OPERATOR, a.id, "How can I help?", False)
    event = await Event.filter(chat_id=chat.id).order_by("-id").first()
    assert (event.kind, event.chat_kind, event.message_id, event.visitor_visible) == (
        "MESSAGE_ADDED", "MESSAGE_ADDED", message.id, True)
    assert a.id in event.operator_ids


async def test_a_silent_note_is_hidden_from_the_visitor_and_is_not_a_first_response(db, clock):
    chat, (_, a_viewer), _, _ = await active_chat()

    note = await messages.send_message(a_viewer, chat_id=chat.id, text="Looks like a repeat customer", silent=True)

    assert (await Message.get(id=note.id)).silent is True
    event = await Event.get(message_id=note.id)
    assert event.visitor_visible is False
    assert (await Chat.get(id=chat.id)).first_response_at is None


async def test_the_first_visible_operator_message_sets_first_response_at_once(db, clock):
    chat, (_, a_viewer), _, visitor = await active_chat()
    clock.advance(5)
    await messages.send_message(a_viewer, chat_id=chat.id, text="note", silent=True)
    clock.advance(10)
    answered_at = clock.now
    await messages.send_message(a_viewer, chat_id=chat.id, text="Hi!")
    clock.advance(10)
    await messages.send_visitor_message(visitor, text="Thanks")
    await messages.send_message(a_viewer, chat_id=chat.id, text="You're welcome")

    assert (await Chat.get(id=chat.id)).first_response_at == answered_at


async def test_writing_restarts_the_auto_close_countdown(db, clock):
    chat, (_, a_viewer), _, visitor = await active_chat(auto_close_after_seconds=120)
    clock.advance(60)
    await messages.send_message(a_viewer, chat_id=chat.id, text="Hi!")
    stored = await Chat.get(id=chat.id)
    assert stored.auto_close_at == clock.now + timedelta(seconds=120)
    assert stored.last_activity_at == clock.now

    clock.advance(60)
    await messages.send_visitor_message(visitor, text="Still there?")
    stored = await Chat.get(id=chat.id)
    assert stored.auto_close_at == clock.now + timedelta(seconds=120)
    assert stored.last_activity_at == clock.now


async def test_a_pinned_chat_gets_no_deadline_and_a_silent_note_is_not_its_first_response(db, clock):
    """sendMessage's transition (services/messaging/messages.py `_touch_sql`, one UPDATE for both
    backends): the activity moves on every message; a pinned chat keeps no auto-close deadline; only
    a visible message can be the first response."""
    chat, (_, a_viewer), _, _ = await active_chat(auto_close_after_seconds=120)
    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=True)
    clock.advance(30)

    await messages.send_message(a_viewer, chat_id=chat.id, text="a note", silent=True)

    stored = await Chat.get(id=chat.id)
    assert (stored.last_activity_at, stored.auto_close_at, stored.first_response_at) == (clock.now, None, None)

    clock.advance(30)
    await messages.send_message(a_viewer, chat_id=chat.id, text="Hi!")

    stored = await Chat.get(id=chat.id)
    assert (stored.last_activity_at, stored.auto_close_at, stored.first_response_at) == (clock.now, None, clock.now)


async def test_a_chat_without_a_channel_gets_no_deadline(db, clock):
    chat, (_, a_viewer), _, _ = await active_chat(auto_close_after_seconds=120)
    await OpenChannel.filter(id=chat.open_channel_id).delete()  # the chat stays, its channel set NULL
    clock.advance(30)

    await messages.send_message(a_viewer, chat_id=chat.id, text="Hi!")

    stored = await Chat.get(id=chat.id)
    assert (stored.open_channel_id, stored.last_activity_at, stored.auto_close_at) == (None, clock.now, None)


async def test_the_deadline_is_stored_exactly_as_the_other_writes_store_a_time(db, clock):
    """On SQLite the deadline is computed in SQL over the stored text: to the microsecond, in the
    form the timers compare `auto_close_at` with (a text comparison there)."""
    chat, (_, a_viewer), _, _ = await active_chat(auto_close_after_seconds=86400)
    clock.now = clock.now.replace(hour=23, minute=59, second=59, microsecond=999999)
    deadline = clock.now + timedelta(seconds=86400)

    await messages.send_message(a_viewer, chat_id=chat.id, text="Hi!")

    assert await Chat.filter(id=chat.id, auto_close_at=deadline, last_activity_at=clock.now).exists()
    assert (await Chat.get(id=chat.id)).auto_close_at == deadline


async def test_a_member_who_is_not_on_the_chat_cannot_write(db):
    chat, _, (_, b_viewer), _ = await active_chat()
    before = await snapshot(chat.id)

    with pytest.raises(Forbidden):
        await messages.send_message(b_viewer, chat_id=chat.id, text="Hi")

    assert await snapshot(chat.id) == before


async def test_a_supervisor_who_writes_joins_the_chat(db):
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    chat, (a, _), _, _ = await active_chat()

    await messages.send_message(supervisor, chat_id=chat.id, text="Supervisor here")

    assert await participants_of(chat.id) == {a.id, supervisor.operator_id}
    assert (await Chat.get(id=chat.id)).operator_id == a.id


@pytest.mark.parametrize("text", ["", "   \n\t", None, "x" * (MAX_TEXT_LENGTH + 1)],
                         ids=["empty", "blank", "none", "too-long"])
async def test_empty_or_too_long_operator_messages_are_refused(db, text):
    chat, (_, a_viewer), _, _ = await active_chat()
    before = await snapshot(chat.id)

    with pytest.raises(InvalidInput) as err:
        await messages.send_message(a_viewer, chat_id=chat.id, text=text)

    assert err.value.field == ["input", "text"]
    assert await snapshot(chat.id) == before


@pytest.mark.parametrize("text", ["", "   ", "x" * (MAX_TEXT_LENGTH + 1)], ids=["empty", "blank", "too-long"])
async def test_empty_or_too_long_visitor_messages_are_refused(db, text):
    chat, _, _, visitor = await active_chat()
    before = await snapshot(chat.id)

    with pytest.raises(InvalidInput):
        await messages.send_visitor_message(visitor, text=text)

    assert await snapshot(chat.id) == before


async def test_a_message_of_the_maximum_length_is_accepted(db):
    chat, (_, a_viewer), _, _ = await active_chat()
    message = await messages.send_message(a_viewer, chat_id=chat.id, text="y" * MAX_TEXT_LENGTH)
    assert len((await Message.get(id=message.id)).text) == MAX_TEXT_LENGTH


async def test_a_visitor_writes_into_their_queued_chat(db):
    a, _ = await make_operator()
    channel = await make_open_channel([a])
    chat, visitor, _ = await start_chat(channel, text="First")

    message = await messages.send_visitor_message(visitor, text="Second")

    assert message.chat_id == chat.id
    assert await Chat.all().count() == 1
    assert (await Chat.get(id=chat.id)).status == ChatStatus.QUEUED
    assert await Message.filter(chat_id=chat.id).order_by("id").values_list("text", flat=True) == ["First", "Second"]
    assert await event_kinds(chat.id) == ["CHAT_QUEUED", "MESSAGE_ADDED", "CHAT_OFFERED", "MESSAGE_ADDED"]


async def test_after_the_chat_is_closed_the_visitors_next_message_opens_a_new_one(db):
    chat, (_, a_viewer), _, visitor = await active_chat()
    await chats.finish_chat(a_viewer, chat_id=chat.id)

    message = await messages.send_visitor_message(visitor, text="One more thing")

    assert message.chat_id != chat.id
    new = await Chat.get(id=message.chat_id)
    assert (new.status, new.client_id, new.open_channel_id) == (
        ChatStatus.QUEUED, visitor.client_id, chat.open_channel_id)
    assert (await Chat.get(id=chat.id)).status == ChatStatus.CLOSED


async def test_the_visitors_message_is_on_the_client_side(db):
    chat, _, _, visitor = await active_chat()

    message = await messages.send_visitor_message(visitor, text="Hello?")

    stored = await Message.get(id=message.id)
    assert (stored.author_kind, stored.author_id, stored.silent) == (MessageAuthorKind.CLIENT, None, False)
    event = await Event.get(message_id=message.id)
    assert event.visitor_visible is True


async def test_unread_counter_counts_new_messages_and_mark_read_resets_it(db):
    chat, (_, a_viewer), (_, b_viewer), visitor = await active_chat()
    await messages.send_visitor_message(visitor, text="one")
    await messages.send_visitor_message(visitor, text="two")
    assert await unread(chat.id, a_viewer) == 3  # the opening message and two more

    await chats.mark_chat_read(a_viewer, chat_id=chat.id)
    assert await unread(chat.id, a_viewer) == 0

    await messages.send_visitor_message(visitor, text="three")
    assert await unread(chat.id, a_viewer) == 1
    # another operator's counter is their own
    await chats.mark_chat_read(b_viewer, chat_id=chat.id)
    assert await unread(chat.id, b_viewer) == 0
    assert await unread(chat.id, a_viewer) == 1
    assert (await Event.filter(chat_id=chat.id).order_by("-id").first()).kind == "CHAT_READ"

    await chats.mark_chat_read(a_viewer, chat_id=chat.id)
    assert await unread(chat.id, a_viewer) == 0


async def test_a_colleagues_message_is_unread_but_your_own_is_not(db):
    chat, (a, a_viewer), (b, b_viewer), _ = await active_chat()
    await chats.add_chat_participants(a_viewer, chat_id=chat.id, operator_ids=[b.id])
    await chats.mark_chat_read(a_viewer, chat_id=chat.id)
    await chats.mark_chat_read(b_viewer, chat_id=chat.id)

    await messages.send_message(b_viewer, chat_id=chat.id, text="I'll take the billing part", silent=True)

    assert await unread(chat.id, a_viewer) == 1
    assert await unread(chat.id, b_viewer) == 0


async def test_writing_marks_the_chat_read_for_the_writer(db):
    chat, (_, a_viewer), _, visitor = await active_chat()
    await messages.send_visitor_message(visitor, text="Are you there?")
    assert await unread(chat.id, a_viewer) == 2

    await messages.send_message(a_viewer, chat_id=chat.id, text="Yes")

    assert await unread(chat.id, a_viewer) == 0


async def test_mark_read_is_idempotent(db):
    chat, (_, a_viewer), _, _ = await active_chat()
    await messages.send_message(a_viewer, chat_id=chat.id, text="x")
    marker = await ReadMarker.get(chat_id=chat.id, operator_id=a_viewer.operator_id)

    await chats.mark_chat_read(a_viewer, chat_id=chat.id)
    await chats.mark_chat_read(a_viewer, chat_id=chat.id)

    again = await ReadMarker.get(chat_id=chat.id, operator_id=a_viewer.operator_id)
    assert again.last_read_message_id == marker.last_read_message_id
    assert await ReadMarker.filter(chat_id=chat.id).count() == 1
