"""Mutation entry points: parse the input, call one service, return its payload."""
from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from infrastructure.settings import Settings
from resolvers.errors import payload, payload_of, viewer_of as _viewer
from schema import inputs
from schema.chats.chat import Chat
from schema.common import UserError
from schema.ids import decode_id, decode_ids, decode_optional_id
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator, OperatorPreferences
from schema.payloads import (
    ChatPayload, LoginPayload, LogoutPayload, MessagePayload, OpenChannelPayload, OperatorPayload, PreferencesPayload,
    RevokeOperatorTokensPayload, StartVisitorChatPayload,
)
from services.identity import auth
from services.identity.rate_limits import LOGIN, START_VISITOR_CHAT
from services.chats import chats
from services.messaging import messages
from services.chats import open_channels
from services.chats import operators
from services.identity import token_revocation
from services.chats import visitors
from services.common.errors import DomainError
from services.chats.open_channels import _UNSET as SERVICE_UNSET


def _chat_id(input: Any) -> int:
    return decode_id(input.chat_id, "Chat", ["input", "chatId"])


async def _chat_action(info: Info, use_case, input: Any, **kwargs: Any) -> ChatPayload:
    async def run():
        return await use_case(_viewer(info), chat_id=_chat_id(input), **kwargs)

    return await payload(ChatPayload, "chat", run(), Chat.from_model)


async def answer_chat(info: Info, input: inputs.ChatInput) -> ChatPayload:
    return await _chat_action(info, chats.answer_chat, input)


async def skip_chat(info: Info, input: inputs.ChatInput) -> ChatPayload:
    return await _chat_action(info, chats.skip_chat, input)


async def intercept_chat(info: Info, input: inputs.ChatInput) -> ChatPayload:
    return await _chat_action(info, chats.intercept_chat, input)


async def finish_chat(info: Info, input: inputs.ChatInput) -> ChatPayload:
    return await _chat_action(info, chats.finish_chat, input)


async def mark_chat_spam(info: Info, input: inputs.ChatInput) -> ChatPayload:
    return await _chat_action(info, chats.mark_chat_spam, input)


async def mark_chat_read(info: Info, input: inputs.ChatInput) -> ChatPayload:
    return await _chat_action(info, chats.mark_chat_read, input)


async def rename_chat(info: Info, input: inputs.RenameChatInput) -> ChatPayload:
    return await _chat_action(info, chats.rename_chat, input, title=input.title)


async def pin_chat(info: Info, input: inputs.PinChatInput) -> ChatPayload:
    return await _chat_action(info, chats.pin_chat, input, pinned=input.pinned)


async def transfer_chat(info: Info, input: inputs.TransferChatInput) -> ChatPayload:
    async def run():
        return await chats.transfer_chat(
            _viewer(info), chat_id=_chat_id(input),
            operator_id=decode_optional_id(input.operator_id, "Operator", ["input", "operatorId"]),
            open_channel_id=decode_optional_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            comment=input.comment,
        )

    return await payload(ChatPayload, "chat", run(), Chat.from_model)


async def add_chat_participants(info: Info, input: inputs.AddChatParticipantsInput) -> ChatPayload:
    async def run():
        ids = decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"])
        return await chats.add_chat_participants(_viewer(info), chat_id=_chat_id(input), operator_ids=ids)

    return await payload(ChatPayload, "chat", run(), Chat.from_model)


async def send_message(info: Info, input: inputs.SendMessageInput) -> MessagePayload:
    async def run():
        return await messages.send_message(
            _viewer(info), chat_id=_chat_id(input), text=input.text, silent=bool(input.silent),
            attachment_ids=decode_ids(input.attachment_ids, "Attachment", ["input", "attachmentIds"]) or [],
            reply_to_message_id=decode_optional_id(input.reply_to_message_id, "Message", ["input", "replyToMessageId"]),
            quote_message_id=decode_optional_id(input.quote_message_id, "Message", ["input", "quoteMessageId"]),
            mention_operator_ids=decode_ids(input.mention_operator_ids, "Operator", ["input", "mentionOperatorIds"])
            or [],
        )

    return await payload(MessagePayload, "message", run(), Message.from_model)


async def send_visitor_message(info: Info, input: inputs.SendVisitorMessageInput) -> MessagePayload:
    async def run():
        return await messages.send_visitor_message(
            _viewer(info), text=input.text,
            attachment_ids=decode_ids(input.attachment_ids, "Attachment", ["input", "attachmentIds"]) or [])

    return await payload(MessagePayload, "message", run(), Message.from_model)


