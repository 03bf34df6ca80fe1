"""Typing entry points: parse, call services/chats/typing_signals.py, return what the schema
makes a TypingEvent of. Domain errors are top-level errors with their code (the mutations
return a bare Boolean: there is no payload for a userError)."""
from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, AsyncGenerator

import strawberry
from strawberry.types import Info

import models
from resolvers.errors import top_level
from resolvers.ids import decode_id, decode_optional_id
from services.chats import typing_signals
from services.chats.operators import operators_by_id
from services.common.errors import DomainError

if TYPE_CHECKING:
    from schema.chats.typing_signals import SetTypingInput, SetVisitorTypingInput


@dataclass(frozen=True, slots=True)
class TypingFound:
    """A typing signal the viewer receives; `author_kind` is a MessageAuthorKind's name."""
    chat_id: int
    author_kind: str
    operator: models.Operator | None
    typing: bool
    at: datetime


async def set_typing(info: Info, input: SetTypingInput) -> bool:
    platform = info.context.platform
    try:
        return await typing_signals.set_typing(
            info.context.viewer, chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]), typing=input.typing,
            silent=bool(input.silent), broker=platform.broker, budget=platform.signal_budget)
    except DomainError as error:
        raise top_level(error)


async def set_visitor_typing(info: Info, input: SetVisitorTypingInput) -> bool:
    platform = info.context.platform
    try:
        return await typing_signals.set_visitor_typing(info.context.viewer, typing=input.typing,
                                                       broker=platform.broker, budget=platform.signal_budget)
    except DomainError as error:
        raise top_level(error)


async def typing(info: Info, chat_id: strawberry.ID | None) -> AsyncGenerator[TypingFound, None]:
    current = lambda: info.context.viewer  # noqa: E731 - a WebSocket's viewer follows its token
    operators: dict[int, models.Operator | None] = {}  # the names of this chat's typists, read once
    try:
        follow = typing_signals.follow_typing(info.context.viewer, decode_optional_id(chat_id, "Chat", ["chatId"]),
                                              broker=info.context.platform.broker, current_viewer=current)
        async with aclosing(follow) as signals:
            async for signal in signals:
                operator_id = signal.operator_id
                if operator_id is not None and operator_id not in operators:
                    operators[operator_id] = (await operators_by_id(current(), [operator_id])).get(operator_id)
                yield TypingFound(chat_id=signal.chat_id, author_kind=signal.author_kind.value,
                                  operator=None if operator_id is None else operators[operator_id],
                                  typing=signal.typing, at=signal.at)
    except DomainError as error:
        raise top_level(error)
