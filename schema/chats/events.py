"""What subscriptions deliver."""
from __future__ import annotations

from datetime import datetime

import strawberry

from schema.chats.chat import Chat
from schema.enums import ChatEventKind, QueueEventKind
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel


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


@strawberry.type
class ChatEvent:
    event_id: str = strawberry.field(
        description="Monotonic event id; pass it back as `after` to resume without losing events."
    )
    kind: ChatEventKind
    chat: Chat
    message: Message | None
    occurred_at: datetime
