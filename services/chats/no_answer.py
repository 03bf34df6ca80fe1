"""The no-answer rule: what happens to a chat that waits in a channel's queue, never answered, for
the channel's `no_answer_timeout_seconds` of working time (services/chats/working_hours.py: time
while the channel is closed does not count).

- KEEP_WAITING (the default): nothing but a CHAT_NO_ANSWER queue event;
- SEND_MESSAGE: a SYSTEM message (`no_answer_message`, else the default in the channel's language);
- TRANSFER: the chat moves to the queue of `no_answer_transfer_to`, where that channel's rule
  applies in turn; a chat moved by a no-answer rule is never moved by one again (no loops);
- CLOSE: the message, then the chat closes (no rating request).
No timeout (null): the rule never fires.

The due time is a durable timer (services/events/timers.py NO_ANSWER), set when the chat starts
waiting in a queue (created, or transferred to a channel while never answered) from the channel's
settings at that moment; the scheduler fires it (services/automation/timeouts.py `no_answer`),
exactly once, against the channel's settings at that moment.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from models import Chat, ChatSkip, ChatStatus, NoAnswerRule, OpenChannel
from services.chats import queue, sla, working_hours
from services.chats.audience import audience
from services.chats.chat_states import Action, transition
from services.chats.greeting import add_system_message
from services.chats.system_texts import SystemText, text_for
from services.common.errors import InvalidInput, NotFound
from services.events import timers
from services.events.events import UnitOfWork

#: the settings of a channel's rule, as update_open_channel takes them
SETTINGS = ("no_answer_rule", "no_answer_timeout_seconds", "no_answer_message", "no_answer_transfer_to_id")


def due_at(channel: OpenChannel, since: datetime) -> datetime | None:
    """When the rule of this channel is due for a chat waiting since `since` (None: never)."""
    if channel.no_answer_timeout_seconds is None:
        return None
    return working_hours.after_working_seconds(working_hours.from_stored(channel.working_hours), since,
                                               channel.no_answer_timeout_seconds)


async def start_waiting(uow: UnitOfWork, chat: Chat, channel: OpenChannel, at: datetime | None = None) -> None:
    """The chat starts waiting in this channel's queue (at `at`, default now): its no-answer timer per
    the channel (none for a chat answered before, or a channel without a timeout). `no_answer_since`
    keeps the start, so that new settings of the channel move the timer (`settings_changed`); a chat
    created with it set already costs no statement more."""
    since = (at or queue.now()) if chat.answered_at is None else None
    if chat.no_answer_since != since:
        await Chat.filter(id=chat.id).using_db(uow.tx).update(no_answer_since=since)
        chat.no_answer_since = since
    await _set_timer(uow, chat.id, due_at(channel, since) if since is not None else None)


async def _set_timer(uow: UnitOfWork, chat_id: int, due: datetime | None) -> None:
    if due is None:
        await timers.cancel(uow, timers.NO_ANSWER, chat_id)
    else:
        await timers.schedule(uow, timers.NO_ANSWER, chat_id, due)


async def settings_changed(uow: UnitOfWork, channel: OpenChannel) -> int:
    """The channel's timeout or working hours changed (`channel`: as it is now): every chat waiting in
    its queue for the rule gets its timer from the new settings, counted from when it started
    waiting (a due time already past fires at the scheduler's next round; no timeout: no timer).
    The chats are locked in id order first, so a scheduler round firing one of them either
    finished before (the chat does not wait for the rule any more) or fires the moved timer.
    Returns how many chats were looked at."""
    waiting = await (Chat.filter(open_channel_id=channel.id, status=ChatStatus.QUEUED, answered_at__isnull=True,
                                 no_answer_since__isnull=False)
                     .using_db(uow.tx).select_for_update().order_by("id").values_list("id", "no_answer_since"))
    for chat_id, since in waiting:
        await _set_timer(uow, chat_id, due_at(channel, since))
    return len(waiting)


def message_text(channel: OpenChannel) -> str:
    """The channel's noAnswerMessage, else the default in its language."""
    return text_for(SystemText.NO_ANSWER, channel.language, channel.no_answer_message)


async def apply_rule(uow: UnitOfWork, chat: Chat, channel: OpenChannel) -> NoAnswerRule:
    """Apply the channel's rule to this QUEUED, never answered chat (locked); returns the rule applied
    (a TRANSFER without a target, or of a chat moved once already, keeps it waiting)."""
    at = queue.now()
    rule = NoAnswerRule(channel.no_answer_rule)
    target = None
    if rule is NoAnswerRule.TRANSFER:
        if not chat.no_answer_moved and channel.no_answer_transfer_to_id not in (None, channel.id):
            target = await OpenChannel.get_or_none(id=channel.no_answer_transfer_to_id, using_db=uow.tx)
        if target is None:
            rule = NoAnswerRule.KEEP_WAITING
    before = await audience(uow, chat)
    detail: dict[str, Any] = {"rule": rule.value}
    if rule is NoAnswerRule.CLOSE:
        await add_system_message(uow, chat, message_text(channel))
        await transition(uow, chat, Action.NO_ANSWER_CLOSE, no_answer_at=at, no_answer_since=None, closed_at=at,
                         auto_close_at=None)
        withdrawn = await queue.withdraw_offers(uow, chat)
        uow.record("CHAT_NO_ANSWER", chat=chat, queue_kind="CHAT_NO_ANSWER", chat_kind="CHAT_CLOSED",
                   operator_ids=before, removed_operator_ids=withdrawn, detail=detail)
        return rule  # no rating request: nobody answered
    if target is not None:
        await transition(uow, chat, Action.NO_ANSWER, no_answer_at=at, no_answer_moved=True,
                         open_channel_id=target.id)
        withdrawn = await queue.withdraw_offers(uow, chat)
        await ChatSkip.filter(chat_id=chat.id).using_db(uow.tx).delete()
        await sla.transferred(uow, chat, channel.working_hours, target)  # the clocks go on
        detail["to_open_channel_id"] = target.id
        # in the queue it left; whoever was offered it loses it
        uow.record("CHAT_NO_ANSWER", chat=chat, queue_kind="CHAT_NO_ANSWER", chat_kind="CHAT_UPDATED",
                   operator_ids=before, removed_operator_ids=withdrawn, open_channel_id=channel.id, detail=detail)
        uow.record("CHAT_QUEUED", chat=chat, queue_kind="CHAT_QUEUED", chat_kind="CHAT_UPDATED")
        await queue.offer_chat(uow, chat, target)
        await start_waiting(uow, chat, target)
        return rule
    await transition(uow, chat, Action.NO_ANSWER, no_answer_at=at, no_answer_since=None)
    uow.record("CHAT_NO_ANSWER", chat=chat, queue_kind="CHAT_NO_ANSWER", chat_kind="CHAT_UPDATED",
               operator_ids=before, detail=detail)
    if rule is NoAnswerRule.SEND_MESSAGE:
        await add_system_message(uow, chat, message_text(channel))
    return rule


def settings_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The rule's settings given to update_open_channel, checked alone (a null rule, a timeout below
    one second) and normalized (an empty message: the default text)."""
    if "no_answer_rule" in changes:
        if changes["no_answer_rule"] is None:
            raise InvalidInput("noAnswerRule cannot be null (KEEP_WAITING is the default).",
                               field=["input", "noAnswerRule"])
        changes["no_answer_rule"] = NoAnswerRule(getattr(changes["no_answer_rule"], "value",
                                                         changes["no_answer_rule"]))
    timeout = changes.get("no_answer_timeout_seconds")
    if timeout is not None and timeout < 1:
        raise InvalidInput("noAnswerTimeoutSeconds must be at least 1 (null: the rule never fires).",
                           field=["input", "noAnswerTimeoutSeconds"])
    if "no_answer_message" in changes:
        changes["no_answer_message"] = (changes["no_answer_message"] or "").strip() or None
    return changes


async def check_settings(uow: UnitOfWork, channel: OpenChannel, changes: dict[str, Any]) -> None:
    """The rule as it will be after `changes`: a TRANSFER needs another channel that exists."""
    if not any(name in changes for name in SETTINGS):
        return
    rule = changes.get("no_answer_rule", channel.no_answer_rule)
    target_id = changes.get("no_answer_transfer_to_id", channel.no_answer_transfer_to_id)
    if target_id is not None:
        if target_id == channel.id:
            raise InvalidInput("A channel cannot transfer its unanswered chats to itself: choose another channel.",
                               field=["input", "noAnswerTransferToId"])
        if "no_answer_transfer_to_id" in changes and \
                not await OpenChannel.filter(id=target_id).using_db(uow.tx).exists():
            raise NotFound("No such open channel.", field=["input", "noAnswerTransferToId"])
    if rule == NoAnswerRule.TRANSFER and target_id is None:
        raise InvalidInput("The TRANSFER rule needs noAnswerTransferToId: the channel to move unanswered chats to.",
                           field=["input", "noAnswerTransferToId"])
