"""The event broker: carries committed events to the subscriptions of every server process.

Events are written to the database in the transaction that makes the change (the source of
truth, replayed by `after`); the broker only carries them live. Each process holds ONE hub
that fans events out to bounded per-subscriber queues in memory; with Redis, the process
also holds ONE redis-py PubSub feeding that hub (one Redis subscription per GraphQL
subscription would exhaust the connection pool, 100 connections in redis-py 8, each PubSub
holding one, and is several times slower).

Beside events the broker carries ephemeral signals (someone is typing: infrastructure/signals.py):
no id, no database, no replay, no gap logic; with Redis on a second channel `<channel>:signals`
read by the same PubSub.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import redis.asyncio as redis

from infrastructure.metrics import PUBLISH_FAILURES, observe_event_delivery
from infrastructure.redis_client import redis_client
from infrastructure.redis_publisher import Publisher
from infrastructure.signals import SignalHub

log = logging.getLogger("infrastructure.broker")

#: events a subscriber may have waiting before it is considered too slow and closed
SUBSCRIBER_QUEUE_SIZE = 1000


class SubscriberOverflow(Exception):
    """A subscriber fell more than SUBSCRIBER_QUEUE_SIZE events behind and was dropped."""


@dataclass(frozen=True)
class Resync:
    """Returned by `Subscriber.get()` instead of an event: live delivery may have missed events.

    The follower re-reads the database after the last position it knows is complete (and, when
    `from_id` is given, from that id on: a publish of events from that id failed somewhere).
    """

    from_id: int | None = None


class Subscriber:
    def __init__(self, maxsize: int = SUBSCRIBER_QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False
        self._resync: Resync | None = None

    def request_resync(self, from_id: int | None = None) -> None:
        """Ask the follower to re-read the database; requests pending together merge into one."""
        pending = self._resync
        if pending is not None:
            if pending.from_id is not None and (from_id is None or from_id > pending.from_id):
                from_id = pending.from_id
            self._resync = Resync(from_id)
            return
        self._resync = Resync(from_id)
        try:  # wake a waiting get(); a full queue wakes it anyway
            self.queue.put_nowait(_RESYNC)
        except asyncio.QueueFull:
            pass

    async def get(self) -> dict[str, Any] | Resync:
        while True:
            if self.overflowed and self.queue.empty():
                raise SubscriberOverflow("subscriber too slow: events were dropped; reconnect with `after`")
            if self._resync is not None:
                resync, self._resync = self._resync, None
                return resync
            event = await self.queue.get()
            if event is _OVERFLOW:
                raise SubscriberOverflow("subscriber too slow: events were dropped; reconnect with `after`")
            if event is not _RESYNC:  # a wake-up marker: the request itself is read above
                return event


_OVERFLOW: dict[str, Any] = {"overflow": True}
_RESYNC: dict[str, Any] = {"resync": True}


#: how long the hub holds an event that came ahead of a missing id before subscribers re-read
GAP_WAIT_SECONDS = 0.2


class EventHub:
    """In-memory fan-out to the subscribers of this process, in event-id order.

    Event ids are given in commit order without holes (services/events/events.py) and every event
    reaches the hub once. Two commits may still be published in the other order (each request
    publishes after its own commit), and a publish may be lost (Redis down, a process killed
    between commit and publish). So an event that comes ahead of a missing id is held for up
    to GAP_WAIT_SECONDS: if the missing one arrives, both go out in order; if not, every
    subscriber re-reads the database from the missing id, which returns the held events too,
    in order. A hole left by a rolled-back transaction costs one such re-read.
    """

    def __init__(self, gap_wait_seconds: float = GAP_WAIT_SECONDS) -> None:
        self._subscribers: set[Subscriber] = set()
        self._gap_wait_seconds = gap_wait_seconds
        #: the id the next event should have (None until the first event)
        self._next_id: int | None = None
        self._held: dict[int, dict[str, Any]] = {}
        self._gap_timer: asyncio.TimerHandle | None = None

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def deliver(self, event: dict[str, Any]) -> None:
        """Send `event` to every subscriber once the events before it have gone out."""
        observe_event_delivery(event.get("created_at"))
        event_id = event.get("id")
        if not isinstance(event_id, int) or self._next_id is None or event_id <= self._next_id:
            self._send(event)  # the first event, the expected one, or a late one (subscribers skip repeats)
            if isinstance(event_id, int) and (self._next_id is None or event_id >= self._next_id):
                self._next_id = event_id + 1
            self._release_held()
            return
        self._held[event_id] = event
        if self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(self._gap_wait_seconds, self._give_up_on_gap)

    def _release_held(self) -> None:
        while self._next_id in self._held:
            self._send(self._held.pop(self._next_id))
            self._next_id += 1
        if not self._held and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _give_up_on_gap(self) -> None:
        """The missing events did not come live: subscribers read them, and the held ones, from the database."""
        self._gap_timer = None
        if not self._held or self._next_id is None:
            return
        missing_from, self._next_id = self._next_id, max(self._held) + 1
        self._held.clear()
        log.info("events from id %d did not arrive live; subscribers re-read them", missing_from)
        self.resync(missing_from)

    def _send(self, event: dict[str, Any]) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscriber.overflowed = True
                self._subscribers.discard(subscriber)
                # make room for the marker so a waiting get() wakes up and fails
                subscriber.queue.get_nowait()
                subscriber.queue.put_nowait(_OVERFLOW)

    def resync(self, from_id: int | None = None) -> None:
        """Every subscriber re-reads the database: events may have been committed and not delivered."""
        for subscriber in list(self._subscribers):
            subscriber.request_resync(from_id)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class BrokerUnavailable(Exception):
    """The broker cannot carry events right now (readiness reports it)."""


class Broker(Protocol):
    hub: EventHub
    #: this process's subscribers of ephemeral signals (infrastructure/signals.py)
    signals: SignalHub

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, events: list[dict[str, Any]]) -> None: ...
    async def publish_signal(self, topic: str, signal: dict[str, Any]) -> bool:
        """Send a signal to the topic's subscribers in every process; False if it could not go out."""
        ...
    async def check(self) -> None: ...


