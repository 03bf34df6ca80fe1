"""The chat lifecycle: answer, finish, spam, pin, rename, participants, the events of a
lifecycle, and every (action x status) edge of services/chat_states.TRANSITIONS.
Transfer and intercept: test_chat_handover.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from models import (
    Chat, ChatPriority, ChatStatus, Event, Message, OpenChannel, Operator, OperatorRole, OperatorStatus, QueueDistribution,
)
from services.chats import chats, labels, priorities, visitors
from services.messaging import messages
from services.automation import rating
from services.policies.chats import visible_chats
from services.chats.chat_states import TRANSITIONS, Action
from services.common.errors import AlreadyTaken, Forbidden, InvalidInput, InvalidState, NotFound
from services.identity.viewer import Viewer
from tests.factories import (
    event_kinds, last_event_id, make_admin, make_open_channel, make_operator, offered_to, participants_of, queued_chat, snapshot,
    start_chat,
)

QUEUED, ACTIVE, CLOSED, SPAM = ChatStatus.QUEUED, ChatStatus.ACTIVE, ChatStatus.CLOSED, ChatStatus.SPAM


# --------------------------------------------------------------------------- answer


async def test_answer_makes_the_caller_responsible(db, clock):
    channel, [(a, a_viewer), (b, _)], chat, _ = await queued_chat(QueueDistribution.ALL, auto_close_after_seconds=600)
    assert await offered_to(chat.id) == {a.id, b.id}
    before = await last_event_id()

    answered = await chats.answer_chat(a_viewer, chat_id=chat.id)

    stored = await Chat.get(id=chat.id)
    assert answered.status == stored.status == ACTIVE
    assert stored.operator_id == a.id
    assert stored.answered_at == clock.now
    assert stored.auto_close_at == clock.now + timedelta(seconds=600)
    assert await offered_to(chat.id) == set()
    assert await participants_of(chat.id) == {a.id}
    event = await Event.get(chat_id=chat.id, id__gt=before)
    assert (event.kind, event.queue_kind, event.chat_kind) == ("CHAT_ANSWERED", "CHAT_ANSWERED", "CHAT_UPDATED")
    # the operator whose offer vanished must hear about it, as must the new owner
    assert set(event.operator_ids) == {a.id, b.id}


async def test_a_member_may_answer_a_chat_offered_to_someone_else(db):
    _, [(a, _), (b, b_viewer)], chat, _ = await queued_chat(QueueDistribution.STRICT)
    assert await offered_to(chat.id) == {a.id}

    await chats.answer_chat(b_viewer, chat_id=chat.id)

    assert (await Chat.get(id=chat.id)).operator_id == b.id
    assert await offered_to(chat.id) == set()


async def test_answering_an_answered_chat_is_already_taken(db):
    _, [(a, a_viewer), (_, b_viewer)], chat, _ = await queued_chat(QueueDistribution.ALL)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(AlreadyTaken) as err:
        await chats.answer_chat(b_viewer, chat_id=chat.id)

    assert err.value.code == "ALREADY_TAKEN"
    assert await snapshot(chat.id) == before
    assert (await Chat.get(id=chat.id)).operator_id == a.id


# --------------------------------------------------------------------------- finish and spam


async def test_finish_closes_the_chat(db, clock):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    clock.advance(90)

    finished = await chats.finish_chat(a_viewer, chat_id=chat.id)

    stored = await Chat.get(id=chat.id)
    assert finished.status == stored.status == CLOSED
    assert stored.closed_at == clock.now
    assert stored.auto_close_at is None
    assert stored.operator_id == a.id  # kept after closing: who handled it
    event = await Event.filter(chat_id=chat.id, queue_kind__isnull=False).order_by("-id").first()
    assert (event.kind, event.queue_kind, event.chat_kind) == ("CHAT_FINISHED", "CHAT_FINISHED", "CHAT_CLOSED")


async def test_mark_spam_from_queued_withdraws_every_offer(db, clock):
    _, cast, chat, _ = await queued_chat(QueueDistribution.ALL, members=3)
    a_viewer = cast[0][1]
    assert len(await offered_to(chat.id)) == 3

    spam = await chats.mark_chat_spam(a_viewer, chat_id=chat.id)

    stored = await Chat.get(id=chat.id)
    assert spam.status == stored.status == SPAM
    assert stored.closed_at == clock.now and stored.operator_id is None
    assert await offered_to(chat.id) == set()
    event = await Event.filter(chat_id=chat.id).order_by("-id").first()
    assert (event.kind, event.chat_kind) == ("CHAT_SPAM", "CHAT_CLOSED")
    assert set(event.operator_ids) == {op.id for op, _ in cast}


async def test_mark_spam_from_active(db):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)

    await chats.mark_chat_spam(a_viewer, chat_id=chat.id)

    stored = await Chat.get(id=chat.id)
    assert stored.status == SPAM and stored.auto_close_at is None
    assert (await event_kinds(chat.id))[-1] == "CHAT_SPAM"


async def test_only_the_responsible_operator_finishes_or_marks_spam(db):
    _, [(_, a_viewer), (_, b_viewer)], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(Forbidden):
        await chats.finish_chat(b_viewer, chat_id=chat.id)
    with pytest.raises(Forbidden):
        await chats.mark_chat_spam(b_viewer, chat_id=chat.id)

    assert await snapshot(chat.id) == before


async def test_a_supervisor_finishes_any_chat(db):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    await chats.answer_chat(a_viewer, chat_id=chat.id)

    await chats.finish_chat(supervisor, chat_id=chat.id)

    assert (await Chat.get(id=chat.id)).status == CLOSED


# --------------------------------------------------------------------------- pin


async def test_pin_clears_auto_close_and_unpin_sets_it_again(db, clock):
    _, [(_, a_viewer), _], chat, _ = await queued_chat(auto_close_after_seconds=300)
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    assert (await Chat.get(id=chat.id)).auto_close_at == clock.now + timedelta(seconds=300)

    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=True)
    stored = await Chat.get(id=chat.id)
    assert stored.pinned is True and stored.auto_close_at is None

    # activity on a pinned chat does not restart the countdown
    clock.advance(1000)
    await messages.send_message(a_viewer, chat_id=chat.id, text="Still here")
    assert (await Chat.get(id=chat.id)).auto_close_at is None

    clock.advance(50)
    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=False)
    stored = await Chat.get(id=chat.id)
    assert stored.pinned is False
    assert stored.auto_close_at == clock.now + timedelta(seconds=300)
    assert (await event_kinds(chat.id))[-3:] == ["CHAT_PINNED", "MESSAGE_ADDED", "CHAT_UNPINNED"]


async def test_pinning_a_pinned_chat_changes_nothing(db):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=True)
    before = await snapshot(chat.id)

    again = await chats.pin_chat(a_viewer, chat_id=chat.id, pinned=True)

    assert again.pinned is True
    assert await snapshot(chat.id) == before


async def test_only_the_responsible_operator_pins(db):
    _, [(_, a_viewer), (_, b_viewer)], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(Forbidden):
        await chats.pin_chat(b_viewer, chat_id=chat.id, pinned=True)

    assert await snapshot(chat.id) == before


# --------------------------------------------------------------------------- rename


async def test_rename_trims_and_stores_the_title(db):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()

    renamed = await chats.rename_chat(a_viewer, chat_id=chat.id, title="  Refund for order 42 ")

    assert renamed.title == (await Chat.get(id=chat.id)).title == "Refund for order 42"
    assert (await event_kinds(chat.id))[-1] == "CHAT_RENAMED"


async def test_a_title_of_the_maximum_length_is_accepted(db):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    title = "x" * chats.MAX_TITLE_LENGTH

    await chats.rename_chat(a_viewer, chat_id=chat.id, title=title)

    assert (await Chat.get(id=chat.id)).title == title


@pytest.mark.parametrize("title", ["", "   ", None, "x" * (chats.MAX_TITLE_LENGTH + 1)],
                         ids=["empty", "blank", "none", "too-long"])
async def test_rename_refuses_an_empty_or_too_long_title(db, title):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    before = await snapshot(chat.id)

    with pytest.raises(InvalidInput) as err:
        await chats.rename_chat(a_viewer, chat_id=chat.id, title=title)

    assert err.value.field == ["input", "title"]
    assert await snapshot(chat.id) == before


# --------------------------------------------------------------------------- participants


async def test_added_participants_see_the_chat_and_may_write(db):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    colleague, colleague_viewer = await make_operator("Colleague")
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    assert chat.id not in await visible_chats(colleague_viewer).values_list("id", flat=True)

    await chats.add_chat_participants(a_viewer, chat_id=chat.id, operator_ids=[colleague.id])

    assert await participants_of(chat.id) == {a.id, colleague.id}
    assert chat.id in await visible_chats(colleague_viewer).values_list("id", flat=True)
    event = await Event.filter(chat_id=chat.id).order_by("-id").first()
    assert (event.kind, set(event.operator_ids)) == ("PARTICIPANTS_CHANGED", {a.id, colleague.id})
    message = await messages.send_message(colleague_viewer, chat_id=chat.id, text="I can help with that")
    assert message.author_id == colleague.id
    # still not responsible
    assert (await Chat.get(id=chat.id)).operator_id == a.id


async def test_adding_someone_already_on_the_chat_records_no_event(db):
    _, [(a, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    events = await Event.all().count()

    await chats.add_chat_participants(a_viewer, chat_id=chat.id, operator_ids=[a.id])

    assert await participants_of(chat.id) == {a.id}
    assert await Event.all().count() == events


@pytest.mark.parametrize("operator_ids, error", [([], InvalidInput), ([999_999], NotFound)], ids=["none", "unknown"])
async def test_add_participants_refuses_bad_input(db, operator_ids, error):
    _, [(_, a_viewer), _], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(error):
        await chats.add_chat_participants(a_viewer, chat_id=chat.id, operator_ids=operator_ids)

    assert await snapshot(chat.id) == before


async def test_a_member_who_is_not_on_the_chat_cannot_add_participants(db):
    _, [(_, a_viewer), (b, b_viewer)], chat, _ = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    before = await snapshot(chat.id)

    with pytest.raises(Forbidden):
        await chats.add_chat_participants(b_viewer, chat_id=chat.id, operator_ids=[b.id])

    assert await snapshot(chat.id) == before


# --------------------------------------------------------------------------- events of a lifecycle


async def test_a_lifecycle_records_its_events_in_order(db):
    channel, [(a, a_viewer), _], chat, visitor = await queued_chat()
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    await messages.send_message(a_viewer, chat_id=chat.id, text="Hello, how can I help?")
    await messages.send_visitor_message(visitor, text="My order is late")
    await messages.send_message(a_viewer, chat_id=chat.id, text="Checking", silent=True)
    await chats.rename_chat(a_viewer, chat_id=chat.id, title="Late order")
    await chats.finish_chat(a_viewer, chat_id=chat.id)

    events = await Event.filter(chat_id=chat.id).order_by("id")
    assert [e.kind for e in events] == [
        "CHAT_QUEUED", "MESSAGE_ADDED", "CHAT_OFFERED", "CHAT_ANSWERED", "MESSAGE_ADDED", "MESSAGE_ADDED",
        "MESSAGE_ADDED", "CHAT_RENAMED", "CHAT_FINISHED", "MESSAGE_ADDED",  # the rating request
    ]
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e.open_channel_id == channel.id for e in events)
    message_events = [e for e in events if e.kind == "MESSAGE_ADDED"]
    message_ids = list(await Message.filter(chat_id=chat.id).order_by("id").values_list("id", flat=True))
    assert [e.message_id for e in message_events] == message_ids
    assert [e.visitor_visible for e in message_events] == [True, True, True, False, True]


# --------------------------------------------------------------------------- every edge of the state machine


@dataclass
class Stage:
    """One chat in a channel; `actor` is a supervisor in the queue (first, so the chat is offered to them)."""

    chat: Chat
    actor: Viewer
    visitor: Viewer
    responsible: Operator
    colleague: Operator
    channel: OpenChannel


async def stage(status: ChatStatus) -> Stage:
    supervisor, actor = await make_operator("Supervisor", role=OperatorRole.SUPERVISOR)
    responsible, responsible_viewer = await make_operator("Responsible")
    colleague, _ = await make_operator("Colleague", status=OperatorStatus.OFFLINE)
    channel = await make_open_channel([supervisor, responsible], distribution=QueueDistribution.STRICT)
    chat, visitor, _ = await start_chat(channel)
    assert await offered_to(chat.id) == {supervisor.id}
    if status in (ACTIVE, CLOSED):
        await chats.answer_chat(responsible_viewer, chat_id=chat.id)
    if status == CLOSED:
        await chats.finish_chat(responsible_viewer, chat_id=chat.id)
    if status == SPAM:
        await chats.mark_chat_spam(responsible_viewer, chat_id=chat.id)
    chat = await Chat.get(id=chat.id)
    assert chat.status == status
    return Stage(chat, actor, visitor, responsible, colleague, channel)


async def _label(s: Stage):
    """The supervisor puts a new label on the chat."""
    _, admin = await make_admin()
    label = await labels.create_label(admin, name=f"Label {s.chat.id}", color="#000000")
    return await labels.set_chat_labels(s.actor, chat_id=s.chat.id, label_ids=[label.id])


PERFORM = {
    Action.ANSWER: lambda s: chats.answer_chat(s.actor, chat_id=s.chat.id),
    Action.SKIP: lambda s: chats.skip_chat(s.actor, chat_id=s.chat.id),
    Action.TRANSFER: lambda s: chats.transfer_chat(s.actor, chat_id=s.chat.id, operator_id=s.colleague.id),
    Action.INTERCEPT: lambda s: chats.intercept_chat(s.actor, chat_id=s.chat.id),
    Action.FINISH: lambda s: chats.finish_chat(s.actor, chat_id=s.chat.id),
    Action.SPAM: lambda s: chats.mark_chat_spam(s.actor, chat_id=s.chat.id),
    Action.PIN: lambda s: chats.pin_chat(s.actor, chat_id=s.chat.id, pinned=True),
    Action.RENAME: lambda s: chats.rename_chat(s.actor, chat_id=s.chat.id, title="Renamed"),
    Action.ADD_PARTICIPANTS: lambda s: chats.add_chat_participants(s.actor, chat_id=s.chat.id,
                                                                   operator_ids=[s.colleague.id]),
    Action.SEND_MESSAGE: lambda s: messages.send_message(s.actor, chat_id=s.chat.id, text="Hello"),
    Action.VISITOR_MESSAGE: lambda s: messages.send_visitor_message(s.visitor, text="Hello?"),
    Action.RATE: lambda s: rating.rate_chat(s.visitor, vote="LIKE"),
    Action.SET_PRIORITY: lambda s: priorities.set_chat_priority(s.actor, chat_id=s.chat.id, priority=ChatPriority.HIGH),
    Action.LABEL: lambda s: _label(s),
    Action.VISITOR_FINISH: lambda s: visitors.finish_visitor_chat(s.visitor),
}

#: fired by the scheduler when a due time passes: their edges are in tests/automation/test_timeouts.py
#: and tests/automation/test_no_answer.py
CLOCK_DRIVEN = {Action.EXPIRE_OFFER, Action.AUTO_CLOSE, Action.NO_ANSWER, Action.NO_ANSWER_CLOSE}

#: what a successful action shows on the chat row, beyond its status
EFFECT = {
    Action.ANSWER: lambda chat, s: chat.operator_id == s.actor.operator_id,
    Action.SKIP: lambda chat, s: chat.operator_id is None,
    Action.TRANSFER: lambda chat, s: chat.operator_id is None,
    Action.INTERCEPT: lambda chat, s: chat.operator_id == s.actor.operator_id,
    Action.FINISH: lambda chat, s: chat.closed_at is not None,
    Action.SPAM: lambda chat, s: chat.closed_at is not None,
    Action.PIN: lambda chat, s: chat.pinned is True,
    Action.RENAME: lambda chat, s: chat.title == "Renamed",
    Action.ADD_PARTICIPANTS: lambda chat, s: True,
    Action.SEND_MESSAGE: lambda chat, s: True,
    Action.VISITOR_MESSAGE: lambda chat, s: True,
    Action.RATE: lambda chat, s: True,
    Action.SET_PRIORITY: lambda chat, s: chat.priority == ChatPriority.HIGH,
    Action.LABEL: lambda chat, s: True,
    Action.VISITOR_FINISH: lambda chat, s: chat.closed_at is not None,
}

EDGES = [(action, status) for action in Action if action not in CLOCK_DRIVEN for status in ChatStatus]


def test_the_table_covers_every_action():
    assert set(PERFORM) == set(EFFECT) == set(TRANSITIONS) - CLOCK_DRIVEN
    assert set(TRANSITIONS) == set(Action)


def test_the_state_machine_is_the_one_specified():
    """Pinned here so that a change of the table is a change of this test too."""
    every = {QUEUED, ACTIVE, CLOSED, SPAM}
    assert {action: (set(starts), result) for action, (starts, result) in TRANSITIONS.items()} == {
        Action.ANSWER: ({QUEUED}, ACTIVE),
        Action.SKIP: ({QUEUED}, QUEUED),
        Action.TRANSFER: ({QUEUED, ACTIVE}, QUEUED),
        Action.INTERCEPT: ({ACTIVE}, ACTIVE),
        Action.FINISH: ({ACTIVE}, CLOSED),
        Action.SPAM: ({QUEUED, ACTIVE}, SPAM),
        Action.PIN: ({ACTIVE}, ACTIVE),
        Action.RENAME: (every, None),
        Action.ADD_PARTICIPANTS: ({ACTIVE}, None),
        Action.SEND_MESSAGE: ({ACTIVE}, None),
        Action.VISITOR_MESSAGE: ({QUEUED, ACTIVE}, None),
        Action.EXPIRE_OFFER: ({QUEUED}, QUEUED),
        Action.AUTO_CLOSE: ({ACTIVE}, CLOSED),
        Action.RATE: ({CLOSED}, None),
        Action.SET_PRIORITY: ({QUEUED, ACTIVE}, None),
        Action.LABEL: (every, None),
        Action.VISITOR_FINISH: ({QUEUED, ACTIVE}, CLOSED),
        Action.NO_ANSWER: ({QUEUED}, None),
        Action.NO_ANSWER_CLOSE: ({QUEUED}, CLOSED),
    }


@pytest.mark.parametrize("action, status", EDGES, ids=[f"{a.name}-{s.name}" for a, s in EDGES])
async def test_every_action_in_every_status(db, action, status):
    s = await stage(status)
    starts, result = TRANSITIONS[action]
    before = await snapshot(s.chat.id)

    if action is Action.VISITOR_MESSAGE and status not in starts:
        # a visitor whose chat is over does not get an error: their message opens a new chat
        message = await PERFORM[action](s)
        assert message.chat_id != s.chat.id
        assert (await Chat.get(id=message.chat_id)).status == QUEUED
        after = await snapshot(s.chat.id)
        assert {k: v for k, v in after.items() if k not in ("events", "chats")} == \
               {k: v for k, v in before.items() if k not in ("events", "chats")}
        return

    if status in starts:
        await PERFORM[action](s)
        chat = await Chat.get(id=s.chat.id)
        assert chat.status == (result or status)
        assert EFFECT[action](chat, s)
        assert await Event.all().count() > before["events"]
    else:
        expected = AlreadyTaken if (action is Action.ANSWER and status == ACTIVE) else InvalidState
        with pytest.raises(expected) as err:
            await PERFORM[action](s)
        assert err.value.code == ("ALREADY_TAKEN" if expected is AlreadyTaken else "INVALID_STATE")
        assert await snapshot(s.chat.id) == before
