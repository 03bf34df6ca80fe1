"""The greeting, the rating request and rateChat: services and the GraphQL mapping."""
from __future__ import annotations

import pytest

from models import ChatRating, ChatStatus, Event, Message, MessageAuthorKind, QueueDistribution
from resolvers.ids import to_global_id
from services.chats import chats
from services.messaging import messages
from services.automation import rating
from services.chats import reads
from services.common.errors import Forbidden, InvalidInput, InvalidState
from tests.factories import make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

RATE = """mutation ($input: RateChatInput!) { rateChat(input: $input) {
  chat { id status rating { vote comment ratedAt } } userErrors { code field message } } }"""


async def answered(**settings):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.STRICT, **settings)
    chat, visitor, _ = await start_chat(channel, "Hello")
    await chats.answer_chat(a_viewer, chat_id=chat.id)
    return a, a_viewer, channel, chat, visitor


async def texts_for(viewer, chat_id: int) -> list[tuple[str, str]]:
    page = await reads.chat_messages(viewer, chat_id=chat_id, first=100)
    return [(m.author_kind.value, m.text) for m in page.rows]


async def test_the_welcome_message_greets_the_client_when_the_chat_is_created(db):
    a, _ = await make_operator("A")
    channel = await make_open_channel([a], welcome_message="Hi! An operator will be with you shortly.")
    chat, visitor, _ = await start_chat(channel, "I need help")

    assert await texts_for(visitor, chat.id) == [
        ("CLIENT", "I need help"), ("SYSTEM", "Hi! An operator will be with you shortly.")]
    greeting = await Message.filter(chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM).first()
    event = await Event.get(message_id=greeting.id)
    assert event.visitor_visible and a.id in event.operator_ids  # offered: they see it too


async def test_no_greeting_without_a_welcome_message(db):
    channel = await make_open_channel([], welcome_message=None)
    chat, visitor, _ = await start_chat(channel, "Hi")
    assert await texts_for(visitor, chat.id) == [("CLIENT", "Hi")]


async def test_finishing_asks_the_client_for_a_rating_and_they_rate_once(db, clock):
    a, a_viewer, _, chat, visitor = await answered()
    await chats.finish_chat(a_viewer, chat_id=chat.id)
    assert (await texts_for(visitor, chat.id))[-1] == ("SYSTEM", rating.RATING_REQUEST_TEXT)
    after = (await Event.all().order_by("-id").first()).id

    rated = await rating.rate_chat(visitor, vote="DISLIKE", comment="  Too slow  ")

    assert rated.id == chat.id
    stored = await ChatRating.get(chat_id=chat.id)
    assert (stored.vote, stored.comment, stored.rated_at) == ("DISLIKE", "Too slow", clock.now)
    event = await Event.get(id__gt=after)
    assert (event.kind, event.chat_kind, event.queue_kind) == ("CHAT_RATED", "CHAT_UPDATED", None)
    assert a.id in event.operator_ids  # streamed to the chat's operators
    with pytest.raises(InvalidState):
        await rating.rate_chat(visitor, vote="LIKE")
    assert (await ChatRating.get(chat_id=chat.id)).vote == "DISLIKE"


async def test_spam_gets_no_rating_request_and_cannot_be_rated(db):
    _, a_viewer, _, chat, visitor = await answered()
    await chats.mark_chat_spam(a_viewer, chat_id=chat.id)

    assert all(kind != "SYSTEM" for kind, _ in await texts_for(a_viewer, chat.id))
    with pytest.raises(InvalidState):
        await rating.rate_chat(visitor, vote="LIKE")
    assert not await ChatRating.exists()


async def test_rating_disabled_asks_nothing(db):
    _, a_viewer, _, chat, visitor = await answered(rating_enabled=False)
    await chats.finish_chat(a_viewer, chat_id=chat.id)
    assert all(kind != "SYSTEM" for kind, _ in await texts_for(visitor, chat.id))
    with pytest.raises(InvalidState):
        await rating.rate_chat(visitor, vote="LIKE")


async def test_an_open_chat_cannot_be_rated_and_an_operator_cannot_rate(db):
    _, a_viewer, _, chat, visitor = await answered()
    with pytest.raises(InvalidState):
        await rating.rate_chat(visitor, vote="LIKE")
    await chats.finish_chat(a_viewer, chat_id=chat.id)
    with pytest.raises(Forbidden):
        await rating.rate_chat(a_viewer, vote="LIKE")
    with pytest.raises(InvalidInput):
        await rating.rate_chat(visitor, vote="MEH")
    with pytest.raises(InvalidInput):
        await rating.rate_chat(visitor, vote="LIKE", comment="x" * 2001)
    assert (await ChatRating.get(chat_id=chat.id)).vote is None


async def test_a_new_chat_after_the_finished_one_still_lets_the_client_rate_the_finished_one(db):
    _, a_viewer, _, chat, visitor = await answered()
    await chats.finish_chat(a_viewer, chat_id=chat.id)
    newer = await messages.send_visitor_message(visitor, text="One more thing")
    assert newer.chat_id != chat.id

    assert (await rating.rate_chat(visitor, vote="LIKE")).id == chat.id


async def test_rate_chat_through_graphql_and_the_rating_on_the_chat(db, clock):
    _, a_viewer, _, chat, visitor = await answered()
    chat_gid = to_global_id("Chat", chat.id)
    await chats.finish_chat(a_viewer, chat_id=chat.id)
    unrated = await execute("query ($id: ID!) { chat(id: $id) { rating { vote } } }", a_viewer, id=chat_gid)
    assert unrated == {"chat": {"rating": None}}

    data = await execute(RATE, visitor, input={"vote": "LIKE", "comment": "Great"})

    assert data["rateChat"]["userErrors"] == []
    assert data["rateChat"]["chat"]["id"] == chat_gid
    assert data["rateChat"]["chat"]["rating"]["vote"] == "LIKE"
    seen = await execute("query ($id: ID!) { chat(id: $id) { status rating { vote comment } } }", a_viewer, id=chat_gid)
    assert seen == {"chat": {"status": "CLOSED", "rating": {"vote": "LIKE", "comment": "Great"}}}
    again = await execute(RATE, visitor, input={"vote": "DISLIKE"})
    assert again["rateChat"]["chat"] is None
    assert [e["code"] for e in again["rateChat"]["userErrors"]] == ["INVALID_STATE"]


async def test_ratings_of_many_chats_are_one_query(db, count_queries):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a], distribution=QueueDistribution.ALL)
    ids = []
    for vote in ("LIKE", "DISLIKE", None):
        chat, visitor, _ = await start_chat(channel)
        await chats.answer_chat(a_viewer, chat_id=chat.id)
        await chats.finish_chat(a_viewer, chat_id=chat.id)
        if vote:
            await rating.rate_chat(visitor, vote=vote)
        ids.append(chat.id)

    with count_queries() as counter:
        rows = await rating.ratings_of(ids + [ids[0]])

    assert counter.count == 1  # the batch a per-request DataLoader makes of a list's ratings
    assert [r.vote if r else None for r in rows] == ["LIKE", "DISLIKE", None, "LIKE"]
