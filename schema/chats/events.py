"""What subscriptions deliver."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from resolvers.chats import relations as r
from resolvers.ids import to_global_id
from schema.chats.chat import Chat
from schema.enums import ChatEventKind, ChatPriority, ChatStatus, QueueEventKind
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator

if TYPE_CHECKING:
    from resolvers.chats.subscriptions import ChatEventFound, QueueEventFound
    from services.events.records import ChatStateRecord

EVENT_ID = "Monotonic event id; pass it back as `after` to resume without losing events."


async def _operator(info: Info, pk: int | None) -> Operator | None:
    """An operator an event names, as the viewer may see operators (the operator policy)."""
    if pk is None:
        return None
    operator = await r.operator(info, pk)
    return Operator.from_model(operator) if operator else None


@strawberry.type(description="A chat as it was at one moment: what an event changed.")
class ChatState:
    status: ChatStatus
    title: str
    pinned: bool
    priority: ChatPriority
    operator_pk: strawberry.Private[int | None]
    channel_pk: strawberry.Private[int | None]

    @strawberry.field
    async def operator(self, info: Info) -> Operator | None:
        return await _operator(info, self.operator_pk)

    @strawberry.field
    async def open_channel(self, info: Info) -> OpenChannel | None:
        if self.channel_pk is None:
            return None
        channel = await r.open_channel(info, self.channel_pk)
        return OpenChannel.from_model(channel) if channel else None

    @classmethod
    def from_record(cls, state: ChatStateRecord) -> "ChatState":
        return cls(status=state.status, title=state.title, pinned=state.pinned, priority=state.priority,
                   operator_pk=state.operator_id, channel_pk=state.open_channel_id)


@strawberry.type
class QueueEvent:
    event_id: str = strawberry.field(description=EVENT_ID)
    kind: QueueEventKind
    chat_id: strawberry.ID = strawberry.field(description="The chat's id, also when the viewer may no longer read the chat.")
    chat: Chat | None = strawberry.field(
        description="The chat as it is now; null when the viewer may no longer read it "
                    "(e.g. transferred to a queue they are not in).")
    open_channel: OpenChannel
    queue_length: int
    occurred_at: datetime
    state: ChatState = strawberry.field(description="The chat right after this event, as it was then (not as it is now).")
    actor_pk: strawberry.Private[int | None]

    @strawberry.field(description="Who caused it; null for the client and the system (timers, auto-close, rules).")
    async def actor(self, info: Info) -> Operator | None:
        return await _operator(info, self.actor_pk)

    @classmethod
    def from_found(cls, found: QueueEventFound) -> "QueueEvent":
        return cls(event_id=found.event_id, kind=found.kind, chat_id=strawberry.ID(to_global_id("Chat", found.chat_id)),
                   chat=Chat.from_model(found.chat) if found.chat is not None else None,
                   open_channel=OpenChannel.from_model(found.open_channel), queue_length=found.queue_length,
                   occurred_at=found.occurred_at, state=ChatState.from_record(found.state), actor_pk=found.actor_id)


@strawberry.type
class ChatEvent:
    event_id: str = strawberry.field(description=EVENT_ID)
    kind: ChatEventKind
    chat_id: strawberry.ID = strawberry.field(description="The chat's id, also when the viewer may no longer read the chat.")
    chat: Chat | None = strawberry.field(description="null when the viewer may no longer read the chat (kind CHAT_REMOVED).")
    message: Message | None
    occurred_at: datetime
    state: ChatState = strawberry.field(description="The chat right after this event, as it was then.")
    actor_pk: strawberry.Private[int | None]

    @strawberry.field(description="Who caused it; null for the client and the system.")
    async def actor(self, info: Info) -> Operator | None:
        return await _operator(info, self.actor_pk)

    @classmethod
    def from_found(cls, found: ChatEventFound) -> "ChatEvent":
        return cls(event_id=found.event_id, kind=found.kind, chat_id=strawberry.ID(to_global_id("Chat", found.chat_id)),
                   chat=Chat.from_model(found.chat) if found.chat is not None else None,
                   message=Message.from_model(found.message) if found.message is not None else None,
                   occurred_at=found.occurred_at, state=ChatState.from_record(found.state), actor_pk=found.actor_id)
