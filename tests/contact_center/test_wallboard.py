"""The wallboard at service level (services/contact_center/wallboard.py): its figures, one computation
per process however many watch, at most one a second per queue (an injected clock and sleep), and
who may watch which channel (the open channel policy)."""
from __future__ import annotations

import asyncio
import contextlib
from contextlib import aclosing
from datetime import datetime, timedelta

import pytest

from infrastructure.broker import broker_in_use
from models import Event, OperatorRole, OperatorStatus
from services.automation import scheduler
from services.chats import chats, open_channels, sla_policies
from services.common.errors import NotFound
from services.contact_center import wallboard
from services.contact_center.wallboard import QueueFigures, Wallboards
from tests.factories import make_admin, make_open_channel, make_operator, start_chat, viewer_of

#: how long a test waits for the feed's task to get somewhere (never reached when it works)
SETTLE = 10.0


class ManualTime:
    """The feeds' sleep on the test's clock: a sleeper wakes when `advance` moves the clock past its
    deadline, never by itself."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.clock.now + timedelta(seconds=seconds), future))
        try:
            await future
        finally:
            self.sleepers = [(d, f) for d, f in self.sleepers if f is not future]

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        for deadline, future in list(self.sleepers):
            if deadline <= self.clock.now and not future.done():
                future.set_result(None)

    async def sleeping_until(self, seconds_from_now: float) -> None:
        """Wait (polling the loop) until a feed sleeps until that moment: it is throttled."""
        deadline = self.clock.now + timedelta(seconds=seconds_from_now)
        async with asyncio.timeout(SETTLE):
            while not any(d == deadline and not f.done() for d, f in self.sleepers):
                await asyncio.sleep(0.01)


class Counting:
    """The real figures, counted."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, channel_ids: list[int], now: datetime) -> dict[int, QueueFigures]:
        self.calls.append(list(channel_ids))
        return await wallboard.queue_figures(channel_ids, now)


@pytest.fixture
async def board(db, clock):
    time = ManualTime(clock)
    broker = broker_in_use()
    assert broker is not None
    counting = Counting()
    boards = Wallboards(broker.hub, compute=counting, sleep=time.sleep, refresh_seconds=3600,
                        live=broker.live)  # as wallboards() makes it: with Redis, subscribed while watched
    yield boards, time, counting
    await boards.close()


def _figures(found: QueueFigures) -> dict:
    return {"queued": found.queued, "active": found.active, "online": found.operators_online,
            "away": found.operators_away, "wait": found.longest_wait_seconds, "sla": found.sla_breached}


async def _next(stream) -> list[QueueFigures]:
    return await asyncio.wait_for(anext(stream), SETTLE)


async def test_two_supervisors_watching_cost_one_computation(board):
    boards, time, counting = board
    ann, ann_v = await make_operator("Ann")
    bob = (await make_operator("Bob", status=OperatorStatus.AWAY))[0]
    channel = await make_open_channel([ann, bob], name="A")
    _, admin = await make_admin()
    _, supervisor = await make_operator("Sue", role=OperatorRole.SUPERVISOR)
    async with aclosing(boards.watch(admin, [channel.id])) as first, \
            aclosing(boards.watch(supervisor, None)) as second:
        a, b = await _next(first), await _next(second)
        assert [_figures(f) for f in a] == [{"queued": 0, "active": 0, "online": 1, "away": 1, "wait": 0, "sla": 0}]
        assert b == a  # the same figures, computed once
        assert counting.calls == [[channel.id]]

        chat = (await start_chat(channel, "hello"))[0]  # the queue event arrives within the second: throttled
        await time.sleeping_until(1)
        assert len(counting.calls) == 1
        # the chat entered the queue 42 s before the clock's now
        await Event.filter(chat_id=chat.id).update(created_at=time.clock.now - timedelta(seconds=42))
        time.advance(1)
        a, b = await _next(first), await _next(second)
        assert [_figures(f) for f in a] == [{"queued": 1, "active": 0, "online": 1, "away": 1, "wait": 43, "sla": 0}]
        assert b == a and len(counting.calls) == 2

        time.advance(5)  # while it waits, the wait grows
        assert [f.longest_wait_seconds for f in await _next(first)] == [48]
        await _next(second)
        await chats.answer_chat(ann_v, chat_id=chat.id)
        await time.sleeping_until(1)
        time.advance(1)
        a, b = await _next(first), await _next(second)
        assert [_figures(f) for f in a] == [{"queued": 0, "active": 1, "online": 1, "away": 1, "wait": 0, "sla": 0}]
        assert b == a


