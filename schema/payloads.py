"""Mutation payloads: the changed object (null on failure) and userErrors."""
from __future__ import annotations

import strawberry

from schema.chats.chat import Chat
from schema.common import UserError
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator, OperatorPreferences


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
