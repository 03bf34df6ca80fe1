"""Who `myChatsChanged` delivers an event to (issue #16): the operators whose own list it changes,
the old and the new responsible on a transfer to an operator, a colleague added as a participant,
and nobody else (a queue colleague the chat never was with). Through the real schema, on both backends.

Each viewer's stream starts `after` the event before the transfer; the last change adds the queue
colleague as a participant, so the first event the colleague receives is known: nothing before it
may reach them."""
from __future__ import annotations

import asyncio
from typing import Any

from tests.graphql.helpers import execute  # noqa: F401 - imports the schema before its resolvers
from models import Event, OperatorStatus
from resolvers.context import Context
from resolvers.ids import to_global_id
from schema import schema
from services.chats import chats
from services.identity.viewer import Viewer
from tests.factories import last_event_id, make_open_channel, make_operator, start_chat

MY_CHATS_CHANGED = """subscription ($after: String) { myChatsChanged(after: $after) {
  eventId kind chatId chat { id } actor { id } state { status operator { id } } } }"""


async def first_events(viewer: Viewer, after: int, count: int) -> list[dict[str, Any]]:
    stream = await schema.subscribe(MY_CHATS_CHANGED, variable_values={"after": str(after)},
                                    context_value=Context(viewer=viewer))
    try:
        async with asyncio.timeout(10):
            results = [await stream.__anext__() for _ in range(count)]
    finally:
        await stream.aclose()
    assert all(r.errors is None for r in results), [r.errors for r in results]
    return [r.data["myChatsChanged"] for r in results]


async def test_the_old_and_new_responsible_and_added_participants_receive_it_a_queue_colleague_does_not(db):
    seller, seller_viewer = await make_operator()
    colleague, colleague_viewer = await make_operator(status=OperatorStatus.OFFLINE)  # in the queue, never offered
    taker, taker_viewer = await make_operator()  # outside the channel: the chat is theirs only by relation
    helper, helper_viewer = await make_operator()  # outside the channel too
    channel = await make_open_channel([seller, colleague])
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(seller_viewer, chat_id=chat.id)
    before = await last_event_id()

    await chats.transfer_chat(seller_viewer, chat_id=chat.id, operator_id=taker.id)  # then offered to the taker
    transferred = await Event.filter(chat_id=chat.id, kind="CHAT_TRANSFERRED").first().values_list("id", flat=True)
    await chats.answer_chat(taker_viewer, chat_id=chat.id)
    await chats.add_chat_participants(taker_viewer, chat_id=chat.id, operator_ids=[helper.id])
    helper_added = await last_event_id()
    await chats.add_chat_participants(taker_viewer, chat_id=chat.id, operator_ids=[colleague.id])
    colleague_added = await last_event_id()

    gid = to_global_id("Chat", chat.id)
    [seller_first] = await first_events(seller_viewer, before, 1)
    taker_events = await first_events(taker_viewer, before, 2)
    [helper_first] = await first_events(helper_viewer, before, 1)
    [colleague_first] = await first_events(colleague_viewer, before, 1)

    # the former responsible: the chat leaves their list (still in their queue: readable)
    assert (seller_first["eventId"], seller_first["kind"]) == (str(transferred), "CHAT_REMOVED")
    assert seller_first["chat"] == {"id": gid} and seller_first["actor"] == {"id": to_global_id("Operator", seller.id)}
    # the new responsible: the transfer (offered to them), then the offer itself
    assert [e["eventId"] for e in taker_events][0] == str(transferred)
    assert taker_events[0]["kind"] == "CHAT_UPDATED" and taker_events[0]["chat"] == {"id": gid}
    assert taker_events[0]["state"]["operator"] is None  # offered, not answered yet
    assert taker_events[1]["kind"] != "CHAT_REMOVED" and taker_events[1]["chatId"] == gid
    # an added participant: from their adding on, with the chat
    assert (helper_first["eventId"], helper_first["kind"]) == (str(helper_added), "PARTICIPANTS_CHANGED")
    assert helper_first["chat"] == {"id": gid} and helper_first["actor"] == {"id": to_global_id("Operator", taker.id)}
    # the queue colleague: nothing of the chat's moves between operators, only their own adding
    assert (colleague_first["eventId"], colleague_first["kind"]) == (str(colleague_added), "PARTICIPANTS_CHANGED")
