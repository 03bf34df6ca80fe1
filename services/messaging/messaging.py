"""What an operator does with a message already written: edit, delete, mark unread, and the
replies, quotes and mentions a new message carries.

Who may touch a message: its chat must be visible to the caller (NOT_FOUND otherwise, the
existence of a chat one may not see is not disclosed); a visitor never reaches a silent note.
Editing and deleting are for the author only.
"""
from __future__ import annotations

from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient

from models import (
    Attachment, Chat, ChatParticipant, Message, MessageAuthorKind, MessageMention, MessageReference, QueueMember,
)
from infrastructure.file_storage import FileStorage
from services.messaging import files
from services.chats import queue
from services.policies.chats import get_visible_chat
from services.chats.audience import audience
from services.chats.chats import audience
from services.policies import messages as message_policy
from services.policies.copy_audience import audience_of_copy
from services.common.errors import Forbidden, InvalidInput, InvalidState, NotFound
from services.events.events import UnitOfWork, unit_of_work
from services.chats.read_markers import move_read_marker
from services.identity.viewer import Viewer, require_operator
from services.common.text_input import clean_text, text_input


async def get_visible_message(viewer: Viewer, message_id: int, *, using: BaseDBAsyncClient | None = None,
                              field: list[str] | None = None, lock_chat: bool = False) -> tuple[Message, Chat]:
    """The message and its chat if the viewer may read it; NOT_FOUND otherwise."""
    field = field or ["input", "messageId"]
    message = await Message.filter(id=message_id).using_db(using).first()
    if message is None or not message_policy.can_read_text(viewer, silent=message.silent):
        raise NotFound("No such message.", field=field)
    try:
        chat = await get_visible_chat(viewer, message.chat_id, using=using, lock=lock_chat)
    except NotFound:
        raise NotFound("No such message.", field=field) from None
    return message, chat


async def _change_own_message(uow: UnitOfWork, viewer: Viewer, message_id: int, **changes) -> tuple[Message, Chat]:
    """The author's change to their message, made only if it is not deleted; the message as it
    was read and its chat (locked).

    The message is read before the chat's lock is taken, so what it says about `deleted` may be
    stale by the time of the write: the UPDATE itself is conditional on `NOT deleted`, and its row
    count says whether this change won. A change that lost (a delete committed first) writes
    nothing and records no event: INVALID_STATE, as for a message deleted long ago.
    """
    me = require_operator(viewer)
    message, chat = await get_visible_message(viewer, message_id, using=uow.tx, lock_chat=True)
    if message.author_kind != MessageAuthorKind.OPERATOR or message.author_id != me:
        raise Forbidden("Only the author can change a message.", field=["input", "messageId"])
    won = not message.deleted and await Message.filter(id=message.id, deleted=False).using_db(uow.tx).update(**changes)
    if not won:
        raise InvalidState("The message was deleted.", field=["input", "messageId"])
    return message, chat


@text_input()
async def edit_message(viewer: Viewer, *, message_id: int, text: str) -> Message:
    """The author rewrites their message; `editedAt` tells readers it changed."""
    text = clean_text(text, ["input", "text"])
    async with unit_of_work(viewer) as uow:
        message, chat = await _change_own_message(uow, viewer, message_id, text=text, edited_at=queue.now())
        uow.record("MESSAGE_EDITED", chat=chat, chat_kind="MESSAGE_EDITED", message_id=message.id,
                   operator_ids=await audience(uow, chat), visitor_visible=not message.silent)
    return await Message.get(id=message.id)


async def delete_message(viewer: Viewer, *, message_id: int, storage: FileStorage) -> Message:
    """The author deletes their message: it stays in the history as deleted, without text or files.

    Deleting twice (a double click, two tabs) deletes once: the later one is INVALID_STATE and
    records no second MESSAGE_DELETED.
    """
    async with unit_of_work(viewer) as uow:
        message, chat = await _change_own_message(uow, viewer, message_id, text="", deleted=True,
                                                  edited_at=queue.now())
        stored = list(cast(list[str], await Attachment.filter(message_id=message.id).using_db(uow.tx)
                           .values_list("storage_key", flat=True)))
        await Attachment.filter(message_id=message.id).using_db(uow.tx).delete()
        uow.record("MESSAGE_DELETED", chat=chat, chat_kind="MESSAGE_DELETED", message_id=message.id,
                   operator_ids=await audience(uow, chat), visitor_visible=not message.silent)
    await files.remove_stored(storage, stored)
    return await Message.get(id=message.id)


