"""Messages the system writes to the client: the channel's greeting when a chat is created, and the
request to rate a chat just closed (the rating itself: services/automation/rating.py), in the
channel's language (services/chats/system_texts.py). The greeting is the channel's own
welcomeMessage only: a channel without one greets nobody."""
from __future__ import annotations

from models import Chat, ChatRating, Message, MessageAuthorKind, OpenChannel
from services.chats import queue
from services.chats.audience import audience
from services.chats.system_texts import DEFAULT_LANGUAGE, SystemText, default_text, text_for
from services.events.events import UnitOfWork

#: the rating request of a channel in the default language (English)
RATING_REQUEST_TEXT = default_text(SystemText.RATING_REQUEST, DEFAULT_LANGUAGE)


async def add_system_message(uow: UnitOfWork, chat: Chat, text: str) -> Message:
    """A visible SYSTEM message (no author): the client and the chat's operators receive it."""
    message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM,
                                   text=text, silent=False)
    uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
               operator_ids=await audience(uow, chat))
    return message


async def greet(uow: UnitOfWork, chat: Chat, channel: OpenChannel) -> Message | None:
    """The channel's welcomeMessage, if it has one, in a chat that has just been created."""
    text = (channel.welcome_message or "").strip()
    if not text:
        return None
    return await add_system_message(uow, chat, text)


async def request_rating(uow: UnitOfWork, chat: Chat, channel: OpenChannel | None = None) -> bool:
    """Ask the client to rate the chat just closed, if its channel wants ratings."""
    if channel is None:
        channel = await queue.channel_of(uow, chat)
    if channel is None or not channel.rating_enabled or chat.client_id is None:
        return False
    _, created = await ChatRating.get_or_create(chat_id=chat.id, defaults={"requested_at": queue.now()},
                                                using_db=uow.tx)
    if created:
        await add_system_message(uow, chat, text_for(SystemText.RATING_REQUEST, channel.language))
    return created
