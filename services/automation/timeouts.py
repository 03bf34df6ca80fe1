"""What happens when time passes: an unanswered offer expires, an idle chat closes, a channel opens
for the chats that waited after hours, a chat nobody answered gets its channel's no-answer rule, a
service-level target is near or missed.

Each is one use case, one transaction, run by the scheduler (services/automation/scheduler.py) for one
due item. Claiming is part of the transaction: the chat row is taken with SKIP LOCKED (a
chat someone is changing right now is left for the next tick) and the claim itself is a
conditional write, so with several scheduler loops each due item fires exactly once.
"""
from __future__ import annotations

from typing import cast

from models import Chat, ChatOffer, ChatSkip, ChatStatus, SlaTarget
from services.chats import no_answer as no_answer_rule, queue, sla
from services.chats.greeting import request_rating
from services.events import timers
from services.chats.chat_states import Action, transition
from services.chats.audience import audience
from services.common.errors import InvalidState
from services.events.events import unit_of_work


async def expire_offer(*, timer_id: int, chat_id: int) -> bool:
    """The offer was not answered in time: it passes to the next operator per the distribution.

    Whoever let it expire counts as having skipped the chat (it is not offered back to them);
    when nobody is left the chat waits in the queue until an operator becomes available.
    Returns whether this call fired the timer.
    """
    at = queue.now()
    async with unit_of_work() as uow:
        chat = await Chat.filter(id=chat_id).using_db(uow.tx).select_for_update(skip_locked=True).first()
        if chat is None or not await timers.claim(uow, timer_id, at):
            return False
        if chat.status != ChatStatus.QUEUED:
            return False  # answered or closed meanwhile: the claimed timer was stale
        expired = await queue.withdraw_offers(uow, chat)
        if not expired:
            return False
        await transition(uow, chat, Action.EXPIRE_OFFER)
        for operator_id in expired:
            await ChatSkip.get_or_create(chat_id=chat.id, operator_id=operator_id, using_db=uow.tx)
        uow.record("CHAT_OFFER_EXPIRED", chat=chat, queue_kind="CHAT_SKIPPED", chat_kind="CHAT_UPDATED",
                   operator_ids=expired, removed_operator_ids=expired)
        channel = await queue.channel_of(uow, chat)
        if channel is not None:
            await queue.offer_chat(uow, chat, channel)
    return True


async def offer_at_opening(*, timer_id: int, chat_id: int) -> bool:
    """The channel of a chat that waited while it was closed opens: the offers start, per its
    distribution. If the hours changed and it is closed again, the chat waits for the new next
    opening (offer_chat moves the timer). Returns whether this call fired the timer."""
    at = queue.now()
    async with unit_of_work() as uow:
        chat = await Chat.filter(id=chat_id).using_db(uow.tx).select_for_update(skip_locked=True).first()
        if chat is None or not await timers.claim(uow, timer_id, at):
            return False
        if chat.status != ChatStatus.QUEUED or await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx).exists():
            return True  # answered, finished or offered meanwhile: nothing waits any more
        channel = await queue.channel_of(uow, chat)
        if channel is not None:
            await queue.offer_chat(uow, chat, channel)
    return True


async def no_answer(*, timer_id: int, chat_id: int) -> bool:
    """Nobody answered the waiting chat within its channel's no-answer time: the channel's rule
    (services/chats/no_answer.py). Returns whether this call fired the timer."""
    at = queue.now()
    async with unit_of_work() as uow:
        chat = await Chat.filter(id=chat_id).using_db(uow.tx).select_for_update(skip_locked=True).first()
        if chat is None or not await timers.claim(uow, timer_id, at):
            return False
        if chat.status != ChatStatus.QUEUED or chat.answered_at is not None:
            return True  # answered or finished meanwhile: the claimed timer was stale
        channel = await queue.channel_of(uow, chat)
        if channel is not None and channel.no_answer_timeout_seconds is not None:
            await no_answer_rule.apply_rule(uow, chat, channel)
    return True


async def sla_due(*, timer_id: int, chat_id: int, target: SlaTarget) -> bool:
    """A service-level target's timer is due: its warning or its breach (services/chats/sla.py `fire`).
    Returns whether this call fired the timer."""
    at = queue.now()
    async with unit_of_work() as uow:
        chat = await Chat.filter(id=chat_id).using_db(uow.tx).select_for_update(skip_locked=True).first()
        if chat is None or not await timers.claim(uow, timer_id, at):
            return False
        await sla.fire(uow, chat, target)
    return True


async def auto_close_chat(*, chat_id: int) -> bool:
    """An answered chat idle until its `auto_close_at` closes (never a pinned one); returns whether it did."""
    at = queue.now()
    async with unit_of_work() as uow:
        chat = await (Chat.filter(id=chat_id, status=ChatStatus.ACTIVE, pinned=False, auto_close_at__lte=at)
                      .using_db(uow.tx).select_for_update(skip_locked=True).first())
        if chat is None:
            return False
        before = await audience(uow, chat)
        try:
            await transition(uow, chat, Action.AUTO_CLOSE, expect={"pinned": False, "auto_close_at__lte": at},
                             closed_at=at, auto_close_at=None)
        except InvalidState:
            return False  # activity, a pin or another loop got there first
        await queue.withdraw_offers(uow, chat)
        uow.record("CHAT_AUTO_CLOSED", chat=chat, queue_kind="CHAT_AUTO_CLOSED", chat_kind="CHAT_CLOSED",
                   operator_ids=before)
        await request_rating(uow, chat)
        if chat.operator_id is not None:
            await queue.offer_waiting_chats(uow, chat.operator_id)
    return True


async def due_auto_closes(limit: int) -> list[int]:
    """Ids of answered, unpinned chats whose auto-close time has passed, the most overdue first."""
    return list(cast(list[int], await Chat.filter(status=ChatStatus.ACTIVE, pinned=False, auto_close_at__lte=queue.now())
                     .order_by("auto_close_at", "id").limit(limit).values_list("id", flat=True)))