async def mark_message_unread(viewer: Viewer, *, message_id: int) -> Chat:
    """Move the caller's read marker of the chat back to just before this message."""
    me = require_operator(viewer)
    async with unit_of_work(viewer) as uow:
        message, chat = await get_visible_message(viewer, message_id, using=uow.tx)
        before = cast(list[int], await Message.filter(chat_id=chat.id, id__lt=message.id).using_db(uow.tx)
                      .order_by("-id").values_list("id", flat=True))
        marker_at = before[0] if before else 0
        await move_read_marker(uow, chat_id=chat.id, operator_id=me, message_id=marker_at, forward_only=False)
        uow.record("CHAT_UNREAD", chat=chat, chat_kind="CHAT_UPDATED", operator_ids=[me], visitor_visible=False)
    return chat


# ---------------------------------------------------------------- a new message's references


async def check_references(
    uow: UnitOfWork, viewer: Viewer, chat: Chat, *, reply_to_message_id: int | None,
    quote_message_id: int | None, mention_operator_ids: list[int], silent: bool = False,
) -> tuple[Message | None, Message | None, list[int]]:
    """Validate what a new message points at, before it is written.

    A reply answers a message of the same chat. A quote copies any message the caller may
    read, within the audience of its text (services/policies/copy_audience.py). Mentions name participants of the chat or colleagues of its queue.
    """
    reply_to = quoted = None
    if reply_to_message_id is not None:
        reply_to, _ = await get_visible_message(viewer, reply_to_message_id, using=uow.tx,
                                                field=["input", "replyToMessageId"])
        if reply_to.chat_id != chat.id:
            raise InvalidInput("A reply must answer a message of the same chat.", field=["input", "replyToMessageId"])
    if quote_message_id is not None:
        quoted, _ = await get_visible_message(viewer, quote_message_id, using=uow.tx,
                                              field=["input", "quoteMessageId"])
        if quoted.deleted:
            raise InvalidState("A deleted message cannot be quoted.", field=["input", "quoteMessageId"])
        copy = audience_of_copy(quoted)
        if not silent:
            copy.refuse_client(["input", "quoteMessageId"])
        copy.refuse_other_chat(chat.id, ["input", "quoteMessageId"])
        if not silent and chat.client_id is not None and quoted.chat_id != chat.id:
            # the client reads the quote: it may come from their own chats only
            await copy.refuse_unread_by_client(chat.client_id, ["input", "quoteMessageId"], using=uow.tx)
    mentioned = sorted(set(mention_operator_ids))
    if mentioned:
        allowed = set(cast(list[int], await ChatParticipant.filter(chat_id=chat.id).using_db(uow.tx)
                           .values_list("operator_id", flat=True)))
        if chat.operator_id:
            allowed.add(chat.operator_id)
        if chat.open_channel_id is not None:
            allowed |= set(cast(list[int], await QueueMember.filter(open_channel_id=chat.open_channel_id)
                                .using_db(uow.tx).values_list("operator_id", flat=True)))
        if not set(mentioned) <= allowed:
            raise InvalidInput("Only participants of the chat or colleagues of its queue can be mentioned.",
                               field=["input", "mentionOperatorIds"])
    return reply_to, quoted, mentioned


async def write_references(uow: UnitOfWork, message: Message, *, reply_to: Message | None,
                           quoted: Message | None, mentioned: list[int]) -> None:
    """Store the reply link, the quote's snapshot and the mentions of a message just written."""
    if reply_to is not None or quoted is not None:
        await MessageReference.create(
            using_db=uow.tx, message_id=message.id, reply_to_id=reply_to.id if reply_to else None,
            **(quote_snapshot(quoted) if quoted else {}),
        )
    if mentioned:
        await MessageMention.bulk_create([MessageMention(message_id=message.id, operator_id=o) for o in mentioned],
                                         using_db=uow.tx)


def quote_snapshot(quoted: Message) -> dict:
    return {
        "quoted_message_id": quoted.id, "quoted_chat_id": quoted.chat_id, "quoted_author_kind": quoted.author_kind,
        "quoted_author_id": quoted.author_id, "quoted_text": quoted.text, "quoted_silent": quoted.silent,
        "quoted_created_at": quoted.created_at,
    }
