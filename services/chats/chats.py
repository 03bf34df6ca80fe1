"""Use cases on one chat: answer, skip, transfer, intercept, finish, spam, pin, rename,
add participants, mark read. Each: one transaction, its authorisation, its events."""
from __future__ import annotations

from datetime import timedelta
from typing import cast

from tortoise.functions import Max

from models import (
    Chat, ChatOffer, ChatParticipant, ChatSkip, Event, Message, MessageAuthorKind, OpenChannel, Operator,
)
from services.chats import no_answer, queue, sla
from services.chats.audience import audience
from services.chats.greeting import request_rating
from services.policies import operators as operator_policy
from services.policies.chats import ensure, get_visible_chat, operator_chat
from services.chats.chat_states import ACTIVE, Action, ensure_allowed, transition
from services.common import raw_sql
from services.common.errors import AlreadyTaken, InvalidInput, LimitExceeded, NotFound
from services.events.events import UnitOfWork, unit_of_work
from services.chats.read_markers import move_read_marker
from services.identity.viewer import Viewer, require_operator
from services.common.text_input import text_input, LONG_TEXT_LENGTH

MAX_TITLE_LENGTH = 255


async def add_participant(uow: UnitOfWork, chat: Chat, operator_id: int) -> bool:
    _, created = await ChatParticipant.get_or_create(chat_id=chat.id, operator_id=operator_id, using_db=uow.tx)
    return created


def auto_close_deadline(chat: Chat, channel: OpenChannel | None):
    """When an ACTIVE chat closes by itself if nothing happens; None while pinned.
    The same rule in SQL, for a statement that updates the chat: auto_close_deadline_sql below."""
    if chat.pinned or channel is None:
        return None
    return queue.now() + timedelta(seconds=channel.auto_close_after_seconds)


def auto_close_deadline_sql(at: str, *, postgres: bool) -> str:
    """auto_close_deadline as an SQL expression over the row `chat` of an UPDATE, counted from `at`
    (SQL; a timestamptz on PostgreSQL, the stored text on SQLite): the chat's channel's delay after
    it, NULL for a pinned chat or one without a channel. sendMessage's transition writes it
    (services/messaging/messages.py `_touch_sql`), on both backends."""
    delay = "(SELECT auto_close_after_seconds FROM open_channel WHERE open_channel.id = chat.open_channel_id)"
    return f"CASE WHEN chat.pinned THEN NULL ELSE {raw_sql.plus_seconds(at, delay, postgres=postgres)} END"


async def answer_chat(viewer: Viewer, *, chat_id: int) -> Chat:
    """Take a queued chat: the caller becomes responsible; exactly one caller wins."""
    async with unit_of_work(viewer) as uow:
        try:
            chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        except NotFound:
            if await _was_offered(uow, chat_id, viewer.operator_id):
                raise AlreadyTaken("Another operator has already answered this chat.")
            raise
        ensure(roles.can_take, "This chat is not offered to you and is not in your queues.")
        channel = await queue.channel_of(uow, chat)
        assert viewer.operator_id is not None  # operator_chat admits operators only
        await _ensure_capacity(uow, chat, channel, viewer.operator_id)
        before = await audience(uow, chat)
        at = queue.now()
        await transition(
            uow, chat, Action.ANSWER,
            operator_id=viewer.operator_id, answered_at=at, last_activity_at=at,
            auto_close_at=auto_close_deadline(chat, channel),
        )
        await sla.answered(uow, chat, channel)  # FIRST_RESPONSE met
        withdrawn = await queue.withdraw_offers(uow, chat)
        await ChatSkip.filter(chat_id=chat.id).using_db(uow.tx).delete()
        await add_participant(uow, chat, viewer.operator_id)
        uow.record("CHAT_ANSWERED", chat=chat, queue_kind="CHAT_ANSWERED", chat_kind="CHAT_UPDATED",
                   operator_ids=before | {viewer.operator_id},
                   removed_operator_ids=set(withdrawn) - {viewer.operator_id})
    return chat