async def start_visitor_chat(info: Info, input: inputs.StartVisitorChatInput) -> StartVisitorChatPayload:
    async def run():
        await info.context.check_ip_limit(START_VISITOR_CHAT)
        return await visitors.start_visitor_chat(
            open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            name=input.name, email=input.email, phone=input.phone, text=input.text,
        )

    return await payload_of(
        run(),
        lambda started: StartVisitorChatPayload(chat=Chat.from_model(started[0]) if started[0] else None,
                                                visitor_token=started[1], user_errors=[]),
        lambda errors: StartVisitorChatPayload(chat=None, visitor_token=None, user_errors=errors),
    )


async def login(info: Info, input: inputs.LoginInput) -> LoginPayload:
    """Wrong credentials are a userError here (this is where signing in happens)."""
    try:
        await info.context.check_ip_limit(LOGIN)
        token, operator = await auth.login(email=input.email, password=input.password,
                                           ttl_seconds=Settings().token_ttl_seconds)
    except DomainError as error:
        return LoginPayload(token=None, operator=None, user_errors=[UserError.from_domain(error)])
    return LoginPayload(token=token, operator=Operator.from_model(operator), user_errors=[])


async def logout(info: Info, input: inputs.LogoutInput | None = None) -> LogoutPayload:
    everywhere = bool(input and input.everywhere)
    return await payload_of(
        token_revocation.logout(_viewer(info), authorization=info.context.authorization, everywhere=everywhere,
                                trusted=info.context.platform.tokens),
        lambda revoked: _revoked(info, LogoutPayload(revoked_tokens=revoked, user_errors=[])),
        lambda errors: LogoutPayload(revoked_tokens=0, user_errors=errors),
    )


async def revoke_operator_tokens(info: Info, input: inputs.RevokeOperatorTokensInput) -> RevokeOperatorTokensPayload:
    async def run():
        return await token_revocation.revoke_operator_tokens(
            _viewer(info), operator_id=decode_id(input.operator_id, "Operator", ["input", "operatorId"]),
            trusted=info.context.platform.tokens)

    return await payload_of(
        run(),
        lambda done: _revoked(info, RevokeOperatorTokensPayload(operator=Operator.from_model(done[0]),
                                                                revoked_tokens=done[1], user_errors=[])),
        lambda errors: RevokeOperatorTokensPayload(operator=None, revoked_tokens=0, user_errors=errors),
    )


def _revoked(info: Info, result: Any) -> Any:
    """Tokens were revoked: this process's WebSockets opened with them close now, not at the next period."""
    info.context.tokens_revoked()
    return result


async def create_operator(info: Info, input: inputs.CreateOperatorInput) -> OperatorPayload:
    async def run():
        return await operators.create_operator(_viewer(info), name=input.name, email=input.email,
                                               role=operators.parse_role(input.role.value if input.role else "OPERATOR"),
                                               password=input.password)

    return await payload(OperatorPayload, "operator", run(), Operator.from_model)


async def set_status(info: Info, input: inputs.SetStatusInput) -> OperatorPayload:
    async def run():
        return await operators.set_status(_viewer(info), status=input.status)

    return await payload(OperatorPayload, "operator", run(), Operator.from_model)


async def update_preferences(info: Info, input: inputs.UpdatePreferencesInput) -> PreferencesPayload:
    call = operators.update_preferences(
        _viewer(info), show_open_channels_separately=input.show_open_channels_separately,
        group_waiting_first_response=input.group_waiting_first_response,
    )
    return await payload(PreferencesPayload, "preferences", call, OperatorPreferences.from_model)


async def create_open_channel(info: Info, input: inputs.CreateOpenChannelInput) -> OpenChannelPayload:
    async def run():
        defaults = inputs.CreateOpenChannelInput(name=input.name)
        return await open_channels.create_open_channel(
            _viewer(info), name=input.name,
            distribution=input.distribution or defaults.distribution,
            answer_timeout_seconds=_or(input.answer_timeout_seconds, defaults.answer_timeout_seconds),
            auto_close_after_seconds=_or(input.auto_close_after_seconds, defaults.auto_close_after_seconds),
            rating_enabled=_or(input.rating_enabled, defaults.rating_enabled),
            welcome_message=input.welcome_message, max_chats_per_operator=input.max_chats_per_operator,
            operator_ids=decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"]) or [],
        )

    return await payload(OpenChannelPayload, "open_channel", run(), OpenChannel.from_model)


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


async def update_open_channel(info: Info, input: inputs.UpdateOpenChannelInput) -> OpenChannelPayload:
    async def run():
        changes = {
            name: SERVICE_UNSET if getattr(input, name) is strawberry.UNSET else getattr(input, name)
            for name in ("name", "distribution", "answer_timeout_seconds", "auto_close_after_seconds",
                         "rating_enabled", "welcome_message", "max_chats_per_operator")
        }
        operator_ids = None if input.operator_ids in (strawberry.UNSET, None) else \
            decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"])
        return await open_channels.update_open_channel(
            _viewer(info), open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            operator_ids=operator_ids, **changes,
        )

    return await payload(OpenChannelPayload, "open_channel", run(), OpenChannel.from_model)
