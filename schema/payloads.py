"""Mutation payloads: the changed object (null on failure) and userErrors, built from what a
resolver's use case gave (resolvers/errors.py's `Outcome`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

import strawberry

from schema.chats.chat import Chat
from schema.common import UserError
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator, OperatorPreferences

if TYPE_CHECKING:
    from resolvers.errors import Outcome


@strawberry.type
class ChatPayload:
    chat: Chat | None
    user_errors: list[UserError]


@strawberry.type
class MessagePayload:
    message: Message | None
    user_errors: list[UserError]


@strawberry.type
class OperatorPayload:
    operator: Operator | None
    user_errors: list[UserError]


@strawberry.type
class PreferencesPayload:
    preferences: OperatorPreferences | None
    user_errors: list[UserError]


@strawberry.type
class OpenChannelPayload:
    open_channel: OpenChannel | None
    user_errors: list[UserError]


@strawberry.type
class LoginPayload:
    token: str | None
    operator: Operator | None
    user_errors: list[UserError]


@strawberry.type
class LogoutPayload:
    revoked_tokens: int = strawberry.field(description="How many tokens were revoked.")
    user_errors: list[UserError]


@strawberry.type
class RevokeOperatorTokensPayload:
    operator: Operator | None
    revoked_tokens: int = strawberry.field(description="How many tokens were revoked.")
    user_errors: list[UserError]


@strawberry.type
class StartVisitorChatPayload:
    chat: Chat | None
    visitor_token: str | None = strawberry.field(description="Bearer token that reaches this chat only.")
    user_errors: list[UserError]


@strawberry.type
class IdentitySecretPayload:
    secret: str | None = strawberry.field(description="shown once")
    user_errors: list[UserError]


T = TypeVar("T")


def user_errors(outcome: Outcome[Any]) -> list[UserError]:
    """The userErrors of a use case's outcome: none, or its domain error's."""
    return [] if outcome.error is None else [UserError.from_domain(outcome.error)]


def payload(build: Callable[..., T], key: str, outcome: Outcome[Any], convert: Callable[[Any], Any]) -> T:
    """The common payload: the changed object under `key` (null on failure) and userErrors."""
    if outcome.error is not None:
        return build(**{key: None, "user_errors": user_errors(outcome)})
    result = outcome.result
    return build(**{key: convert(result) if result is not None else None, "user_errors": []})


def chat_payload(outcome: Outcome[Any]) -> ChatPayload:
    return payload(ChatPayload, "chat", outcome, Chat.from_model)


def message_payload(outcome: Outcome[Any]) -> MessagePayload:
    return payload(MessagePayload, "message", outcome, Message.from_model)
