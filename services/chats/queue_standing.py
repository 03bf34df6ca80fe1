"""The visitor's place in the queue, live: `Chat.queuePosition` and `Chat.estimatedWaitSeconds` of
their waiting chat, sent as they change (the `visitorQueue` subscription).

Like typing (services/chats/typing_signals.py) it is not stored and not replayed: a standing is
worth its freshness. Unlike typing nothing publishes it: it derives from the queue events every
process receives from the broker (a chat queued, answered, transferred, finished, closed, its
priority changed, moved by a no-answer rule), so it works across processes as events do.

Cost: ONE `QueueWatch` per process (per broker) follows the events with one hub subscription.
An event of a channel that has followed chats makes it compute that channel's queue once
(services/chats/waiting.py `channel_queue`: two statements, whatever the number of waiting chats
and subscribers), at most once every `throttle_seconds` per channel (QUEUE_POSITION_THROTTLE_SECONDS;
events inside the window are folded into one computation at its end), and hand each followed
chat's standing to its subscribers, who pass on only a change. A chat is followed in one channel
at a time (its own), so a subscriber gets at most one standing per window.

What holds:
- the first standing is the current one (computed at subscribe time, for that subscriber);
- computations of one channel run one at a time, so a subscriber never gets an older standing
  after a newer one;
- a chat that is not waiting (answered, or moved to an operator's hands) has a null position and
  estimate; the stream goes on (a transfer may bring it back to a queue) and ends when the chat is
  closed (CLOSED or SPAM), after a last null standing;
- `estimatedWaitSeconds` is as of `at`: between two events a widget counts it down itself.
"""
from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from infrastructure.broker import Broker, EventHub, Resync, Subscriber, SubscriberOverflow
from models import Chat, ChatStatus
from services.chats import queue, waiting
from services.chats.visitors import visitor_chat
from services.common.errors import Forbidden, NotFound
from services.events.records import EventRecord, QueueEventKind, record_of_wire
from services.identity.viewer import Viewer, require_signed_in
from services.policies import chats as chat_policy

log = logging.getLogger("openchannels.queue_standing")

#: the default of QUEUE_POSITION_THROTTLE_SECONDS
THROTTLE_SECONDS = 2.0
#: how long a subscription trusts its check that the viewer may see the chat
RECHECK_SECONDS = 5.0
#: the queue events that may move a chat's position or its channel's estimate (an offer, a skip,
#: a pin or a new title move nothing)
MOVING = frozenset({
    QueueEventKind.CHAT_QUEUED, QueueEventKind.CHAT_ANSWERED, QueueEventKind.CHAT_TRANSFERRED,
    QueueEventKind.CHAT_INTERCEPTED, QueueEventKind.CHAT_FINISHED, QueueEventKind.CHAT_SPAM,
    QueueEventKind.CHAT_AUTO_CLOSED, QueueEventKind.PRIORITY_CHANGED, QueueEventKind.CHAT_NO_ANSWER,
})
#: a chat in these states has left for good: its stream ends
ENDED = frozenset({ChatStatus.CLOSED, ChatStatus.SPAM})


@dataclass(frozen=True, slots=True)
class QueueStanding:
    """Where one chat stands at `at`: `queue_position` 1 = next, both None unless it waits."""

    chat_id: int
    queue_position: int | None
    estimated_wait_seconds: int | None
    at: datetime
    #: the chat is closed: the last standing of its stream
    ended: bool = False

    @property
    def figures(self) -> tuple[int | None, int | None, bool]:
        """What a subscriber compares to say whether it changed."""
        return self.queue_position, self.estimated_wait_seconds, self.ended

    @classmethod
    def of(cls, chat_id: int, found: waiting.ChannelQueue | None) -> QueueStanding:
        if found is None:
            return cls(chat_id, None, None, queue.now())
        return cls(chat_id, found.position_of(chat_id), found.estimate_of(chat_id), queue.now())


class Cancellable(Protocol):
    def cancel(self) -> Any: ...


#: schedules a call after a delay in seconds (the event loop's `call_later`; a test's own)
CallLater = Callable[[float, Callable[[], None]], Cancellable]


class StandingWatcher:
    """One subscription's chat: the latest standing it has not taken yet (a newer one replaces it)."""

    def __init__(self, chat_id: int, channel_id: int | None) -> None:
        self.chat_id = chat_id
        #: the queue the chat is in (it moves with a transfer); None: in none
        self.channel_id = channel_id
        self._latest: QueueStanding | None = None
        self._ready = asyncio.Event()
        #: the chat was closed: nothing replaces its last standing (a computation that read before)
        self.ended = False

    def offer(self, standing: QueueStanding) -> None:
        if self.ended:
            return
        self.ended = standing.ended
        self._latest = standing
        self._ready.set()

    async def next(self) -> QueueStanding:
        await self._ready.wait()
        self._ready.clear()
        standing, self._latest = self._latest, None
        assert standing is not None  # set with the event
        return standing


