"""GraphQL enums. Those stored in the database reuse the model enums, so values never drift."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

import models

if TYPE_CHECKING:  # strawberry.enum returns the model enum itself: for mypy, the same classes (usable as types)
    from models import (
        ChatKind, ChatStatus, MessageAuthorKind, OperatorRole, OperatorStatus, QueueDistribution, Weekday,
    )
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
    Weekday = strawberry.enum(models.Weekday)

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


@strawberry.enum(description="What happened in a queue.")
class QueueEventKind(Enum):
    CHAT_QUEUED = "CHAT_QUEUED"
    CHAT_OFFERED = "CHAT_OFFERED"
    CHAT_ANSWERED = "CHAT_ANSWERED"
    CHAT_SKIPPED = "CHAT_SKIPPED"
    CHAT_TRANSFERRED = "CHAT_TRANSFERRED"
    CHAT_INTERCEPTED = "CHAT_INTERCEPTED"
    CHAT_FINISHED = "CHAT_FINISHED"
    CHAT_SPAM = "CHAT_SPAM"
    CHAT_PINNED = "CHAT_PINNED"
    CHAT_UNPINNED = "CHAT_UNPINNED"
    CHAT_RENAMED = "CHAT_RENAMED"
    CHAT_AUTO_CLOSED = "CHAT_AUTO_CLOSED"


@strawberry.enum(description="What happened in a chat.")
class ChatEventKind(Enum):
    MESSAGE_ADDED = "MESSAGE_ADDED"
    MESSAGE_EDITED = "MESSAGE_EDITED"
    MESSAGE_DELETED = "MESSAGE_DELETED"
    CHAT_UPDATED = "CHAT_UPDATED"
    PARTICIPANTS_CHANGED = "PARTICIPANTS_CHANGED"
    CHAT_CLOSED = "CHAT_CLOSED"
