"""Presence from connections (services/chats/presence.py), on both backends, driven by the services'
clock: no test waits for a grace time or an expiry."""
from __future__ import annotations

import asyncio
from contextlib import aclosing
from datetime import timedelta

import pytest

from models import Event, Operator, OperatorConnection, OperatorRole, OperatorStatus, QueueDistribution, ServerProcess
from services.automation import scheduler
from services.chats import operators, presence
from services.chats.presence import PresenceTimes
from services.chats.presence_events import operator_events
from services.chats.server_presence import WRITES_AT_ONCE, ServerPresence
from services.events.stream_position import latest_event_id
from tests.factories import make_open_channel, make_operator, offered_to, queued_chat, viewer_of

ONLINE, AWAY, OFFLINE = OperatorStatus.ONLINE, OperatorStatus.AWAY, OperatorStatus.OFFLINE
TIMES = PresenceTimes(grace_seconds=60, heartbeat_seconds=10, process_expiry_seconds=30)


async def presence_events(operator_id: int | None = None) -> list[dict]:
    """The OPERATOR_PRESENCE events' details in order (of one operator: without the ONLINE of their making)."""
    details = await Event.filter(kind="OPERATOR_PRESENCE").order_by("id").values_list("detail", flat=True)
    if operator_id is None:
        return list(details)
    mine = [d for d in details if d["operator_id"] == operator_id]
    return mine[1:] if mine and mine[0] == {"operator_id": operator_id, "status": "ONLINE", "connected": False} \
        else mine


async def connected(operator_id: int) -> bool:
    """`Operator.connected` as a colleague reads it (the operator themselves here: any operator may)."""
    viewer = viewer_of(await Operator.get(id=operator_id))
    return (await presence.presence_of(viewer, [operator_id]))[operator_id].connected


async def test_an_operator_gone_for_the_grace_time_becomes_away_and_their_offer_passes_on(db, clock):
    _, [(a, _), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, answer_timeout_seconds=600)
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    held = await process.opened(a.id)
    assert await offered_to(chat.id) == {a.id} and await connected(a.id)

    await process.closed(held)
    left_at = clock.now
    stored = await Operator.get(id=a.id)
    assert (stored.status, stored.last_seen_at) == (ONLINE, left_at) and not await connected(a.id)

    clock.advance(59)
    await process.beat()  # the process lives on
    await scheduler.tick(presence=TIMES)
    assert (await Operator.get(id=a.id)).status == ONLINE
    assert await offered_to(chat.id) == {a.id}  # within the grace time: still theirs

    clock.advance(1)
    await process.beat()
    assert await scheduler.tick(presence=TIMES) == 1
    stored = await Operator.get(id=a.id)
    assert (stored.status, stored.away_by_presence) == (AWAY, True)
    assert await offered_to(chat.id) == {b.id}  # passed on at once, as on setStatus(AWAY)
    kinds = await Event.filter(chat_id=chat.id).order_by("id").values_list("kind", flat=True)
    assert kinds[-2:] == ["CHAT_OFFER_WITHDRAWN", "CHAT_OFFERED"]
    assert await presence_events(a.id) == [
        {"operator_id": a.id, "status": "ONLINE", "connected": True},
        {"operator_id": a.id, "status": "ONLINE", "connected": False},
        {"operator_id": a.id, "status": "AWAY", "connected": False},
    ]
    assert await scheduler.tick(presence=TIMES) == 0  # once


async def test_reconnecting_brings_back_only_an_operator_the_rule_made_away(db, clock):
    channel, [(a, a_viewer), (b, b_viewer)], chat, _ = await queued_chat(QueueDistribution.STRICT)
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    await operators.set_status(b_viewer, status=AWAY)
    await process.closed(await process.opened(a.id))
    clock.advance(60)
    await process.beat()
    await scheduler.tick(presence=TIMES)
    assert (await Operator.get(id=a.id)).status == AWAY and await offered_to(chat.id) == set()  # nobody ONLINE

    held = await process.opened(a.id)  # back: ONLINE again, and offered the waiting chat
    stored = await Operator.get(id=a.id)
    assert (stored.status, stored.away_by_presence, stored.last_seen_at) == (ONLINE, False, None)
    assert await offered_to(chat.id) == {a.id}
    assert (await presence_events(a.id))[-1] == {"operator_id": a.id, "status": "ONLINE", "connected": True}

    # AWAY by hand is a choice: reconnecting does not change it
    await operators.set_status(a_viewer, status=AWAY)
    await process.closed(held)
    await process.opened(a.id)
    assert (await Operator.get(id=a.id)).status == AWAY
    # nor for an operator the rule made AWAY who then chose AWAY themselves
    await process.closed(await process.opened(b.id))
    await operators.set_status(b_viewer, status=ONLINE)
    await process.closed(await process.opened(b.id))
    clock.advance(60)
    await process.beat()
    await scheduler.tick(presence=TIMES)
    assert (await Operator.get(id=b.id)).away_by_presence
    await operators.set_status(b_viewer, status=AWAY)
    await process.opened(b.id)
    assert ((await Operator.get(id=b.id)).status, (await Operator.get(id=b.id)).away_by_presence) == (AWAY, False)


