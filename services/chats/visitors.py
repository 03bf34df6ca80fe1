"""The visitor's side: a client starts a chat from a website widget, writes in it, and may end it.

Identity: a website that signs its user ids (hex HMAC-SHA256 of the id, keyed with the channel's
identity secret, services/chats/visitor_identity.py) makes a returning visitor the same client:
their history and CRM links stay theirs. Without a signature nobody is merged.
"""
from __future__ import annotations

from typing import Any

from models import Chat, ChatStatus, Client, ContactFields, Message, MessageAuthorKind, OpenChannel, VisitorSession
from services.policies.chats import visible_chats
from services.chats import no_answer, queue, sla
from services.chats.after_hours import tell_if_closed
from services.chats.audience import audience
from services.chats.chat_states import Action, transition
from services.chats.chats import auto_close_deadline
from services.chats.visitor_identity import verified_external_id
from services.identity.auth import hash_token, new_token
from services.common.errors import InvalidInput, InvalidState, NotFound
from services.events import timers
from services.events.events import UnitOfWork, unit_of_work
from services.chats.greeting import greet
from services.identity.viewer import Viewer, require_visitor
from services.common.text_input import clean_text, text_input, EMAIL_LENGTH, NAME_LENGTH, PHONE_LENGTH

VISITOR_TOKEN_PREFIX = "ocv_"
EXTERNAL_ID_LENGTH = 255


@text_input(name=NAME_LENGTH, email=EMAIL_LENGTH, phone=PHONE_LENGTH, external_id=EXTERNAL_ID_LENGTH,
            identity_hash=EXTERNAL_ID_LENGTH)
async def start_visitor_chat(
    *, open_channel_id: int, name: str | None = None, email: str | None = None, phone: str | None = None,
    text: str | None = None, external_id: str | None = None, identity_hash: str | None = None,
) -> tuple[Chat | None, str]:
    """A visitor token for this open channel, for a new client or, with a correct identity hash, for
    the client this channel already knows by `external_id`; with `text`, their message (in their
    open chat if they have one, else a new chat).

    Without `text` no chat exists yet: the visitor's first message creates it. A wrong identity hash
    is INVALID_INPUT and nothing is created; an `external_id` without a hash makes a new client that
    does not keep it (an unverified id names nobody). A channel whose contact fields are REQUIRED
    refuses a start without a name and an e-mail (INVALID_INPUT, nothing created).
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
        _check_contact(channel, name, email)
        verified = verified_external_id(channel, external_id, identity_hash)
        if verified is None:
            client, created = await Client.create(using_db=uow.tx, name=name or "Guest", email=email,
                                                  phone=phone), True
        else:
            client, created = await Client.get_or_create(
                identity_channel_id=channel.id, external_id=verified,
                defaults={"name": name or "Guest", "email": email, "phone": phone}, using_db=uow.tx)
        if created and not name:
            client.name = f"Guest {client.id}"
            await Client.filter(id=client.id).using_db(uow.tx).update(name=client.name)
        await VisitorSession.create(using_db=uow.tx, client_id=client.id, open_channel_id=channel.id,
                                    token_hash=hash_token(token))
        chat = None
        if text:
            chat = await _open_chat_of(uow, client.id) if verified is not None else None
            if chat is None:
                message = await open_customer_chat(uow, client_id=client.id, channel_id=channel.id, text=text)
                chat = await Chat.get(id=message.chat_id, using_db=uow.tx)
            else:
                await write_in_open_chat(uow, chat, text)
    return chat, token


def _check_contact(channel: OpenChannel, name: str, email: str | None) -> None:
    """The channel's contact fields (OpenChannel.contact_fields): REQUIRED needs both."""
    if channel.contact_fields != ContactFields.REQUIRED:
        return
    if not name:
        raise InvalidInput("This channel asks for your name before the first message.", field=["input", "name"])
    if email is None:
        raise InvalidInput("This channel asks for your e-mail address before the first message.",
                           field=["input", "email"])


