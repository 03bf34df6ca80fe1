"""Service levels (services/chats/sla.py): each target's due time, moved by the answer, the reply, a
transfer and the close, counted in working hours; SLA_WARNING ahead and SLA_BREACHED once per target
and chat, fired by the scheduler with the services' clock moved by hand."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from models import Chat, ChatSla, ChatStatus, Event, OperatorRole, OperatorStatus, SlaPolicy, SlaTarget, Weekday
from services.automation import scheduler
from services.chats import chats, open_channels, sla, sla_policies
from services.chats.working_hours import parse_working_hours
from services.messaging import messages
from tests.factories import make_admin, make_open_channel, make_operator, start_chat

UTC = timezone.utc
START = datetime(2030, 1, 1, tzinfo=UTC)  # the clock fixture's start: a Tuesday


async def policy(**targets) -> SlaPolicy:
    _, admin = await make_admin()
    return await sla_policies.create_sla_policy(admin, name=f"Policy {targets}", **targets)


async def sla_channel(sla_policy: SlaPolicy | None, members: list | None = None, **settings):
    """A channel with this policy (members: one ONLINE operator), offers that never time out."""
    if members is None:
        members = [(await make_operator())[0]]
    channel = await make_open_channel(members, answer_timeout_seconds=100_000, **settings)
    _, admin = await make_admin()
    return await open_channels.update_open_channel(
        admin, open_channel_id=channel.id, sla_policy_id=sla_policy.id if sla_policy else None)


async def due_times(chat_id: int) -> tuple:
    row = await ChatSla.get(chat_id=chat_id)
    return row.first_response_due_at, row.next_response_due_at, row.resolution_due_at


async def sla_events(chat_id: int) -> list[tuple[str, str | None, str | None, str]]:
    """(kind, queue kind, chat kind, target) of the chat's SLA events, in order."""
    return [(e.kind, e.queue_kind, e.chat_kind, e.detail["target"])
            for e in await Event.filter(chat_id=chat_id, kind__in=["SLA_BREACHED", "SLA_WARNING"]).order_by("id")]


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


async def test_each_target_warns_ahead_then_breaches_once(db, clock):
    operator, me = await make_operator()
    channel = await sla_channel(await policy(first_response_seconds=60, next_response_seconds=120,
                                             resolution_seconds=600, warn_before_seconds=30), [operator])
    chat, visitor, _ = await start_chat(channel)
    assert await due_times(chat.id) == (at(60), None, at(600))

    clock.advance(29)
    assert await scheduler.tick() == 0
    clock.advance(1)  # 30 s ahead of the first response's due time
    assert await scheduler.tick() == 1
    assert await sla_events(chat.id) == [("SLA_WARNING", "SLA_WARNING", None, "FIRST_RESPONSE")]
    clock.advance(30)
    assert await scheduler.tick() == 1
    assert (await sla_events(chat.id))[-1] == ("SLA_BREACHED", "SLA_BREACHED", "SLA_BREACHED", "FIRST_RESPONSE")
    breach = await Event.filter(chat_id=chat.id, kind="SLA_BREACHED").first()
    assert breach.visitor_visible is False and breach.actor_id is None and operator.id in breach.operator_ids

    clock.advance(10)  # t = 70: answered late; the client's message now waits for a reply
    await chats.answer_chat(me, chat_id=chat.id)
    assert await due_times(chat.id) == (None, at(190), at(600))
    clock.advance(90)  # t = 160: 30 s ahead
    assert await scheduler.tick() == 1
    clock.advance(30)  # t = 190
    assert await scheduler.tick() == 1
    clock.advance(10)  # t = 200: the reply meets it (late)
    await messages.send_message(me, chat_id=chat.id, text="Sorry for the wait")
    assert await due_times(chat.id) == (None, None, at(600))
    clock.advance(50)  # t = 250: a new client message starts the clock again; missed once already, it stays quiet
    await messages.send_visitor_message(visitor, text="Still there?")
    assert await due_times(chat.id) == (None, at(370), at(600))
    clock.advance(320)  # t = 570: the resolution's warning
    assert await scheduler.tick() == 1
    clock.advance(30)  # t = 600
    assert await scheduler.tick() == 1
    clock.advance(3600)
    assert await scheduler.tick() == 0

    assert await sla_events(chat.id) == [
        ("SLA_WARNING", "SLA_WARNING", None, "FIRST_RESPONSE"),
        ("SLA_BREACHED", "SLA_BREACHED", "SLA_BREACHED", "FIRST_RESPONSE"),
        ("SLA_WARNING", "SLA_WARNING", None, "NEXT_RESPONSE"),
        ("SLA_BREACHED", "SLA_BREACHED", "SLA_BREACHED", "NEXT_RESPONSE"),
        ("SLA_WARNING", "SLA_WARNING", None, "RESOLUTION"),
        ("SLA_BREACHED", "SLA_BREACHED", "SLA_BREACHED", "RESOLUTION"),
    ]
    row = await ChatSla.get(chat_id=chat.id)
    assert row.breached and sla.breached_targets(row) == list(SlaTarget)
    assert (row.first_response_breached_at, row.next_response_breached_at, row.resolution_breached_at) == (
        at(60), at(190), at(600))


