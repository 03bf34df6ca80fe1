"""Canned responses: prepared answers, personal or shared with an open channel's queue.

Who may see, manage and send which one: services/policies/canned_responses.py (a personal one is
its author's; a channel's one is seen by that queue's members and managed by supervisors and admins).
- Placeholders (`{client.name}`, `{operator.name}`, ...) are filled when it is sent; an unknown
  one stays as written.
- One saved from a silent note is silent: it keeps the note's audience (services/policies/copy_audience.py),
  and is sent as a silent note, never to the client.
"""
from __future__ import annotations

import re
from typing import cast

from tortoise.expressions import Q

from models import CannedResponse, Chat, Client, Message, OpenChannel, Operator, QueueMember
from services.messaging.messages import send_message
from services.messaging.messaging import get_visible_message
from services.policies.chats import get_visible_chat
from services.policies.copy_audience import audience_of_copy
from services.common.errors import Forbidden, InvalidInput, NotFound
from services.policies import (
    canned_responses as policy,
    open_channels as open_channel_policy,
    operators as operator_policy,
)
from services.identity.viewer import Viewer, require_operator
from services.common.text_input import text_input, LONG_TEXT_LENGTH, SEARCH_LENGTH

MAX_TITLE = 255
PLACEHOLDERS = ("client.name", "client.email", "client.phone", "operator.name", "operator.email", "chat.title",
                "openChannel.name")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + r")\}")


@text_input(search=SEARCH_LENGTH)
async def list_canned_responses(viewer: Viewer, *, search: str | None = None,
                                open_channel_id: int | None = None) -> list[CannedResponse]:
    """Mine and my queues', optionally of one channel, matching `search` in title or text."""
    query = policy.visible(viewer)
    if open_channel_id is not None:
        query = query.filter(open_channel_id=open_channel_id)
    if search and search.strip():
        term = search.strip()
        query = query.filter(Q(title__icontains=term) | Q(text__icontains=term))
    return await query.order_by("title", "id")


async def get_canned_response(viewer: Viewer, canned_response_id: int) -> CannedResponse:
    found = await policy.visible(viewer).filter(id=canned_response_id).first()
    if found is None:
        raise NotFound("No such canned response.", field=["input", "cannedResponseId"])
    return found


def _clean(title: str | None, text: str | None) -> tuple[str | None, str | None]:
    if title is not None:
        title = title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(f"The title must be 1 to {MAX_TITLE} characters.", field=["input", "title"])
    if text is not None:
        text = text.strip()
        if not text:
            raise InvalidInput("The text cannot be empty.", field=["input", "text"])
    return title, text


@text_input(text=LONG_TEXT_LENGTH)
async def create_canned_response(viewer: Viewer, *, title: str, text: str, open_channel_id: int | None = None,
                                 silent: bool = False) -> CannedResponse:
    me = require_operator(viewer)
    title, text = cast(tuple[str, str], _clean(title, text))  # both given: both returned
    if open_channel_id is not None:
        policy.ensure_may_share(viewer, open_channel_id)
        if not await open_channel_policy.listed_channels(viewer).filter(id=open_channel_id).exists():
            raise NotFound("No such open channel.", field=["input", "openChannelId"])
    return await CannedResponse.create(title=title, text=text, open_channel_id=open_channel_id, created_by_id=me,
                                       silent=silent)


@text_input(text=LONG_TEXT_LENGTH)
async def update_canned_response(viewer: Viewer, *, canned_response_id: int, title: str | None = None,
                                 text: str | None = None) -> CannedResponse:
    canned = await get_canned_response(viewer, canned_response_id)
    policy.ensure_may_manage(viewer, canned)
    title, text = _clean(title, text)
    changes = {k: v for k, v in (("title", title), ("text", text)) if v is not None}
    if changes:
        await CannedResponse.filter(id=canned.id).update(**changes)
    return await CannedResponse.get(id=canned.id)


async def delete_canned_response(viewer: Viewer, *, canned_response_id: int) -> CannedResponse:
    canned = await get_canned_response(viewer, canned_response_id)
    policy.ensure_may_manage(viewer, canned)
    await CannedResponse.filter(id=canned.id).delete()
    return canned


async def fill_placeholders(text: str, *, chat: Chat, operator: Operator) -> str:
    client = await Client.filter(id=chat.client_id).first() if chat.client_id else None
    channel = await OpenChannel.filter(id=chat.open_channel_id).first() if chat.open_channel_id else None
    values = {
        "client.name": client.name if client else "", "client.email": (client.email or "") if client else "",
        "client.phone": (client.phone or "") if client else "", "operator.name": operator.name,
        "operator.email": operator.email or "", "chat.title": chat.title, "openChannel.name": channel.name if channel else "",
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


async def send_canned_response(viewer: Viewer, *, chat_id: int, canned_response_id: int) -> Message:
    """Send it as the caller's message, placeholders filled for this chat: a visible one, or a silent
    note for a silent canned response (saved from a silent note)."""
    canned = await get_canned_response(viewer, canned_response_id)
    chat = await get_visible_chat(viewer, chat_id)
    operator = await Operator.get(id=operator_policy.myself(viewer))
    text = await fill_placeholders(canned.text, chat=chat, operator=operator)
    return await send_message(viewer, chat_id=chat.id, text=text, silent=policy.sent_silent(canned))


@text_input()
async def save_message_as_canned_response(viewer: Viewer, *, message_id: int,
                                          title: str | None = None) -> CannedResponse:
    """A personal canned response with the text of a message (titled by its start by default);
    from a silent note, a silent one (services/policies/copy_audience.py)."""
    require_operator(viewer)
    message, _ = await get_visible_message(viewer, message_id)
    if message.deleted or not message.text.strip():
        raise InvalidInput("The message has no text to save.", field=["input", "messageId"])
    default_title = " ".join(message.text.split())[:60]
    return await create_canned_response(viewer, title=title if title is not None else default_title,
                                        text=message.text, silent=policy.saved_silent(message))
