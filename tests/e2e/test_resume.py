"""Resuming a subscription with `after`: exactly the missed events, in order, then live ones."""
from __future__ import annotations

from tests.e2e.actors import CHAT_EVENTS, QUEUE_CHANGED, Admin, start_visitor_chat
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveConnection


async def test_chat_events_resume_after_the_last_event_id(admin: Admin, http, ws_url):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(http, channel_id)
    await operator.answer(visitor.chat_id)

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=operator.token) as first_connection:
        stream = await first_connection.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        seen = [(await stream.next())["chatEvents"]]  # the history up to now, then what we send
        one = await operator.send(visitor.chat_id, "one")
        while seen[-1]["message"] is None or seen[-1]["message"]["id"] != one["id"]:
            seen.append((await stream.next())["chatEvents"])
        two = await visitor.send("two")
        seen.append((await stream.next())["chatEvents"])
        assert seen[-1]["message"]["id"] == two["id"]
        last_seen = seen[-1]["eventId"]
    # disconnected: the chat goes on without this subscriber
    missed = [
        await operator.send(visitor.chat_id, "three"),
        await operator.send(visitor.chat_id, "a note while you were away", silent=True),
        await visitor.send("four"),
    ]

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=operator.token) as second_connection:
        resumed = await second_connection.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": last_seen})
        replayed = [(await resumed.next())["chatEvents"] for _ in missed]
        assert [e["kind"] for e in replayed] == ["MESSAGE_ADDED"] * 3
        assert [e["message"]["id"] for e in replayed] == [m["id"] for m in missed]
        ids = [int(e["eventId"]) for e in replayed]
        assert ids == sorted(set(ids)) and ids[0] > int(last_seen)
        assert not {e["eventId"] for e in replayed} & {e["eventId"] for e in seen}

        live = await operator.send(visitor.chat_id, "five")
        # the next event is the new message: nothing replayed twice, nothing left over in between
        after_replay = (await resumed.next())["chatEvents"]
        assert after_replay["message"]["id"] == live["id"]
        assert int(after_replay["eventId"]) > ids[-1]


async def test_queue_changes_resume_after_the_last_event_id_over_legacy_graphql_ws(admin: Admin, http, ws_url):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator], distribution="STRICT")
    subscription = {"ids": [channel_id], "after": "0"}

    async with LiveConnection(ws_url, protocol=LEGACY_WS, token=operator.token) as first_connection:
        queue = await first_connection.subscribe(QUEUE_CHANGED, subscription)
        first = await start_visitor_chat(http, channel_id)
        seen = [(await queue.next())["queueChanged"] for _ in range(2)]
        assert [(e["kind"], e["chat"]["id"]) for e in seen] == [("CHAT_QUEUED", first.chat_id),
                                                                ("CHAT_OFFERED", first.chat_id)]
        last_seen = seen[-1]["eventId"]
        await queue.stop()

    await operator.answer(first.chat_id)
    second = await start_visitor_chat(http, channel_id)
    await operator.finish(first.chat_id)
    expected = [("CHAT_ANSWERED", first.chat_id), ("CHAT_QUEUED", second.chat_id), ("CHAT_OFFERED", second.chat_id),
                ("CHAT_FINISHED", first.chat_id)]

    async with LiveConnection(ws_url, protocol=LEGACY_WS, token=operator.token) as second_connection:
        queue = await second_connection.subscribe(QUEUE_CHANGED, {**subscription, "after": last_seen})
        replayed = [(await queue.next())["queueChanged"] for _ in expected]
        assert [(e["kind"], e["chat"]["id"]) for e in replayed] == expected
        ids = [int(e["eventId"]) for e in replayed]
        assert ids == sorted(set(ids)) and ids[0] > int(last_seen)

        third = await start_visitor_chat(http, channel_id)
        live = [(await queue.next())["queueChanged"] for _ in range(2)]
        assert [(e["kind"], e["chat"]["id"]) for e in live] == [("CHAT_QUEUED", third.chat_id),
                                                                ("CHAT_OFFERED", third.chat_id)]
        assert int(live[0]["eventId"]) > ids[-1]