async def test_met_targets_never_breach_and_a_silent_note_is_no_reply(db, clock):
    operator, me = await make_operator()
    channel = await sla_channel(await policy(first_response_seconds=60, next_response_seconds=60,
                                             resolution_seconds=300), [operator])
    chat, visitor, _ = await start_chat(channel)
    clock.advance(59)
    await chats.answer_chat(me, chat_id=chat.id)  # first response met at 59 s
    assert await due_times(chat.id) == (None, at(119), at(300))
    clock.advance(30)
    await messages.send_message(me, chat_id=chat.id, text="A note to myself", silent=True)
    assert (await due_times(chat.id))[1] == at(119)  # still waiting for a reply
    await messages.send_message(me, chat_id=chat.id, text="Hello!")
    assert (await due_times(chat.id))[1] is None
    clock.advance(100)  # t = 189
    await messages.send_visitor_message(visitor, text="One more question")
    await messages.send_visitor_message(visitor, text="Are you there?")  # the oldest message counts
    assert (await due_times(chat.id))[1] == at(249)
    clock.advance(10)
    await messages.send_message(me, chat_id=chat.id, text="Yes")
    clock.advance(50)  # t = 249
    await chats.finish_chat(me, chat_id=chat.id)  # closed before the resolution's due time
    assert await due_times(chat.id) == (None, None, None)
    clock.advance(3600)
    await scheduler.tick()
    assert await sla_events(chat.id) == []
    assert not (await ChatSla.get(chat_id=chat.id)).breached


async def test_a_channel_without_policy_gives_no_service_levels(db, clock):
    channel = await sla_channel(None)
    chat, _, _ = await start_chat(channel)
    assert not await ChatSla.filter(chat_id=chat.id).exists()


async def test_due_times_skip_a_weekend_of_closed_hours(db, clock):
    weekdays = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    hours = parse_working_hours(time_zone="Europe/Madrid", periods=[(d, "09:00", "18:00") for d in weekdays])
    channel = await sla_channel(await policy(first_response_seconds=600, resolution_seconds=3600,
                                             warn_before_seconds=120), working_hours=hours)
    # Friday 4 January 2030, 17:55 in Madrid (UTC+1): 5 minutes before closing
    clock.advance((datetime(2030, 1, 4, 16, 55, tzinfo=UTC) - START).total_seconds())
    chat, _, _ = await start_chat(channel)
    monday = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # 09:00 in Madrid
    assert await due_times(chat.id) == (monday + timedelta(minutes=5), None, monday + timedelta(minutes=55))

    clock.advance(24 * 3600)  # Saturday: nothing is due
    await scheduler.tick()
    assert await sla_events(chat.id) == []
    clock.advance((monday - clock.now).total_seconds() + 3 * 60 - 1)  # Monday 09:02:59: not yet warned
    await scheduler.tick()  # (the channel opened: the chat is offered)
    assert await sla_events(chat.id) == []
    clock.advance(1)  # 2 minutes of working time ahead
    assert await scheduler.tick() == 1
    clock.advance(2 * 60)
    assert await scheduler.tick() == 1
    assert [(kind, target) for kind, _, _, target in await sla_events(chat.id)] == [
        ("SLA_WARNING", "FIRST_RESPONSE"), ("SLA_BREACHED", "FIRST_RESPONSE")]


