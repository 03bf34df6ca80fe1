"""The no-answer rule: a chat nobody answers within its channel's noAnswerTimeoutSeconds (of working
time) gets the channel's rule, once, fired by the scheduler with the services' clock moved by hand."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from models import Chat, ChatStatus, Event, Message, MessageAuthorKind, NoAnswerRule, OpenChannel, OperatorStatus, Timer, Weekday
from services.automation import scheduler
from services.chats import chats, open_channels
from services.chats.greeting import RATING_REQUEST_TEXT
from services.chats.system_texts import SystemText, default_text
from services.chats.working_hours import parse_working_hours
from services.common.errors import InvalidInput, NotFound
from services.events import timers
from tests.factories import make_admin, make_open_channel, make_operator, offered_to, start_chat

UTC = timezone.utc
NO_ANSWER_EN = default_text(SystemText.NO_ANSWER, "en")


async def rule_channel(rule: NoAnswerRule, timeout: int | None = 60, *, members: list | None = None,
                       **settings) -> OpenChannel:
    """A channel of these members (default: one ONLINE operator) with this no-answer rule."""
    if members is None:
        members = [(await make_operator())[0]]
    channel = await make_open_channel(members, answer_timeout_seconds=3600,
                                      working_hours=settings.pop("working_hours", None))
    _, admin = await make_admin()
    return await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_rule=rule,
                                                   no_answer_timeout_seconds=timeout, **settings)


async def system_texts(chat_id: int) -> list[str]:
    return list(await Message.filter(chat_id=chat_id, author_kind=MessageAuthorKind.SYSTEM).order_by("id")
                .values_list("text", flat=True))


async def no_answer_events(chat_id: int) -> list[Event]:
    return list(await Event.filter(chat_id=chat_id, kind="CHAT_NO_ANSWER").order_by("id"))


async def test_keep_waiting_only_tells_the_queue(db, clock):
    operator, _ = await make_operator()
    channel = await rule_channel(NoAnswerRule.KEEP_WAITING, 60, members=[operator])
    chat, _, _ = await start_chat(channel)
    clock.advance(59)
    assert await scheduler.tick() == 0
    assert await no_answer_events(chat.id) == []

    clock.advance(1)
    assert await scheduler.tick() == 1
    [event] = await no_answer_events(chat.id)
    assert (event.queue_kind, event.actor_id, event.open_channel_id) == ("CHAT_NO_ANSWER", None, channel.id)
    assert event.detail == {"rule": "KEEP_WAITING"}
    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.open_channel_id) == (ChatStatus.QUEUED, channel.id)
    assert stored.no_answer_at == clock.now
    assert await system_texts(chat.id) == []
    assert await offered_to(chat.id) == {operator.id}  # still offered, still waiting
    clock.advance(1800)  # before the offer's own timeout
    assert await scheduler.tick() == 0
    assert len(await no_answer_events(chat.id)) == 1


async def test_send_message_once_with_the_default_or_own_text(db, clock):
    default = await rule_channel(NoAnswerRule.SEND_MESSAGE, 30)
    own = await rule_channel(NoAnswerRule.SEND_MESSAGE, 30, no_answer_message="  Still here, hold on!  ")
    spanish = await rule_channel(NoAnswerRule.SEND_MESSAGE, 30, language="es")
    waiting = [(await start_chat(c))[0] for c in (default, own, spanish)]
    clock.advance(30)
    assert await scheduler.tick() == 3
    clock.advance(1800)
    assert await scheduler.tick() == 0
    assert [await system_texts(c.id) for c in waiting] == [
        [NO_ANSWER_EN], ["Still here, hold on!"], [default_text(SystemText.NO_ANSWER, "es")]]
    assert [(await Chat.get(id=c.id)).status for c in waiting] == [ChatStatus.QUEUED] * 3
    assert [len(await no_answer_events(c.id)) for c in waiting] == [1, 1, 1]


async def test_an_answered_chat_gets_no_rule(db, clock):
    operator, viewer = await make_operator()
    channel = await rule_channel(NoAnswerRule.CLOSE, 60, members=[operator])
    chat, _, _ = await start_chat(channel)
    clock.advance(30)
    await chats.answer_chat(viewer, chat_id=chat.id)
    clock.advance(60)
    await scheduler.tick()
    assert await no_answer_events(chat.id) == []
    assert (await Chat.get(id=chat.id)).status == ChatStatus.ACTIVE
    assert not await Timer.filter(chat_id=chat.id, kind=timers.NO_ANSWER).exists()


async def test_transfer_moves_the_chat_once_and_never_back(db, clock):
    a, _ = await make_operator("A")
    b, _ = await make_operator("B")
    first = await rule_channel(NoAnswerRule.KEEP_WAITING, 60, members=[a])
    second = await rule_channel(NoAnswerRule.TRANSFER, 120, members=[b], no_answer_transfer_to_id=first.id)
    _, admin = await make_admin()
    await open_channels.update_open_channel(admin, open_channel_id=first.id, no_answer_rule=NoAnswerRule.TRANSFER,
                                            no_answer_transfer_to_id=second.id)
    chat, _, _ = await start_chat(first)
    assert await offered_to(chat.id) == {a.id}

    clock.advance(60)
    assert await scheduler.tick() == 1
    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.open_channel_id, stored.no_answer_moved) == (ChatStatus.QUEUED, second.id, True)
    assert await offered_to(chat.id) == {b.id}
    [moved] = await no_answer_events(chat.id)
    assert moved.open_channel_id == first.id  # the queue it left shows it
    assert moved.detail == {"rule": "TRANSFER", "to_open_channel_id": second.id}
    assert a.id in moved.removed_operator_ids

    # the second channel's rule (TRANSFER back) is due 120 s later: it keeps the chat waiting there
    clock.advance(119)
    assert await scheduler.tick() == 0
    clock.advance(1)
    assert await scheduler.tick() == 1
    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.open_channel_id) == (ChatStatus.QUEUED, second.id)
    assert [e.detail for e in await no_answer_events(chat.id)] == [
        {"rule": "TRANSFER", "to_open_channel_id": second.id}, {"rule": "KEEP_WAITING"}]
    clock.advance(86400)
    await scheduler.tick()
    assert len(await no_answer_events(chat.id)) == 2
    assert not await Timer.filter(chat_id=chat.id, kind=timers.NO_ANSWER).exists()


async def test_close_sends_the_message_and_no_rating_request(db, clock):
    operator, _ = await make_operator()
    channel = await rule_channel(NoAnswerRule.CLOSE, 60, members=[operator],
                                 no_answer_message="Sorry, nobody is free. Write again later.")
    chat, _, _ = await start_chat(channel)
    clock.advance(60)
    assert await scheduler.tick() == 1
    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.closed_at) == (ChatStatus.CLOSED, clock.now)
    assert await system_texts(chat.id) == ["Sorry, nobody is free. Write again later."]
    assert RATING_REQUEST_TEXT not in await system_texts(chat.id)
    [event] = await no_answer_events(chat.id)
    assert (event.chat_kind, event.detail) == ("CHAT_CLOSED", {"rule": "CLOSE"})
    assert await offered_to(chat.id) == set()


async def test_the_timeout_counts_working_hours_only(db, clock):
    """Friday 17:59 in Madrid, 18:00 closing, 120 s: one minute on Friday, the other on Monday at 09:01."""
    week = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    office = parse_working_hours(time_zone="Europe/Madrid", periods=[(d, "09:00", "18:00") for d in week])
    operator, _ = await make_operator(status=OperatorStatus.OFFLINE)
    channel = await rule_channel(NoAnswerRule.SEND_MESSAGE, 120, members=[operator], working_hours=office)
    clock.now = datetime(2030, 1, 4, 16, 59, tzinfo=UTC)  # Friday 17:59 CET
    chat, _, _ = await start_chat(channel)
    due = datetime(2030, 1, 7, 8, 1, tzinfo=UTC)  # Monday 09:01 CET
    assert (await Timer.get(chat_id=chat.id, kind=timers.NO_ANSWER)).due_at == due

    clock.now = due - timedelta(seconds=1)
    await scheduler.tick()
    assert await no_answer_events(chat.id) == []
    clock.now = due
    await scheduler.tick()
    assert len(await no_answer_events(chat.id)) == 1
    assert await system_texts(chat.id) == [NO_ANSWER_EN]


async def test_new_settings_move_the_timers_of_the_chats_already_waiting(db, clock):
    """A new timeout or new hours apply to the chats waiting for the rule, counted from when each
    started waiting; a chat whose rule fired, or that was answered, is left alone."""
    operator, viewer = await make_operator(status=OperatorStatus.OFFLINE)
    channel = await rule_channel(NoAnswerRule.SEND_MESSAGE, None, members=[operator])
    _, admin = await make_admin()
    first, _, _ = await start_chat(channel)  # waits from t = 0
    clock.advance(100)
    second, _, _ = await start_chat(channel)  # from t = 100
    answered, _, _ = await start_chat(channel)
    await chats.answer_chat(viewer, chat_id=answered.id)
    assert not await Timer.filter(kind=timers.NO_ANSWER).exists()  # no timeout: the rule never fires

    clock.advance(100)  # t = 200: a timeout of 300 s
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_timeout_seconds=300)
    start = clock.now - timedelta(seconds=200)
    assert {t.chat_id: t.due_at for t in await Timer.filter(kind=timers.NO_ANSWER)} == {
        first.id: start + timedelta(seconds=300), second.id: start + timedelta(seconds=400)}
    clock.advance(100)  # t = 300
    assert await scheduler.tick() == 1
    assert [len(await no_answer_events(c.id)) for c in (first, second)] == [1, 0]

    clock.advance(50)  # t = 350: shorter, 200 s; the second has waited 250 s already: due at once
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_timeout_seconds=200)
    assert (await Timer.get(chat_id=second.id, kind=timers.NO_ANSWER)).due_at == start + timedelta(seconds=300)
    assert not await Timer.filter(chat_id=first.id, kind=timers.NO_ANSWER).exists()  # fired: not again
    assert await scheduler.tick() == 1
    assert [await system_texts(c.id) for c in (first, second, answered)] == [[NO_ANSWER_EN], [NO_ANSWER_EN], []]

    third, _, _ = await start_chat(channel)  # t = 350, due at 550; then no timeout: no timer
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_timeout_seconds=None)
    assert not await Timer.filter(kind=timers.NO_ANSWER).exists()
    clock.advance(3600)
    assert await scheduler.tick() == 0
    assert [len(await no_answer_events(c.id)) for c in (first, second, third, answered)] == [1, 1, 0, 0]


async def test_new_working_hours_move_the_timers_of_the_chats_already_waiting(db, clock):
    """Always open, 120 s: a chat from Friday 17:59 in Madrid is due at 18:01; hours of 09:00-18:00 on
    weekdays make it one minute on Friday and one on Monday, at 09:01."""
    week = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    office = parse_working_hours(time_zone="Europe/Madrid", periods=[(d, "09:00", "18:00") for d in week])
    operator, _ = await make_operator(status=OperatorStatus.OFFLINE)
    channel = await rule_channel(NoAnswerRule.SEND_MESSAGE, 120, members=[operator])
    clock.now = datetime(2030, 1, 4, 16, 59, tzinfo=UTC)  # Friday 17:59 CET
    chat, _, _ = await start_chat(channel)
    assert (await Timer.get(chat_id=chat.id, kind=timers.NO_ANSWER)).due_at == clock.now + timedelta(seconds=120)
    clock.advance(30)
    _, admin = await make_admin()
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, working_hours=office)
    monday = datetime(2030, 1, 7, 8, 1, tzinfo=UTC)  # Monday 09:01 CET
    assert (await Timer.get(chat_id=chat.id, kind=timers.NO_ANSWER)).due_at == monday
    clock.now = monday - timedelta(seconds=1)
    await scheduler.tick()
    assert await no_answer_events(chat.id) == []
    clock.now = monday
    await scheduler.tick()
    assert len(await no_answer_events(chat.id)) == 1


async def test_the_upgrade_marks_the_chats_waiting_for_their_rule(db, clock):
    """Migration 0013's backfill: a chat waiting for its rule counts from its creation, or from its
    move by a rule; one whose rule fired (no timer left) or that was answered is not waiting for it."""
    from importlib import import_module

    from tortoise import Tortoise

    operator, viewer = await make_operator(status=OperatorStatus.OFFLINE)
    target = await rule_channel(NoAnswerRule.KEEP_WAITING, 600, members=[operator])
    moving = await rule_channel(NoAnswerRule.TRANSFER, 60, members=[operator], no_answer_transfer_to_id=target.id)
    keeping = await rule_channel(NoAnswerRule.KEEP_WAITING, 60, members=[operator])
    never = await rule_channel(NoAnswerRule.KEEP_WAITING, None, members=[operator])
    moved, fired, unset, answered = [(await start_chat(c))[0] for c in (moving, keeping, never, keeping)]
    await chats.answer_chat(viewer, chat_id=answered.id)
    clock.advance(60)
    await scheduler.tick()  # moved to the target; kept waiting
    assert [len(await no_answer_events(c.id)) for c in (moved, fired, unset, answered)] == [1, 1, 0, 0]
    await Chat.all().update(no_answer_since=None)  # as before the upgrade
    created = {c.id: (await Chat.get(id=c.id)).created_at for c in (moved, fired, unset)}

    [backfill] = [op for op in import_module("models.migrations.0014_no_answer_since").Migration.operations
                  if hasattr(op, "reverse_sql")]
    await Tortoise.get_connection("default").execute_script(backfill.sql)
    since = {c.id: (await Chat.get(id=c.id)).no_answer_since for c in (moved, fired, unset, answered)}
    assert since == {moved.id: clock.now, fired.id: None, unset.id: created[unset.id], answered.id: None}


@pytest.mark.parametrize("settings, field", [
    ({"no_answer_timeout_seconds": -5}, "noAnswerTimeoutSeconds"),
    ({"no_answer_timeout_seconds": 0}, "noAnswerTimeoutSeconds"),
    ({"no_answer_rule": NoAnswerRule.TRANSFER}, "noAnswerTransferToId"),
    ({"no_answer_rule": None}, "noAnswerRule"),
    ({"no_answer_rule": NoAnswerRule.TRANSFER, "no_answer_transfer_to_id": "self"}, "noAnswerTransferToId"),
])
async def test_invalid_settings_are_refused_and_change_nothing(db, settings, field):
    _, admin = await make_admin()
    channel = await make_open_channel([])
    settings = {k: (channel.id if v == "self" else v) for k, v in settings.items()}
    before = await OpenChannel.filter(id=channel.id).values()
    with pytest.raises(InvalidInput) as refused:
        await open_channels.update_open_channel(admin, open_channel_id=channel.id, **settings)
    assert refused.value.field == ["input", field]
    assert await OpenChannel.filter(id=channel.id).values() == before


async def test_a_transfer_target_must_exist_and_a_transfer_rule_keeps_its_target(db):
    _, admin = await make_admin()
    channel = await make_open_channel([])
    other = await make_open_channel([])
    with pytest.raises(NotFound):
        await open_channels.update_open_channel(admin, open_channel_id=channel.id,
                                                no_answer_rule=NoAnswerRule.TRANSFER, no_answer_transfer_to_id=10**6)
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_rule=NoAnswerRule.TRANSFER,
                                            no_answer_transfer_to_id=other.id, no_answer_timeout_seconds=30)
    with pytest.raises(InvalidInput):  # clearing the target of a TRANSFER rule
        await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_transfer_to_id=None)
    stored = await OpenChannel.get(id=channel.id)
    assert (stored.no_answer_rule, stored.no_answer_transfer_to_id) == (NoAnswerRule.TRANSFER, other.id)


@pytest.mark.postgres_only
async def test_racing_scheduler_rounds_apply_each_rule_exactly_once(db, clock):
    per_channel = 10
    operator, _ = await make_operator(status=OperatorStatus.OFFLINE)
    messaging = await rule_channel(NoAnswerRule.SEND_MESSAGE, 60, members=[operator])
    target = await rule_channel(NoAnswerRule.KEEP_WAITING, None, members=[operator])
    closing = await rule_channel(NoAnswerRule.CLOSE, 60, members=[operator])
    moving = await rule_channel(NoAnswerRule.TRANSFER, 60, members=[operator], no_answer_transfer_to_id=target.id)
    waiting = {c.id: [(await start_chat(c))[0].id for _ in range(per_channel)] for c in (messaging, closing, moving)}
    clock.advance(60)

    fired: list[int] = []
    for _ in range(30):  # rounds of four racing ticks, until one fires nothing
        fired += (done := await asyncio.gather(*(scheduler.tick(batch=4) for _ in range(4))))
        if not any(done):
            break

    assert sum(fired) == 3 * per_channel
    for chat_id in sum(waiting.values(), []):
        assert len(await no_answer_events(chat_id)) == 1
    for chat_id in waiting[messaging.id]:
        assert await system_texts(chat_id) == [NO_ANSWER_EN]
    for chat_id in waiting[closing.id]:
        assert await system_texts(chat_id) == [NO_ANSWER_EN]
        assert (await Chat.get(id=chat_id)).status == ChatStatus.CLOSED
    for chat_id in waiting[moving.id]:
        assert (await Chat.get(id=chat_id)).open_channel_id == target.id
        assert await Event.filter(chat_id=chat_id, kind="CHAT_QUEUED").count() == 2
    assert not await Timer.filter(kind=timers.NO_ANSWER).exists()
