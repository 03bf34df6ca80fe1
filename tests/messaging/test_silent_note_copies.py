"""Text copied from a silent note keeps the note's audience (services/policies/copy_audience.py).

In the authorisation world, chat X (channel C1) holds a silent note. The channel operator and
the participant (an operator of C2 added to X) may read X; the other operator (C2 only) may not.
Each path that copies a message's text used to hand the note to someone outside that audience:
a canned response made from it was sent to the client, a task gave it to a responsible who
cannot read the chat, a feed post showed it to every operator, a discussion to any colleague,
a quote to another chat's readers.
"""
from __future__ import annotations

import pytest

from models import CannedResponse, Chat, ChatKind, FeedPost, Message, Task
from services.messaging import canned_responses
from services.chats import chats
from services.messaging import chats_from_messages
from services.messaging import feed
from services.messaging import messages
from services.messaging import tasks
from services.common.errors import DomainError, InvalidInput, NotFound
from tests.authorization.world import SILENT_TEXT, build_world
from tests.graphql.helpers import execute

VISITOR_HISTORY = "{ visitorChat { lastMessage { text } messages(last: 50) { edges { node { text } } } } }"


async def _visitor_reads(world) -> str:
    return repr(await execute(VISITOR_HISTORY, world.viewers["visitor"]))


async def test_a_canned_response_from_a_silent_note_is_silent_and_sent_as_a_silent_note(db):
    world = await build_world("answered")
    me = world.viewers["channel_operator"]
    canned = await canned_responses.save_message_as_canned_response(me, message_id=world.silent_note_id)
    assert (canned.text, canned.silent) == (SILENT_TEXT, True)

    sent = await canned_responses.send_canned_response(me, chat_id=world.chat_id, canned_response_id=canned.id)

    assert (sent.text, sent.silent) == (SILENT_TEXT, True)
    assert SILENT_TEXT not in await _visitor_reads(world)
    # editing its text does not make it visible
    await canned_responses.update_canned_response(me, canned_response_id=canned.id, text="Refund: {client.name}")
    again = await canned_responses.send_canned_response(me, chat_id=world.chat_id, canned_response_id=canned.id)
    assert (again.text, again.silent) == ("Refund: Vera Visitor", True)
    assert "Refund: Vera Visitor" not in await _visitor_reads(world)


async def test_only_those_who_read_the_chat_save_its_note_and_a_visible_message_stays_visible(db):
    world = await build_world("answered")
    with pytest.raises(NotFound):
        await canned_responses.save_message_as_canned_response(world.viewers["other_operator"],
                                                               message_id=world.silent_note_id)
    assert not await CannedResponse.filter(text=SILENT_TEXT).exists()
    me = world.viewers["channel_operator"]
    visible = await canned_responses.save_message_as_canned_response(me, message_id=world.operator_message_id)
    assert visible.silent is False
    sent = await canned_responses.send_canned_response(me, chat_id=world.chat_id, canned_response_id=visible.id)
    assert sent.silent is False and sent.text in await _visitor_reads(world)


async def test_a_task_from_a_silent_note_goes_only_to_someone_who_may_read_the_chat(db):
    world = await build_world("answered")
    me, ids = world.viewers["channel_operator"], world.operator_ids
    before = await Task.all().count()
    with pytest.raises(InvalidInput) as refused:
        await tasks.create_task_from_message(me, message_id=world.silent_note_id, responsible_id=ids["other_operator"])
    assert refused.value.field == ["input", "responsibleId"]
    assert await Task.all().count() == before
    assert not await Task.filter(responsible_id=ids["other_operator"]).exists()
    # the participant (of another channel, but in the chat) and the caller may have it
    for responsible in (ids["participant"], None):
        task = await tasks.create_task_from_message(me, message_id=world.silent_note_id, responsible_id=responsible)
        assert task.title == SILENT_TEXT[:80]
    # a visible message's task still goes to anyone (the source stays hidden from them)
    await tasks.create_task_from_message(me, message_id=world.visitor_message_id, responsible_id=ids["other_operator"])


async def test_a_silent_note_is_not_posted_to_the_feed(db):
    world = await build_world("answered")
    me = world.viewers["channel_operator"]
    for text in (None, "See the note in chat X"):
        with pytest.raises(InvalidInput) as refused:
            await feed.create_feed_post_from_message(me, message_id=world.silent_note_id, text=text)
        assert refused.value.field == ["input", "messageId"]
    assert not await FeedPost.filter(source_message_id=world.silent_note_id).exists()
    posts = await feed.feed(world.viewers["other_operator"])
    assert SILENT_TEXT not in [p.text for p in posts]
    shared = await feed.create_feed_post_from_message(me, message_id=world.operator_message_id)
    assert shared.text == "Sure, let me check your order."


async def test_a_silent_note_is_discussed_only_with_colleagues_who_may_read_its_chat(db):
    world = await build_world("answered")
    me, ids = world.viewers["channel_operator"], world.operator_ids
    with pytest.raises(InvalidInput) as refused:
        await chats_from_messages.discuss_message_in_chat(me, message_id=world.silent_note_id,
                                                          operator_ids=[ids["participant"], ids["other_operator"]])
    assert refused.value.field == ["input", "operatorIds"]
    assert not await Chat.filter(kind=ChatKind.INTERNAL).exists()
    internal = await chats_from_messages.discuss_message_in_chat(me, message_id=world.silent_note_id,
                                                                 operator_ids=[ids["participant"]])
    assert await Message.filter(chat_id=internal.id).count() == 1


async def test_a_silent_note_is_quoted_only_in_a_silent_note_of_its_own_chat(db):
    world = await build_world("answered")
    supervisor = world.viewers["supervisor"]  # reads chat X, and answers chat Y of C2
    await chats.answer_chat(supervisor, chat_id=world.other_chat_id)
    for silent in (True, False):
        with pytest.raises(InvalidInput) as refused:
            await messages.send_message(supervisor, chat_id=world.other_chat_id, text="FYI", silent=silent,
                                        quote_message_id=world.silent_note_id)
        assert refused.value.field == ["input", "quoteMessageId"]
    assert await Message.filter(chat_id=world.other_chat_id, text="FYI").count() == 0
    with pytest.raises(DomainError):
        await messages.send_message(supervisor, chat_id=world.chat_id, text="FYI", quote_message_id=world.silent_note_id)
    await messages.send_message(world.viewers["channel_operator"], chat_id=world.chat_id, text="FYI", silent=True,
                                quote_message_id=world.silent_note_id)
