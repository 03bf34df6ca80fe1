"""Contact center actions on many chats and on a client: bulk chat actions, client attributes, GDPR erasure."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.ids import to_global_id
from schema.chats.chat import Chat
from schema.chats.client import Client
from schema.common import UserError
from schema.enums import ChatPriority
from schema.payloads import user_errors

if TYPE_CHECKING:
    from resolvers.errors import Outcome


@strawberry.enum(description="What bulkChatAction does to each chat (the single mutation of the same name).")
class BulkChatAction(Enum):
    FINISH = "FINISH"
    TRANSFER = "TRANSFER"
    SET_PRIORITY = "SET_PRIORITY"
    SET_LABELS = "SET_LABELS"
    MARK_SPAM = "MARK_SPAM"


@strawberry.input(description="One action on up to 100 chats; each chat goes through the single action's rules.")
class BulkChatActionInput:
    chat_ids: list[strawberry.ID]
    action: BulkChatAction
    operator_id: strawberry.ID | None = strawberry.field(
        default=None, description="TRANSFER: exactly one of operatorId and openChannelId")
    open_channel_id: strawberry.ID | None = None
    priority: ChatPriority | None = None
    label_ids: list[strawberry.ID] | None = None


@strawberry.type(description="One chat's outcome: the chat as changed, or why it was left unchanged.")
class BulkChatResult:
    chat_id: strawberry.ID
    chat: Chat | None
    user_errors: list[UserError]


@strawberry.type
class BulkChatActionPayload:
    results: list[BulkChatResult] = strawberry.field(description="One per chat, in the order given.")
    user_errors: list[UserError] = strawberry.field(
        description="Errors of the whole request (too many chats, a missing argument): then no chat changed.")

    @classmethod
    def from_outcome(cls, outcome: Outcome[list[Any]]) -> "BulkChatActionPayload":
        """From the use case's results (services/contact_center/bulk_actions.py `BulkChatResult`)."""
        if outcome.error is not None:
            return cls(results=[], user_errors=user_errors(outcome))
        return cls(results=[BulkChatResult(
            chat_id=strawberry.ID(to_global_id("Chat", r.chat_id)),
            chat=Chat.from_model(r.chat) if r.chat is not None else None,
            user_errors=[UserError.from_domain(r.error)] if r.error is not None else [],
        ) for r in outcome.value], user_errors=[])


@strawberry.input(description="A key to set; a null value removes the key.")
class ClientAttributeInput:
    key: str = strawberry.field(description="1 to 64 letters, digits, '_', '-' or '.'.")
    value: str | None = strawberry.field(description="null removes the key")


@strawberry.input(description="Set the given keys of a client's attributes; keys not given are kept.")
class SetClientAttributesInput:
    client_id: strawberry.ID
    attributes: list[ClientAttributeInput]


@strawberry.input(description="A client.")
class ClientInput:
    client_id: strawberry.ID


@strawberry.type
class ClientPayload:
    client: Client | None
    user_errors: list[UserError]
