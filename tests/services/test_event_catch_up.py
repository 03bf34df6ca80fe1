"""Catching up after lost live delivery: when the broker asks (Redis came back, a publish
failed), a subscription re-reads the database after its last position and sends what it
missed, in order, once."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, AsyncIterator

import redis.asyncio as redis

from bench.ports import free_port
from models import Event
from infrastructure.broker import Broker, EventHub, RedisBroker, Resync, Subscriber, broker_in_use, publishing_to
from services.events.events import event_to_dict, unit_of_work
from services.events.records import EventRecord
from services.events.subscriptions import follow
from tests.resources import TEST_REDIS_URL

CHAT = 4242


async def committed_without_publishing(count: int) -> list[Event]:
    """Event rows committed whose live delivery was lost (as when Redis is down)."""
    return [await Event.create(kind="MESSAGE_ADDED", chat_kind="MESSAGE_ADDED", chat_id=CHAT, message_id=i)
            for i in range(count)]


async def published(message_id: int) -> int:
    """An event committed and published the normal way; returns its id."""
    async with unit_of_work() as uow:
        uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=message_id)
        uow.pending[-1].chat_id = CHAT
    return uow.written[0].id


async def test_the_event_published_is_the_one_a_replay_reads(db):
    """What subscribers get live is exactly what they get when they read the row back (`after`)."""
    live: list[dict[str, Any]] = []

    class Capture:  # the broker's wire form
        async def publish(self, events: list[dict[str, Any]]) -> None:
            live.extend(events)

    with publishing_to(Capture()):  # type: ignore[arg-type]
        async with unit_of_work() as uow:
            uow.record("CHAT_RENAMED", chat=None, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED", message_id=7,
                       operator_ids=[5, None, 3, 5], removed_operator_ids=[9], visitor_visible=False,
                       open_channel_id=2, detail={"old_title": "x"})
            uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED")

    rows = await Event.filter(id__in=[e["id"] for e in live]).order_by("id")
    assert live == [event_to_dict(row) for row in rows]
    assert live[0]["operator_ids"] == [3, 5, 9] and live[0]["removed_operator_ids"] == [9]
    assert live[1]["id"] == live[0]["id"] + 1


def _broker() -> Broker:
    """The broker of the test's platform, in use (tests/conftest.py)."""
    broker = broker_in_use()
    assert broker is not None
    return broker


async def next_id(stream: AsyncIterator[EventRecord]) -> int:
    return (await asyncio.wait_for(stream.__anext__(), 5)).id


async def test_a_resync_sends_the_events_live_delivery_missed_in_order_and_once(db):
    stream = follow(Event.filter(chat_id=CHAT), lambda e: e.chat_id == CHAT, None)
    first = asyncio.create_task(next_id(stream))
    while _broker().hub.subscriber_count == 0:  # the generator subscribed
        await asyncio.sleep(0.01)
    live = await published(1)
    assert await first == live

    lost = await committed_without_publishing(3)
    _broker().hub.deliver(event_to_dict(lost[1]))  # one of them did arrive live, ahead of a missing one
    # the hub holds it, then has the subscription read the missing ones: all three, in order
    assert [await next_id(stream) for _ in lost] == [e.id for e in lost]

    # a second resync finds nothing new; the next event is the next live one
    _broker().hub.resync()
    after = await published(2)
    assert await next_id(stream) == after
    await stream.aclose()


async def test_a_subscription_resuming_after_an_id_catches_up_past_its_replay(db):
    replayed = await committed_without_publishing(2)
    stream = follow(Event.filter(chat_id=CHAT), lambda e: e.chat_id == CHAT, str(replayed[0].id - 1))
    assert [await next_id(stream), await next_id(stream)] == [e.id for e in replayed]
    lost = await committed_without_publishing(2)
    _broker().hub.resync(from_id=replayed[0].id)  # from an id already sent: nothing twice
    assert [await next_id(stream), await next_id(stream)] == [e.id for e in lost]
    live = await published(3)
    assert await next_id(stream) == live
    await stream.aclose()


