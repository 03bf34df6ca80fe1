"""Typing: the inputs of setTyping / setVisitorTyping and what the `typing` subscription delivers."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from resolvers.ids import to_global_id
from schema.chats.operator import Operator
from schema.enums import MessageAuthorKind

if TYPE_CHECKING:
    from resolvers.chats.typing_signals import TypingFound


@strawberry.input
class SetTypingInput:
    chat_id: strawberry.ID
    typing: bool
    silent: bool | None = strawberry.field(default=False, description="typing a silent note: operators only")


@strawberry.input
class SetVisitorTypingInput:
    typing: bool


@strawberry.type(description="Someone is typing in a chat. Not stored, not replayed.")
class TypingEvent:
    chat_id: strawberry.ID
    author_kind: MessageAuthorKind
    operator: Operator | None = strawberry.field(description="The operator typing; null when it is the client.")
    typing: bool
    at: datetime

    @classmethod
    def from_found(cls, found: TypingFound) -> "TypingEvent":
        return cls(chat_id=strawberry.ID(to_global_id("Chat", found.chat_id)),
                   author_kind=MessageAuthorKind(found.author_kind),
                   operator=Operator.from_model(found.operator) if found.operator is not None else None,
                   typing=found.typing, at=found.at)