async def test_at_most_one_computation_a_second_per_queue(board):
    boards, time, counting = board
    ann, _ = await make_operator("Ann")
    channel = await make_open_channel([ann], name="A")
    other = await make_open_channel([ann], name="B")
    _, admin = await make_admin()
    async with aclosing(boards.watch(admin, [channel.id, other.id])) as stream:
        assert [f.open_channel_id for f in await _next(stream)] == [channel.id, other.id]
        assert sorted(map(tuple, counting.calls)) == [(channel.id,), (other.id,)]  # one task per channel
        for _ in range(3):
            await start_chat(channel, "hello")
        await time.sleeping_until(1)
        time.advance(0.5)
        await asyncio.sleep(0.05)
        assert len(counting.calls) == 2  # still inside the second
        time.advance(0.5)
        (found,) = await _next(stream)  # the three events folded into one computation, only A changed
        assert (found.open_channel_id, found.queued) == (channel.id, 3)
        assert [c for c in counting.calls if c == [other.id]] == [[other.id]]

        # while chats wait, the wait grows: recomputed every second, pushed because it changed
        time.advance(1)
        (found,) = await _next(stream)
        assert found.queued == 3 and found.at == time.clock.now


async def test_the_last_watcher_leaving_stops_the_channels_task(board):
    boards, time, counting = board
    _, admin = await make_admin()
    channel = await make_open_channel([], name="A")
    async with aclosing(boards.watch(admin, [channel.id])) as stream:
        await _next(stream)
        task = boards.feeds[channel.id].task
    assert boards.feeds == {} and task is not None
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, SETTLE)
    assert task.cancelled()


async def test_who_may_watch_which_channel(board):
    boards, _, _ = board
    ann, ann_v = await make_operator("Ann")
    _, bob_v = await make_operator("Bob")
    mine = await make_open_channel([ann], name="A")
    theirs = await make_open_channel([], name="B")
    async with aclosing(boards.watch(ann_v, None)) as stream:  # an operator: their queues' channels
        assert [f.open_channel_id for f in await _next(stream)] == [mine.id]
    with pytest.raises(NotFound):
        async with aclosing(boards.watch(ann_v, [mine.id, theirs.id])) as stream:
            await _next(stream)
    with pytest.raises(NotFound):
        async with aclosing(boards.watch(bob_v, [mine.id])) as stream:
            await _next(stream)
    _, visitor, _ = await start_chat(mine, "hello")
    with pytest.raises(Exception) as refused:
        async with aclosing(boards.watch(visitor, None)) as stream:
            await _next(stream)
    assert getattr(refused.value, "code", None) in ("FORBIDDEN", "UNAUTHENTICATED")


async def test_a_supervisor_demoted_while_watching_gets_the_policy_error(board):
    """A WebSocket's viewer follows its token: once the watcher may no longer watch the channel,
    the next figures are the open channel policy's refusal instead."""
    boards, time, _ = board
    ann, _ = await make_operator("Ann")
    channel = await make_open_channel([ann], name="A")
    sue, sue_v = await make_operator("Sue", role=OperatorRole.SUPERVISOR)
    current = [sue_v]
    async with aclosing(boards.watch(sue_v, [channel.id], lambda: current[0])) as stream:
        await _next(stream)
        sue.role = OperatorRole.OPERATOR
        await sue.save()
        current[0] = viewer_of(sue)
        await start_chat(channel, "hello")
        await time.sleeping_until(1)
        time.advance(1)
        with pytest.raises(NotFound):
            await _next(stream)


async def test_sla_breached_counts_the_queues_unfinished_chats_that_missed_a_target(board):
    """slaBreached is the SLA module's count (services/chats/sla.py): a waiting chat past its
    channel's first-response target shows on the next figures."""
    boards, time, _ = board
    operator, _ = await make_operator("Olga", status=OperatorStatus.OFFLINE)  # nobody answers
    _, admin = await make_admin()
    policy = await sla_policies.create_sla_policy(admin, name="Fast", first_response_seconds=60)
    channel = await make_open_channel([operator], name="A")
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, sla_policy_id=policy.id)
    await start_chat(channel, "hello")
    async with aclosing(boards.watch(admin, [channel.id])) as stream:
        assert [(f.queued, f.sla_breached) for f in await _next(stream)] == [(1, 0)]
        time.advance(61)  # the wait grows: recomputed, no breach recorded yet
        assert [(f.queued, f.sla_breached) for f in await _next(stream)] == [(1, 0)]
        await scheduler.tick()  # the first-response target fires
        time.advance(1)
        assert [(f.queued, f.sla_breached) for f in await _next(stream)] == [(1, 1)]
