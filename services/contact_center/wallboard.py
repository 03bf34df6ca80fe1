"""The wallboard: each queue's live figures, pushed when they change, at most once a second per queue.

Figures of one open channel (`QueueFigures`): chats QUEUED and ACTIVE in it, how long the oldest
queued chat has waited (from entering the queue: its first CHAT_QUEUED or CHAT_TRANSFERRED event
since it was last taken, as the statistics' queue wait; its creation without such an event), its
queue's members ONLINE and AWAY, its unfinished chats that missed a service-level target
(services/chats/sla.py) and when they were computed.

Computed once per process however many watch: `Wallboards` (one per event hub, `wallboards()`)
keeps one `ChannelFeed` per watched channel, a task that computes the channel's figures and hands
them to every watcher (`Watcher`: the newest figures of each channel not yet sent, so a slow
watcher skips figures, never a channel's newest, and holds no more than one per channel). The task recomputes when the broker delivers a queue event
of its channel (an OPERATOR_PRESENCE event or a resync: every channel), every second while a chat
waits (its wait grows), and every `refresh_seconds` for what no event announces (SLA breaches);
never twice within `throttle_seconds`: an event inside that second is folded into one computation
at its end. Watchers get only figures that differ from the last pushed (the time aside), each
watcher's first message the current figures of every channel it asked for. The task stops when
its last watcher leaves.

Who may watch which channel is the open channel policy's (`wallboard_channel_ids`); the figures
are counts with no chat content, computed with no viewer.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from infrastructure.broker import EventHub, Resync, SubscriberOverflow, broker_in_use
from services.chats import queue, sla
from services.common import raw_sql
from services.events.records import EventKind, record_of_wire
from services.identity.viewer import Viewer
from services.policies import open_channels as open_channel_policy
from services.common.transactions import default_connection

log = logging.getLogger("openchannels.wallboard")

THROTTLE_SECONDS = 1.0
REFRESH_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class QueueFigures:
    open_channel_id: int
    queued: int
    longest_wait_seconds: int
    active: int
    operators_online: int
    operators_away: int
    sla_breached: int
    at: datetime

    def same_as(self, other: QueueFigures | None) -> bool:
        """The same figures, whenever computed."""
        return other is not None and replace(other, at=self.at) == self


Compute = Callable[[list[int], datetime], Awaitable[dict[int, QueueFigures]]]
Sleep = Callable[[float], Awaitable[Any]]


def _placeholders(values: list[int], start: int = 1) -> str:
    return ", ".join(f"${start + i}" for i in range(len(values)))


async def queue_figures(channel_ids: list[int], now: datetime) -> dict[int, QueueFigures]:
    """The figures of these channels at `now`: two grouped statements and the SLA module's count."""
    tx = default_connection()
    ids = _placeholders(channel_ids)
    chats = await raw_sql.rows(tx, f"""
SELECT ch.open_channel_id AS channel, ch.status AS status, COUNT(*) AS n, MIN(COALESCE((
         SELECT MIN(e.created_at) FROM event e
         WHERE e.chat_id = ch.id AND e.kind IN ('CHAT_QUEUED', 'CHAT_TRANSFERRED') AND e.id > COALESCE((
           SELECT MAX(t.id) FROM event t WHERE t.chat_id = ch.id AND t.kind IN ('CHAT_ANSWERED', 'CHAT_INTERCEPTED')
         ), 0)), ch.created_at)) AS waiting_since
FROM chat ch
WHERE ch.open_channel_id IN ({ids}) AND ch.kind = 'CUSTOMER' AND ch.status IN ('QUEUED', 'ACTIVE')
GROUP BY ch.open_channel_id, ch.status""", *channel_ids)
    members = await raw_sql.rows(tx, f"""
SELECT qm.open_channel_id AS channel, o.status AS status, COUNT(*) AS n
FROM queue_member qm JOIN operator o ON o.id = qm.operator_id
WHERE qm.open_channel_id IN ({ids}) AND o.status IN ('ONLINE', 'AWAY')
GROUP BY qm.open_channel_id, o.status""", *channel_ids)
    breached = await sla.breached_unfinished_by_channel(channel_ids)
    counts: dict[tuple[int, str], int] = {}
    oldest: dict[int, datetime] = {}
    for row in chats:
        counts[(row["channel"], row["status"])] = int(row["n"])
        if row["status"] == "QUEUED" and row["waiting_since"] is not None:
            oldest[row["channel"]] = _moment(row["waiting_since"])
    for row in members:
        counts[(row["channel"], row["status"])] = int(row["n"])
    return {channel: QueueFigures(
        open_channel_id=channel, queued=counts.get((channel, "QUEUED"), 0),
        longest_wait_seconds=max(0, int((now - oldest[channel]).total_seconds())) if channel in oldest else 0,
        active=counts.get((channel, "ACTIVE"), 0), operators_online=counts.get((channel, "ONLINE"), 0),
        operators_away=counts.get((channel, "AWAY"), 0), sla_breached=breached.get(channel, 0), at=now,
    ) for channel in channel_ids}


