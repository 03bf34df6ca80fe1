"""New chats started from a message: a colleague chat to discuss it, or a new conversation with
the same client. Each new chat's `parentChat` is the message's chat, and its first message
quotes the source (a snapshot: it reads the same after the source is edited or deleted)."""
from __future__ import annotations

from models import Chat, ChatKind, ChatParticipant, ChatStatus, Message, MessageAuthorKind
from services.chats import queue
from services.policies import open_channels as open_channel_policy
from services.policies import operators as operator_policy
from services.policies.copy_audience import audience_of_copy
from services.common.errors import Forbidden, InvalidInput, InvalidState, NotFound
from services.events.events import UnitOfWork, unit_of_work
from services.messaging.messaging import get_visible_message, write_references
from services.identity.viewer import Viewer, require_operator


async def _first_note(uow: UnitOfWork, chat: Chat, author_id: int, source: Message, text: str) -> Message:
    note = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.OPERATOR,
                                author_id=author_id, text=text, silent=chat.kind == ChatKind.CUSTOMER)
    await write_references(uow, note, reply_to=None, quoted=source, mentioned=[])
    return note


async def discuss_message_in_chat(viewer: Viewer, *, message_id: int, operator_ids: list[int] | None = None) -> Chat:
    """An INTERNAL chat of the caller and the chosen colleagues, opening with the message quoted."""
    me = require_operator(viewer)
    colleagues = sorted(set(operator_ids or []) - {me})
    async with unit_of_work(viewer) as uow:
        source, chat = await get_visible_message(viewer, message_id, using=uow.tx)
        if source.deleted:
            raise InvalidState("A deleted message cannot be discussed.", field=["input", "messageId"])
        if len(await operator_policy.existing_ids(colleagues, uow.tx)) != len(colleagues):
            raise NotFound("No such operator.", field=["input", "operatorIds"])
        await audience_of_copy(source).refuse_outsiders(colleagues, ["input", "operatorIds"], using=uow.tx)
        at = queue.now()
        internal = await Chat.create(using_db=uow.tx, kind=ChatKind.INTERNAL, title=f"Discussion: {chat.title}"[:255],
                                     status=ChatStatus.ACTIVE, operator_id=me, parent_chat_id=chat.id,
                                     answered_at=at, last_activity_at=at)
        await ChatParticipant.bulk_create([ChatParticipant(chat_id=internal.id, operator_id=o)
                                           for o in [me, *colleagues]], using_db=uow.tx)
        note = await _first_note(uow, internal, me, source, f"Let's discuss this message from \u201c{chat.title}\u201d.")
        everyone = [me, *colleagues]
        uow.record("CHAT_STARTED", chat=internal, chat_kind="CHAT_UPDATED", operator_ids=everyone,
                   visitor_visible=False)
        uow.record("MESSAGE_ADDED", chat=internal, chat_kind="MESSAGE_ADDED", message_id=note.id,
                   operator_ids=everyone, visitor_visible=False)
    return internal


async def start_conversation_from_message(viewer: Viewer, *, message_id: int) -> Chat:
    """A new CUSTOMER chat with the message's client in the same open channel, the caller
    responsible, the source quoted as its first (silent) note.

    The client's next messages go to their newest open chat: this one.
    """
    me = require_operator(viewer)
    async with unit_of_work(viewer) as uow:
        source, chat = await get_visible_message(viewer, message_id, using=uow.tx)
        if chat.kind != ChatKind.CUSTOMER or chat.client_id is None:
            raise InvalidInput("Only a message of a client's chat starts a new conversation.",
                               field=["input", "messageId"])
        if source.deleted:
            raise InvalidState("A deleted message cannot start a conversation.", field=["input", "messageId"])
        if chat.open_channel_id is not None and not await open_channel_policy.can_act(
                viewer, chat.open_channel_id, uow.tx):
            # an authorisation refusal: the caller sees the chat (e.g. a participant) but is not in its queue
            raise Forbidden("Only the open channel's operators start its conversations.",
                            field=["input", "messageId"])
        at = queue.now()
        new = await Chat.create(using_db=uow.tx, kind=ChatKind.CUSTOMER, title=chat.title, status=ChatStatus.ACTIVE,
                                open_channel_id=chat.open_channel_id, client_id=chat.client_id, operator_id=me,
                                parent_chat_id=chat.id, answered_at=at, last_activity_at=at)
        await ChatParticipant.create(using_db=uow.tx, chat_id=new.id, operator_id=me)
        note = await _first_note(uow, new, me, source, f"New conversation, started from chat #{chat.id}.")
        uow.record("CHAT_STARTED", chat=new, chat_kind="CHAT_UPDATED", operator_ids=[me])
        uow.record("MESSAGE_ADDED", chat=new, chat_kind="MESSAGE_ADDED", message_id=note.id, operator_ids=[me],
                   visitor_visible=False)
    return new
