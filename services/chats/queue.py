"""Offering a queued chat to operators, per the open channel's distribution.

- EVENLY: the eligible member who was offered a chat of this channel least recently;
- STRICT: the first eligible member in queue order;
- ALL: every eligible member at once (the first to answer takes it).
Eligible: ONLINE, has not skipped this chat, and below the channel's chat limit.
Nobody is offered a chat while its channel is closed (services/chats/working_hours.py): the chat
waits for a timer at the next opening (services/automation/timeouts.py `offer_at_opening`).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import cast

from tortoise.expressions import RawSQL, Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models import (
    Chat, ChatOffer, ChatPriority, ChatSkip, ChatStatus, OpenChannel, Operator, OperatorStatus, QueueDistribution, QueueMember,
)
from services.chats.priorities import RANK
from services.chats import working_hours
from services.events import timers
from services.events.events import UnitOfWork

_NEVER = datetime.min.replace(tzinfo=timezone.utc)


async def channel_of(uow: UnitOfWork, chat: Chat) -> OpenChannel | None:
    """The chat's open channel (None for a chat outside any queue)."""
    if chat.open_channel_id is None:
        return None
    return await OpenChannel.get_or_none(id=chat.open_channel_id, using_db=uow.tx)


def now() -> datetime:
    return datetime.now(timezone.utc)


async def eligible_members(uow: UnitOfWork, chat: Chat, channel: OpenChannel) -> list[QueueMember]:
    """Members who may be offered this chat now, in queue order (rows locked on PostgreSQL)."""
    members = (
        await QueueMember.filter(open_channel_id=channel.id)
        .using_db(uow.tx)
        .select_for_update()
        .order_by("position", "id")
    )
    if not members:
        return []
    ids = [m.operator_id for m in members]
    online = set(
        await Operator.filter(id__in=ids, status=OperatorStatus.ONLINE).using_db(uow.tx).values_list("id", flat=True)
    )
    skipped = set(await ChatSkip.filter(chat_id=chat.id).using_db(uow.tx).values_list("operator_id", flat=True))
    busy: set[int] = set()
    if channel.max_chats_per_operator is not None:
        counts = (
            await Chat.filter(operator_id__in=ids, status=ChatStatus.ACTIVE)
            .using_db(uow.tx)
            .annotate(n=Count("id"))
            .group_by("operator_id")
            .values("operator_id", "n")
        )
        busy = {row["operator_id"] for row in counts if row["n"] >= channel.max_chats_per_operator}
    return [m for m in members if m.operator_id in online and m.operator_id not in skipped and m.operator_id not in busy]


def choose(distribution: QueueDistribution, members: list[QueueMember]) -> list[QueueMember]:
    if not members:
        return []
    if distribution == QueueDistribution.ALL:
        return members
    if distribution == QueueDistribution.STRICT:
        return members[:1]
    return [min(members, key=lambda m: (m.last_offered_at or _NEVER, m.position, m.id))]


async def offer_chat(uow: UnitOfWork, chat: Chat, channel: OpenChannel) -> list[int]:
    """Offer a QUEUED chat that has no offers to the next operator(s); returns their ids.

    When nobody is eligible the chat stays QUEUED, visible in the channel's queue; while the channel
    is closed it stays QUEUED too, with a timer at the next opening.
    """
    if await wait_for_opening(uow, chat, channel):
        return []
    chosen = choose(channel.distribution, await eligible_members(uow, chat, channel))
    if not chosen:
        await timers.cancel(uow, timers.OFFER_TIMEOUT, chat.id)
        return []
    at = now()
    operator_ids = [m.operator_id for m in chosen]
    await QueueMember.filter(id__in=[m.id for m in chosen]).using_db(uow.tx).update(last_offered_at=at)
    await add_offers(uow, chat, operator_ids, channel=channel)
    return operator_ids


async def wait_for_opening(uow: UnitOfWork, chat: Chat, channel: OpenChannel) -> bool:
    """Whether the channel is closed now; if so the chat's offers wait for the next opening (a timer,
    none when the channel never opens: changing its hours re-evaluates the chat)."""
    hours = working_hours.from_stored(channel.working_hours)
    at = now()
    if working_hours.is_open(hours, at):
        return False
    await timers.cancel(uow, timers.OFFER_TIMEOUT, chat.id)
    opening = working_hours.next_opening(hours, at)
    if opening is not None:
        await timers.schedule(uow, timers.CHANNEL_OPENS, chat.id, opening)
    return True


