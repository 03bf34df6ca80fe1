"""Ephemeral signals (someone is typing): live only, never stored, never replayed.

Events (infrastructure/broker.py) are the database's rows carried live, with ids, gap detection
and a re-read when live delivery may have missed some. A signal has none of that: it matters
for a few seconds, so a signal that is lost stays lost. The broker carries signals beside its
events (`Broker.publish_signal`: in-process, or a second Redis channel on the same PubSub) into
this process's `SignalHub`, which hands each one to the subscribers of its topic (e.g. one chat),
through bounded queues: a subscriber that cannot keep up loses signals, and nothing else.

`SignalBudget` counts signals per sender in memory (a token bucket per key): the use case
decides the key and the rate (services/chats/typing.py).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: signals a subscriber may have waiting; more are dropped (a signal is only worth its freshness)
SIGNAL_QUEUE_SIZE = 64


class SignalSubscriber:
    """What one subscription receives of one topic; `dropped` counts the signals it lost."""

    def __init__(self, topic: str, maxsize: int = SIGNAL_QUEUE_SIZE) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0
        #: a get() waits for the next signal (all before it were taken and handled)
        self.waiting = False

    async def get(self) -> dict[str, Any]:
        self.waiting = True
        try:
            return await self.queue.get()
        finally:
            self.waiting = False

    @property
    def idle(self) -> bool:
        """Every signal received was taken, and the subscription waits for the next."""
        return self.waiting and self.queue.empty()


class SignalHub:
    """Fan-out of signals to the subscribers of their topic in this process."""

    def __init__(self, on_demand_changed: Callable[[], None] | None = None) -> None:
        self._topics: dict[str, set[SignalSubscriber]] = {}
        #: called when the hub gains its first subscriber or loses its last (the Redis broker
        #: subscribes to the signal channel only while this process has signal subscribers)
        self._on_demand_changed = on_demand_changed

    def subscribe(self, topic: str, maxsize: int = SIGNAL_QUEUE_SIZE) -> SignalSubscriber:
        subscriber = SignalSubscriber(topic, maxsize)
        first = not self._topics
        self._topics.setdefault(topic, set()).add(subscriber)
        if first and self._on_demand_changed is not None:
            self._on_demand_changed()
        return subscriber

    def unsubscribe(self, subscriber: SignalSubscriber) -> None:
        subscribers = self._topics.get(subscriber.topic)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._topics[subscriber.topic]
            if not self._topics and self._on_demand_changed is not None:
                self._on_demand_changed()

    def deliver(self, topic: str, signal: dict[str, Any]) -> None:
        """Hand `signal` to the topic's subscribers; a full queue loses it (never blocks, never grows)."""
        for subscriber in self._topics.get(topic, ()):
            try:
                subscriber.queue.put_nowait(signal)
            except asyncio.QueueFull:
                subscriber.dropped += 1

    def subscribers_of(self, topic: str) -> list[SignalSubscriber]:
        return list(self._topics.get(topic, ()))

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._topics.values())


@dataclass
class _Bucket:
    tokens: float
    at: float


class SignalBudget:
    """How many signals a key (a sender in a chat) may still send: a token bucket per key, in memory.

    `take(key, per_second=3, burst=3)`: True and one token spent, or False (over the budget). A
    bucket refills at `per_second` up to `burst`; a full one is forgotten (the memory holds only
    the keys that sent recently). Per process: with several processes a sender who switches
    between them may send a little more.
    """

    #: forget full buckets once this many keys are held
    SWEEP_ABOVE = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[Any, _Bucket] = {}

    def take(self, key: Any, *, per_second: float, burst: int) -> bool:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.SWEEP_ABOVE:
                self._sweep(now, per_second, burst)
            bucket = self._buckets[key] = _Bucket(float(burst), now)
        else:
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * per_second)
            bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _sweep(self, now: float, per_second: float, burst: int) -> None:
        full_after = burst / per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full_after}

    def __len__(self) -> int:
        return len(self._buckets)
