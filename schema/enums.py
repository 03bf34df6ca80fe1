"""GraphQL enums. Those stored in the database reuse the model enums, so values never drift."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

import models
from resolvers.chats import event_kinds

if TYPE_CHECKING:  # strawberry.enum returns the model enum itself: for mypy, the same classes (usable as types)
    from models import (
        ChatKind, ChatPriority, ChatStatus, ContactFields, MessageAuthorKind, NoAnswerRule, OperatorRole, OperatorStatus,
        QueueDistribution, SlaTarget, Weekday,
    )
    from resolvers.chats.event_kinds import ChatEventKind, QueueEventKind
else:
    OperatorRole = strawberry.enum(models.OperatorRole, description="What an operator may do.")
    OperatorStatus = strawberry.enum(models.OperatorStatus, description="Presence: only ONLINE operators get offers.")
    QueueDistribution = strawberry.enum(
        models.QueueDistribution,
        description="How an open channel offers a new chat to its queue.",
    )
    ChatKind = strawberry.enum(models.ChatKind)
    ChatStatus = strawberry.enum(models.ChatStatus)
    MessageAuthorKind = strawberry.enum(models.MessageAuthorKind)
    ChatPriority = strawberry.enum(
        models.ChatPriority,
        description="Urgency, set by operators: the queue offers higher priorities first, then the oldest first.",
    )
    # the kinds events are stored and delivered with (resolvers/chats/event_kinds.py)
    QueueEventKind = strawberry.enum(event_kinds.QueueEventKind, description="What happened in a queue.")
    ChatEventKind = strawberry.enum(event_kinds.ChatEventKind, description="What happened in a chat.")
    Weekday = strawberry.enum(models.Weekday)
    NoAnswerRule = strawberry.enum(models.NoAnswerRule)
    ContactFields = strawberry.enum(
        models.ContactFields, description="What a visitor is asked before their first message: name and e-mail.")
    SlaTarget = strawberry.enum(models.SlaTarget)

# descriptions of enum values, as the contract words them
_VALUE_DESCRIPTIONS: dict[Any, dict[str, str]] = {  # Any: the enums' __strawberry_definition__ is set at run time
    QueueDistribution: {
        "EVENLY": "Round-robin: each new chat is offered to the online member who was offered one least recently.",
        "STRICT": "Strictly in queue order: always the first available operator in the list.",
        "ALL": "Offered to all queue operators at once; the first to answer takes it.",
    },
    ChatKind: {
        "CUSTOMER": "A conversation with a client through an open channel.",
        "INTERNAL": "A chat among colleagues (for example, started to discuss a client message).",
    },
    ChatStatus: {
        "QUEUED": "In the queue: offered to operator(s), accepted by none.",
        "ACTIVE": "Answered: an operator is responsible for it.",
        "CLOSED": "Finished by an operator, by the client, or by auto-close.",
        "SPAM": "Finished as spam: no rating request is sent.",
    },
    ChatEventKind: {
        "CHAT_REMOVED": "The chat left this viewer's view or list (transferred to someone else, taken over, "
                        "the viewer removed); `chat` is null when they may no longer read it.",
        "LABELS_CHANGED": "The chat's labels changed.",
        "SLA_BREACHED": "A service-level target of the chat was missed.",
    },
    QueueEventKind: {
        "PRIORITY_CHANGED": "The chat's priority changed.",
        "CHAT_NO_ANSWER": "Nobody answered within the channel's no-answer time and its rule was applied.",
        "SLA_BREACHED": "A service-level target of the chat was missed.",
        "SLA_WARNING": "A service-level target of the chat is due within the policy's warnBeforeSeconds.",
    },
    SlaTarget: {
        "FIRST_RESPONSE": "From the chat's start until an operator answers it.",
        "NEXT_RESPONSE": "While a client message waits for an operator's visible reply (in an answered chat).",
        "RESOLUTION": "From the chat's start until it is closed.",
    },
    NoAnswerRule: {
        "KEEP_WAITING": "Keep waiting in the queue (the default).",
        "SEND_MESSAGE": "Send noAnswerMessage to the client and keep waiting.",
        "TRANSFER": "Re-queue in noAnswerTransferTo.",
        "CLOSE": "Send noAnswerMessage and close the chat.",
    },
    ContactFields: {
        "NONE": "Not asked: the widget shows no contact fields.",
        "OPTIONAL": "Asked, may be left empty (the default).",
        "REQUIRED": "Both required: startVisitorChat refuses a start without a name and an e-mail (INVALID_INPUT).",
    },
}
for _enum, _descriptions in _VALUE_DESCRIPTIONS.items():
    for _value in _enum.__strawberry_definition__.values:
        _value.description = _descriptions.get(_value.name)


@strawberry.enum
class ChatVote(Enum):
    LIKE = "LIKE"
    DISLIKE = "DISLIKE"


@strawberry.enum
class OrderStatus(Enum):
    CREATED = "CREATED"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
