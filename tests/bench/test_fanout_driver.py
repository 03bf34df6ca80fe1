"""B2's subscribers (bench/fanout.py, picows): the graphql-transport-ws handshake; each event's first
receipt recorded once per subscriber and counted per key, its `next` messages counted too (the wait
for an event's last receipt wakes on the count; a subscriber that never receives it is reported
lost); pings answered; a close by the server recorded as an error. The server here is websockets'
(another implementation than the driver's); tests/bench/test_bench_run.py drives the real server. The
last test drives B2's floor server (bench/fanout_floor.py) as the bench does."""
from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve

from bench.fanout import QUEUE_SUBSCRIPTION, Receipts, drive_floor, open_subscribers


def queue_event(chat_id: str) -> str:
    return json.dumps({"id": "1", "type": "next", "payload": {"data": {"queueChanged": {
        "eventId": "1", "kind": "CHAT_QUEUED", "chat": {"id": chat_id, "title": "t"}, "queueLength": 1}}}})


async def test_subscribers_handshake_count_each_event_once_answer_pings_and_record_a_close() -> None:
    seen: list[tuple[dict, dict]] = []
    pongs: list[dict] = []
    release = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        init = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "connection_ack"}))
        subscribe = json.loads(await ws.recv())
        seen.append((init, subscribe))
        await ws.send(queue_event("C1"))
        await ws.send(queue_event("C1"))  # the same event again: one receipt
        await ws.send(json.dumps({"type": "ping"}))
        pongs.append(json.loads(await ws.recv()))
        await release.wait()
        await ws.close(4403, "Forbidden")

    async with serve(handler, "127.0.0.1", 0, subprotocols=["graphql-transport-ws"]) as server:
        port = server.sockets[0].getsockname()[1]
        counter = Receipts()
        subscribers = await open_subscribers(3, f"ws://127.0.0.1:{port}/graphql", "token-1", counter,
                                             [(QUEUE_SUBSCRIPTION, {"ch": ["Ch1"]})])
        assert await counter.wait("queue:C1", 3, timeout=10) == 0
        assert counter.counts == {"queue:C1": 3}
        for _ in range(100):  # the second message of the same event may still be on its way
            if counter.messages == 6:
                break
            await asyncio.sleep(0.02)
        assert counter.messages == 6  # both `next` messages counted, the event received once
        assert all(list(s.receipts) == ["queue:C1"] and not s.errors for s in subscribers)
        # an event no one receives: all three lost, after the timeout
        assert await counter.wait("queue:C2", 3, timeout=0.2) == 3
        for _ in range(100):
            if len(pongs) == 3:
                break
            await asyncio.sleep(0.02)
        assert pongs == [{"type": "pong"}] * 3
        assert [init for init, _ in seen] == [{"type": "connection_init",
                                               "payload": {"authorization": "Bearer token-1"}}] * 3
        assert {(s["id"], s["type"], s["payload"]["query"], json.dumps(s["payload"]["variables"]))
                for _, s in seen} == {("1", "subscribe", QUEUE_SUBSCRIPTION, '{"ch": ["Ch1"]}')}
        release.set()
        for _ in range(100):
            if all(s.errors for s in subscribers):
                break
            await asyncio.sleep(0.02)
        assert all(s.errors[0].startswith("closed by the server: 4403") for s in subscribers)
        await asyncio.gather(*(s.close() for s in subscribers))


def test_the_floor_server_writes_each_event_once_to_every_subscriber() -> None:
    """B2's floor (bench/fanout_floor.py) with the driver's `floor` mode, both as the bench runs them:
    every subscriber receives every measured event, once, as a `chatEvents` result the driver reads;
    the floor server's CPU is read."""
    measured = drive_floor(subscribers=30, events=4)
    assert (measured["subscribers"], measured["events"], measured["lost"]) == (30, 4, 0)
    assert len(measured["every_ms"]) == 30 * 4 and len(measured["last_ms"]) == 4
    assert all(ms >= 0 for ms in measured["every_ms"])
    # one `next` per subscriber and measured event (prove_live's warm-up events are not counted)
    assert measured["messages"] == 30 * 4
    assert measured["server_cpu_s"] is not None