async def test_events_published_out_of_order_reach_subscribers_in_id_order():
    hub = EventHub(gap_wait_seconds=5)
    subscriber = hub.subscribe()
    for event_id in (1, 3, 4, 2, 5):
        hub.deliver({"id": event_id})
    assert [(await asyncio.wait_for(subscriber.get(), 1))["id"] for _ in range(5)] == [1, 2, 3, 4, 5]
    assert subscriber.queue.empty()


async def test_an_id_that_never_arrives_makes_subscribers_reread_from_it():
    hub = EventHub(gap_wait_seconds=0.05)
    subscriber = hub.subscribe()
    hub.deliver({"id": 1})
    hub.deliver({"id": 3})  # 2 was lost (a publish failed, a process died)
    hub.deliver({"id": 4})
    assert await asyncio.wait_for(subscriber.get(), 1) == {"id": 1}
    assert await asyncio.wait_for(subscriber.get(), 1) == Resync(2)  # the database read returns 2, 3, 4
    hub.deliver({"id": 5})  # and the live stream goes on after the held ones
    assert await asyncio.wait_for(subscriber.get(), 1) == {"id": 5}
    assert subscriber.queue.empty()


async def test_resync_requests_merge_into_one_from_the_lowest_id():
    subscriber = Subscriber()
    subscriber.request_resync(7)
    subscriber.request_resync(None)
    subscriber.request_resync(3)
    subscriber.queue.put_nowait({"id": 1})
    assert await asyncio.wait_for(subscriber.get(), 1) == Resync(3)
    assert await asyncio.wait_for(subscriber.get(), 1) == {"id": 1}  # the wake-up marker is not an event
    assert subscriber.queue.empty()


async def test_a_full_queue_still_gets_the_resync_first():
    hub = EventHub()
    subscriber = hub.subscribe()
    for i in range(subscriber.queue.maxsize):
        hub.deliver({"id": i})
    hub.resync(5)
    assert await asyncio.wait_for(subscriber.get(), 1) == Resync(5)
    assert await asyncio.wait_for(subscriber.get(), 1) == {"id": 0}


async def test_a_publish_to_an_unreachable_redis_is_logged_not_raised_and_resyncs_this_process(caplog):
    broker = RedisBroker(redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"), "catch-up-test")  # nobody listens there
    subscriber = broker.hub.subscribe()
    try:
        started = time.monotonic()
        await broker.publish([{"id": 12}, {"id": 11}])  # does not raise
        assert time.monotonic() - started < 3
        assert "could not publish 2 event(s) from id 11" in caplog.text
        assert await asyncio.wait_for(subscriber.get(), 1) == Resync(11)
        try:
            await broker.check()
        except Exception:
            pass
        else:
            raise AssertionError("check() passed with Redis unreachable")
    finally:
        await broker.stop()


async def test_the_periodic_catch_up_delivers_an_event_that_was_never_published(db):
    """As when a process dies between its commit and its publish: nothing else would tell."""
    broker = RedisBroker(redis.Redis.from_url(TEST_REDIS_URL), f"catch-up-test:{uuid.uuid4().hex}", catch_up_seconds=0.2)
    await broker.start()
    try:
        with publishing_to(broker):
            stream = follow(Event.filter(chat_id=CHAT), lambda e: e.chat_id == CHAT, None)
            first = asyncio.create_task(next_id(stream))
            while broker.hub.subscriber_count == 0:
                await asyncio.sleep(0.01)
            live = await published(1)
            assert await first == live  # through Redis
            lost = await committed_without_publishing(1)
            started = time.monotonic()
            assert await next_id(stream) == lost[0].id
            assert time.monotonic() - started < 2
            await stream.aclose()
    finally:
        await broker.stop()
