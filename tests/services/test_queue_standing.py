"""The visitor's place in the queue, live (services/chats/queue_standing.py): the current standing
first, then each change as the queue moves (answers, priorities, transfers, the chat answered and
closed), computed once per channel per throttle window for every follower (an injected clock and
timers: no test waits for the window), and only for the visitor's own chat.

On both backends: on PostgreSQL the events come through Redis, as between server processes."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from contextlib import suppress
from datetime import timedelta

import pytest

from models import Chat, ChatPriority, OperatorRole, OperatorStatus
from services.chats import chats, priorities, visitors
from services.chats.queue_standing import QueueStanding, QueueWatch, follow_queue_standing
from services.common.errors import Forbidden, NotFound
from services.identity.viewer import Viewer
from tests.factories import make_open_channel, make_operator, start_chat

#: what a follower's queue holds after the stream ended
ENDED = "ended"


class Follower:
    """Reads a stream into a queue as it comes (a subscriber that is always reading)."""

    def __init__(self, stream: AsyncGenerator[QueueStanding, None]) -> None:
        self.stream = stream
        self.received: asyncio.Queue[QueueStanding | str] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for standing in self.stream:
                await self.received.put(standing)
        finally:
            await self.received.put(ENDED)

    async def next(self, timeout: float = 5.0) -> QueueStanding | str:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def figures(self) -> tuple[int | None, int | None]:
        standing = await self.next()
        assert isinstance(standing, QueueStanding), standing
        return standing.queue_position, standing.estimated_wait_seconds

    async def close(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task
        await self.stream.aclose()


class ManualTimers:
    """The watch's monotonic clock and its timers, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pending: list[tuple[float, Callable[[], None], list[bool]]] = []

    def clock(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> "ManualTimers._Handle":
        cancelled = [False]
        self.pending.append((self.now + delay, callback, cancelled))
        return self._Handle(cancelled)

    class _Handle:
        def __init__(self, cancelled: list[bool]) -> None:
            self._cancelled = cancelled

        def cancel(self) -> None:
            self._cancelled[0] = True

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [p for p in self.pending if p[0] <= self.now]
        self.pending = [p for p in self.pending if p[0] > self.now]
        for _, callback, cancelled in due:
            if not cancelled[0]:
                callback()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for something the watch does when an event arrives (through Redis on PostgreSQL)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the watch did not take the event"
        await asyncio.sleep(0.01)


def follow(visitor: Viewer, watch: QueueWatch) -> Follower:
    return Follower(follow_queue_standing(visitor, watch=watch))


async def waiting_since(chat_id: int, clock, seconds: int) -> None:
    await Chat.filter(id=chat_id).update(created_at=clock.now - timedelta(seconds=seconds))


async def test_the_visitor_sees_their_place_move_with_answers_priorities_and_transfers(db, clock, broker):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a])
    other = await make_open_channel([a])
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR, status=OperatorStatus.OFFLINE)
    started = [await start_chat(channel) for _ in range(4)]
    (first, _, _), (_, _, _), (mine, visitor, _), (fourth, _, _) = started
    for (chat, _, _), waited in zip(started, (400, 300, 200, 100)):
        assert chat is not None
        await waiting_since(chat.id, clock, waited)
    assert first is not None and mine is not None and fourth is not None
    watch = QueueWatch(broker.hub, throttle_seconds=0, live=broker.live)
    follower = follow(visitor, watch)
    try:
        first_standing = await follower.next()
        assert isinstance(first_standing, QueueStanding) and first_standing.chat_id == mine.id
        assert (first_standing.queue_position, first_standing.estimated_wait_seconds) == (3, None)  # no answer yet

        await chats.answer_chat(a_viewer, chat_id=first.id)  # waited 400 s: the estimate is 400 - 200
        assert await follower.figures() == (2, 200)
        await priorities.set_chat_priority(supervisor, chat_id=fourth.id, priority=ChatPriority.URGENT)
        assert await follower.figures() == (3, 200)  # the urgent chat goes ahead
        await chats.transfer_chat(supervisor, chat_id=fourth.id, open_channel_id=other.id)
        assert await follower.figures() == (2, 200)  # it left this queue

        # moved itself: its place in the other queue (behind the urgent one), whose estimate is unknown
        await chats.transfer_chat(supervisor, chat_id=mine.id, open_channel_id=other.id)
        assert await follower.figures() == (2, None)
        await chats.answer_chat(a_viewer, chat_id=fourth.id)
        # the other queue's answers make its estimate: a wait of 100 s, and it has waited 200 already
        assert await follower.figures() == (1, 0)

        await chats.answer_chat(a_viewer, chat_id=mine.id)  # answered: no place, the stream goes on
        assert await follower.figures() == (None, None)
        await chats.transfer_chat(a_viewer, chat_id=mine.id, open_channel_id=channel.id)
        assert (await follower.figures())[0] == 2  # back in a queue (transferred by its operator)
        await chats.answer_chat(a_viewer, chat_id=mine.id)
        assert await follower.figures() == (None, None)

        await chats.finish_chat(a_viewer, chat_id=mine.id)  # closed: a last null standing, and the end
        last = await follower.next()
        assert isinstance(last, QueueStanding) and last.ended and last.queue_position is None
        assert await follower.next() == ENDED
        assert watch.watcher_count == 0
    finally:
        await follower.close()


