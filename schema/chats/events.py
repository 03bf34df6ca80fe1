"""What subscriptions deliver."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from schema.chats.chat import Chat
from schema.enums import ChatEventKind, QueueEventKind
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel

if TYPE_CHECKING:
    from resolvers.chats.subscriptions import ChatEventFound, QueueEventFound


@strawberry.type
class QueueEvent:
    event_id: str = strawberry.field(
        description="Monotonic event id; pass it back as `after` to resume without losing events."
    )
    kind: QueueEventKind
    chat: Chat
    open_channel: OpenChannel
    queue_length: int
    occurred_at: datetime

    @classmethod
    def from_found(cls, found: QueueEventFound) -> "QueueEvent":
        return cls(event_id=found.event_id, kind=QueueEventKind(found.kind), chat=Chat.from_model(found.chat),
                   open_channel=OpenChannel.from_model(found.open_channel), queue_length=found.queue_length,
                   occurred_at=found.occurred_at)


@strawberry.type
class ChatEvent:
    event_id: str = strawberry.field(
        description="Monotonic event id; pass it back as `after` to resume without losing events."
    )
    kind: ChatEventKind
    chat: Chat
    message: Message | None
    occurred_at: datetime

    @classmethod
    def from_found(cls, found: ChatEventFound) -> "ChatEvent":
        return cls(event_id=found.event_id, kind=ChatEventKind(found.kind), chat=Chat.from_model(found.chat),
                   message=Message.from_model(found.message) if found.message is not None else None,
                   occurred_at=found.occurred_at)