async def test_two_connections_the_operator_is_gone_only_when_the_last_closes(db, clock):
    a, _ = await make_operator()
    first, second = ServerPresence(TIMES, "process-1"), ServerPresence(TIMES, "process-2")
    await first.start()
    await second.start()
    on_first, on_second = await first.opened(a.id), await second.opened(a.id)
    await first.closed(on_first)
    assert await connected(a.id) and (await Operator.get(id=a.id)).last_seen_at is None
    clock.advance(120)
    await first.beat()
    await second.beat()
    await scheduler.tick(presence=TIMES)
    assert (await Operator.get(id=a.id)).status == ONLINE  # still connected through the other process
    await second.closed(on_second)
    assert not await connected(a.id)
    assert [e["connected"] for e in await presence_events(a.id)] == [True, False]  # one event each way


async def test_a_dead_process_leaves_no_operator_connected_after_its_expiry(db, clock):
    a, _ = await make_operator()
    b, _ = await make_operator()
    dying, living = ServerPresence(TIMES, "dying"), ServerPresence(TIMES, "living")
    await dying.start()
    await living.start()
    await dying.opened(a.id)
    await living.opened(b.id)
    died_at = clock.now  # `dying` beats no more

    clock.advance(30)
    await living.beat()
    await scheduler.tick(presence=TIMES)
    assert await connected(a.id)  # not expired yet (its heartbeat is exactly 30 s old)

    clock.advance(1)
    await living.beat()
    await scheduler.tick(presence=TIMES)
    assert not await connected(a.id) and await connected(b.id)
    assert not await ServerProcess.filter(id="dying").exists()
    assert (await Operator.get(id=a.id)).last_seen_at == died_at  # its process's last sign of life
    # and the grace time counts from then: AWAY 60 s after the process's last heartbeat
    clock.advance(29)
    await living.beat()
    await scheduler.tick(presence=TIMES)
    assert (await Operator.get(id=a.id)).status == AWAY and (await Operator.get(id=b.id)).status == ONLINE


async def test_a_process_declared_dead_registers_its_connections_again(db, clock):
    a, _ = await make_operator()
    paused = ServerPresence(TIMES, "paused")
    await paused.start()
    await paused.opened(a.id)
    clock.advance(31)
    await scheduler.tick(presence=TIMES)
    assert not await connected(a.id)
    await paused.beat()  # it was only paused: its socket is still open
    assert await connected(a.id)
    assert await OperatorConnection.filter(process_id="paused").count() == 1


async def test_a_clean_shutdown_removes_the_connections_at_once(db, clock):
    a, _ = await make_operator()
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    await process.opened(a.id)
    await process.retire()
    assert not await connected(a.id) and not await ServerProcess.filter(id="process-1").exists()


async def test_presence_and_its_events_reach_supervisors_and_colleagues_of_a_queue_only(db, clock):
    a, a_viewer = await make_operator("A")
    colleague, colleague_viewer = await make_operator("Colleague")
    stranger, stranger_viewer = await make_operator("Stranger")
    _, supervisor_viewer = await make_operator("Supervisor", role=OperatorRole.SUPERVISOR)
    await make_open_channel([a, colleague])
    await make_open_channel([stranger])

    assert {o.id for o in await presence.followed_operators(colleague_viewer)} == {a.id, colleague.id}
    assert {o.id for o in await presence.followed_operators(stranger_viewer)} == {stranger.id}
    assert {o.id for o in await presence.followed_operators(supervisor_viewer)} >= {a.id, colleague.id, stranger.id}

    start = str(await latest_event_id())
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    await process.opened(a.id)
    await operators.set_status(a_viewer, status=AWAY)

    async def replay(viewer, count: int) -> list[dict]:
        got = []
        async with aclosing(operator_events(viewer, start)) as events:
            while len(got) < count:
                got.append((await asyncio.wait_for(events.__anext__(), 10)).detail)
        return got

    expected = [{"operator_id": a.id, "status": "ONLINE", "connected": True},
                {"operator_id": a.id, "status": "AWAY", "connected": True}]
    assert await replay(colleague_viewer, 2) == expected
    assert await replay(supervisor_viewer, 2) == expected
    # the stranger follows only themselves: their own change is the first they get
    await operators.set_status(stranger_viewer, status=AWAY)
    assert await replay(stranger_viewer, 1) == [{"operator_id": stranger.id, "status": "AWAY", "connected": False}]


async def test_set_status_writes_a_presence_event_only_when_the_status_changes(db, clock):
    a, a_viewer = await make_operator()
    before = len(await presence_events())
    await operators.set_status(a_viewer, status=ONLINE)  # already ONLINE
    await operators.set_status(a_viewer, status=OFFLINE)
    assert (await presence_events())[before:] == [{"operator_id": a.id, "status": "OFFLINE", "connected": False}]