class LocalBroker:
    """One server process: events go straight to this process's hub."""

    def __init__(self) -> None:
        self.hub = EventHub()
        self.signals = SignalHub()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.hub.deliver(event)

    async def publish_signal(self, topic: str, signal: dict[str, Any]) -> bool:
        self.signals.deliver(topic, signal)
        return True

    async def check(self) -> None:
        return None


#: a publish that takes longer counts as failed (the change is committed either way)
PUBLISH_TIMEOUT_SECONDS = 2.0
#: connecting and subscribing to the event channel must take less
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
#: wait between two attempts to subscribe again after the Redis connection was lost
RESUBSCRIBE_DELAY_SECONDS = 0.5
#: key of the control message "re-read the database from this id on" (a publish failed somewhere)
RESYNC_FROM = "resync_from"
#: the signal channel is the event channel's name with this suffix (infrastructure/signals.py)
SIGNAL_CHANNEL_SUFFIX = ":signals"


#: the first element of a message, and of a subscription's confirmation, on the PubSub connection
#: (str when the URL asks for decode_responses)
_MESSAGE = (b"message", "message")
_SUBSCRIBE = (b"subscribe", "subscribe")


def _resync_message(from_id: int) -> bytes:
    return orjson.dumps({RESYNC_FROM: from_id})