async def add_offers(
    uow: UnitOfWork, chat: Chat, operator_ids: list[int], *, channel: OpenChannel | None = None
) -> None:
    """Offer the chat to these operators; unanswered, the offer passes on after the channel's answer timeout."""
    await ChatOffer.bulk_create([ChatOffer(chat_id=chat.id, operator_id=i) for i in operator_ids],
                                ignore_conflicts=True, using_db=uow.tx)
    uow.record(
        "CHAT_OFFERED", chat=chat, queue_kind="CHAT_OFFERED", chat_kind="CHAT_UPDATED", operator_ids=operator_ids
    )
    if channel is None:
        channel = await channel_of(uow, chat)
    if channel is not None:
        await timers.schedule(uow, timers.OFFER_TIMEOUT, chat.id,
                              now() + timedelta(seconds=channel.answer_timeout_seconds))


async def withdraw_offers(uow: UnitOfWork, chat: Chat) -> list[int]:
    """Remove every offer of the chat (and its answer timer); returns who had one (their lists change)."""
    offered = cast(list[int], await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx)
                   .values_list("operator_id", flat=True))
    if offered:
        await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx).delete()
        await timers.cancel(uow, timers.OFFER_TIMEOUT, chat.id)
    return offered


def priority_rank() -> RawSQL:
    """The chat's priority as a number (services/chats/priorities.py `RANK`): the stored values do
    not sort by urgency as text. Written out (our own constants, no input): bound as parameters,
    PostgreSQL would take the numbers for text."""
    cases = " ".join(f"WHEN '{priority.value}' THEN {rank}" for priority, rank in RANK.items())
    return RawSQL(f"CASE priority {cases} ELSE {RANK[ChatPriority.NORMAL]} END")


def in_queue_order(chats: QuerySet[Chat]) -> QuerySet[Chat]:
    """Waiting chats in the order the queue offers them: highest priority first, then the oldest
    (the one definition: offers and queue positions both use it)."""
    return chats.annotate(rank=priority_rank()).order_by("-rank", "created_at", "id")


#: how many waiting chats one freed operator can set in motion at once
WAITING_BATCH = 50


async def offer_waiting_chats(uow: UnitOfWork, operator_id: int) -> int:
    """An operator became available (ONLINE, or a slot freed): offer the chats waiting with no offer.

    Waiting chats of the operator's channels, highest priority first, then oldest first, each per its channel's distribution
    (so not necessarily to this operator). A chat another transaction holds is left alone
    (SKIP LOCKED): whoever holds it decides. Returns how many chats were offered.
    """
    channel_ids = Subquery(QueueMember.filter(operator_id=operator_id).values("open_channel_id"))
    waiting = (
        await in_queue_order(Chat.filter(status=ChatStatus.QUEUED, open_channel_id__in=channel_ids)
                             .exclude(id__in=Subquery(ChatOffer.all().values("chat_id"))))
        .using_db(uow.tx).select_for_update(skip_locked=True).limit(WAITING_BATCH)
    )
    channels: dict[int, OpenChannel] = {}
    offered = 0
    for chat in waiting:
        if await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx).exists():
            continue  # offered meanwhile (before our lock)
        assert chat.open_channel_id is not None  # waiting in a channel's queue
        if chat.open_channel_id not in channels:
            channels[chat.open_channel_id] = await OpenChannel.get(id=chat.open_channel_id, using_db=uow.tx)
        if await offer_chat(uow, chat, channels[chat.open_channel_id]):
            offered += 1
    return offered


async def pass_on_offers_of(uow: UnitOfWork, operator_id: int) -> int:
    """An operator who is no longer ONLINE keeps no offer: each passes on now (not after the timeout).

    Call it after the operator's status changed in this transaction (so they are not eligible).
    No skip is recorded: back ONLINE, they may be offered the chat again. A chat another
    transaction holds keeps its offer until its timeout. Returns how many offers passed on.
    """
    chat_ids = Subquery(ChatOffer.filter(operator_id=operator_id).values("chat_id"))
    offered = await (Chat.filter(id__in=chat_ids, status=ChatStatus.QUEUED).using_db(uow.tx)
                     .select_for_update(skip_locked=True).order_by("id"))
    for chat in offered:
        await ChatOffer.filter(chat_id=chat.id, operator_id=operator_id).using_db(uow.tx).delete()
        uow.record("CHAT_OFFER_WITHDRAWN", chat=chat, chat_kind="CHAT_UPDATED", operator_ids=[operator_id],
                   removed_operator_ids=[operator_id])
        if chat.open_channel_id is not None and not await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx).exists():
            await offer_chat(uow, chat, await OpenChannel.get(id=chat.open_channel_id, using_db=uow.tx))
    return len(offered)