async def _ensure_capacity(uow: UnitOfWork, chat: Chat, channel: OpenChannel | None, operator_id: int) -> None:
    """LIMIT_EXCEEDED when the operator already has the channel's maxChatsPerOperator answered chats.

    The operator's row is locked first, so two answers by one operator at once count each other.
    """
    if chat.status != ACTIVE and channel is not None and channel.max_chats_per_operator is not None:
        await Operator.filter(id=operator_id).using_db(uow.tx).select_for_update().first()
        active = await Chat.filter(operator_id=operator_id, status=ACTIVE).using_db(uow.tx).count()
        if active >= channel.max_chats_per_operator:
            raise LimitExceeded(
                f"You already have {active} active chats; this queue allows {channel.max_chats_per_operator}. "
                "Finish one first.", field=["input", "chatId"])


async def _was_offered(uow: UnitOfWork, chat_id: int, operator_id: int | None) -> bool:
    """Whether the chat was ever offered to the operator (the event log remembers withdrawn offers).

    An operator outside the channel sees a chat only while it is offered to them: when a
    colleague answers it first, "already taken" is the truthful answer, not "no such chat".
    """
    offers = await Event.filter(chat_id=chat_id, kind="CHAT_OFFERED").using_db(uow.tx).values_list(
        "operator_ids", flat=True)
    return any(operator_id in (ids or []) for ids in offers)


async def skip_chat(viewer: Viewer, *, chat_id: int) -> Chat:
    """Withdraw the offer from the caller and pass the chat on to the next operator."""
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure_allowed(Action.SKIP, chat)
        ensure(roles.offered, "This chat is not offered to you.")
        await transition(uow, chat, Action.SKIP)
        await ChatOffer.filter(chat_id=chat.id, operator_id=viewer.operator_id).using_db(uow.tx).delete()
        await ChatSkip.get_or_create(chat_id=chat.id, operator_id=viewer.operator_id, using_db=uow.tx)
        uow.record("CHAT_SKIPPED", chat=chat, queue_kind="CHAT_SKIPPED", chat_kind="CHAT_UPDATED",
                   operator_ids=[viewer.operator_id], removed_operator_ids=[viewer.operator_id])
        still_offered = await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx).exists()
        channel = await queue.channel_of(uow, chat)
        if not still_offered and channel is not None:
            await queue.offer_chat(uow, chat, channel)
    return chat


@text_input(comment=LONG_TEXT_LENGTH)
async def transfer_chat(
    viewer: Viewer, *, chat_id: int, operator_id: int | None = None, open_channel_id: int | None = None,
    comment: str | None = None,
) -> Chat:
    """Hand the chat to one operator (offered to them) or to an open channel (queued there)."""
    if (operator_id is None) == (open_channel_id is None):
        raise InvalidInput("Give exactly one of operatorId and openChannelId.", field=["input", "operatorId"])
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        if chat.status == ACTIVE:
            ensure(roles.supervisor or roles.responsible, "Only the responsible operator or a supervisor can transfer it.")
        else:
            ensure(roles.can_take, "This chat is not offered to you and is not in your queues.")
        ensure_allowed(Action.TRANSFER, chat)
        target_channel = await _transfer_target(uow, chat, operator_id, open_channel_id)
        before = await audience(uow, chat)
        previous_operator, previous_channel = chat.operator_id, chat.open_channel_id
        # another channel: the service-level clocks go on in its working hours
        moved_from = await queue.channel_of(uow, chat) \
            if target_channel is not None and target_channel.id != previous_channel else None
        await transition(
            uow, chat, Action.TRANSFER, expect={"operator_id": previous_operator},
            operator_id=None, open_channel_id=target_channel.id if target_channel else chat.open_channel_id,
            auto_close_at=None, pinned=False,
        )
        withdrawn = await queue.withdraw_offers(uow, chat)
        if target_channel is not None and target_channel.id != previous_channel:
            await sla.transferred(uow, chat, moved_from.working_hours if moved_from else None, target_channel)
        if previous_operator is not None:
            await ChatParticipant.filter(chat_id=chat.id, operator_id=previous_operator).using_db(uow.tx).delete()
        if comment and comment.strip():
            await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM,
                                 author_id=viewer.operator_id, text=comment.strip(), silent=True)
        # in the queue it left; whoever was responsible or offered it loses it (unless it is offered to them now)
        uow.record("CHAT_TRANSFERRED", chat=chat, queue_kind="CHAT_TRANSFERRED", chat_kind="CHAT_UPDATED",
                   operator_ids=before | {operator_id}, open_channel_id=previous_channel,
                   removed_operator_ids=({previous_operator} | set(withdrawn)) - {operator_id},
                   detail={"comment": comment.strip()} if comment and comment.strip() else None)
        if operator_id is not None:
            await ChatSkip.filter(chat_id=chat.id, operator_id=operator_id).using_db(uow.tx).delete()
            await queue.add_offers(uow, chat, [operator_id])
        else:
            await ChatSkip.filter(chat_id=chat.id).using_db(uow.tx).delete()
            # whoever hands the chat to a queue means "someone else": it is not offered back to them
            await ChatSkip.create(using_db=uow.tx, chat_id=chat.id, operator_id=viewer.operator_id)
            uow.record("CHAT_QUEUED", chat=chat, queue_kind="CHAT_QUEUED", chat_kind="CHAT_UPDATED")
            assert target_channel is not None  # no operator given: _transfer_target found the channel
            await queue.offer_chat(uow, chat, target_channel)
            await no_answer.start_waiting(uow, chat, target_channel)  # never answered: the new queue's rule
        if previous_operator is not None:  # their slot is free: waiting chats move
            await queue.offer_waiting_chats(uow, previous_operator)
    return chat