class RedisBroker:
    """Several processes or machines: events travel over one Redis pub/sub channel.

    A process's own events come back to it through Redis too, so every process sees one
    order of delivery and nothing is delivered twice. The broker owns `client` (made by
    infrastructure/redis_client.py: a URL, or the master named by Sentinels): publishes go
    through one connection of its pool (infrastructure/redis_publisher.py), the channel is read
    through ONE PubSub, and PING uses the pool.

    Failures: a publish that fails is logged, never raised (the change is committed and its
    events are in the database). This process's subscribers then re-read the database at once,
    and the lowest id that could not be published is announced on the channel as soon as Redis
    answers again, so every process's subscribers re-read from it. Whenever a PubSub is
    subscribed (at start, and by this loop 0.5 s after its connection was lost), this process's
    subscribers re-read what was committed while it was not listening. With Sentinel, a new connection goes to the master the Sentinels name then: after
    a failover the broker subscribes to the promoted replica, and the re-read brings what was
    committed during it. With `catch_up_seconds` > 0 subscribers also re-read periodically: the
    safety net for an event whose process died between its commit and its publish.
    """

    def __init__(self, client: redis.Redis, channel: str, *, catch_up_seconds: float = 0.0) -> None:
        self.hub = EventHub()
        self.signals = SignalHub()
        self._redis = client
        self._channel_bytes = channel.encode()
        self._signal_channel_bytes = (channel + SIGNAL_CHANNEL_SUFFIX).encode()
        #: the signal channel as a reply names it (str when the URL asks for decode_responses)
        self._signal_channel_names = (self._signal_channel_bytes, channel + SIGNAL_CHANNEL_SUFFIX)
        self._publisher = Publisher(client, timeout=PUBLISH_TIMEOUT_SECONDS)
        self._catch_up_seconds = catch_up_seconds
        self._tasks: list[asyncio.Task] = []
        self._subscribed = asyncio.Event()
        self._listening = False
        #: lowest event id whose publish failed and that no other process has been told about
        self._missed_from: int | None = None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._read_forever(), name="redis-event-reader"))
        if self._catch_up_seconds > 0:
            self._tasks.append(asyncio.create_task(self._catch_up_forever(), name="redis-event-catch-up"))
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self._publisher.close()
        await self._redis.aclose()

    async def check(self) -> None:
        """Redis answers PING and this process is subscribed to the channel."""
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await self._redis.ping()
        if not self._listening:
            raise BrokerUnavailable("not subscribed to the event channel")

    async def publish(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        missed = self._missed_from
        messages = [orjson.dumps(event) for event in events]
        if missed is not None:
            messages.insert(0, _resync_message(missed))
        try:
            await self._publisher.publish(self._channel_bytes, messages)
        except Exception as error:
            # The change is committed and its events are in the database: this process's
            # subscribers re-read them now, the other processes' once Redis is back.
            first = min(event["id"] for event in events)
            PUBLISH_FAILURES.inc()
            self._missed_from = first if self._missed_from is None else min(self._missed_from, first)
            log.warning("could not publish %d event(s) from id %d to Redis (%r): subscribers re-read them "
                        "from the database", len(events), first, error)
            self.hub.resync(first)
            return
        if missed is not None and self._missed_from == missed:
            self._missed_from = None

    async def publish_signal(self, topic: str, signal: dict[str, Any]) -> bool:
        """Publish on the signal channel, in the publisher's batches; a failure loses the signal (logged)."""
        try:
            await self._publisher.publish(self._signal_channel_bytes, [orjson.dumps({"topic": topic, "signal": signal})])
        except Exception as error:
            log.info("could not publish a signal to Redis (%r): it is lost", error)
            return False
        return True

    async def _announce_missed(self) -> None:
        """Tell every process to re-read from the lowest id whose publish failed (if any)."""
        missed = self._missed_from
        if missed is None:
            return
        try:
            await self._publisher.publish(self._channel_bytes, [_resync_message(missed)])
        except Exception as error:
            log.warning("could not announce the events missed from id %d (%r); will retry", missed, error)
            return
        if self._missed_from == missed:
            self._missed_from = None

    async def _read_forever(self) -> None:
        failures = 0
        while True:
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    # one SUBSCRIBE for both: Redis confirms each channel, both subscribed at once
                    await pubsub.subscribe(self._channel_bytes, self._signal_channel_bytes)
                connection = pubsub.connection
                assert connection is not None  # subscribe() connected it
                while True:
                    # The PubSub's connection is read directly: get_message's layers (health check,
                    # retry wrapper, a dict per message) cost 20-35 µs per event. A lost connection
                    # raises here and this loop makes a new PubSub (not redis-py's own reconnect).
                    reply = await connection.read_response(timeout=math.inf, push_request=True)
                    kind = reply[0] if isinstance(reply, list) and len(reply) == 3 else None
                    if kind in _MESSAGE:
                        if reply[1] in self._signal_channel_names:
                            self._receive_signal(reply[2])
                        else:
                            self._receive(reply[2])
                    elif kind in _SUBSCRIBE and reply[1] not in self._signal_channel_names:
                        # subscribed: whatever was committed while this process was not
                        # listening is read from the database
                        if failures:
                            log.warning("Redis subscription restored; subscribers catch up from the database")
                        failures = 0
                        self._listening = True
                        self._subscribed.set()
                        self.hub.resync()
                        await self._announce_missed()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                if failures == 1 or failures % 120 == 0:  # not once per attempt while Redis is down
                    log.warning("Redis subscription lost (%r); subscribing again every %s s (attempt %d)", error,
                                RESUBSCRIBE_DELAY_SECONDS, failures)
            finally:
                self._listening = False
                try:
                    await asyncio.shield(pubsub.aclose())
                except Exception:  # noqa: BLE001 - its connection is gone either way
                    log.debug("closing the PubSub failed", exc_info=True)
            await asyncio.sleep(RESUBSCRIBE_DELAY_SECONDS)

    def _receive(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
        except ValueError:  # orjson.JSONDecodeError is one
            log.warning("ignored a message on the event channel that is not JSON: %r", data[:200])
            return
        if RESYNC_FROM in message:
            self.hub.resync(int(message[RESYNC_FROM]))
        else:
            self.hub.deliver(message)

    def _receive_signal(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            topic, signal = message["topic"], message["signal"]
        except (ValueError, KeyError, TypeError):  # orjson.JSONDecodeError is a ValueError
            log.warning("ignored a message on the signal channel that is not a signal: %r", data[:200])
            return
        self.signals.deliver(topic, signal)

    async def _catch_up_forever(self) -> None:
        while True:
            await asyncio.sleep(self._catch_up_seconds)
            await self._announce_missed()
            self.hub.resync()


#: the broker that use cases publish to, for a scope (infrastructure/platform.py `Platform.in_use`)
_in_use: ContextVar[Broker | None] = ContextVar("broker_in_use", default=None)


def broker_in_use() -> Broker | None:
    """The broker of the platform in use here (None outside one: events are written, not published)."""
    return _in_use.get()


@contextmanager
def publishing_to(broker: Broker) -> Iterator[Broker]:
    """In this scope (and the tasks it starts), committed events are published to `broker`."""
    token = _in_use.set(broker)
    try:
        yield broker
    finally:
        _in_use.reset(token)


def make_broker(settings: Any) -> Broker:
    """The Redis broker when the settings name a Redis (URL or Sentinels), else the in-process one."""
    if not settings.uses_redis:
        return LocalBroker()
    # no socket_timeout (redis-py's default is 5 s): every use is bounded by its own (a publish
    # batch, PING, SUBSCRIBE), and redis-py's per-write timeout is one more task per publish
    client = redis_client(settings, socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS, socket_timeout=None)
    return RedisBroker(client, settings.redis_channel, catch_up_seconds=settings.event_catchup_seconds)
