"""Typing through the services, on both backends (the in-process broker; Redis on postgres):
who receives a signal, who may send one, the sender's budget, and that nothing is stored."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest
from tortoise import Tortoise

from infrastructure.platform import Platform
from infrastructure.signals import SignalBudget
from models import OperatorRole
from services.chats import chats, open_channels, typing_signals
from services.common.errors import Forbidden, InvalidInput, InvalidState, NotFound
from services.identity.viewer import Viewer
from tests.factories import make_admin, make_open_channel, make_operator, queued_chat, start_chat


class Follower:
    """One `typing` subscription, started and known to be subscribed before the test sends."""

    def __init__(self, platform: Platform, viewer: Viewer, chat_id: int | None,
                 current_viewer: Callable[[], Viewer] | None = None, clock: Callable[[], float] | None = None) -> None:
        extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
        self.platform = platform
        self.stream: AsyncGenerator[dict[str, Any], None] = typing_signals.follow_typing(
            viewer, chat_id, broker=platform.broker, current_viewer=current_viewer, **extra)
        self.pending: asyncio.Task | None = None

    async def start(self) -> Follower:
        before = self.platform.broker.signals.subscriber_count
        self.pending = asyncio.ensure_future(anext(self.stream))
        for _ in range(500):  # subscribed once the chat is checked (a query or two)
            if self.platform.broker.signals.subscriber_count > before or self.pending.done():
                break
            await asyncio.sleep(0.01)
        if self.pending.done():
            self.pending.result()  # raise what refused the subscription
        await self.platform.broker.live(signals=True)  # with Redis: its SUBSCRIBE to the signal channel is confirmed
        return self

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        assert self.pending is not None
        signal = await asyncio.wait_for(asyncio.shield(self.pending), timeout)
        self.pending = asyncio.ensure_future(anext(self.stream))
        return signal

    async def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            await asyncio.gather(self.pending, return_exceptions=True)
        await self.stream.aclose()


async def _answered_chat():
    """A visitor's chat answered by the first of two queue members; a supervisor."""
    channel, cast, chat, visitor = await queued_chat(members=2)
    (first, first_viewer), (second, second_viewer) = cast
    await chats.answer_chat(first_viewer, chat_id=chat.id)
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    return chat, visitor, first_viewer, second_viewer, supervisor


async def _handled_everything(platform: Platform, chat_id: int) -> None:
    """Wait until every follower of the chat took every signal it received (and yielded or skipped it)."""
    for _ in range(500):
        followers = platform.broker.signals.subscribers_of(typing_signals.topic(chat_id))
        if all(f.idle for f in followers):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the followers did not handle their signals within 5 s")


async def _row_counts() -> dict[str, int]:
    return {model._meta.db_table: await model.all().count()
            for app in Tortoise.apps.values() for model in app.values()}


async def test_typing_reaches_the_other_side_and_nothing_is_stored(db, platform, count_queries):
    chat, visitor, operator, _, supervisor = await _answered_chat()
    at_visitor = await Follower(platform, visitor, None).start()  # a visitor's own chat: no id needed
    at_operator = await Follower(platform, operator, chat.id).start()
    at_supervisor = await Follower(platform, supervisor, chat.id).start()
    rows = await _row_counts()
    try:
        with count_queries() as counter:
            sent = await typing_signals.set_typing(operator, chat_id=chat.id, typing=True,
                                                   broker=platform.broker, budget=platform.signal_budget)
            assert sent is True
            signal = await at_visitor.next()
            assert (signal.chat_id, signal.author_kind, signal.operator_id, signal.typing) == (
                chat.id, "OPERATOR", operator.operator_id, True)
            assert (await at_supervisor.next()).operator_id == operator.operator_id

            assert await typing_signals.set_visitor_typing(visitor, typing=True, broker=platform.broker,
                                                           budget=platform.signal_budget)
            from_visitor = await at_operator.next()  # the operator's own signal did not come back first
            assert (from_visitor.author_kind, from_visitor.operator_id) == ("CLIENT", None)
            assert (await at_supervisor.next()).author_kind == "CLIENT"
        writes = [s for s in counter.statements if not s.lstrip().upper().startswith("SELECT")]
        assert writes == []
        assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=False, broker=platform.broker,
                                               budget=platform.signal_budget)
        marker = await at_visitor.next()  # the visitor's own signal did not come back before it
        assert (marker.author_kind, marker.typing) == ("OPERATOR", False)
        assert await _row_counts() == rows  # no table got a row: the event table included
    finally:
        for follower in (at_visitor, at_operator, at_supervisor):
            await follower.close()


async def test_a_silent_note_typing_reaches_operators_only(db, platform):
    chat, visitor, operator, _, supervisor = await _answered_chat()
    at_visitor = await Follower(platform, visitor, chat.id).start()
    at_supervisor = await Follower(platform, supervisor, chat.id).start()
    try:
        assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=True, silent=True,
                                               broker=platform.broker, budget=platform.signal_budget)
        silent = await at_supervisor.next()
        assert (silent.silent, silent.operator_id) == (True, operator.operator_id)
        # then a visible one: the visitor's first signal is that one, the silent one never came
        assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=False,
                                               broker=platform.broker, budget=platform.signal_budget)
        first_seen = await at_visitor.next()
        assert (first_seen.silent, first_seen.typing) == (False, False)
    finally:
        await at_visitor.close()
        await at_supervisor.close()


