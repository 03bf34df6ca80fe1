"""Who may act on a chat. An intruder is refused and nothing changes: not the chat row, not
its messages, offers or participants, and no event is written.

Intruders: an operator of another open channel (the chat's existence is not disclosed:
NOT_FOUND), a visitor (their token reaches their own chat only: FORBIDDEN) and an
anonymous caller (UNAUTHENTICATED). Each case then lets the rightful operator do the same
thing, so a refusal for the wrong reason (e.g. a chat in the wrong state) cannot pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from models import Chat, ChatStatus, OperatorRole, QueueDistribution
from services.chats import chats
from services.messaging import messages
from services.chats import open_channels
from services.chats import visitors
from services.policies.chats import get_visible_chat, visible_chats
from services.common.errors import Forbidden, NotFound, Unauthenticated
from services.identity.viewer import ANONYMOUS, Viewer
from tests.factories import make_open_channel, make_operator, offered_to, snapshot, start_chat


@dataclass
class Scene:
    chat: Chat
    a: Viewer  # first in a STRICT queue: offered the chat; answers it for the ACTIVE cases
    b: Viewer  # the other member of the chat's channel
    visitor: Viewer  # the chat's own visitor
    intruders: dict[str, Viewer]


async def scene(status: ChatStatus) -> Scene:
    (a, a_viewer), (b, b_viewer) = await make_operator("A"), await make_operator("B")
    channel = await make_open_channel([a, b], distribution=QueueDistribution.STRICT)
    other_operator, other_viewer = await make_operator("Elsewhere")
    other_channel = await make_open_channel([other_operator], distribution=QueueDistribution.ALL)
    chat, visitor, _ = await start_chat(channel)
    await start_chat(other_channel)  # the other operator has work of their own
    _, other_visitor, _ = await start_chat(channel, text="I am another client")
    if status == ChatStatus.ACTIVE:
        await chats.answer_chat(a_viewer, chat_id=chat.id)
    return Scene(
        chat=await Chat.get(id=chat.id), a=a_viewer, b=b_viewer, visitor=visitor,
        intruders={
            "operator-of-another-channel": other_viewer,
            "visitor-of-another-chat": other_visitor,
            "visitor-of-this-chat": visitor,
            "anonymous": ANONYMOUS,
        },
    )


EXPECTED = {
    "operator-of-another-channel": NotFound,
    "visitor-of-another-chat": Forbidden,
    "visitor-of-this-chat": Forbidden,
    "anonymous": Unauthenticated,
}

#: name -> (status the chat is in, the rightful actor, the call)
ACTIONS = {
    "answer": (ChatStatus.QUEUED, "a", lambda v, s: chats.answer_chat(v, chat_id=s.chat.id)),
    "skip": (ChatStatus.QUEUED, "a", lambda v, s: chats.skip_chat(v, chat_id=s.chat.id)),
    "spam-queued": (ChatStatus.QUEUED, "a", lambda v, s: chats.mark_chat_spam(v, chat_id=s.chat.id)),
    "transfer-queued": (ChatStatus.QUEUED, "a",
                        lambda v, s: chats.transfer_chat(v, chat_id=s.chat.id, operator_id=s.b.operator_id)),
    "transfer-active": (ChatStatus.ACTIVE, "a",
                        lambda v, s: chats.transfer_chat(v, chat_id=s.chat.id, operator_id=s.b.operator_id)),
    "intercept": (ChatStatus.ACTIVE, "b", lambda v, s: chats.intercept_chat(v, chat_id=s.chat.id)),
    "finish": (ChatStatus.ACTIVE, "a", lambda v, s: chats.finish_chat(v, chat_id=s.chat.id)),
    "spam-active": (ChatStatus.ACTIVE, "a", lambda v, s: chats.mark_chat_spam(v, chat_id=s.chat.id)),
    "pin": (ChatStatus.ACTIVE, "a", lambda v, s: chats.pin_chat(v, chat_id=s.chat.id, pinned=True)),
    "rename": (ChatStatus.ACTIVE, "a", lambda v, s: chats.rename_chat(v, chat_id=s.chat.id, title="Mine now")),
    "add-participants": (ChatStatus.ACTIVE, "a", lambda v, s: chats.add_chat_participants(
        v, chat_id=s.chat.id, operator_ids=[s.b.operator_id])),
    "send-message": (ChatStatus.ACTIVE, "a", lambda v, s: messages.send_message(v, chat_id=s.chat.id, text="Hi")),
    "send-silent-note": (ChatStatus.ACTIVE, "a",
                         lambda v, s: messages.send_message(v, chat_id=s.chat.id, text="psst", silent=True)),
    "mark-read": (ChatStatus.ACTIVE, "a", lambda v, s: chats.mark_chat_read(v, chat_id=s.chat.id)),
}


@pytest.mark.parametrize("intruder", list(EXPECTED))
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_intruders_are_refused_and_nothing_changes(db, action, intruder):
    status, rightful, call = ACTIONS[action]
    s = await scene(status)
    before = await snapshot(s.chat.id)

    with pytest.raises(EXPECTED[intruder]):
        await call(s.intruders[intruder], s)

    assert await snapshot(s.chat.id) == before
    # the same call by the right operator goes through: the refusal was about who called
    await call(getattr(s, rightful), s)
    assert await snapshot(s.chat.id) != before


async def test_a_chat_is_invisible_outside_its_channel(db):
    s = await scene(ChatStatus.QUEUED)
    other = s.intruders["operator-of-another-channel"]

    assert s.chat.id not in await visible_chats(other).values_list("id", flat=True)
    with pytest.raises(NotFound):
        await get_visible_chat(other, s.chat.id)


async def test_a_visitor_sees_only_their_own_chat(db):
    s = await scene(ChatStatus.QUEUED)
    stranger = s.intruders["visitor-of-another-chat"]

    assert await visible_chats(s.visitor).values_list("id", flat=True) == [s.chat.id]
    assert s.chat.id not in await visible_chats(stranger).values_list("id", flat=True)
    with pytest.raises(NotFound):
        await get_visible_chat(stranger, s.chat.id)
    assert (await visitors.visitor_chat(stranger)).id != s.chat.id


async def test_another_visitor_writing_never_reaches_this_chat(db):
    s = await scene(ChatStatus.ACTIVE)
    before = await snapshot(s.chat.id)

    message = await messages.send_visitor_message(s.intruders["visitor-of-another-chat"], text="Hello?")

    assert message.chat_id != s.chat.id
    after = await snapshot(s.chat.id)
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}


async def test_the_anonymous_viewer_sees_nothing(db):
    await scene(ChatStatus.QUEUED)
    with pytest.raises(Unauthenticated):
        visible_chats(ANONYMOUS)
    with pytest.raises(Unauthenticated):
        await messages.send_visitor_message(ANONYMOUS, text="Hi")


async def test_an_operator_cannot_write_as_a_visitor(db):
    s = await scene(ChatStatus.ACTIVE)
    before = await snapshot(s.chat.id)
    with pytest.raises(Forbidden):
        await messages.send_visitor_message(s.a, text="Pretending")
    assert await snapshot(s.chat.id) == before


async def test_a_supervisor_sees_and_acts_on_every_chat(db):
    s = await scene(ChatStatus.QUEUED)
    supervisor, supervisor_viewer = await make_operator(role=OperatorRole.SUPERVISOR)

    assert await visible_chats(supervisor_viewer).count() == await Chat.all().count() == 3
    answered = await chats.answer_chat(supervisor_viewer, chat_id=s.chat.id)
    assert answered.operator_id == supervisor.id


async def test_an_operator_answers_only_chats_of_their_queues_or_offered_to_them(db):
    s = await scene(ChatStatus.QUEUED)
    outsider, outsider_viewer = await make_operator("Outsider")
    before = await snapshot(s.chat.id)

    with pytest.raises(NotFound):
        await chats.answer_chat(outsider_viewer, chat_id=s.chat.id)
    assert await snapshot(s.chat.id) == before

    await chats.transfer_chat(s.a, chat_id=s.chat.id, operator_id=outsider.id)
    assert await offered_to(s.chat.id) == {outsider.id}
    await chats.answer_chat(outsider_viewer, chat_id=s.chat.id)
    assert (await Chat.get(id=s.chat.id)).operator_id == outsider.id


async def test_a_colleague_outside_the_queue_cannot_answer_the_chat_once_it_is_requeued(db):
    s = await scene(ChatStatus.ACTIVE)
    colleague, colleague_viewer = await make_operator("Colleague")
    await chats.add_chat_participants(s.a, chat_id=s.chat.id, operator_ids=[colleague.id])
    await chats.transfer_chat(s.a, chat_id=s.chat.id, operator_id=s.b.operator_id)
    assert (await Chat.get(id=s.chat.id)).status == ChatStatus.QUEUED
    before = await snapshot(s.chat.id)

    # still a participant, so they see it; but it is neither offered to them nor in their queues
    assert (await get_visible_chat(colleague_viewer, s.chat.id)).id == s.chat.id
    with pytest.raises(Forbidden):
        await chats.answer_chat(colleague_viewer, chat_id=s.chat.id)

    assert await snapshot(s.chat.id) == before


@pytest.mark.parametrize("who, error",
                         [("operator", Forbidden), ("visitor", Forbidden), ("anonymous", Unauthenticated)])
async def test_only_an_admin_creates_open_channels(db, who, error):
    s = await scene(ChatStatus.QUEUED)
    viewer = {"operator": s.a, "visitor": s.visitor, "anonymous": ANONYMOUS}[who]
    channels = await open_channels.OpenChannel.all().count()

    with pytest.raises(error):
        await open_channels.create_open_channel(viewer, name="Mine")

    assert await open_channels.OpenChannel.all().count() == channels
