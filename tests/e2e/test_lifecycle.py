"""A customer chat from the first visitor message to finishChat, watched live by both sides."""
from __future__ import annotations

from tests.e2e.actors import (
    CHAT_EVENTS, QUEUE_CHANGED, VISITOR_CHAT_EVENTS, Admin, start_visitor_chat, texts,
)
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveConnection


async def test_a_chat_from_start_to_finish_with_both_sides_live(admin: Admin, http, ws_url):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator], distribution="ALL")

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=operator.token) as operator_ws:
        # `after: "0"` on a channel with no events yet: nothing to replay, and no event can slip
        # between subscribing and the visitor's first message (the backlog would hold it)
        queue = await operator_ws.subscribe(QUEUE_CHANGED, {"ids": [channel_id], "after": "0"})

        visitor = await start_visitor_chat(http, channel_id, text="Hello, my order is late")

        queued = (await queue.next())["queueChanged"]
        offered = (await queue.next())["queueChanged"]
        assert (queued["kind"], queued["chat"]["id"], queued["openChannel"]["id"]) == (
            "CHAT_QUEUED", visitor.chat_id, channel_id)
        assert (offered["kind"], offered["chat"]["id"]) == ("CHAT_OFFERED", visitor.chat_id)
        assert offered["queueLength"] == 1
        assert int(queued["eventId"]) < int(offered["eventId"])

        answered = await operator.answer(visitor.chat_id)
        assert answered["status"] == "ACTIVE" and answered["operator"] == {"id": operator.id}
        answer_event = (await queue.next())["queueChanged"]
        assert (answer_event["kind"], answer_event["chat"]["id"]) == ("CHAT_ANSWERED", visitor.chat_id)
        assert answer_event["chat"]["operator"] == {"id": operator.id}
        assert answer_event["queueLength"] == 0

        # both sides follow the chat from the answer on (race-free: the backlog covers the gap)
        since = answer_event["eventId"]
        chat_stream = await operator_ws.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": since})
        async with LiveConnection(ws_url, protocol=LEGACY_WS, token=visitor.token) as visitor_ws:
            visitor_stream = await visitor_ws.subscribe(VISITOR_CHAT_EVENTS, {"after": since})

            hello = await operator.send(visitor.chat_id, "Hi! Let me check your order.")
            for stream, field in ((chat_stream, "chatEvents"), (visitor_stream, "visitorChatEvents")):
                event = (await stream.next())[field]
                assert event["kind"] == "MESSAGE_ADDED"
                assert event["chat"]["id"] == visitor.chat_id
                assert event["message"] == {**hello, "authorKind": "OPERATOR", "silent": False}

            reply = await visitor.send("Order 1234, thank you")
            for stream, field in ((chat_stream, "chatEvents"), (visitor_stream, "visitorChatEvents")):
                event = (await stream.next())[field]
                assert event["kind"] == "MESSAGE_ADDED"
                assert event["message"] == {**reply, "authorKind": "CLIENT", "text": "Order 1234, thank you"}

            # a silent note: the operator side sees it ...
            note = await operator.send(visitor.chat_id, "Customer sounds upset; offer a voucher", silent=True)
            assert note["silent"] is True
            note_event = (await chat_stream.next())["chatEvents"]
            assert note_event["kind"] == "MESSAGE_ADDED" and note_event["message"]["id"] == note["id"]
            assert note_event["message"]["silent"] is True

            # ... the visitor never does: their next event is the visible message sent after it
            visible = await operator.send(visitor.chat_id, "Your parcel arrives tomorrow.")
            assert (await chat_stream.next())["chatEvents"]["message"]["id"] == visible["id"]
            after_note = (await visitor_stream.next())["visitorChatEvents"]
            assert after_note["message"]["id"] == visible["id"], after_note
            assert int(after_note["eventId"]) > int(note_event["eventId"])

            own = await visitor.own_chat()
            assert texts(own) == ["Hello, my order is late", "Hi! Let me check your order.",
                                  "Order 1234, thank you", "Your parcel arrives tomorrow."]
            assert own["messages"]["totalCount"] == 4
            assert own["lastMessage"]["id"] == visible["id"]
            seen_by_visitor = await visitor.data("query ($id: ID!) { node(id: $id) { id } }", id=note["id"])
            assert seen_by_visitor["node"] is None
            as_operator = await operator.chat_with_messages(visitor.chat_id)
            assert note["id"] in [edge["node"]["id"] for edge in as_operator["messages"]["edges"]]
            assert as_operator["messages"]["totalCount"] == 5

            finished = await operator.finish(visitor.chat_id)
            assert finished["status"] == "CLOSED" and finished["closedAt"]
            finish_event = (await queue.next())["queueChanged"]
            assert (finish_event["kind"], finish_event["chat"]["id"]) == ("CHAT_FINISHED", visitor.chat_id)
            assert finish_event["chat"]["status"] == "CLOSED"
            closed = (await chat_stream.next())["chatEvents"]
            assert (closed["kind"], closed["chat"]["status"]) == ("CHAT_CLOSED", "CLOSED")
            assert closed["eventId"] == finish_event["eventId"]
            visitor_closed = (await visitor_stream.next())["visitorChatEvents"]
            assert (visitor_closed["kind"], visitor_closed["chat"]["status"]) == ("CHAT_CLOSED", "CLOSED")

    assert (await admin.chat(visitor.chat_id))["status"] == "CLOSED"
