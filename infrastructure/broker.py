"""The event broker: carries committed events to the subscriptions of every server process.

Events are written to the database in the transaction that makes the change (the source of
truth, replayed by `after`); the broker only carries them live. Each process holds ONE hub
that fans events out to bounded per-subscriber queues in memory; with Redis, the process
also holds ONE redis-py PubSub feeding that hub (one Redis subscription per GraphQL
subscription would exhaust the connection pool, 100 connections in redis-py 8, each PubSub
holding one, and is several times slower). That PubSub is subscribed to the event channel only
while the hub has subscribers: a process that serves nobody receives no event.

Beside events the broker carries ephemeral signals (someone is typing: infrastructure/signals.py):
no id, no database, no replay, no gap logic; with Redis on a second channel `<channel>:signals`
read by the same PubSub.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import redis.asyncio as redis
from redis.asyncio.connection import AbstractConnection

from infrastructure.metrics import EVENTS_RECEIVED, PUBLISH_FAILURES, observe_event_delivery
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

    def discard_resync(self) -> None:
        """Forget a pending re-read request: the follower has read nothing from the database yet,
        so its first read covers whatever the request was about."""
        self._resync = None

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

    def __init__(self, gap_wait_seconds: float = GAP_WAIT_SECONDS,
                 on_demand_changed: Callable[[], None] | None = None) -> None:
        self._subscribers: set[Subscriber] = set()
        #: called when the hub gains its first subscriber or loses its last (the Redis broker
        #: subscribes to the event channel only while this process has subscribers)
        self._on_demand_changed = on_demand_changed
        self._gap_wait_seconds = gap_wait_seconds
        #: the id the next event should have (None until the first event)
        self._next_id: int | None = None
        self._held: dict[int, dict[str, Any]] = {}
        self._gap_timer: asyncio.TimerHandle | None = None

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        if len(self._subscribers) == 1 and self._on_demand_changed is not None:
            self._on_demand_changed()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.discard(subscriber)
            if not self._subscribers and self._on_demand_changed is not None:
                self._on_demand_changed()

    def forget_order(self) -> None:
        """Live delivery stopped (this process no longer listens): the next event starts a new
        sequence instead of waiting for every id in between."""
        self._next_id = None
        self._held.clear()
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

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
                self.unsubscribe(subscriber)
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
    async def live(self, signals: bool = False) -> None:
        """Return once the events (`signals`: the signals) published from now on reach this
        process's hub (a subscriber of the hub calls it before it reads the database; bounded:
        Redis may be down)."""
        ...
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

    async def live(self, signals: bool = False) -> None:
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
#: a process whose hub lost its last subscriber stays subscribed to the event channel this long
#: (a client that reconnects, or the next page's subscription, costs no SUBSCRIBE and no re-read)
UNSUBSCRIBE_AFTER_SECONDS = 10.0
#: the signal channel is the event channel's name with this suffix (infrastructure/signals.py)
SIGNAL_CHANNEL_SUFFIX = ":signals"


#: the first element of a message, and of a subscription's confirmation, on the PubSub connection
#: (str when the URL asks for decode_responses)
_MESSAGE = (b"message", "message")
_SUBSCRIBE = (b"subscribe", "subscribe")
_UNSUBSCRIBE = (b"unsubscribe", "unsubscribe")


def _resync_message(from_id: int) -> bytes:
    return orjson.dumps({RESYNC_FROM: from_id})


class RedisBroker:
    """Several processes or machines: events travel over one Redis pub/sub channel.

    A process's own events come back to it through Redis too, so every process sees one
    order of delivery and nothing is delivered twice. The broker owns `client` (made by
    infrastructure/redis_client.py: a URL, or the master named by Sentinels): publishes go
    through one connection of its pool (infrastructure/redis_publisher.py), the channel is read
    through ONE PubSub connection, and PING uses the pool.

    Subscribed only while needed: the PubSub connection is held from start, but SUBSCRIBEs to
    the event channel only while this process's hub has a subscriber (and `unsubscribe_after_seconds`
    after its last one left: a client that comes back soon costs no SUBSCRIBE and no re-read),
    and to the signal channel only while its signal hub has one. A process that serves no
    subscriber receives nothing: Redis sends it no event, so it parses and decodes none (with
    two processes, each used to receive every event of the other). A subscriber of the hub
    calls `live()` before it reads the database: it returns once the SUBSCRIBE is confirmed, so
    whatever is committed after the read arrives live.

    Failures: a publish that fails is logged, never raised (the change is committed and its
    events are in the database). This process's subscribers then re-read the database at once,
    and the lowest id that could not be published is announced on the channel as soon as Redis
    answers again, so every process's subscribers re-read from it. Whenever the event channel
    is subscribed (on a first subscriber, and again by this loop 0.5 s after its connection was
    lost), this process's subscribers re-read what was committed while it was not listening.
    With Sentinel, a new connection goes to the master the Sentinels name then: after a
    failover the broker subscribes to the promoted replica, and the re-read brings what was
    committed during it. With `catch_up_seconds` > 0 subscribers also re-read periodically: the
    safety net for an event whose process died between its commit and its publish.
    """

    def __init__(self, client: redis.Redis, channel: str, *, catch_up_seconds: float = 0.0,
                 unsubscribe_after_seconds: float = UNSUBSCRIBE_AFTER_SECONDS) -> None:
        self.hub = EventHub(on_demand_changed=self._event_demand_changed)
        self.signals = SignalHub(on_demand_changed=self._schedule_sync)
        self._redis = client
        self._channel_bytes = channel.encode()
        #: the event channel as a reply names it (str when the URL asks for decode_responses)
        self._channel_names = (self._channel_bytes, channel)
        self._signal_channel_bytes = (channel + SIGNAL_CHANNEL_SUFFIX).encode()
        self._signal_channel_names = (self._signal_channel_bytes, channel + SIGNAL_CHANNEL_SUFFIX)
        self._publisher = Publisher(client, timeout=PUBLISH_TIMEOUT_SECONDS)
        self._catch_up_seconds = catch_up_seconds
        self._unsubscribe_after = unsubscribe_after_seconds
        self._tasks: list[asyncio.Task] = []
        self._connected = asyncio.Event()
        #: the PubSub connection while it is up (SUBSCRIBE and UNSUBSCRIBE are written to it)
        self._connection: AbstractConnection | None = None
        #: channels a SUBSCRIBE was written for on that connection (and no UNSUBSCRIBE since)
        self._sent: set[bytes] = set()
        self._sync_lock = asyncio.Lock()
        self._syncing: set[asyncio.Task] = set()
        #: the hub's last subscriber left less than `unsubscribe_after_seconds` ago
        self._lingering: asyncio.TimerHandle | None = None
        #: channels whose SUBSCRIBE Redis confirmed (and no UNSUBSCRIBE since): what is published there arrives
        self._confirmed: set[bytes] = set()
        self._live_waiters: list[tuple[bytes, asyncio.Future]] = []
        #: lowest event id whose publish failed and that no other process has been told about
        self._missed_from: int | None = None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._read_forever(), name="redis-event-reader"))
        if self._catch_up_seconds > 0:
            self._tasks.append(asyncio.create_task(self._catch_up_forever(), name="redis-event-catch-up"))
        await asyncio.wait_for(self._connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingering = None
        for task in [*self._tasks, *self._syncing]:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self._publisher.close()
        await self._redis.aclose()

    async def check(self) -> None:
        """Redis answers PING and this process's PubSub connection is up."""
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await self._redis.ping()
        if self._connection is None:
            raise BrokerUnavailable("not connected to the event channel")

    async def live(self, signals: bool = False) -> None:
        """Wait (at most SUBSCRIBE_TIMEOUT_SECONDS) for the SUBSCRIBE of the event channel (of the
        signal channel: `signals`) to be confirmed; at once when it is, when nothing here needs
        the channel, or when Redis is not connected (events: the confirmation, when it comes,
        makes every subscriber re-read)."""
        channel = self._signal_channel_bytes if signals else self._channel_bytes
        if channel in self._confirmed or self._connection is None or channel not in self._wanted():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._live_waiters.append((channel, waiter))
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await waiter
        except TimeoutError:
            log.warning("the Redis channel %r was not subscribed within %s s", channel, SUBSCRIBE_TIMEOUT_SECONDS)
        finally:
            self._live_waiters = [(c, w) for c, w in self._live_waiters if w is not waiter]

    @property
    def listening(self) -> bool:
        """Whether this process is subscribed to the event channel now."""
        return self._channel_bytes in self._confirmed

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

    # ------------------------------------------------------------------ what is subscribed

    def _event_demand_changed(self) -> None:
        """The hub gained its first subscriber or lost its last."""
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingering = None
        if self.hub.subscriber_count == 0 and self._unsubscribe_after > 0:
            try:
                self._lingering = asyncio.get_running_loop().call_later(self._unsubscribe_after, self._linger_ended)
            except RuntimeError:  # no loop running (a test's hub): nothing is subscribed either
                pass
            return
        self._schedule_sync()

    def _linger_ended(self) -> None:
        self._lingering = None
        self._schedule_sync()

    def _wanted(self) -> set[bytes]:
        wanted = set()
        if self.hub.subscriber_count or self._lingering is not None:
            wanted.add(self._channel_bytes)
        if self.signals.subscriber_count:
            wanted.add(self._signal_channel_bytes)
        return wanted

    def _schedule_sync(self) -> None:
        """SUBSCRIBE or UNSUBSCRIBE what the hubs need now (the reader does it on connecting)."""
        if self._connection is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._sync_channels(), name="redis-event-subscriptions")
        except RuntimeError:
            return
        self._syncing.add(task)
        task.add_done_callback(self._syncing.discard)

    async def _sync_channels(self) -> None:
        async with self._sync_lock:
            connection = self._connection
            if connection is None:
                return
            wanted = self._wanted()
            add, drop = sorted(wanted - self._sent), sorted(self._sent - wanted)
            try:  # the replies come to the reader (_read_forever): written here, read there
                if add:
                    await connection.send_command("SUBSCRIBE", *add, check_health=False)
                if drop:
                    await connection.send_command("UNSUBSCRIBE", *drop, check_health=False)
            except Exception as error:  # noqa: BLE001 - the reader sees the connection fail and starts over
                log.debug("could not change the event subscriptions (%r)", error)
                return
            if connection is self._connection:
                self._sent = (self._sent | set(add)) - set(drop)

    def _settle_live_waiters(self, channel: bytes | None = None) -> None:
        """Wake whoever waits for `channel` (None: everyone: the connection is gone)."""
        settled = [(c, w) for c, w in self._live_waiters if channel is None or c == channel]
        self._live_waiters = [(c, w) for c, w in self._live_waiters if channel is not None and c != channel]
        for _, waiter in settled:
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------ reading

    async def _read_forever(self) -> None:
        failures = 0
        while True:
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    await pubsub.connect()
                connection = pubsub.connection
                assert connection is not None  # connect() connected it
                async with self._sync_lock:
                    self._connection, self._sent = connection, set()
                if failures:
                    log.warning("Redis connection for events restored; subscribers catch up from the database")
                failures = 0
                self._connected.set()
                await self._sync_channels()  # what the hubs need now; later changes are written as they come
                await self._announce_missed()
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
                    elif kind in _SUBSCRIBE or kind in _UNSUBSCRIBE:
                        events = reply[1] in self._channel_names
                        channel = self._channel_bytes if events else self._signal_channel_bytes
                        if kind in _SUBSCRIBE:
                            self._confirmed.add(channel)
                            if events:
                                # subscribed: whatever was committed while this process was not
                                # listening is read from the database
                                self.hub.resync()
                            self._settle_live_waiters(channel)
                            if events:
                                await self._announce_missed()
                        else:
                            self._confirmed.discard(channel)
                            if events:  # no event comes after this reply: the next one starts a new sequence
                                self.hub.forget_order()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                if failures == 1 or failures % 120 == 0:  # not once per attempt while Redis is down
                    log.warning("Redis subscription lost (%r); subscribing again every %s s (attempt %d)", error,
                                RESUBSCRIBE_DELAY_SECONDS, failures)
            finally:
                self._confirmed.clear()
                self._connection = None
                self._connected.clear()
                self._settle_live_waiters()
                try:
                    await asyncio.shield(pubsub.aclose())
                except Exception:  # noqa: BLE001 - its connection is gone either way
                    log.debug("closing the PubSub failed", exc_info=True)
            await asyncio.sleep(RESUBSCRIBE_DELAY_SECONDS)

    def _receive(self, data: bytes) -> None:
        EVENTS_RECEIVED.inc()
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


def publishing_to(broker: Broker) -> AbstractContextManager[Broker]:
    """In this scope (and the tasks it starts), committed events are published to `broker`.
    Every request enters one (openchannels/app.py `PlatformInUse`): a class, not a contextlib
    generator, so no generator and wrapper per request."""
    return _Publishing(broker)


class _Publishing:
    __slots__ = ("broker", "token")

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def __enter__(self) -> Broker:
        self.token = _in_use.set(self.broker)
        return self.broker

    def __exit__(self, *_: object) -> None:
        _in_use.reset(self.token)


def make_broker(settings: Any) -> Broker:
    """The Redis broker when the settings name a Redis (URL or Sentinels), else the in-process one."""
    if not settings.uses_redis:
        return LocalBroker()
    # no socket_timeout (redis-py's default is 5 s): every use is bounded by its own (a publish
    # batch, PING, SUBSCRIBE), and redis-py's per-write timeout is one more task per publish
    client = redis_client(settings, socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS, socket_timeout=None)
    return RedisBroker(client, settings.redis_channel, catch_up_seconds=settings.event_catchup_seconds)
