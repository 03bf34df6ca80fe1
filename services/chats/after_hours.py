"""After hours: a client who writes while their chat's channel is closed is told so, once per chat,
and the chat waits in the queue. The queue offers nothing while the channel is closed
(services/chats/queue.py `wait_for_opening`); a timer at the next opening starts the offers
(services/automation/timeouts.py `offer_at_opening`).

Only a chat waiting in the queue is answered this way: an answered chat is with its operator.
"""
from __future__ import annotations

from models import Chat, ChatStatus, Message, OpenChannel
from services.chats import queue, working_hours
from services.chats.greeting import add_system_message
from services.chats.system_texts import SystemText, text_for
from services.events.events import UnitOfWork


def after_hours_text(channel: OpenChannel) -> str:
    """The channel's afterHoursMessage, else the default in its language."""
    return text_for(SystemText.AFTER_HOURS, channel.language, channel.after_hours_message)


async def tell_if_closed(uow: UnitOfWork, chat: Chat, channel: OpenChannel | None) -> Message | None:
    """The after-hours message, if the client just wrote in a queued chat of a closed channel and was
    not told yet: a conditional write on the chat (`after_hours_message_at`) makes it once per chat."""
    if channel is None or chat.status != ChatStatus.QUEUED:
        return None
    at = queue.now()
    if working_hours.is_open(working_hours.from_stored(channel.working_hours), at):
        return None
    told = await Chat.filter(id=chat.id, after_hours_message_at__isnull=True).using_db(uow.tx) \
        .update(after_hours_message_at=at)
    if not told:
        return None
    chat.after_hours_message_at = at
    return await add_system_message(uow, chat, after_hours_text(channel))
