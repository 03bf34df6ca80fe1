"""What the fields of the message types read: a message's HTML, attachments, reply, quote and
mentions, and the messages tasks and feed posts come from (as far as the viewer may read them)."""
from __future__ import annotations

from typing import Any, Awaitable

from strawberry.types import Info

import models
from resolvers.chats.relations import operators
from resolvers.ids import to_global_id
from services.messaging import files
from services.messaging import formatting
from services.policies import messages as message_policy


async def html(info: Info, text: str, message_pk: int, author_pk: int | None, snapshot: bool) -> str:
    """The text rendered to safe HTML (escaped, formatting applied, mentions linked)."""
    if not text:
        return ""
    loaders = info.context.loaders
    mentioned = [] if snapshot else await loaders.messaging.mention_ids.load(message_pk)
    mentioned_operators = await loaders.operator.load_many(mentioned)
    author = await loaders.operator.load(author_pk) if author_pk is not None else None
    return formatting.render_html(
        text, author_name=author.name if author else None,
        mentions=[formatting.Mention(to_global_id("Operator", o.id), o.name) for o in mentioned_operators if o],
    )


def attachment_path(viewer: Any, attachment: models.Attachment, settings: files.FileSettings) -> str:
    """Where the viewer fetches the file (a visitor's link is signed)."""
    return files.url_for(viewer, attachment, settings)


def attachments(info: Info, message_pk: int) -> Awaitable[list[models.Attachment]]:
    return info.context.loaders.messaging.attachments.load(message_pk)


def readable_message(info: Info, pk: int) -> Awaitable[models.Message | None]:
    """The message if the viewer may read it (a chat they see, no silent note for a visitor), else None."""
    return info.context.loaders.messaging.readable_message.load(pk)


async def reply_to(info: Info, message_pk: int) -> models.Message | None:
    reference = await info.context.loaders.messaging.reference.load(message_pk)
    if reference is None or reference.reply_to_id is None:
        return None
    return await readable_message(info, reference.reply_to_id)


async def quote(info: Info, message_pk: int) -> models.MessageReference | None:
    """The quote the message keeps (None: none, or a silent note's and the viewer is a visitor)."""
    reference = await info.context.loaders.messaging.reference.load(message_pk)
    if reference is None or reference.quoted_text is None:
        return None
    if not message_policy.can_read_text(info.context.viewer, silent=reference.quoted_silent):
        return None
    return reference


async def event_id(info: Info, message_pk: int, chat_pk: int) -> str:
    """The id of the event that added the message (of that chat), as `after` takes it."""
    return str(await info.context.loaders.messaging.event_id.load((message_pk, chat_pk)))


async def mentions(info: Info, message_pk: int) -> list[models.Operator]:
    return await operators(info, await info.context.loaders.messaging.mention_ids.load(message_pk))