async def _open_chat_of(uow: UnitOfWork, client_id: int) -> Chat | None:
    """A returning client's open chat, if any (locked: their messages go there, one at a time)."""
    await Client.filter(id=client_id).using_db(uow.tx).select_for_update().first()
    return await (Chat.filter(client_id=client_id, status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE])
                  .using_db(uow.tx).select_for_update().order_by("-id").first())


async def open_customer_chat(uow: UnitOfWork, *, client_id: int, channel_id: int, text: str) -> Message:
    """A client's first message: a new QUEUED chat, the message in it, the offer to operator(s)."""
    client = await Client.get(id=client_id, using_db=uow.tx)
    channel = await OpenChannel.get(id=channel_id, using_db=uow.tx)
    at = queue.now()
    chat = await Chat.create(using_db=uow.tx, title=client.name, status=ChatStatus.QUEUED,
                             open_channel_id=channel.id, client_id=client.id, last_activity_at=at,
                             no_answer_since=at)
    uow.record("CHAT_QUEUED", chat=chat, queue_kind="CHAT_QUEUED", chat_kind="CHAT_UPDATED")
    await sla.start(uow, chat, channel)  # the channel's service-level clocks, if it has a policy
    message = await add_client_message(uow, chat, text, first=True)
    await queue.offer_chat(uow, chat, channel)
    await no_answer.start_waiting(uow, chat, channel, at)
    await greet(uow, chat, channel)
    await tell_if_closed(uow, chat, channel)
    return message


async def write_in_open_chat(uow: UnitOfWork, chat: Chat, text: str) -> Message:
    """The client writes in their open (locked) chat: its activity moves (an answered chat's
    auto-close too), and a queued chat of a closed channel tells them so (once)."""
    channel = await queue.channel_of(uow, chat)
    changes: dict[str, Any] = {"last_activity_at": queue.now()}
    if chat.status == ChatStatus.ACTIVE:
        changes["auto_close_at"] = auto_close_deadline(chat, channel)
    await transition(uow, chat, Action.VISITOR_MESSAGE, **changes)
    message = await add_client_message(uow, chat, text)
    await tell_if_closed(uow, chat, channel)
    return message


async def add_client_message(uow: UnitOfWork, chat: Chat, text: str, *, first: bool = False) -> Message:
    """The client's message in their chat: its operators are told (files, if any, are attached by
    services/messaging/messages.py, in the same transaction). `first`: the message that opens the
    chat (its service levels, started with it, know it waits already)."""
    message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.CLIENT, text=text)
    if not first:
        await sla.client_wrote(uow, chat)  # it waits for a reply (NEXT_RESPONSE)
    uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
               operator_ids=await audience(uow, chat))
    return message


async def visitor_chat(viewer: Viewer) -> Chat | None:
    """The visitor's current chat: the open one, else the latest."""
    require_visitor(viewer)
    chats = visible_chats(viewer)
    return await chats.filter(status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE]).order_by("-id").first() \
        or await chats.order_by("-id").first()


async def finish_visitor_chat(viewer: Viewer) -> Chat:
    """The visitor ends their open chat: a queued one leaves the queue, an answered one closes.

    No rating request (the client left; nobody asks them to rate). The queue and the chat's
    operators are told (CHAT_FINISHED); an operator's freed slot moves waiting chats.
    INVALID_STATE when the visitor has no open chat.
    """
    require_visitor(viewer)
    async with unit_of_work() as uow:
        chat = await (visible_chats(viewer).filter(status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE])
                      .using_db(uow.tx).select_for_update().order_by("-id").first())
        if chat is None:
            raise InvalidState("You have no open chat to finish.", field=["input"])
        before = await audience(uow, chat)
        await transition(uow, chat, Action.VISITOR_FINISH, closed_at=queue.now(), auto_close_at=None)
        withdrawn = await queue.withdraw_offers(uow, chat)
        await timers.cancel(uow, timers.CHANNEL_OPENS, chat.id)
        uow.record("CHAT_FINISHED_BY_CLIENT", chat=chat, queue_kind="CHAT_FINISHED", chat_kind="CHAT_CLOSED",
                   operator_ids=before, removed_operator_ids=withdrawn)
        if chat.operator_id is not None:
            await queue.offer_waiting_chats(uow, chat.operator_id)
    return chat
