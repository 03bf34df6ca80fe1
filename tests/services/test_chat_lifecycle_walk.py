"""Random walks through the chat state machine (seeded, so a failure replays exactly).

hypothesis is not a dependency of the project, so this is a plain seeded walk: at every
step a random action is tried on the chat; the outcome must agree with
services/chat_states.TRANSITIONS and the chat must satisfy the invariants below.
"""
from __future__ import annotations

import random

import pytest

from models import Chat, ChatOffer, ChatParticipant, ChatPriority, ChatStatus, Event, OperatorRole, QueueDistribution
from services.chats import chats, priorities, visitors
from services.messaging import messages
from services.chats.chat_states import TRANSITIONS, Action
from services.common.errors import AlreadyTaken, InvalidState
from services.events.records import ChatStateRecord
from services.identity.viewer import Viewer
from tests.factories import last_event_id, make_open_channel, make_operator, snapshot, start_chat

QUEUED, ACTIVE, CLOSED, SPAM = ChatStatus.QUEUED, ChatStatus.ACTIVE, ChatStatus.CLOSED, ChatStatus.SPAM


async def check_invariants(chat_id: int) -> Chat:
    chat = await Chat.get(id=chat_id)
    offers = set(await ChatOffer.filter(chat_id=chat_id).values_list("operator_id", flat=True))
    participants = set(await ChatParticipant.filter(chat_id=chat_id).values_list("operator_id", flat=True))
    if chat.status == QUEUED:
        assert chat.operator_id is None and not chat.pinned and chat.auto_close_at is None
        assert chat.closed_at is None
    else:
        assert offers == set(), "only a queued chat is offered"
    if chat.status == ACTIVE:
        assert chat.operator_id is not None and chat.operator_id in participants
        assert (chat.auto_close_at is None) == chat.pinned
    if chat.status in (CLOSED, SPAM):
        assert chat.closed_at is not None and chat.auto_close_at is None
    return chat


async def check_events(chat_id: int, after_id: int, actor: Viewer | None, chat: Chat, where: tuple) -> None:
    """Every event the step wrote for the chat names who acted (issue #16: the operator; null for the
    client), and carries the chat's state right after it: the last one is the chat as it is now."""
    events = await Event.filter(chat_id=chat_id, id__gt=after_id).order_by("id")
    assert events, where  # every change of the chat is an event
    for event in events:
        assert event.actor_id == (actor.operator_id if actor is not None else None), (where, event.kind)
        assert event.state is not None, (where, event.kind)
    state = ChatStateRecord.of_wire(events[-1].state)
    assert state is not None
    assert (state.status, state.title, state.operator_id, state.open_channel_id, state.pinned, state.priority) == (
        chat.status, chat.title, chat.operator_id, chat.open_channel_id, chat.pinned, chat.priority), \
        (where, events[-1].kind)


@pytest.mark.parametrize("seed", range(4))
async def test_random_walk_agrees_with_the_transition_table(db, seed):
    rng = random.Random(seed)
    supervisor, s = await make_operator("S", role=OperatorRole.SUPERVISOR)
    a, a_viewer = await make_operator("A")
    b, b_viewer = await make_operator("B")
    outsider, _ = await make_operator("C")
    members = {supervisor.id: s, a.id: a_viewer, b.id: b_viewer}
    channel = await make_open_channel([supervisor, a, b], distribution=QueueDistribution.ALL)
    other = await make_open_channel([a, b], distribution=QueueDistribution.EVENLY)
    chat, visitor, _ = await start_chat(channel)
    chat_id = chat.id
    seen = {QUEUED}

    for step in range(30):
        chat = await check_invariants(chat_id)
        offered = sorted(await ChatOffer.filter(chat_id=chat_id).values_list("operator_id", flat=True))
        action = rng.choice(list(Action))
        if action is Action.SKIP and chat.status == QUEUED and not offered:
            continue  # nobody may skip a chat offered to nobody
        if action in (Action.EXPIRE_OFFER, Action.AUTO_CLOSE, Action.RATE, Action.NO_ANSWER, Action.NO_ANSWER_CLOSE):
            continue  # driven by the clock and the visitor: walked in tests/automation/
        if action is Action.LABEL:
            continue  # allowed in every status: its edges are in tests/services/test_chat_transitions.py
        actor = s  # who acts (the client: None)
        if action is Action.ANSWER:
            actor = members[rng.choice(sorted(members))]
            call = chats.answer_chat(actor, chat_id=chat_id)
        elif action is Action.SKIP:
            actor = members[offered[0]] if offered else s
            call = chats.skip_chat(actor, chat_id=chat_id)
        elif action is Action.TRANSFER:
            targets = [i for i in (a.id, b.id, outsider.id) if i != chat.operator_id]
            call = (chats.transfer_chat(s, chat_id=chat_id, operator_id=rng.choice(targets)) if rng.random() < 0.5
                    else chats.transfer_chat(s, chat_id=chat_id, open_channel_id=rng.choice([channel.id, other.id])))
        elif action is Action.INTERCEPT:
            actor = s if chat.operator_id != supervisor.id else a_viewer
            call = chats.intercept_chat(actor, chat_id=chat_id)
        elif action is Action.FINISH:
            call = chats.finish_chat(s, chat_id=chat_id)
        elif action is Action.SPAM:
            call = chats.mark_chat_spam(s, chat_id=chat_id)
        elif action is Action.PIN:
            call = chats.pin_chat(s, chat_id=chat_id, pinned=not chat.pinned)
        elif action is Action.RENAME:
            call = chats.rename_chat(s, chat_id=chat_id, title=f"Step {step}")
        elif action is Action.ADD_PARTICIPANTS:
            call = chats.add_chat_participants(s, chat_id=chat_id, operator_ids=[outsider.id])
        elif action is Action.SEND_MESSAGE:
            call = messages.send_message(s, chat_id=chat_id, text=f"step {step}", silent=rng.random() < 0.3)
        elif action is Action.VISITOR_FINISH:
            actor = None
            call = visitors.finish_visitor_chat(visitor)
        elif action is Action.SET_PRIORITY:
            call = priorities.set_chat_priority(s, chat_id=chat_id, priority=rng.choice(list(ChatPriority)))
        else:
            actor = None
            call = messages.send_visitor_message(visitor, text=f"step {step}")

        starts, result = TRANSITIONS[action]
        before = await snapshot(chat_id)
        if chat.status in starts:
            newest = await last_event_id()
            await call
            after = await Chat.get(id=chat_id)
            assert after.status == (result or chat.status), (seed, step, action)
            assert await Event.all().count() >= before["events"]
            await check_events(chat_id, newest, actor, after, (seed, step, action))
        elif action is Action.VISITOR_MESSAGE:
            message = await call  # the chat is over: the visitor's message opens a new one
            assert message.chat_id != chat_id and (await Chat.get(id=message.chat_id)).status == QUEUED
            chat_id = message.chat_id
        else:
            with pytest.raises((InvalidState, AlreadyTaken)):
                await call
            assert await snapshot(chat_id) == before, (seed, step, action)
        seen.add((await Chat.get(id=chat_id)).status)

    await check_invariants(chat_id)
    assert len(seen) >= 2, "the walk never left its first state"
