"""Subscription entry points: follow events, and turn each into what the viewer may see.

Who receives an event, and whether with its chat, is decided by services/policies/events.py
(through services/events/subscriptions.py: a `Delivery`). The chat itself is loaded now through
the viewer's visibility checks with fresh loaders (once per event and viewer, shared by that
viewer's subscriptions: resolvers/chats/event_sharing.py): it is null when the viewer could not
read it when the event happened or cannot now. What they yield is the event's rows and records
(`ChatEventFound`, `QueueEventFound`, a message); the schema makes the GraphQL events of them
(schema/chats/events.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncGenerator, AsyncIterator, TypeVar

import strawberry
from strawberry.types import Info

import models
from resolvers.errors import top_level
from resolvers.chats.event_sharing import once_per_viewer
from resolvers.chats.loaders import Loaders
from resolvers.ids import decode_id, decode_ids, decode_optional_id
from services.events import subscriptions
from services.events.records import ChatEventKind, ChatStateRecord, EventRecord, QueueEventKind
from services.events.subscriptions import Delivery
from services.chats import reads
from services.policies import messages as message_policy
from services.common.errors import DomainError


@dataclass(frozen=True, slots=True)
class ChatEventFound:
    """An event of a chat for one viewer: `chat` None when they may not read it (then no message)."""
    event_id: str
    kind: ChatEventKind
    chat_id: int
    chat: models.Chat | None
    message: models.Message | None
    occurred_at: datetime
    actor_id: int | None
    state: ChatStateRecord


@dataclass(frozen=True, slots=True)
class QueueEventFound:
    """An event of a queue: `chat` None when the viewer may not read it."""
    event_id: str
    kind: QueueEventKind
    chat_id: int
    chat: models.Chat | None
    open_channel: models.OpenChannel
    queue_length: int
    occurred_at: datetime
    actor_id: int | None
    state: ChatStateRecord


T = TypeVar("T")


async def _guard(stream: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Domain errors at subscribe time become GraphQL errors with their code."""
    try:
        async for item in stream:
            yield item
    except DomainError as error:
        raise top_level(error)


async def _chat_for(info: Info, chat_id: int | None):
    if chat_id is None:
        return None
    return await reads.visible_chat_or_none(info.context.viewer, chat_id)


async def _event_basis(info: Info, event: EventRecord) -> tuple[Any, Any]:
    """The event's chat as this viewer may see it now (None: they may not) and the event's
    loaders, shared by every subscription of the same viewer (resolvers/chats/event_sharing.py)."""
    viewer = info.context.viewer

    async def load() -> tuple[Any, Any]:
        return await _chat_for(info, event.chat_id), Loaders(viewer)

    chat, loaders = await once_per_viewer(event, viewer, load)
    info.context.loaders = loaders
    return chat, loaders


async def _message_for(info: Info, event: EventRecord, loaders) -> models.Message | None:
    if event.message_id is None:
        return None
    message = await loaders.message.load(event.message_id)
    if message is None or not message_policy.can_read_text(info.context.viewer, silent=message.silent):
        return None
    return message


def _state(event: EventRecord, chat: models.Chat | None) -> ChatStateRecord | None:
    """The chat right after the event; for an event written before events kept it, the chat now."""
    if event.state is not None:
        return event.state
    return ChatStateRecord.of(chat) if chat is not None else None


async def _chat_event(info: Info, delivery: Delivery) -> ChatEventFound | None:
    event = delivery.event
    if event.chat_id is None:
        return None
    chat, loaders = await _event_basis(info, event)
    if not delivery.readable:
        chat = None
    state = _state(event, chat)
    if state is None:
        return None
    return ChatEventFound(
        event_id=str(event.id), kind=delivery.kind or event.chat_kind or ChatEventKind.CHAT_UPDATED,
        chat_id=event.chat_id, chat=chat,
        message=await _message_for(info, event, loaders) if chat is not None else None,
        occurred_at=event.created_at, actor_id=event.actor_id, state=state,
    )


async def queue_changed(info: Info, open_channel_ids: list[strawberry.ID] | None = None,
                        after: str | None = None) -> AsyncGenerator[QueueEventFound, None]:
    viewer = info.context.viewer
    try:
        channel_ids = decode_ids(open_channel_ids, "OpenChannel", ["openChannelIds"])
    except DomainError as error:
        raise top_level(error)
    current = lambda: info.context.viewer  # noqa: E731 - a WebSocket's viewer follows its token
    async for delivery in _guard(subscriptions.queue_events(viewer, channel_ids, after, current)):
        event = delivery.event
        chat, loaders = await _event_basis(info, event)
        if not delivery.readable:
            chat = None
        state = _state(event, chat)
        channel = await loaders.open_channel.load(event.open_channel_id)
        if channel is None or state is None or event.queue_kind is None or event.chat_id is None:
            continue
        yield QueueEventFound(
            event_id=str(event.id), kind=event.queue_kind, chat_id=event.chat_id, chat=chat, open_channel=channel,
            queue_length=await loaders.queue_length.load(channel.id),
            occurred_at=event.created_at, actor_id=event.actor_id, state=state,
        )


async def chat_events(info: Info, chat_id: strawberry.ID, after: str | None = None) -> AsyncGenerator[ChatEventFound, None]:
    try:
        pk = decode_id(chat_id, "Chat", ["chatId"])
    except DomainError as error:
        raise top_level(error)
    async for delivery in _guard(subscriptions.chat_events(info.context.viewer, pk, after)):
        if (payload := await _chat_event(info, delivery)) is not None:
            yield payload


async def message_added(info: Info, chat_id: strawberry.ID | None = None,
                        after: str | None = None) -> AsyncGenerator[models.Message, None]:
    try:
        pk = decode_optional_id(chat_id, "Chat", ["chatId"])
    except DomainError as error:
        raise top_level(error)
    async for event in _guard(subscriptions.new_messages(info.context.viewer, pk, after)):
        chat, loaders = await _event_basis(info, event)
        if chat is None:
            continue
        message = await _message_for(info, event, loaders)
        if message is not None:
            yield message


async def my_chats_changed(info: Info, after: str | None = None) -> AsyncGenerator[ChatEventFound, None]:
    async for delivery in _guard(subscriptions.my_chat_list_events(info.context.viewer, after)):
        if (payload := await _chat_event(info, delivery)) is not None:
            yield payload


async def visitor_chat_events(info: Info, after: str | None = None) -> AsyncGenerator[ChatEventFound, None]:
    async for delivery in _guard(subscriptions.visitor_events(info.context.viewer, after)):
        if (payload := await _chat_event(info, delivery)) is not None:
            yield payload
