"""The event broker: carries committed events to the subscriptions of every server process.

Events are written to the database in the transaction that makes the change (the source of
truth, replayed by `after`); the broker only carries them live. Each process holds ONE hub
that fans events out to bounded per-subscriber queues in memory; with Redis, the process
also holds ONE PubSub connection feeding that hub (one Redis subscription per GraphQL
subscription would exhaust the connection pool and is several times slower).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

log = logging.getLogger("openchannels.broker")

#: events a subscriber may have waiting before it is considered too slow and closed
SUBSCRIBER_QUEUE_SIZE = 1000


class SubscriberOverflow(Exception):
    """A subscriber fell more than SUBSCRIBER_QUEUE_SIZE events behind and was dropped."""


class Subscriber:
    def __init__(self, maxsize: int = SUBSCRIBER_QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    async def get(self) -> dict[str, Any]:
        if self.overflowed and self.queue.empty():
            raise SubscriberOverflow("subscriber too slow: events were dropped; reconnect with `after`")
        event = await self.queue.get()
        if event is _OVERFLOW:
            raise SubscriberOverflow("subscriber too slow: events were dropped; reconnect with `after`")
        return event


_OVERFLOW: dict[str, Any] = {"overflow": True}


class EventHub:
    """In-memory fan-out to the subscribers of this process."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def deliver(self, event: dict[str, Any]) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscriber.overflowed = True
                self._subscribers.discard(subscriber)
                # make room for the marker so a waiting get() wakes up and fails
                subscriber.queue.get_nowait()
                subscriber.queue.put_nowait(_OVERFLOW)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class Broker(Protocol):
    hub: EventHub

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, events: list[dict[str, Any]]) -> None: ...


class LocalBroker:
    """One server process: events go straight to this process's hub."""

    def __init__(self) -> None:
        self.hub = EventHub()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.hub.deliver(event)


class RedisBroker:
    """Several processes or machines: events travel over one Redis pub/sub channel.

    A process's own events come back to it through Redis too, so every process sees one
    order of delivery and nothing is delivered twice.
    """

    def __init__(self, url: str, channel: str) -> None:
        import redis.asyncio as redis

        self.hub = EventHub()
        self._redis = redis.Redis.from_url(url)
        self._channel = channel
        self._reader: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_forever(), name="redis-event-reader")
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def stop(self) -> None:
        if self._reader:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        await self._redis.aclose()

    async def publish(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.publish(self._channel, json.dumps(event, separators=(",", ":")))
                await pipe.execute()
        except Exception:
            # The change is committed and its events are in the database: subscribers that
            # resume with `after` still get them. Live delivery is what was lost.
            log.exception("could not publish %d event(s) to Redis", len(events))

    async def _read_forever(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.hub.deliver(json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis subscription lost; reconnecting in 1 s")
                await asyncio.sleep(1)


_broker: Broker = LocalBroker()


def get_broker() -> Broker:
    return _broker


def set_broker(broker: Broker) -> None:
    global _broker
    _broker = broker


def make_broker(redis_url: str, channel: str) -> Broker:
    return RedisBroker(redis_url, channel) if redis_url else LocalBroker()
