"""Messages the system writes to the client: the channel's greeting when a chat is created."""
from __future__ import annotations

from models import Chat, Message, MessageAuthorKind, OpenChannel
from services.events.events import UnitOfWork


async def add_system_message(uow: UnitOfWork, chat: Chat, text: str) -> Message:
    """A visible SYSTEM message (no author): the client and the chat's operators receive it."""
    from services.chats.chats import audience  # chats builds on the queue, which builds on timers

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
