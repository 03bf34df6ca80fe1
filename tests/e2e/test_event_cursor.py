"""`eventCursor` and `Message.eventId` over HTTP, then `after` over both WebSocket protocols: a
position this database never gave (malformed, beyond the newest event) is a clear error, not silence."""
from __future__ import annotations

import pytest

from tests.e2e.actors import Admin, start_visitor_chat
from tests.e2e.live import PROTOCOLS, LiveConnection, LiveError

MY_CHATS_CHANGED = "subscription ($after: String) { myChatsChanged(after: $after) { eventId message { text } } }"
MESSAGE_ADDED = "subscription ($chat: ID, $after: String) { messageAdded(chatId: $chat, after: $after) { text eventId } }"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_resume_from_the_cursor_and_from_a_message_and_refuse_what_no_one_received(
        admin: Admin, http, ws_url, protocol):
    me = await admin.create_operator()
    channel_id = await admin.create_open_channel([me])
    visitor = await start_visitor_chat(http, channel_id)
    await me.answer(visitor.chat_id)
    answer = await me.data("query ($c: ID!) { myChats { eventCursor } chat(id: $c) { eventCursor "
                           "messages(last: 1) { edges { node { text eventId } } } } }", c=visitor.chat_id)
    cursor = answer["myChats"]["eventCursor"]
    assert answer["chat"]["eventCursor"] == cursor
    [first] = [e["node"] for e in answer["chat"]["messages"]["edges"]]
    assert int(first["eventId"]) < int(cursor)
    await visitor.send("after the query")  # between the query and the subscriptions

    async with LiveConnection(ws_url, protocol=protocol, token=me.token) as connection:
        changes = await connection.subscribe(MY_CHATS_CHANGED, {"after": cursor})
        assert (await changes.next())["myChatsChanged"]["message"] == {"text": "after the query"}
        messages = await connection.subscribe(MESSAGE_ADDED, {"chat": visitor.chat_id, "after": first["eventId"]})
        assert (await messages.next())["messageAdded"]["text"] == "after the query"
        for after in ("not a number", str(int(cursor) + 1000), "-1"):
            for query, variables in ((MY_CHATS_CHANGED, {}), (MESSAGE_ADDED, {"chat": visitor.chat_id})):
                refused = await connection.subscribe(query, {**variables, "after": after})
                with pytest.raises(LiveError) as error:
                    await refused.next()
                assert error.value.codes == ["INVALID_INPUT"], error.value.errors
                assert "`after`" in error.value.errors[0]["message"]
