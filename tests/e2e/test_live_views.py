"""Who receives an event, and what of it (issue #16): over real WebSockets against a real server.

A queue's members see a chat leave their queue (the chat itself null once they may not read it,
its `state` saying where it went); the operator a chat is taken from gets CHAT_REMOVED on their
list; every event names the operator who acted; a replay with `after` is the live stream again,
event for event, `state` included; a visitor never receives an operator-side event.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.actors import Admin, GraphQLHttp, Operator, Visitor, start_visitor_chat
from tests.e2e.live import TRANSPORT_WS, LiveConnection, LiveSubscription
from tests.e2e.server import Deployment

STATE = "state { status title pinned priority operator { id } openChannel { id } }"
EVENT = f"eventId kind chatId chat {{ id status }} actor {{ id }} {STATE}"
QUEUE_CHANGED = f"""subscription ($ids: [ID!], $after: String) {{
  queueChanged(openChannelIds: $ids, after: $after) {{ {EVENT} openChannel {{ id }} }} }}"""
CHAT_EVENTS = f"""subscription ($chatId: ID!, $after: String) {{
  chatEvents(chatId: $chatId, after: $after) {{ {EVENT} message {{ id text silent }} }} }}"""
MY_CHATS_CHANGED = f"""subscription ($after: String) {{ myChatsChanged(after: $after) {{ {EVENT} }} }}"""
VISITOR_CHAT_EVENTS = """subscription ($after: String) {
  visitorChatEvents(after: $after) { eventId kind chatId actor { id } message { id text silent } } }"""
VISITOR_MESSAGES = """subscription ($chatId: ID, $after: String) {
  messageAdded(chatId: $chatId, after: $after) { id text silent } }"""
CHAT_EVENTS_OF_VISITOR = """subscription ($chatId: ID!, $after: String) {
  chatEvents(chatId: $chatId, after: $after) { eventId kind chatId message { id text silent } } }"""


async def transfer(operator: Operator, chat_id: str, **target: str) -> None:
    await operator.mutate("transferChat", "chat { id }", {"chatId": chat_id, **target}, "TransferChatInput")


async def intercept(operator: Operator, chat_id: str) -> None:
    await operator.mutate("interceptChat", "chat { id }", {"chatId": chat_id}, "ChatInput")


async def next_of(stream: LiveSubscription, field: str) -> dict[str, Any]:
    return (await stream.next())[field]


async def until(stream: LiveSubscription, field: str, kind: str) -> list[dict[str, Any]]:
    """The events of `stream` up to and including the first of `kind`."""
    events = [await next_of(stream, field)]
    while events[-1]["kind"] != kind:
        events.append(await next_of(stream, field))
    return events


async def until_message(stream: LiveSubscription, field: str, text: str) -> list[dict[str, Any]]:
    """The events of `stream` up to and including the one of the message `text`."""
    events = [await next_of(stream, field)]
    while (events[-1].get("message") or events[-1]).get("text") != text:
        events.append(await next_of(stream, field))
    return events


async def until_id(stream: LiveSubscription, field: str, event_id: int) -> list[dict[str, Any]]:
    """The events of `stream` up to and including the first whose id is `event_id` or later."""
    events = [await next_of(stream, field)]
    while int(events[-1]["eventId"]) < event_id:
        events.append(await next_of(stream, field))
    return events


async def sales_and_support(admin: Admin) -> tuple[Operator, Operator, Operator, str, str]:
    """Two Sales members (`seller` acts, `colleague` watches) and a Support member; the two channels."""
    seller, colleague, supporter = [await admin.create_operator() for _ in range(3)]
    sales = await admin.create_open_channel([seller, colleague])
    support = await admin.create_open_channel([supporter])
    return seller, colleague, supporter, sales, support


async def test_a_queue_member_sees_the_chat_leave_for_another_queue_without_its_content(admin: Admin, http, ws_url):
    seller, colleague, _, sales, support = await sales_and_support(admin)
    visitor = await start_visitor_chat(http, sales)
    await seller.answer(visitor.chat_id)

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=colleague.token) as live:
        # from the start (`after` 0: the channel is new), so nothing is missed before the subscription runs
        queue = await live.subscribe(QUEUE_CHANGED, {"ids": [sales], "after": "0"})
        await transfer(seller, visitor.chat_id, openChannelId=support)
        event = (await until(queue, "queueChanged", "CHAT_TRANSFERRED"))[-1]

    assert event["kind"] == "CHAT_TRANSFERRED"
    assert (event["chatId"], event["chat"]) == (visitor.chat_id, None)  # the colleague is not in Support
    assert event["openChannel"] == {"id": sales}  # the queue it left
    assert event["state"]["openChannel"] == {"id": support}
    assert (event["state"]["status"], event["state"]["operator"]) == ("QUEUED", None)
    assert event["actor"] == {"id": seller.id}
    assert await colleague.chat(visitor.chat_id) is None  # null because they may not read it: not hidden by accident


async def test_the_former_operator_gets_chat_removed_on_transfer_and_on_intercept(admin: Admin, http, ws_url):
    seller, colleague, _, sales, support = await sales_and_support(admin)
    transferred = await start_visitor_chat(http, sales)
    intercepted = await start_visitor_chat(http, sales)
    await seller.answer(transferred.chat_id)
    await seller.answer(intercepted.chat_id)

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=seller.token) as live:
        mine = await live.subscribe(MY_CHATS_CHANGED, {"after": "0"})  # a new operator: their whole list
        await transfer(seller, transferred.chat_id, openChannelId=support)
        gone = await until(mine, "myChatsChanged", "CHAT_REMOVED")
        await intercept(colleague, intercepted.chat_id)
        taken = await until(mine, "myChatsChanged", "CHAT_REMOVED")

    assert (gone[-1]["chatId"], gone[-1]["chat"]) == (transferred.chat_id, None)  # in Support: not theirs to read
    assert gone[-1]["actor"] == {"id": seller.id} and gone[-1]["state"]["openChannel"] == {"id": support}
    # still in the seller's queue: they may read it, it is just no longer on their list
    assert taken[-1]["chatId"] == intercepted.chat_id and taken[-1]["chat"]["id"] == intercepted.chat_id
    assert taken[-1]["actor"] == {"id": colleague.id}
    assert taken[-1]["state"]["operator"] == {"id": colleague.id} and taken[-1]["state"]["status"] == "ACTIVE"


async def test_chat_events_say_chat_removed_once_then_nothing_until_the_chat_is_readable_again(
        admin: Admin, http, ws_url):
    seller, _, supporter, sales, support = await sales_and_support(admin)
    visitor = await start_visitor_chat(http, sales)
    await seller.answer(visitor.chat_id)

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=seller.token) as live:
        stream = await live.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        # the first replayed event: the subscription has checked that the seller may read the chat
        assert (await next_of(stream, "chatEvents"))["chat"]["id"] == visitor.chat_id
        await transfer(seller, visitor.chat_id, openChannelId=support)
        await supporter.answer(visitor.chat_id)
        await supporter.send(visitor.chat_id, "Support here: what Sales may not read")
        await visitor.send("a client message Sales may not read")
        await transfer(supporter, visitor.chat_id, openChannelId=sales)
        events = [(await until(stream, "chatEvents", "CHAT_REMOVED"))[-1], await next_of(stream, "chatEvents")]

    assert [e["kind"] for e in events] == ["CHAT_REMOVED", "CHAT_UPDATED"]
    assert events[0]["chat"] is None and events[0]["message"] is None
    assert events[0]["state"]["openChannel"] == {"id": support}
    # back in Sales: the transfer back is the next event the seller receives, with the chat
    assert events[1]["actor"] == {"id": supporter.id} and events[1]["chat"]["id"] == visitor.chat_id
    assert events[1]["state"]["openChannel"] == {"id": sales}


async def test_a_replay_after_an_id_is_the_live_stream_again_state_and_actor_included(admin: Admin, http, ws_url):
    seller, colleague, supporter, sales, support = await sales_and_support(admin)
    visitor = await start_visitor_chat(http, sales)

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=seller.token) as live:
        mine = await live.subscribe(MY_CHATS_CHANGED, {"after": "0"})
        chat = await live.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        queue = await live.subscribe(QUEUE_CHANGED, {"ids": [sales], "after": "0"})
        await seller.answer(visitor.chat_id)
        first = (await until(queue, "queueChanged", "CHAT_ANSWERED"))[-1]  # compared from here on
        await seller.send(visitor.chat_id, "a visible answer")
        await seller.send(visitor.chat_id, "a note", silent=True)
        await visitor.send("thanks")
        await intercept(colleague, visitor.chat_id)
        await transfer(colleague, visitor.chat_id, openChannelId=support)
        await supporter.answer(visitor.chat_id)
        await transfer(supporter, visitor.chat_id, openChannelId=sales)
        # in Sales' queue: answered, intercepted, transferred to Support; back: queued, offered
        live_queue = [first, *await until(queue, "queueChanged", "CHAT_TRANSFERRED")]
        live_queue += await until(queue, "queueChanged", "CHAT_OFFERED")
        live_mine = await until(mine, "myChatsChanged", "CHAT_REMOVED")
        live_chat = await until(chat, "chatEvents", "CHAT_REMOVED")
        live_chat.append(await next_of(chat, "chatEvents"))  # the transfer back to Sales
    from_first = int(first["eventId"])
    live_mine = [e for e in live_mine if int(e["eventId"]) >= from_first]
    live_chat = [e for e in live_chat if int(e["eventId"]) >= from_first]

    after = str(from_first - 1)
    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=seller.token) as again:
        replay_mine = await again.subscribe(MY_CHATS_CHANGED, {"after": after})
        replay_chat = await again.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": after})
        replay_queue = await again.subscribe(QUEUE_CHANGED, {"ids": [sales], "after": after})
        replayed = {
            "mine": [await next_of(replay_mine, "myChatsChanged") for _ in live_mine],
            "chat": [await next_of(replay_chat, "chatEvents") for _ in live_chat],
            "queue": [await next_of(replay_queue, "queueChanged") for _ in live_queue],
        }

    def what_happened(events: list[dict[str, Any]]) -> list[tuple]:
        """All but `chat`, which is the chat as it is when the event is delivered: null whenever the
        viewer could not read it then, but also when they cannot at delivery (a live subscription that
        runs behind the changes may find the chat already gone to Support), so it is not compared."""
        return [(e["eventId"], e["kind"], e["chatId"], e["actor"], e["state"]) for e in events]

    assert what_happened(replayed["mine"]) == what_happened(live_mine)
    assert what_happened(replayed["chat"]) == what_happened(live_chat)
    assert what_happened(replayed["queue"]) == what_happened(live_queue)
    assert [e["kind"] for e in live_queue] == ["CHAT_ANSWERED", "CHAT_INTERCEPTED", "CHAT_TRANSFERRED",
                                               "CHAT_QUEUED", "CHAT_OFFERED"]
    # the state is the chat as it was then: the seller's, the colleague's, in Support, back in Sales
    assert [(e["state"]["operator"], e["state"]["openChannel"]["id"], e["actor"]["id"]) for e in live_queue] == [
        ({"id": seller.id}, sales, seller.id), ({"id": colleague.id}, sales, colleague.id),
        (None, support, colleague.id), (None, sales, supporter.id), (None, sales, supporter.id)]
    assert live_queue[2]["chat"] is None  # the seller is not in Support
    assert [e["kind"] for e in live_chat][-2:] == ["CHAT_REMOVED", "CHAT_UPDATED"]
    silent = [e for e in live_chat if e["message"] and e["message"]["silent"]]
    assert [e["message"]["text"] for e in silent] == ["a note"]  # operators do receive their notes


async def test_the_actor_is_the_operator_who_acted_and_null_for_the_client_and_the_system(admin: Admin, http, ws_url):
    seller, colleague, _, sales, _ = await sales_and_support(admin)
    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=colleague.token) as live:
        queue = await live.subscribe(QUEUE_CHANGED, {"ids": [sales], "after": "0"})
        visitor = await start_visitor_chat(http, sales)
        queued, offered = [await next_of(queue, "queueChanged") for _ in range(2)]
        chat = await live.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        await visitor.send("from the client")
        from_client = (await until_message(chat, "chatEvents", "from the client"))[-1]
        await seller.answer(visitor.chat_id)
        answered = await next_of(queue, "queueChanged")
        await seller.send(visitor.chat_id, "from the seller")
        events = await until_message(chat, "chatEvents", "from the seller")

    assert (queued["kind"], queued["actor"]) == ("CHAT_QUEUED", None)  # the client's first message
    assert (offered["kind"], offered["actor"]) == ("CHAT_OFFERED", None)  # the queue's distribution
    assert (from_client["kind"], from_client["actor"]) == ("MESSAGE_ADDED", None)
    assert (answered["kind"], answered["actor"]) == ("CHAT_ANSWERED", {"id": seller.id})
    assert answered["state"]["operator"] == {"id": seller.id} and answered["chat"]["id"] == visitor.chat_id
    assert events[-1]["actor"] == {"id": seller.id} and events[-1]["message"]["text"] == "from the seller"


async def test_a_visitor_never_receives_a_silent_note_on_any_subscription(admin: Admin, http, ws_url):
    seller, _, _, sales, _ = await sales_and_support(admin)
    visitor: Visitor = await start_visitor_chat(http, sales)
    await seller.answer(visitor.chat_id)
    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=visitor.token) as live:
        own = await live.subscribe(VISITOR_CHAT_EVENTS, {"after": "0"})
        chat = await live.subscribe(CHAT_EVENTS_OF_VISITOR, {"chatId": visitor.chat_id, "after": "0"})
        messages = await live.subscribe(VISITOR_MESSAGES, {"chatId": visitor.chat_id, "after": "0"})
        await seller.send(visitor.chat_id, "operators only", silent=True)
        await seller.send(visitor.chat_id, "for the client")
        received = {"visitorChatEvents": await until_message(own, "visitorChatEvents", "for the client"),
                    "chatEvents": await until_message(chat, "chatEvents", "for the client"),
                    "messageAdded": await until_message(messages, "messageAdded", "for the client")}

    for field, events in received.items():
        texts = [(e.get("message") or e).get("text") for e in events]
        assert "operators only" not in texts, field
        assert texts[-1] == "for the client" and texts.count("for the client") == 1, field
    assert received["visitorChatEvents"][-1]["actor"] == {"id": seller.id}


def what_happened(events: list[dict[str, Any]]) -> list[tuple]:
    """An event but its `chat` (the chat as it is at delivery, see the replay test above)."""
    return [(e["eventId"], e["kind"], e["chatId"], e["actor"], e["state"]) for e in events]


@pytest.mark.postgres_only
async def test_two_processes_deliver_the_transfer_and_the_removal_and_replay_them_alike(
        deployment: Deployment, admin: Admin, http, http_client):
    """Subscribers on process A, the operators acting through process B (PostgreSQL and Redis); the
    replay is asked of process B: the same sequences, event for event, `state` and `actor` included."""
    process_b = await deployment.start_server()
    try:
        on_b = GraphQLHttp(http_client, process_b.graphql_url)
        seller, colleague, _, sales, support = await sales_and_support(admin)
        visitor = await start_visitor_chat(http, sales)
        taken = await start_visitor_chat(http, sales)
        seller_on_b = Operator(on_b, seller.token, id=seller.id)
        colleague_on_b = Operator(on_b, colleague.token, id=colleague.id)
        await seller_on_b.answer(visitor.chat_id)
        await seller_on_b.answer(taken.chat_id)
        async with LiveConnection(deployment.server.ws_url, protocol=TRANSPORT_WS, token=colleague.token) as watcher, \
                LiveConnection(deployment.server.ws_url, protocol=TRANSPORT_WS, token=seller.token) as former:
            queue = await watcher.subscribe(QUEUE_CHANGED, {"ids": [sales], "after": "0"})
            mine = await former.subscribe(MY_CHATS_CHANGED, {"after": "0"})
            # following live from here: both answers delivered (replayed from the log) on both streams
            answered = [e for e in await until(queue, "queueChanged", "CHAT_ANSWERED") if e["kind"] == "CHAT_ANSWERED"]
            if len(answered) < 2:
                answered.append((await until(queue, "queueChanged", "CHAT_ANSWERED"))[-1])
            live_mine = await until_id(mine, "myChatsChanged", int(answered[-1]["eventId"]))
            from_id = int(answered[-1]["eventId"])  # compared from the second answer on
            await transfer(seller_on_b, visitor.chat_id, openChannelId=support)
            await intercept(colleague_on_b, taken.chat_id)
            live_queue = [answered[-1], *await until(queue, "queueChanged", "CHAT_TRANSFERRED")]
            live_queue += await until(queue, "queueChanged", "CHAT_INTERCEPTED")
            live_mine = [e for e in live_mine if int(e["eventId"]) >= from_id]
            live_mine += await until(mine, "myChatsChanged", "CHAT_REMOVED")
            live_mine += await until(mine, "myChatsChanged", "CHAT_REMOVED")
        after = str(from_id - 1)
        async with LiveConnection(process_b.ws_url, protocol=TRANSPORT_WS, token=colleague.token) as watcher_b, \
                LiveConnection(process_b.ws_url, protocol=TRANSPORT_WS, token=seller.token) as former_b:
            replay_queue = await watcher_b.subscribe(QUEUE_CHANGED, {"ids": [sales], "after": after})
            replay_mine = await former_b.subscribe(MY_CHATS_CHANGED, {"after": after})
            replayed_queue = [await next_of(replay_queue, "queueChanged") for _ in live_queue]
            replayed_mine = [await next_of(replay_mine, "myChatsChanged") for _ in live_mine]
    finally:
        deployment.stop_server(process_b)

    moved = next(e for e in live_queue if e["kind"] == "CHAT_TRANSFERRED")
    assert (moved["chatId"], moved["chat"], moved["actor"]) == (visitor.chat_id, None, {"id": seller.id})
    assert moved["state"]["openChannel"] == {"id": support} and moved["state"]["status"] == "QUEUED"
    removed = [e for e in live_mine if e["kind"] == "CHAT_REMOVED"]
    assert [(e["chatId"], e["actor"]) for e in removed] == [
        (visitor.chat_id, {"id": seller.id}), (taken.chat_id, {"id": colleague.id})]
    assert (removed[0]["eventId"], removed[0]["chat"]) == (moved["eventId"], None)  # in Support: not theirs to read
    assert removed[1]["chat"] == {"id": taken.chat_id, "status": "ACTIVE"}  # still in their queue
    assert removed[1]["state"]["operator"] == {"id": colleague.id}
    assert what_happened(replayed_queue) == what_happened(live_queue)
    assert what_happened(replayed_mine) == what_happened(live_mine)