async def test_a_transfer_keeps_the_clocks_running(db, clock):
    a, _ = await make_operator("A")
    b, _ = await make_operator("B")
    _, me = await make_operator("Supervisor", role=OperatorRole.SUPERVISOR)
    rules = await policy(first_response_seconds=1800, resolution_seconds=3600)
    always = await sla_channel(rules, [a])
    also_always = await sla_channel(None, [b])
    weekdays = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    office = await sla_channel(None, [b], working_hours=parse_working_hours(
        time_zone="UTC", periods=[(d, "09:00", "18:00") for d in weekdays]))
    chat, _, _ = await start_chat(always)  # Tuesday 00:00 UTC
    assert await due_times(chat.id) == (at(1800), None, at(3600))

    clock.advance(600)  # a channel with the same (no) hours: the same due times, and the chat keeps its policy
    await chats.transfer_chat(me, chat_id=chat.id, open_channel_id=also_always.id)
    assert await due_times(chat.id) == (at(1800), None, at(3600))
    clock.advance(600)  # t = 20 min: the office is closed until 09:00; what is left is counted from then
    await chats.transfer_chat(me, chat_id=chat.id, open_channel_id=office.id)
    nine = at(9 * 3600)
    assert await due_times(chat.id) == (nine + timedelta(minutes=10), None, nine + timedelta(minutes=40))
    clock.advance(9 * 3600 - 1200 + 599)
    await scheduler.tick()  # the old due times are gone (the office opened: the chat is offered)
    assert await sla_events(chat.id) == []
    clock.advance(1)
    assert await scheduler.tick() == 1
    assert [(kind, target) for kind, _, _, target in await sla_events(chat.id)] == [
        ("SLA_BREACHED", "FIRST_RESPONSE")]
    assert (await ChatSla.get(chat_id=chat.id)).policy_id == rules.id


async def test_new_working_hours_carry_the_time_left_on_running_clocks(db, clock):
    """Always open, then at 00:10 on Tuesday hours of 09:00-18:00 (UTC): the 20 and 50 minutes left
    are counted from 09:00; a chat already closed keeps its (stopped) clocks."""
    operator, me = await make_operator(status=OperatorStatus.OFFLINE)
    channel = await sla_channel(await policy(first_response_seconds=1800, resolution_seconds=3600), [operator])
    chat, _, _ = await start_chat(channel)
    closed, _, _ = await start_chat(channel)
    await chats.answer_chat(me, chat_id=closed.id)
    await chats.finish_chat(me, chat_id=closed.id)
    assert await due_times(chat.id) == (at(1800), None, at(3600))
    clock.advance(600)
    weekdays = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    _, admin = await make_admin()
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, working_hours=parse_working_hours(
        time_zone="UTC", periods=[(d, "09:00", "18:00") for d in weekdays]))
    nine = at(9 * 3600)
    assert await due_times(chat.id) == (nine + timedelta(minutes=20), None, nine + timedelta(minutes=50))
    assert await due_times(closed.id) == (None, None, None)

    clock.now = nine + timedelta(minutes=20) - timedelta(seconds=1)  # the old due times have passed: nothing
    await scheduler.tick()
    assert await sla_events(chat.id) == []
    clock.advance(1)
    assert await scheduler.tick() == 1
    assert [(kind, target) for kind, _, _, target in await sla_events(chat.id)] == [
        ("SLA_BREACHED", "FIRST_RESPONSE")]