async def test_who_may_type_and_follow(db, platform):
    chat, visitor, operator, member, supervisor = await _answered_chat()
    outsider_op, outsider = await make_operator()
    kwargs = {"broker": platform.broker, "budget": platform.signal_budget}

    with pytest.raises(NotFound):  # may not see the chat: its existence is not disclosed
        await typing_signals.set_typing(outsider, chat_id=chat.id, typing=True, **kwargs)
    with pytest.raises(NotFound):
        await typing_signals.set_typing(operator, chat_id=chat.id + 1000, typing=True, **kwargs)
    with pytest.raises(Forbidden):  # sees it (queue member) but may not write in it
        await typing_signals.set_typing(member, chat_id=chat.id, typing=True, **kwargs)
    with pytest.raises(Forbidden):
        await typing_signals.set_typing(visitor, chat_id=chat.id, typing=True, **kwargs)
    with pytest.raises(Forbidden):
        await typing_signals.set_visitor_typing(operator, typing=True, **kwargs)

    other_channel = await make_open_channel([outsider_op])
    other_chat, other_visitor, _ = await start_chat(other_channel)
    assert other_chat is not None
    with pytest.raises(NotFound):  # a visitor follows their own chat only
        await Follower(platform, visitor, other_chat.id).start()
    with pytest.raises(NotFound):
        await Follower(platform, outsider, chat.id).start()
    with pytest.raises(InvalidInput):  # an operator names the chat
        await Follower(platform, operator, None).start()
    with pytest.raises(InvalidState):  # a queued chat: nobody writes in it yet
        await typing_signals.set_typing(supervisor, chat_id=other_chat.id, typing=True, **kwargs)
    assert await typing_signals.set_visitor_typing(other_visitor, typing=True, **kwargs)  # queued: the visitor may

    await chats.finish_chat(operator, chat_id=chat.id)
    with pytest.raises(InvalidState):
        await typing_signals.set_visitor_typing(visitor, typing=True, **kwargs)
    with pytest.raises(InvalidState):
        await typing_signals.set_typing(operator, chat_id=chat.id, typing=True, **kwargs)
    assert platform.broker.signals.subscriber_count == 0  # refused subscriptions hold nothing


async def test_each_sender_has_a_budget_per_chat(db, platform):
    chat, visitor, operator, _, _ = await _answered_chat()
    now = [100.0]
    budget = SignalBudget(clock=lambda: now[0])
    kwargs = {"broker": platform.broker, "budget": budget}
    sent = [await typing_signals.set_typing(operator, chat_id=chat.id, typing=True, **kwargs) for _ in range(5)]
    assert sent == [True, True, True, False, False]
    # the visitor's budget is their own
    assert await typing_signals.set_visitor_typing(visitor, typing=True, **kwargs)
    now[0] += 1.01 / typing_signals.TYPING_PER_SECOND  # one signal more, and only one
    assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=False, **kwargs)
    assert not await typing_signals.set_typing(operator, chat_id=chat.id, typing=False, **kwargs)


async def test_a_follower_who_lost_the_chat_receives_nothing_more(db, platform):
    """Re-checked whenever the viewer changes (a WebSocket's token re-read) and every RECHECK_SECONDS."""
    chat, visitor, operator, member, supervisor = await _answered_chat()
    now = [0.0]
    follower_is = [supervisor]
    demoted = Viewer(operator_id=supervisor.operator_id, role=OperatorRole.OPERATOR)  # no relation to the chat
    by_supervisor = await Follower(platform, supervisor, chat.id, current_viewer=lambda: follower_is[0],
                                   clock=lambda: now[0]).start()
    by_member = await Follower(platform, member, chat.id, clock=lambda: now[0]).start()
    by_operator = await Follower(platform, operator, chat.id).start()  # receives every signal of the visitor
    signal = {"broker": platform.broker, "budget": SignalBudget(clock=lambda: now[0])}
    try:
        assert await typing_signals.set_visitor_typing(visitor, typing=True, **signal)
        assert (await by_supervisor.next()).typing is True
        assert (await by_member.next()).typing is True

        follower_is[0] = demoted  # checked at once: the viewer changed
        assert chat.open_channel_id is not None
        _, admin = await make_admin()
        await open_channels.update_open_channel(admin, open_channel_id=chat.open_channel_id,
                                                operator_ids=[operator.operator_id])  # the member leaves the queue
        assert await typing_signals.set_visitor_typing(visitor, typing=False, **signal)
        assert (await by_member.next()).typing is False  # within RECHECK_SECONDS: still trusted

        now[0] += typing_signals.RECHECK_SECONDS
        assert await typing_signals.set_visitor_typing(visitor, typing=True, **signal)
        assert [(await by_operator.next()).typing for _ in range(3)] == [True, False, True]  # arrived here
        await _handled_everything(platform, chat.id)  # and skipped it: neither yielded
        assert not by_supervisor.pending.done() and not by_member.pending.done()  # type: ignore[union-attr]
        follower_is[0] = supervisor  # may see the chat again: the next signal reaches them
        assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=True, **signal)
        marker = await by_supervisor.next()
        assert (marker.author_kind, marker.typing) == ("OPERATOR", True)
    finally:
        await by_supervisor.close()
        await by_member.close()
        await by_operator.close()


async def test_a_signal_sent_before_a_subscription_never_reaches_it(db, platform):
    """Not replayed: a subscription started after a signal was delivered gets the next one first."""
    chat, visitor, operator, _, supervisor = await _answered_chat()
    kwargs = {"broker": platform.broker, "budget": platform.signal_budget}
    early = await Follower(platform, supervisor, chat.id).start()
    late = None
    try:
        assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=True, **kwargs)
        assert (await early.next()).typing is True  # through the broker (Redis on postgres): delivered
        late = await Follower(platform, visitor, None).start()
        assert await typing_signals.set_typing(operator, chat_id=chat.id, typing=False, **kwargs)
        assert (await late.next()).typing is False
    finally:
        for follower in (early, late):
            if follower is not None:
                await follower.close()
