"""Contact center > Conversations: the list's filter and order, message search, and the
input that starts an outbound conversation."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from schema.enums import ChatPriority, ChatStatus


@strawberry.enum(description="The order of the conversations list (ties broken by the newest conversation).")
class ConversationOrder(Enum):
    NEWEST = strawberry.enum_value("NEWEST", description="Newest created first.")
    OLDEST = strawberry.enum_value("OLDEST", description="Oldest created first.")
    LAST_ACTIVITY = strawberry.enum_value(
        "LAST_ACTIVITY", description="Most recent activity (a message, an answer) first."
    )


@strawberry.input(description="Every field given narrows the list (AND); a list field matches any of its values.")
class ConversationFilter:
    statuses: list[ChatStatus] | None = None
    open_channel_ids: list[strawberry.ID] | None = None
    operator_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The responsible operator is one of these."
    )
    client_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(default=None, name="from", description="Created at or after.")
    to: datetime | None = strawberry.field(default=None, description="Created before.")
    search: str | None = strawberry.field(
        default=None, description="Keyword search over chat titles, client names and message texts."
    )
    pinned: bool | None = None
    waiting_first_response: bool | None = strawberry.field(
        default=None, description="true: no operator has yet sent a visible reply; false: one has."
    )
    label_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Chats with any of these labels.")
    priorities: list[ChatPriority] | None = None
    sla_breached: bool | None = strawberry.field(
        default=None, description="Chats that missed (true) or kept (false) every service-level target (false also "
                                  "matches chats without service levels).")


@strawberry.input
class MessageSearchFilter:
    chat_id: strawberry.ID | None = None
    client_id: strawberry.ID | None = None
    open_channel_ids: list[strawberry.ID] | None = None
    from_: datetime | None = strawberry.field(default=None, name="from", description="Written at or after.")
    to: datetime | None = strawberry.field(default=None, description="Written before.")


@strawberry.input
class StartConversationInput:
    client_id: strawberry.ID
    open_channel_id: strawberry.ID
    text: str | None = strawberry.field(default=None, description="The first message to the client.")
