"""Gapless start: a client queries its chat list with `eventCursor`, then subscribes with
`after: eventCursor`, while other clients change its chats the whole time. A thousand times,
on PostgreSQL (several connections committing concurrently, Redis between them):

- the answer reflects every event up to its cursor (the cursor is read before the data): no chat
  shows a last message older than the newest message event at or before the cursor;
- the subscription then delivers exactly the viewer's events after the cursor, in order: the
  same ids a replay of the whole log gives, none missing, none twice.

Four clients do their rounds at once on one WebSocket, each stopping its subscription after two
events while the others' run: what a stopped subscription was loading must not hang the others
(resolvers/dataloader.py). The reference log is read at the end by a replay from before the first cursor, closed by a
marker message, so the test compares against what the database holds, not against itself.
"""
from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

import pytest

from tests.e2e.actors import Admin, GraphQLHttp, Operator, Visitor, start_visitor_chat
from tests.e2e.live import TRANSPORT_WS, LiveConnection

pytestmark = pytest.mark.postgres_only

ITERATIONS = 1000
#: clients doing their rounds at the same time, on one WebSocket (each its own subscriptions)
CLIENTS = 4
#: events each subscription must deliver before it is compared and stopped
EVENTS_PER_SUBSCRIPTION = 2
CHATS_AT_START = 4
NEW_CHATS = 20

MY_CHATS = """{ myChats { eventCursor offered { ...last } waitingFirstResponse { ...last } active { ...last } } }
fragment last on Chat { id lastMessage { eventId } }"""
MY_CHATS_CHANGED = ("subscription ($after: String) { myChatsChanged(after: $after) "
                    "{ eventId kind chat { id } message { eventId } } }")
MESSAGE_ADDED = "subscription ($after: String) { messageAdded(after: $after) { eventId chat { id } } }"
SEND = ("mutation ($input: SendMessageInput!) { sendMessage(input: $input) "
        "{ message { eventId } userErrors { code } } }")


async def _changes(http: GraphQLHttp, channel_id: str, me: Operator, visitors: list[Visitor], stop: asyncio.Event,
                   counter: itertools.count) -> None:
    """Visitors write in my chats; now and then a new chat comes in and I answer it (another tab)."""
    async def writer(seed: int) -> None:
        rnd = random.Random(seed)
        while not stop.is_set():
            await rnd.choice(visitors).send(f"message {next(counter)}")

    async def intake() -> None:
        for _ in range(NEW_CHATS):
            if stop.is_set():
                return
            visitor = await start_visitor_chat(http, channel_id)
            await me.answer(visitor.chat_id)
            visitors.append(visitor)
            await asyncio.sleep(0.2)

    await asyncio.gather(*(writer(seed) for seed in range(3)), intake())


async def _replay(connection: LiveConnection, query: str, field: str, after: str, until: int) -> list[dict[str, Any]]:
    """The subscription's events after `after`, up to event id `until`."""
    subscription = await connection.subscribe(query, {"after": after})
    events = [(await subscription.next(timeout=30))[field]]
    while int(events[-1]["eventId"]) < until:
        events.append((await subscription.next(timeout=30))[field])
    await subscription.stop()
    return events


async def test_query_then_subscribe_with_the_cursor_misses_nothing_and_repeats_nothing(admin: Admin, http, ws_url):
    me = await admin.create_operator()
    channel_id = await admin.create_open_channel([me])
    visitors = [await start_visitor_chat(http, channel_id) for _ in range(CHATS_AT_START)]
    for visitor in visitors:
        await me.answer(visitor.chat_id)

    stop, counter = asyncio.Event(), itertools.count()
    changes = asyncio.create_task(_changes(http, channel_id, me, visitors, stop, counter))
    #: per iteration: the subscription, the cursor, the answer's chats, the event ids delivered
    runs: list[tuple[str, str, list[dict[str, Any]], list[int]]] = []
    started = time.monotonic()
    try:
        async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=me.token) as connection:
            async def client(rounds: range) -> None:
                for i in rounds:
                    answer = (await me.data(MY_CHATS))["myChats"]
                    kind, query = ("myChatsChanged", MY_CHATS_CHANGED) if i % 2 == 0 else ("messageAdded", MESSAGE_ADDED)
                    subscription = await connection.subscribe(query, {"after": answer["eventCursor"]})
                    delivered = [int((await subscription.next())[kind]["eventId"])
                                 for _ in range(EVENTS_PER_SUBSCRIPTION)]
                    await subscription.stop()
                    del connection.subscriptions[subscription.id]
                    chats = answer["offered"] + answer["waitingFirstResponse"] + answer["active"]
                    runs.append((kind, answer["eventCursor"], chats, delivered))

            await asyncio.gather(*(client(range(c, ITERATIONS, CLIENTS)) for c in range(CLIENTS)))
            stop.set()
            await changes
            marker = await me.call(SEND, input={"chatId": visitors[0].chat_id, "text": "marker"})
            last = int(marker["data"]["sendMessage"]["message"]["eventId"])
            first_cursor = min(int(run[1]) for run in runs)
            logs = {
                "myChatsChanged": await _replay(connection, MY_CHATS_CHANGED, "myChatsChanged", str(first_cursor), last),
                "messageAdded": await _replay(connection, MESSAGE_ADDED, "messageAdded", str(first_cursor), last),
            }
    finally:
        stop.set()
        await asyncio.gather(changes, return_exceptions=True)
    elapsed = time.monotonic() - started

    ids = {kind: [int(e["eventId"]) for e in log] for kind, log in logs.items()}
    for kind, log_ids in ids.items():
        assert log_ids == sorted(set(log_ids)), f"the replay of {kind} itself repeats or reorders"
    message_events = [(int(e["eventId"]), e["chat"]["id"]) for e in logs["myChatsChanged"]
                      if e["kind"] == "MESSAGE_ADDED"]
    raced = 0
    for n, (kind, cursor, active, delivered) in enumerate(runs):
        after = [i for i in ids[kind] if i > int(cursor)]
        # none missing, none twice, in order: exactly the next events of the log
        assert delivered == after[:EVENTS_PER_SUBSCRIPTION], (n, kind, cursor, delivered, after[:5])
        # the answer reflects every message event up to its cursor
        shown = {chat["id"]: int(chat["lastMessage"]["eventId"]) for chat in active}
        for chat_id, last_shown in shown.items():
            up_to_cursor = [e for e, c in message_events if c == chat_id and e <= int(cursor)]
            assert not up_to_cursor or up_to_cursor[-1] <= last_shown, (n, chat_id, cursor, up_to_cursor[-1], last_shown)
        # a change between the cursor's read and the data's: in the answer AND delivered (harmless)
        raced += any(last_shown > int(cursor) for last_shown in shown.values())
    # the changes really ran in between (otherwise the test proves little)
    assert next(counter) > ITERATIONS and len(message_events) > ITERATIONS
    print(f"{ITERATIONS} query-then-subscribe rounds in {elapsed:.1f} s; {next(counter)} messages written "
          f"meanwhile; {raced} answers already showed a message committed after their cursor")