async def test_the_grace_time_counts_from_the_last_close_not_the_first(db, clock):
    a, _ = await make_operator()
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    await process.closed(await process.opened(a.id))
    clock.advance(50)
    await process.beat()
    await process.closed(await process.opened(a.id))  # back for a moment
    clock.advance(50)
    await process.beat()
    await scheduler.tick(presence=TIMES)
    assert (await Operator.get(id=a.id)).status == ONLINE
    assert (await Operator.get(id=a.id)).last_seen_at == clock.now - timedelta(seconds=50)


@pytest.mark.postgres_only
async def test_a_burst_of_closes_leaves_the_database_pool_to_other_requests(db, clock):
    """Each close is a transaction (one per operator: the closes of one operator that wait are written
    together); sixty operators' closes at once must not take every pooled connection while a request
    of someone else waits for one."""
    operators_ = [(await make_operator())[0] for _ in range(60)]
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    held = [await process.opened(o.id) for o in operators_]
    # the pool holds a few connections already (as a serving process's does): the request below
    # must not measure a new connection's set-up, during which the closes go on regardless
    await asyncio.gather(*(Operator.filter(id=o.id).exists() for o in operators_[:4]))
    closes = [asyncio.create_task(process.closed(h)) for h in held]
    await asyncio.sleep(0)  # every close has begun
    assert await Operator.filter(id=operators_[0].id).exists()  # another request's statement, through the pool
    pending = sum(not close.done() for close in closes)
    await asyncio.gather(*closes)
    assert pending > 30, pending  # it did not wait behind the burst
    assert not await OperatorConnection.filter(operator_id__in=[o.id for o in operators_]).exists()


async def test_a_burst_of_closes_of_one_operator_is_written_in_a_few_transactions(db, clock, monkeypatch):
    """The closes that wait for a write slot are written together: sixty at once cost at most a
    transaction per slot and one for the rest, and the operator's presence changes once."""
    a, _ = await make_operator()
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    held = [await process.opened(a.id) for _ in range(60)]
    writes: list[list[int]] = []
    write = presence.connections_closed

    async def counted(operator_id: int, connection_ids: list[int], **kwargs) -> None:
        writes.append(list(connection_ids))
        await write(operator_id, connection_ids, **kwargs)

    monkeypatch.setattr(presence, "connections_closed", counted)
    await asyncio.gather(*(process.closed(h) for h in held))
    assert len(writes) <= WRITES_AT_ONCE + 1, [len(w) for w in writes]
    assert sorted(i for w in writes for i in w) == sorted(h.connection_id for h in held)
    assert not await connected(a.id) and not await OperatorConnection.filter(operator_id=a.id).exists()
    assert [e["connected"] for e in await presence_events(a.id)] == [True, False]


async def test_closes_the_database_did_not_take_are_written_at_the_next_heartbeat(db, clock, monkeypatch):
    a, _ = await make_operator()
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    held = [await process.opened(a.id) for _ in range(5)]
    write = presence.connections_closed

    async def unreachable(operator_id: int, connection_ids: list[int], **kwargs) -> None:
        raise ConnectionError("the database is unreachable")

    monkeypatch.setattr(presence, "connections_closed", unreachable)
    await asyncio.gather(*(process.closed(h) for h in held))  # logged, not raised
    assert await OperatorConnection.filter(operator_id=a.id).count() == 5 and await connected(a.id)
    monkeypatch.setattr(presence, "connections_closed", write)
    await process.beat()
    assert not await connected(a.id) and not await OperatorConnection.filter(operator_id=a.id).exists()
    assert [e["connected"] for e in await presence_events(a.id)] == [True, False]


async def test_a_close_that_fails_while_the_heartbeat_writes_earlier_ones_is_written_later(db, clock, monkeypatch):
    a, _ = await make_operator()
    process = ServerPresence(TIMES, "process-1")
    await process.start()
    first, second = await process.opened(a.id), await process.opened(a.id)
    write = presence.connections_closed
    heartbeat_writing, go_on = asyncio.Event(), asyncio.Event()

    async def unreachable(operator_id: int, connection_ids: list[int], **kwargs) -> None:
        raise ConnectionError("the database is unreachable")

    async def held_up(operator_id: int, connection_ids: list[int], **kwargs) -> None:
        heartbeat_writing.set()
        await go_on.wait()
        await write(operator_id, connection_ids, **kwargs)

    monkeypatch.setattr(presence, "connections_closed", unreachable)
    await process.closed(first)  # left for the heartbeat
    monkeypatch.setattr(presence, "connections_closed", held_up)
    beat = asyncio.create_task(process.beat())
    await heartbeat_writing.wait()
    monkeypatch.setattr(presence, "connections_closed", unreachable)
    await process.closed(second)  # fails while the heartbeat writes the first
    monkeypatch.setattr(presence, "connections_closed", write)
    go_on.set()
    await beat  # the first written, then the second, left over meanwhile, in the same round
    assert not await connected(a.id) and not await OperatorConnection.filter(operator_id=a.id).exists()