async def test_a_channel_is_read_once_per_throttle_window_for_every_follower(db, clock, broker, count_queries):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a])
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR, status=OperatorStatus.OFFLINE)
    started = [await start_chat(channel) for _ in range(4)]
    ids = [chat.id for chat, _, _ in started if chat is not None]
    timers = ManualTimers()
    watch = QueueWatch(broker.hub, throttle_seconds=2, clock=timers.clock, call_later=timers.call_later,
                       live=broker.live)
    followers = [follow(visitor, watch) for _, visitor, _ in started[1:]]  # the 2nd, 3rd and 4th in line
    try:
        assert [await f.figures() for f in followers] == [(2, None), (3, None), (4, None)]
        assert watch.computations == 0  # each first standing is its subscriber's own

        await chats.answer_chat(a_viewer, chat_id=ids[0])
        assert [(await f.figures())[0] for f in followers] == [1, 2, 3]
        assert watch.computations == 1  # one read of the queue for the three of them

        # within the window: the events wait for its end, and fold into one computation
        await chats.answer_chat(a_viewer, chat_id=ids[1])
        await until(lambda: len(timers.pending) == 1)
        taken = watch.taken
        await priorities.set_chat_priority(supervisor, chat_id=ids[3], priority=ChatPriority.URGENT)
        await until(lambda: watch.taken > taken)  # taken: it changes nothing, the computation is due already
        assert len(timers.pending) == 1 and watch.computations == 1
        assert all(f.received.empty() for f in followers)

        timers.advance(1.9)
        assert watch.computations == 1
        with count_queries() as reads:
            timers.advance(0.1)
            await until(lambda: watch.computations == 2)
            await watch.settled()
        assert reads.count == 2, reads.statements  # the queue's order and its median wait, for all three
        assert (await followers[0].figures())[0] is None  # answered
        assert (await followers[2].figures())[0] == 1  # urgent: first
        assert all(f.received.empty() for f in followers)  # one standing each for the whole window, and
        # none for the chat still second (the urgent one went ahead as the one ahead was answered)

        # a window with no event reads nothing; the next event after it is computed at once
        timers.advance(10)
        assert watch.computations == 2 and not timers.pending
        await chats.answer_chat(a_viewer, chat_id=ids[3])
        assert (await followers[2].figures())[0] is None
        assert (await followers[1].figures())[0] == 1
        assert watch.computations == 3
    finally:
        for follower in followers:
            await follower.close()
    assert watch.watcher_count == 0


async def test_only_the_visitor_s_own_chat_and_only_with_a_visitor_token(db, clock, broker):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a])
    chat, visitor, _ = await start_chat(channel)
    other_chat, other_visitor, _ = await start_chat(channel)
    assert chat is not None and other_chat is not None
    watch = QueueWatch(broker.hub, throttle_seconds=0, live=broker.live)
    hub_subscribers = broker.hub.subscriber_count

    with pytest.raises(Forbidden, match="visitor token"):
        await anext(follow_queue_standing(a_viewer, watch=watch))
    _, no_chat_yet, _ = await start_chat(channel, text=None)
    with pytest.raises(NotFound):
        await anext(follow_queue_standing(no_chat_yet, watch=watch))
    assert broker.hub.subscriber_count == hub_subscribers  # a refusal leaves nothing behind

    mine, theirs = follow(visitor, watch), follow(other_visitor, watch)
    try:
        assert [((s := await f.next()).chat_id, s.queue_position) for f in (mine, theirs)] == [  # type: ignore[union-attr]
            (chat.id, 1), (other_chat.id, 2)]
        await visitors.finish_visitor_chat(visitor)  # the visitor leaves the queue: the other one moves up
        ended = await mine.next()
        assert isinstance(ended, QueueStanding) and ended.ended and await mine.next() == ENDED
        assert await theirs.figures() == (1, None)
    finally:
        await mine.close()
        await theirs.close()

    # a visitor whose chat is closed gets one null standing, and the stream ends
    closed = follow(visitor, watch)
    try:
        last = await closed.next()
        assert isinstance(last, QueueStanding) and last.chat_id == chat.id and last.queue_position is None
        assert await closed.next() == ENDED
    finally:
        await closed.close()
    assert watch.watcher_count == 0 and broker.hub.subscriber_count == hub_subscribers