async def _transfer_target(
    uow: UnitOfWork, chat: Chat, operator_id: int | None, open_channel_id: int | None
) -> OpenChannel | None:
    if operator_id is not None:
        if operator_id not in await operator_policy.existing_ids([operator_id], uow.tx):
            raise NotFound("No such operator.", field=["input", "operatorId"])
        if operator_id == chat.operator_id:
            raise InvalidInput("The chat is already with this operator.", field=["input", "operatorId"])
        return None
    channel = await OpenChannel.get_or_none(id=open_channel_id, using_db=uow.tx)
    if channel is None:
        raise NotFound("No such open channel.", field=["input", "openChannelId"])
    return channel


async def intercept_chat(viewer: Viewer, *, chat_id: int) -> Chat:
    """Take an answered chat over from another operator."""
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure(roles.supervisor or roles.member or roles.participant,
               "Only a member of the chat's open channel, a participant or a supervisor can take it over.")
        if chat.status == ACTIVE and roles.responsible:
            raise InvalidInput("You are already responsible for this chat.", field=["input", "chatId"])
        before = await audience(uow, chat)
        previous_operator = chat.operator_id
        assert viewer.operator_id is not None  # operator_chat admits operators only
        await transition(uow, chat, Action.INTERCEPT, expect={"operator_id": previous_operator},
                         operator_id=viewer.operator_id)
        if previous_operator is not None:
            await ChatParticipant.filter(chat_id=chat.id, operator_id=previous_operator).using_db(uow.tx).delete()
        await add_participant(uow, chat, viewer.operator_id)
        uow.record("CHAT_INTERCEPTED", chat=chat, queue_kind="CHAT_INTERCEPTED", chat_kind="CHAT_UPDATED",
                   operator_ids=before | {viewer.operator_id},
                   removed_operator_ids={previous_operator} - {viewer.operator_id})
    return chat


async def finish_chat(viewer: Viewer, *, chat_id: int) -> Chat:
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure(roles.supervisor or roles.responsible, "Only the responsible operator or a supervisor can finish it.")
        await _close(uow, chat, Action.FINISH, "CHAT_FINISHED")
    return chat


async def mark_chat_spam(viewer: Viewer, *, chat_id: int) -> Chat:
    """Close the chat as spam: the client gets no rating request."""
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        if chat.status == ACTIVE:
            ensure(roles.supervisor or roles.responsible, "Only the responsible operator or a supervisor can do this.")
        else:
            ensure(roles.can_take, "This chat is not offered to you and is not in your queues.")
        await _close(uow, chat, Action.SPAM, "CHAT_SPAM")
    return chat