def _moment(value: Any) -> datetime:
    """A timestamp as the driver returns it (SQLite: the text it stores)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass(eq=False)
class ChannelFeed:
    """One channel's computing task and its watchers' queues."""

    channel_id: int
    board: Wallboards
    watchers: set[Watcher] = field(default_factory=set)
    latest: QueueFigures | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        last: datetime | None = None
        while True:
            if last is not None:
                await self._until_something_changes()
                wait = (last - self.board.now()).total_seconds() + self.board.throttle_seconds
                if wait > 0:
                    await self.board.sleep(wait)
            if last is None:  # the first figures are read once the board's events arrive live
                await self.board.listening.wait()
            self.changed.clear()
            last = self.board.now()
            try:
                figures = (await self.board.compute([self.channel_id], last))[self.channel_id]
            except Exception as error:  # e.g. the database is unreachable: try again at the next round
                log.warning("wallboard figures of channel %s failed: %r", self.channel_id, error)
                continue
            self.board.computations += 1
            if not figures.same_as(self.latest):
                self.latest = figures
                for watcher in list(self.watchers):
                    watcher.offer(figures)
            self.ready.set()

    async def _until_something_changes(self) -> None:
        """An event of the channel, a second while a chat waits, or the refresh period."""
        period = self.board.throttle_seconds if self.latest is not None and self.latest.queued else \
            self.board.refresh_seconds
        changed = asyncio.ensure_future(self.changed.wait())
        timer = asyncio.ensure_future(self.board.sleep(period))
        try:
            await asyncio.wait({changed, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (changed, timer):
                waiting.cancel()


@dataclass(eq=False)
class Watcher:
    """One watcher's figures not yet sent: the newest of each channel (bounded by its channels: a
    watcher that cannot keep up skips figures, never a channel's newest)."""

    pending: dict[int, QueueFigures] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, figures: QueueFigures) -> None:
        self.pending[figures.open_channel_id] = figures
        self.wake.set()

    async def take(self) -> dict[int, QueueFigures]:
        while not self.pending:
            self.wake.clear()
            await self.wake.wait()
        taken, self.pending = self.pending, {}
        return taken


