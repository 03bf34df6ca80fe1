"""Writing messages: an operator's (visible or silent) and a visitor's."""
from __future__ import annotations

from typing import Sequence

from models import Chat, ChatStatus, Client, Message, MessageAuthorKind
from services import files, messaging, queue
from services.access import ensure, operator_chat
from services.chat_states import ACTIVE, Action, transition
from services.chats import add_participant, audience, auto_close_deadline
from services.errors import InvalidInput
from services.events import UnitOfWork, unit_of_work
from services.read_markers import move_read_marker
from services.viewer import Viewer, require_visitor
from services.text_input import text_input

MAX_TEXT_LENGTH = 10_000


def clean_text(text: str | None, field: list[str], *, allow_empty: bool = False) -> str:
    text = (text or "").strip()
    if not text and not allow_empty:
        raise InvalidInput("The message is empty.", field=field)
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"The message is longer than {MAX_TEXT_LENGTH} characters.", field=field)
    return text


@text_input()
async def send_message(viewer: Viewer, *, chat_id: int, text: str, silent: bool = False,
                       attachment_ids: Sequence[int] = (), reply_to_message_id: int | None = None,
                       quote_message_id: int | None = None, mention_operator_ids: Sequence[int] = ()) -> Message:
    """An operator writes in an answered chat; `silent` notes are for operators only.

    The message may carry uploaded files, reply to or quote a message, and mention colleagues
    (services/messaging.py, services/files.py): the mentioned are notified on their chat list.
    """
    text = clean_text(text, ["input", "text"], allow_empty=bool(attachment_ids))
    async with unit_of_work() as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure(roles.supervisor or roles.responsible or roles.participant,
               "Only the chat's operators can write in it; answer it or ask to be added.")
        reply_to, quoted, mentioned = await messaging.check_references(
            uow, viewer, chat, reply_to_message_id=reply_to_message_id, quote_message_id=quote_message_id,
            mention_operator_ids=list(mention_operator_ids), silent=silent)
        at = queue.now()
        await transition(uow, chat, Action.SEND_MESSAGE, last_activity_at=at,
                         auto_close_at=auto_close_deadline(chat, await queue.channel_of(uow, chat)))
        if not silent and chat.first_response_at is None:
            await Chat.filter(id=chat.id, first_response_at__isnull=True).using_db(uow.tx).update(first_response_at=at)
            chat.first_response_at = at
        await add_participant(uow, chat, viewer.operator_id)
        message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.OPERATOR,
                                       author_id=viewer.operator_id, text=text, silent=silent)
        await messaging.write_references(uow, message, reply_to=reply_to, quoted=quoted, mentioned=mentioned)
        await files.attach_uploads(uow, viewer, chat, message, list(attachment_ids))
        await move_read_marker(uow, chat_id=chat.id, operator_id=viewer.operator_id, message_id=message.id)
        uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
                   operator_ids=await audience(uow, chat) | set(mentioned), visitor_visible=not silent)
    return message


@text_input()
async def send_visitor_message(viewer: Viewer, *, text: str, attachment_ids: Sequence[int] = ()) -> Message:
    """A visitor writes: into their open chat, or, when they have none, a new queued chat.

    Files (`attachment_ids`) must have been uploaded by this visitor to their open chat.
    """
    require_visitor(viewer)
    text = clean_text(text, ["input", "text"], allow_empty=bool(attachment_ids))
    from services.visitors import open_customer_chat  # visitors builds on messages

    async with unit_of_work() as uow:
        # Lock the client first: FOR UPDATE on "their open chat" locks nothing when there is
        # none, and two first messages at once would each open a chat.
        await Client.filter(id=viewer.client_id).using_db(uow.tx).select_for_update().first()
        chat = await (
            Chat.filter(client_id=viewer.client_id, status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE])
            .using_db(uow.tx).select_for_update().order_by("-id").first()
        )
        if chat is None:
            if attachment_ids:
                raise InvalidInput("Start the chat before sending files.", field=["input", "attachmentIds"])
            return await open_customer_chat(uow, client_id=viewer.client_id, channel_id=viewer.visitor_channel_id,
                                            text=text)
        changes = {"last_activity_at": queue.now()}
        if chat.status == ACTIVE:
            changes["auto_close_at"] = auto_close_deadline(chat, await queue.channel_of(uow, chat))
        await transition(uow, chat, Action.VISITOR_MESSAGE, **changes)
        return await add_client_message(uow, chat, text, viewer=viewer, attachment_ids=list(attachment_ids))


async def add_client_message(uow: UnitOfWork, chat: Chat, text: str, *, viewer: Viewer | None = None,
                             attachment_ids: list[int] | None = None) -> Message:
    message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.CLIENT, text=text)
    if attachment_ids and viewer is not None:
        await files.attach_uploads(uow, viewer, chat, message, attachment_ids)
    uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
               operator_ids=await audience(uow, chat))
    return message
