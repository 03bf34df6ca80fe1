"""Ephemeral signals (infrastructure/signals.py): the hub hands a signal to its topic's subscribers
only, never blocks nor grows for a slow one; the budget counts per key with a clock the test
moves; the Redis broker carries signals between processes on a second channel of its one
PubSub, apart from events (no event, no re-read)."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from infrastructure.broker import LocalBroker, RedisBroker, Resync
from infrastructure.signals import SignalBudget, SignalHub
from tests.resources import TEST_REDIS_URL


async def test_a_signal_reaches_the_subscribers_of_its_topic_only() -> None:
    hub = SignalHub()
    first, second, elsewhere = hub.subscribe("typing:1"), hub.subscribe("typing:1"), hub.subscribe("typing:2")
    hub.deliver("typing:1", {"n": 1})
    assert await first.get() == {"n": 1} and await second.get() == {"n": 1}
    assert elsewhere.queue.empty()
    hub.unsubscribe(first)
    hub.deliver("typing:1", {"n": 2})
    assert first.queue.empty() and await second.get() == {"n": 2}
    hub.unsubscribe(second)
    hub.unsubscribe(elsewhere)
    hub.unsubscribe(elsewhere)  # twice: nothing happens
    assert hub.subscriber_count == 0 and hub.subscribers_of("typing:1") == []


async def test_a_slow_subscriber_loses_signals_and_nobody_waits_for_it() -> None:
    hub = SignalHub()
    slow, fast = hub.subscribe("t", maxsize=2), hub.subscribe("t", maxsize=10)
    for n in range(5):
        hub.deliver("t", {"n": n})  # synchronous: a full queue never blocks the deliverer
    assert [await slow.get() for _ in range(2)] == [{"n": 0}, {"n": 1}]
    assert slow.queue.empty() and slow.dropped == 3
    assert [(await fast.get())["n"] for _ in range(5)] == [0, 1, 2, 3, 4] and fast.dropped == 0
    hub.deliver("t", {"n": 5})  # it stays subscribed: the next signal reaches it
    assert await slow.get() == {"n": 5}


async def test_idle_means_every_received_signal_was_taken() -> None:
    hub = SignalHub()
    subscriber = hub.subscribe("t")
    assert not subscriber.idle  # nobody waits yet
    waiting = asyncio.ensure_future(subscriber.get())
    await asyncio.sleep(0)
    assert subscriber.idle
    hub.deliver("t", {"n": 1})
    assert await waiting == {"n": 1} and not subscriber.idle


def test_the_budget_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    budget = SignalBudget(clock=lambda: now[0])
    take = lambda key: budget.take(key, per_second=4, burst=3)  # noqa: E731
    assert [take("a") for _ in range(4)] == [True, True, True, False]
    assert take("b")  # each key its own
    now[0] += 0.25
    assert [take("a"), take("a")] == [True, False]
    now[0] += 10  # refilled up to the burst, not beyond
    assert [take("a") for _ in range(4)] == [True, True, True, False]


def test_the_budget_forgets_keys_that_are_full_again() -> None:
    now = [0.0]
    budget = SignalBudget(clock=lambda: now[0])
    budget.SWEEP_ABOVE = 100
    for key in range(100):
        budget.take(key, per_second=3, burst=3)
    assert len(budget) == 100
    now[0] += 1.0  # every bucket is full again
    budget.take("new", per_second=3, burst=3)
    assert len(budget) == 1


async def test_the_local_broker_delivers_signals_in_process() -> None:
    broker = LocalBroker()
    subscriber = broker.signals.subscribe("typing:7")
    assert await broker.publish_signal("typing:7", {"typing": True}) is True
    assert await subscriber.get() == {"typing": True}


@pytest.mark.parametrize("decode_responses", [False, True], ids=["bytes", "str"])
async def test_signals_travel_between_processes_apart_from_events(decode_responses: bool) -> None:
    """Two brokers on one channel, as two server processes: a signal published by one reaches
    the other's signal hub; the event hub gets neither an event nor a re-read from it, and
    events still flow."""
    channel = f"test-signals:{uuid.uuid4().hex}"
    one = RedisBroker(redis.Redis.from_url(TEST_REDIS_URL, decode_responses=decode_responses), channel)
    other = RedisBroker(redis.Redis.from_url(TEST_REDIS_URL, decode_responses=decode_responses), channel)
    noise = redis.Redis.from_url(TEST_REDIS_URL)
    await one.start()
    await other.start()
    try:
        events = other.hub.subscribe()
        signals = other.signals.subscribe("typing:1")
        await other.live()  # subscribed to each channel while its hub has subscribers
        await other.live(signals=True)
        assert await asyncio.wait_for(events.get(), 5) == Resync()  # the event channel's SUBSCRIBE
        await noise.publish(f"{channel}:signals", b"not a signal")  # ignored (logged)
        assert await one.publish_signal("typing:1", {"chat_id": 1, "typing": True}) is True
        assert await asyncio.wait_for(signals.get(), 5) == {"chat_id": 1, "typing": True}
        await one.publish([{"id": 1, "kind": "MESSAGE_ADDED"}])
        assert await asyncio.wait_for(events.get(), 5) == {"id": 1, "kind": "MESSAGE_ADDED"}  # the signals asked for no re-read
        assert events.queue.empty() and signals.queue.empty()
        await other.check()
    finally:
        await one.stop()
        await other.stop()
        await noise.aclose()


async def test_a_signal_that_cannot_be_published_is_lost_and_said_so(monkeypatch) -> None:
    channel = f"test-signals:{uuid.uuid4().hex}"
    broker = RedisBroker(redis.Redis.from_url(TEST_REDIS_URL), channel)
    await broker.start()
    events = broker.hub.subscribe()

    async def failing(channel: bytes, messages: list[bytes]) -> None:
        raise ConnectionError("Redis is down")

    try:
        monkeypatch.setattr(broker._publisher, "publish", failing)
        assert await broker.publish_signal("typing:1", {"typing": True}) is False
        assert events.queue.empty()  # no re-read either: a signal is not an event
    finally:
        await broker.stop()