class Wallboards:
    """The wallboard feeds of one process (one per event hub)."""

    def __init__(self, hub: EventHub, *, compute: Compute = queue_figures, now: Callable[[], datetime] | None = None,
                 sleep: Sleep = asyncio.sleep, throttle_seconds: float = THROTTLE_SECONDS,
                 refresh_seconds: float = REFRESH_SECONDS, live: Callable[[], Awaitable[None]] | None = None) -> None:
        self.hub, self.compute, self.sleep = hub, compute, sleep
        #: the broker's `live()`: with Redis, the process subscribes to events while the hub has subscribers
        self._live = live
        #: the listener follows the hub and its events arrive live: a feed's first figures may be read
        self.listening = asyncio.Event()
        self._now = now
        self.throttle_seconds, self.refresh_seconds = throttle_seconds, refresh_seconds
        self.feeds: dict[int, ChannelFeed] = {}
        #: figures computed since the start (tests: two watchers cost one computation)
        self.computations = 0
        self._listener: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self._now() if self._now is not None else queue.now()

    async def watch(self, viewer: Viewer, open_channel_ids: list[int] | None,
                    current_viewer: Callable[[], Viewer] | None = None) -> AsyncGenerator[list[QueueFigures], None]:
        """The figures of the channels the viewer may watch (the policy's): first every one, then
        those that changed. `current_viewer`: who the viewer is now (a WebSocket's viewer follows
        its token): a viewer who may no longer watch a channel gets the policy's error instead of
        the next figures."""
        channel_ids = await open_channel_policy.wallboard_channel_ids(viewer, open_channel_ids)
        watcher = Watcher()
        feeds = [self._join(channel_id, watcher) for channel_id in channel_ids]
        try:
            for feed in feeds:
                await feed.ready.wait()
            watcher.pending.clear()  # what the feeds pushed meanwhile is in `latest` too
            yield [feed.latest for feed in feeds if feed.latest is not None]
            while True:
                changed = await watcher.take()
                now = current_viewer() if current_viewer is not None else viewer
                if now != viewer:
                    viewer = now
                    await open_channel_policy.wallboard_channel_ids(viewer, channel_ids)
                yield [changed[c] for c in channel_ids if c in changed]
        finally:
            for feed in feeds:
                self._leave(feed, watcher)

    def _join(self, channel_id: int, watcher: Watcher) -> ChannelFeed:
        feed = self.feeds.get(channel_id)
        if feed is None:
            feed = self.feeds[channel_id] = ChannelFeed(channel_id, self)
            feed.task = asyncio.get_running_loop().create_task(feed.run(), name=f"wallboard-{channel_id}")
        feed.watchers.add(watcher)
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="wallboard-events")
        return feed

    def _leave(self, feed: ChannelFeed, watcher: Watcher) -> None:
        feed.watchers.discard(watcher)
        if not feed.watchers and self.feeds.get(feed.channel_id) is feed:
            del self.feeds[feed.channel_id]
            if feed.task is not None:
                feed.task.cancel()
        if not self.feeds and self._listener is not None:
            self._listener.cancel()
            self._listener = None
            self.listening = asyncio.Event()

    async def _listen(self) -> None:
        """One hub subscription for every feed of the process: a queue event marks its channel's
        feed changed (the channel it left too, for a transfer: its own event names that one)."""
        while True:
            subscriber = self.hub.subscribe()
            try:
                if not self.listening.is_set():
                    if self._live is not None:
                        await self._live()
                    # no feed has read its figures yet (they wait for this): the re-read that a
                    # SUBSCRIBE asks for is what their first read does
                    subscriber.discard_resync()
                    self.listening.set()
                while True:
                    item = await subscriber.get()
                    event = None if isinstance(item, Resync) else record_of_wire(item)
                    if event is None or event.kind is EventKind.OPERATOR_PRESENCE:
                        for feed in list(self.feeds.values()):
                            feed.changed.set()
                    elif event.queue_kind is not None:
                        if (changed := self.feeds.get(event.open_channel_id or 0)) is not None:
                            changed.changed.set()
            except SubscriberOverflow:  # fell behind: recompute everything, then listen again
                for feed in list(self.feeds.values()):
                    feed.changed.set()
            finally:
                self.hub.unsubscribe(subscriber)

    async def close(self) -> None:
        tasks = [feed.task for feed in self.feeds.values() if feed.task is not None]
        if self._listener is not None:
            tasks.append(self._listener)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.feeds.clear()
        self._listener = None
        self.listening = asyncio.Event()


_BOARDS: weakref.WeakKeyDictionary[EventHub, Wallboards] = weakref.WeakKeyDictionary()


def wallboards() -> Wallboards:
    """The wallboards of this process (of the broker in use)."""
    broker = broker_in_use()
    if broker is None:
        raise RuntimeError("no broker in use: watch wallboards inside Platform.in_use() (infrastructure/platform.py)")
    board = _BOARDS.get(broker.hub)
    if board is None:
        board = _BOARDS[broker.hub] = Wallboards(broker.hub, live=broker.live)
    return board


async def watch(viewer: Viewer, open_channel_ids: list[int] | None,
                current_viewer: Callable[[], Viewer] | None = None) -> AsyncIterator[list[QueueFigures]]:
    """The `wallboard` subscription: this process's shared feeds."""
    async with contextlib.aclosing(wallboards().watch(viewer, open_channel_ids, current_viewer)) as figures:
        async for found in figures:
            yield found