@dataclass
class _Channel:
    """What the watch keeps of one channel with followed chats."""

    watchers: set[StandingWatcher] = field(default_factory=set)
    #: one computation at a time (in order: never an older standing after a newer one)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: when the last computation for every watcher began (the clock's seconds); None: never
    computed_at: float | None = None
    #: a computation is due (scheduled, or waiting for the lock): more events fold into it
    due: bool = False
    timer: Cancellable | None = None


class QueueWatch:
    """This process's computation of the standings of followed chats, from the broker's events."""

    def __init__(self, hub: EventHub, *, throttle_seconds: float = THROTTLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, call_later: CallLater | None = None,
                 live: Callable[[], Awaitable[None]] | None = None) -> None:
        self._hub = hub
        #: the broker's `live()`: with Redis, the process subscribes to events while the hub has subscribers
        self._live = live
        #: done once the hub subscription's events arrive live (the first read of a chat waits for it)
        self._live_now: asyncio.Future[None] | None = None
        self.throttle_seconds = throttle_seconds
        self._clock = clock
        self._call_later = call_later
        self._channels: dict[int, _Channel] = {}
        self._by_chat: dict[int, set[StandingWatcher]] = {}
        self._follower: asyncio.Task[None] | None = None
        self._subscriber: Subscriber | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: computations run for every watcher of a channel (not the first standing of one subscriber)
        self.computations = 0
        #: queue events taken that may move a position
        self.taken = 0
        #: subscriptions reading their chat (the events are followed for them already)
        self._reading = 0

    # ------------------------------------------------------------------ subscribers

    async def watch(self, read_chat: Callable[[], Awaitable[Chat]]) -> StandingWatcher:
        """Follow the chat `read_chat` reads (through the viewer's policy); its current standing is
        the watcher's first. The events are followed BEFORE the chat is read, so none after the read
        is missed (a transfer or a close in between)."""
        if self._follower is None:
            self._subscriber = self._hub.subscribe()
            self._follower = asyncio.create_task(self._follow(self._subscriber), name="queue-standing")
            self._live_now = asyncio.ensure_future(self._become_live(self._subscriber))
        self._reading += 1
        try:
            if self._live_now is not None:
                await asyncio.shield(self._live_now)
            chat = await read_chat()
        except BaseException:
            self._reading -= 1
            if self._idle:  # refused (not a visitor, no chat): nobody else follows anything here
                self.stop()
            raise
        self._reading -= 1
        watcher = StandingWatcher(chat.id, chat.open_channel_id)
        self._by_chat.setdefault(chat.id, set()).add(watcher)
        if chat.status in ENDED:
            watcher.offer(QueueStanding(chat.id, None, None, queue.now(), ended=True))
            return watcher
        if chat.open_channel_id is None:
            watcher.offer(QueueStanding.of(chat.id, None))
            return watcher
        channel = self._channels.setdefault(chat.open_channel_id, _Channel())
        channel.watchers.add(watcher)
        try:
            async with channel.lock:
                watcher.offer(QueueStanding.of(chat.id, await waiting.channel_queue(chat.open_channel_id)))
        except BaseException:  # e.g. the database is unreachable: the subscription fails, and leaves nothing here
            self.unwatch(watcher)
            raise
        return watcher

    def unwatch(self, watcher: StandingWatcher) -> None:
        watchers = self._by_chat.get(watcher.chat_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._by_chat[watcher.chat_id]
        self._leave_channel(watcher)
        if self._idle:
            self.stop()

    async def _become_live(self, subscriber: Subscriber) -> None:
        if self._live is not None:
            await self._live()
        # nothing was read yet (every watcher waits for this): the SUBSCRIBE's re-read is their first read
        subscriber.discard_resync()

    @property
    def _idle(self) -> bool:
        return not self._by_chat and not self._reading

    def stop(self) -> None:
        """Nobody follows a chat here any more: the hub subscription and the timers go."""
        for channel in self._channels.values():
            if channel.timer is not None:
                channel.timer.cancel()
        self._channels.clear()
        if self._live_now is not None:
            self._live_now.cancel()
            self._live_now = None
        if self._follower is not None:
            self._follower.cancel()
            self._follower = None
        if self._subscriber is not None:
            self._hub.unsubscribe(self._subscriber)
            self._subscriber = None

    @property
    def watcher_count(self) -> int:
        return sum(len(w) for w in self._by_chat.values())

    def _leave_channel(self, watcher: StandingWatcher) -> None:
        if watcher.channel_id is None:
            return
        channel = self._channels.get(watcher.channel_id)
        if channel is None:
            return
        channel.watchers.discard(watcher)
        if not channel.watchers and not channel.lock.locked():
            if channel.timer is not None:
                channel.timer.cancel()
            del self._channels[watcher.channel_id]

    # ------------------------------------------------------------------ events

    async def _follow(self, subscriber: Subscriber) -> None:
        while True:
            try:
                item = await subscriber.get()
            except SubscriberOverflow:  # too many events at once: start over, every channel looks again
                self._hub.unsubscribe(subscriber)
                subscriber = self._subscriber = self._hub.subscribe()
                item = Resync()
            if isinstance(item, Resync):  # events may have been missed: every channel looks again
                for channel_id in list(self._channels):
                    self.changed(channel_id)
                continue
            try:
                self.take(record_of_wire(item))
            except Exception:  # one bad event must not stop every visitor's stream
                log.exception("queue standing: event %s not taken", item.get("id"))

    def take(self, event: EventRecord) -> None:
        """A committed event: a chat followed here moved or ended; a channel followed here has a new queue."""
        if event.queue_kind not in MOVING:
            return
        self.taken += 1
        state = event.state
        if event.chat_id is not None and state is not None and event.chat_id in self._by_chat:
            for watcher in list(self._by_chat[event.chat_id]):
                if state.status in ENDED:
                    self._leave_channel(watcher)
                    watcher.channel_id = None
                    watcher.offer(QueueStanding(event.chat_id, None, None, queue.now(), ended=True))
                elif state.open_channel_id != watcher.channel_id:  # transferred: it follows its new queue
                    self._leave_channel(watcher)
                    watcher.channel_id = state.open_channel_id
                    if state.open_channel_id is not None:
                        self._channels.setdefault(state.open_channel_id, _Channel()).watchers.add(watcher)
                    else:
                        watcher.offer(QueueStanding.of(event.chat_id, None))
        for channel_id in {event.open_channel_id, state.open_channel_id if state is not None else None}:
            if channel_id is not None:
                self.changed(channel_id)

    def changed(self, channel_id: int) -> None:
        """The channel's queue may have moved: compute it now, or at the end of its throttle window."""
        channel = self._channels.get(channel_id)
        if channel is None or channel.due:
            return
        channel.due = True
        wait = 0.0 if channel.computed_at is None else channel.computed_at + self.throttle_seconds - self._clock()
        if wait <= 0:
            self._compute_now(channel_id)
        else:
            call_later = self._call_later or asyncio.get_running_loop().call_later
            channel.timer = call_later(wait, lambda: self._compute_now(channel_id))

    def _compute_now(self, channel_id: int) -> None:
        task = asyncio.create_task(self._compute(channel_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compute(self, channel_id: int) -> None:
        channel = self._channels.get(channel_id)
        if channel is None:
            return
        async with channel.lock:
            channel.due, channel.timer = False, None
            channel.computed_at = self._clock()
            self.computations += 1
            try:
                found = await waiting.channel_queue(channel_id)
            except Exception:  # e.g. the database is unreachable: the next event tries again
                log.warning("the queue of open channel %s could not be read", channel_id, exc_info=True)
                return
            for watcher in list(channel.watchers):
                watcher.offer(QueueStanding.of(watcher.chat_id, found))
        if not channel.watchers and self._channels.get(channel_id) is channel and not channel.due:
            del self._channels[channel_id]

    async def settled(self) -> None:
        """Every computation started has ended (for tests: the events taken so far are handed out)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))


#: the watch of each broker: one per process (a test's platform has its own broker)
_WATCHES: weakref.WeakKeyDictionary[Any, QueueWatch] = weakref.WeakKeyDictionary()


def watch_of(broker: Broker, *, throttle_seconds: float = THROTTLE_SECONDS) -> QueueWatch:
    """This process's watch of the broker's events (made on first use)."""
    watch = _WATCHES.get(broker)
    if watch is None:
        watch = _WATCHES[broker] = QueueWatch(broker.hub, throttle_seconds=throttle_seconds, live=broker.live)
    return watch


async def followed_chat(viewer: Viewer) -> Chat:
    """The visitor's own current chat (the open one, else the latest): the one whose standing they follow."""
    require_signed_in(viewer)
    if not viewer.is_visitor:
        raise Forbidden("visitorQueue follows a visitor's own waiting chat: it needs the visitor token from "
                        "startVisitorChat (operators read Chat.queuePosition, or follow queueChanged).")
    chat = await visitor_chat(viewer)
    if chat is None:
        raise NotFound("You have no chat yet: send a message to start one.")
    return chat


async def follow_queue_standing(viewer: Viewer, *, watch: QueueWatch,
                                current_viewer: Callable[[], Viewer] | None = None,
                                clock: Callable[[], float] = time.monotonic) -> AsyncGenerator[QueueStanding, None]:
    """The standing of the visitor's chat: the current one first, then each change; it ends after
    the chat's last standing (closed). A viewer who may no longer see the chat (checked at most every
    RECHECK_SECONDS, and whenever the WebSocket's viewer changed) receives nothing more."""
    watcher = await watch.watch(lambda: followed_chat(viewer))
    checked, may_see, checked_at = viewer, True, clock()
    sent: tuple[int | None, int | None, bool] | None = None
    try:
        while True:
            standing = await watcher.next()
            now = current_viewer() if current_viewer is not None else viewer
            if now != checked or clock() - checked_at >= RECHECK_SECONDS:
                checked, may_see, checked_at = now, await chat_policy.can_read(now, watcher.chat_id), clock()
            if not may_see:
                return
            if standing.figures != sent:
                sent = standing.figures
                yield standing
            if standing.ended:
                return
    finally:
        watch.unwatch(watcher)
