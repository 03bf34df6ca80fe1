"""The visitor's whole path over real HTTP and WebSocket: start, greeting, messages, finish,
the rating request, the rating; never a silent note or another client's chat."""
from __future__ import annotations

from tests.e2e.actors import Admin, start_visitor_chat, texts, unique
from tests.e2e.live import TRANSPORT_WS, LiveConnection

EVENT = "eventId kind chat { id status rating { vote comment } } message { id text silent authorKind }"
VISITOR_EVENTS = f"subscription ($after: String) {{ visitorChatEvents(after: $after) {{ {EVENT} }} }}"
CHAT_EVENTS = (f"subscription ($chatId: ID!, $after: String) "
               f"{{ chatEvents(chatId: $chatId, after: $after) {{ {EVENT} }} }}")
RATE = "rateChat"


async def next_message(stream, field: str) -> dict:
    """The next MESSAGE_ADDED event's message on a stream (other chat updates are skipped)."""
    while True:
        event = (await stream.next())[field]
        if event["kind"] == "MESSAGE_ADDED":
            return event["message"]


async def test_the_visitors_whole_path(admin: Admin, http, ws_url):
    operator = await admin.create_operator()
    created = await admin.mutate(
        "createOpenChannel", "openChannel { id welcomeMessage ratingEnabled }",
        {"name": unique("Shop"), "distribution": "ALL", "operatorIds": [operator.id],
         "welcomeMessage": "Welcome! We usually answer within a minute.", "ratingEnabled": True},
        "CreateOpenChannelInput")
    channel_id = created["openChannel"]["id"]
    other = await start_visitor_chat(http, channel_id, text="I am somebody else")

    visitor = await start_visitor_chat(http, channel_id, text="Hello, where is my parcel?")
    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=visitor.token) as visitor_ws, \
            LiveConnection(ws_url, protocol=TRANSPORT_WS, token=operator.token) as operator_ws:
        mine = await visitor_ws.subscribe(VISITOR_EVENTS, {"after": "0"})
        first = await next_message(mine, "visitorChatEvents")
        greeting = await next_message(mine, "visitorChatEvents")
        assert (first["authorKind"], first["text"]) == ("CLIENT", "Hello, where is my parcel?")
        assert (greeting["authorKind"], greeting["text"]) == ("SYSTEM", "Welcome! We usually answer within a minute.")

        await operator.answer(visitor.chat_id)
        watching = await operator_ws.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        await operator.send(visitor.chat_id, "Hi! Let me look.")
        await operator.send(visitor.chat_id, "Parcel lost, refund them", silent=True)
        await visitor.send("Thanks")
        await operator.send(visitor.chat_id, "It arrives tomorrow.")
        received = [await next_message(mine, "visitorChatEvents") for _ in range(3)]
        assert [(m["authorKind"], m["text"]) for m in received] == [
            ("OPERATOR", "Hi! Let me look."), ("CLIENT", "Thanks"), ("OPERATOR", "It arrives tomorrow.")]

        await operator.finish(visitor.chat_id)
        closed = (await mine.next())["visitorChatEvents"]
        assert (closed["kind"], closed["chat"]["status"]) == ("CHAT_CLOSED", "CLOSED")
        request = await next_message(mine, "visitorChatEvents")
        assert request["authorKind"] == "SYSTEM" and "rate" in request["text"].lower()

        rated = await visitor.mutate(RATE, "chat { id status rating { vote comment ratedAt } }",
                                     {"vote": "LIKE", "comment": "Quick and kind"}, "RateChatInput")
        assert rated["chat"]["id"] == visitor.chat_id
        assert rated["chat"]["rating"]["vote"] == "LIKE" and rated["chat"]["rating"]["ratedAt"]

        # the operators receive it live
        while (await watching.next())["chatEvents"]["kind"] != "CHAT_CLOSED":
            pass  # the backlog of the conversation
        asked = (await watching.next())["chatEvents"]
        assert asked["message"]["id"] == request["id"]
        event = (await watching.next())["chatEvents"]
        assert event["kind"] == "CHAT_UPDATED"
        assert event["chat"]["rating"] == {"vote": "LIKE", "comment": "Quick and kind"}

        # a second rating is refused and changes nothing
        again = await visitor.call("mutation { rateChat(input: {vote: DISLIKE}) { chat { id } "
                                   "userErrors { code } } }")
        assert again["data"]["rateChat"] == {"chat": None, "userErrors": [{"code": "INVALID_STATE"}]}

    # what the visitor can read: their chat without the silent note, and no other chat
    own = await visitor.own_chat()
    assert texts(own) == ["Hello, where is my parcel?", "Welcome! We usually answer within a minute.",
                          "Hi! Let me look.", "Thanks", "It arrives tomorrow.", request["text"]]
    assert "Parcel lost, refund them" not in texts(own)
    peek = await visitor.data("query ($id: ID!) { chat(id: $id) { id } node(id: $id) { id } }", id=other.chat_id)
    assert peek == {"chat": None, "node": None}
    assert (await admin.data("query ($id: ID!) { chat(id: $id) { rating { vote } } }",
                             id=visitor.chat_id))["chat"]["rating"] == {"vote": "LIKE"}