async def _close(uow: UnitOfWork, chat: Chat, action: Action, kind: str) -> None:
    before = await audience(uow, chat)
    await transition(uow, chat, action, closed_at=queue.now(), auto_close_at=None)
    withdrawn = await queue.withdraw_offers(uow, chat)  # a queued chat marked as spam: its offers end
    uow.record(kind, chat=chat, queue_kind=kind, chat_kind="CHAT_CLOSED", operator_ids=before,
               removed_operator_ids=withdrawn)
    if action is Action.FINISH:
        await request_rating(uow, chat)  # never for spam
    if chat.operator_id is not None:  # a slot is free: waiting chats move
        await queue.offer_waiting_chats(uow, chat.operator_id)


async def pin_chat(viewer: Viewer, *, chat_id: int, pinned: bool) -> Chat:
    """Lock the chat as mine: no auto-close while pinned; unpinning restarts the countdown."""
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure(roles.supervisor or roles.responsible, "Only the responsible operator or a supervisor can pin it.")
        if chat.status == ACTIVE and chat.pinned == pinned:
            return chat  # already so: nothing changes, no event
        chat.pinned = pinned
        await transition(uow, chat, Action.PIN, pinned=pinned,
                         auto_close_at=auto_close_deadline(chat, await queue.channel_of(uow, chat)))
        kind = "CHAT_PINNED" if pinned else "CHAT_UNPINNED"
        uow.record(kind, chat=chat, queue_kind=kind, chat_kind="CHAT_UPDATED", operator_ids=await audience(uow, chat))
    return chat


@text_input()
async def rename_chat(viewer: Viewer, *, chat_id: int, title: str) -> Chat:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("The title cannot be empty.", field=["input", "title"])
    if len(title) > MAX_TITLE_LENGTH:
        raise InvalidInput(f"The title is longer than {MAX_TITLE_LENGTH} characters.", field=["input", "title"])
    async with unit_of_work(viewer) as uow:
        chat, _ = await operator_chat(viewer, chat_id, uow.tx)
        old_title = chat.title
        await transition(uow, chat, Action.RENAME, title=title)
        uow.record("CHAT_RENAMED", chat=chat, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                   operator_ids=await audience(uow, chat), detail={"old_title": old_title})
    return chat


async def add_chat_participants(viewer: Viewer, *, chat_id: int, operator_ids: list[int]) -> Chat:
    """Bring colleagues into an answered chat: they see it and its whole history."""
    if not operator_ids:
        raise InvalidInput("Name at least one operator.", field=["input", "operatorIds"])
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure(roles.supervisor or roles.responsible or roles.participant,
               "Only the chat's operators or a supervisor can add colleagues.")
        wanted = set(operator_ids)
        if wanted - await operator_policy.existing_ids(wanted, uow.tx):
            raise NotFound("No such operator.", field=["input", "operatorIds"])
        await transition(uow, chat, Action.ADD_PARTICIPANTS)
        added = [i for i in sorted(wanted) if await add_participant(uow, chat, i)]
        if added:
            uow.record("PARTICIPANTS_CHANGED", chat=chat, chat_kind="PARTICIPANTS_CHANGED",
                       operator_ids=await audience(uow, chat))
    return chat


async def mark_chat_read(viewer: Viewer, *, chat_id: int) -> Chat:
    """Everything in the chat up to now is read by the caller."""
    operator_id = require_operator(viewer)
    async with unit_of_work(viewer) as uow:
        chat = await get_visible_chat(viewer, chat_id, using=uow.tx)
        last = cast(list[int | None], await Message.filter(chat_id=chat.id).using_db(uow.tx).annotate(m=Max("id"))
                    .values_list("m", flat=True))
        last_id = (last[0] if last else None) or 0
        await move_read_marker(uow, chat_id=chat.id, operator_id=operator_id, message_id=last_id)
        uow.record("CHAT_READ", chat=chat, operator_ids=[operator_id])
    return chat