async def test_an_answered_chat_transferred_back_to_a_queue_keeps_waiting_for_its_reply(db, clock):
    a, me = await make_operator("A")
    b, other = await make_operator("B")
    channel = await sla_channel(await policy(next_response_seconds=300), [a, b])
    chat, visitor, _ = await start_chat(channel)
    await chats.answer_chat(me, chat_id=chat.id)
    assert (await due_times(chat.id))[1] == at(300)
    clock.advance(100)
    await chats.transfer_chat(me, chat_id=chat.id, open_channel_id=channel.id)
    clock.advance(100)
    await chats.answer_chat(other, chat_id=chat.id)  # the clock kept running: not restarted
    assert (await due_times(chat.id))[1] == at(300)
    clock.advance(100)
    assert await scheduler.tick() == 1
    assert [(kind, target) for kind, _, _, target in await sla_events(chat.id)] == [
        ("SLA_BREACHED", "NEXT_RESPONSE")]


async def test_breached_unfinished_chats_per_channel(db, clock):
    operator, me = await make_operator()
    rules = await policy(first_response_seconds=60)
    first, second, quiet = await sla_channel(rules, [operator]), await sla_channel(rules, [operator]), \
        await sla_channel(None, [operator])
    late = [(await start_chat(first))[0] for _ in range(3)]
    other = (await start_chat(second))[0]
    await start_chat(quiet)
    clock.advance(60)
    assert await scheduler.tick() == 4
    await chats.answer_chat(me, chat_id=late[0].id)
    await chats.finish_chat(me, chat_id=late[0].id)  # finished: not counted any more
    early = (await start_chat(second))[0]  # not due yet
    assert early is not None and other is not None

    assert await sla.breached_unfinished_by_channel([first.id, second.id, quiet.id, 999_999]) == {
        first.id: 2, second.id: 1, quiet.id: 0, 999_999: 0}
    assert await sla.breached_unfinished_by_channel([]) == {}


@pytest.mark.postgres_only
async def test_racing_scheduler_loops_breach_each_target_exactly_once(db, clock):
    operator, me = await make_operator(status=OperatorStatus.ONLINE)
    channel = await sla_channel(await policy(first_response_seconds=60, next_response_seconds=60,
                                             resolution_seconds=120, warn_before_seconds=30), [operator])
    waiting = [(await start_chat(channel))[0].id for _ in range(12)]
    for chat_id in waiting[:6]:  # answered: the first response met, the client's message waits for a reply
        await chats.answer_chat(me, chat_id=chat_id)

    fired: list[int] = []
    for step in (30, 30, 30, 30):  # warnings, breaches of the first/next response, the resolution's
        clock.advance(step)
        for _ in range(10):  # rounds of four racing ticks, until one fires nothing
            fired += (done := await asyncio.gather(*(scheduler.tick(batch=3) for _ in range(4))))
            if not any(done):
                break

    for chat_id in waiting:
        events = await sla_events(chat_id)
        missed = [target for kind, _, _, target in events if kind == "SLA_BREACHED"]
        warned = [target for kind, _, _, target in events if kind == "SLA_WARNING"]
        first_or_next = "NEXT_RESPONSE" if chat_id in waiting[:6] else "FIRST_RESPONSE"
        assert sorted(missed) == sorted([first_or_next, "RESOLUTION"]), (chat_id, events)
        assert sorted(warned) == sorted([first_or_next, "RESOLUTION"]), (chat_id, events)
    assert await Event.filter(kind="SLA_BREACHED").count() == 12 * 2
    assert await Chat.filter(id__in=waiting[:6], status=ChatStatus.ACTIVE).count() == 6


def test_the_clock_columns_are_every_column_of_chat_sla_but_its_keys():
    assert set(sla.CLOCK_COLUMNS) == set(ChatSla._meta.db_fields) - {"id", "chat_id", "policy_id"}
