"""The visitor's side: a client starts a chat from a website widget and writes in it."""
from __future__ import annotations

from models import Chat, ChatStatus, Client, Message, MessageAuthorKind, OpenChannel, VisitorSession
from services.policies.chats import visible_chats
from services.chats import queue
from services.chats.audience import audience
from services.identity.auth import hash_token, new_token
from services.common.errors import InvalidInput, NotFound
from services.events.events import UnitOfWork, unit_of_work
from services.chats.greeting import greet
from services.identity.viewer import Viewer, require_visitor
from services.common.text_input import clean_text, text_input, EMAIL_LENGTH, NAME_LENGTH, PHONE_LENGTH

VISITOR_TOKEN_PREFIX = "ocv_"


@text_input(name=NAME_LENGTH, email=EMAIL_LENGTH, phone=PHONE_LENGTH)
async def start_visitor_chat(
    *, open_channel_id: int, name: str | None = None, email: str | None = None, phone: str | None = None,
    text: str | None = None,
) -> tuple[Chat | None, str]:
    """A new client with a visitor token for this open channel; with `text`, their first chat.

    Without `text` no chat exists yet: the visitor's first message creates it.
    """
    name = (name or "").strip()[:200]
    email = (email or "").strip() or None
    phone = (phone or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 254):
        raise InvalidInput("This is not an e-mail address.", field=["input", "email"])
    if phone is not None and len(phone) > 64:
        raise InvalidInput("The phone number is too long.", field=["input", "phone"])
    if text is not None:
        text = clean_text(text, ["input", "text"])
    token = new_token(VISITOR_TOKEN_PREFIX)
    async with unit_of_work() as uow:
        channel = await OpenChannel.get_or_none(id=open_channel_id, using_db=uow.tx)
        if channel is None:
            raise NotFound("No such open channel.", field=["input", "openChannelId"])
        client = await Client.create(using_db=uow.tx, name=name or "Guest", email=email, phone=phone)
        if not name:
            client.name = f"Guest {client.id}"
            await Client.filter(id=client.id).using_db(uow.tx).update(name=client.name)
        await VisitorSession.create(using_db=uow.tx, client_id=client.id, open_channel_id=channel.id,
                                    token_hash=hash_token(token))
        chat = None
        if text:
            message = await open_customer_chat(uow, client_id=client.id, channel_id=channel.id, text=text)
            chat = await Chat.get(id=message.chat_id, using_db=uow.tx)
    return chat, token


async def open_customer_chat(uow: UnitOfWork, *, client_id: int, channel_id: int, text: str) -> Message:
    """A client's first message: a new QUEUED chat, the message in it, the offer to operator(s)."""
    client = await Client.get(id=client_id, using_db=uow.tx)
    channel = await OpenChannel.get(id=channel_id, using_db=uow.tx)
    at = queue.now()
    chat = await Chat.create(using_db=uow.tx, title=client.name, status=ChatStatus.QUEUED,
                             open_channel_id=channel.id, client_id=client.id, last_activity_at=at)
    uow.record("CHAT_QUEUED", chat=chat, queue_kind="CHAT_QUEUED", chat_kind="CHAT_UPDATED")
    message = await add_client_message(uow, chat, text)
    await queue.offer_chat(uow, chat, channel)
    await greet(uow, chat, channel)
    return message


async def add_client_message(uow: UnitOfWork, chat: Chat, text: str) -> Message:
    """The client's message in their chat: its operators are told (files, if any, are attached by
    services/messaging/messages.py, in the same transaction)."""
    message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.CLIENT, text=text)
    uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
               operator_ids=await audience(uow, chat))
    return message


async def visitor_chat(viewer: Viewer) -> Chat | None:
    """The visitor's current chat: the open one, else the latest."""
    require_visitor(viewer)
    chats = visible_chats(viewer)
    return await chats.filter(status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE]).order_by("-id").first() \
        or await chats.order_by("-id").first()
