"""Mutation entry points: parse the input, call one service, return its outcome (the result, or
the domain error schema/payloads.py makes a userError of)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

import models
from infrastructure.settings import Settings
from resolvers.errors import Outcome, outcome, viewer_of as _viewer
from resolvers.ids import decode_id, decode_ids, decode_optional_id
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
from services.chats.working_hours import WorkingHours, parse_working_hours

if TYPE_CHECKING:
    from schema import inputs


def _chat_id(input: Any) -> int:
    return decode_id(input.chat_id, "Chat", ["input", "chatId"])


async def _chat_action(info: Info, use_case, input: Any, **kwargs: Any) -> Outcome[models.Chat]:
    async def run():
        return await use_case(_viewer(info), chat_id=_chat_id(input), **kwargs)

    return await outcome(run())


async def answer_chat(info: Info, input: inputs.ChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.answer_chat, input)


async def skip_chat(info: Info, input: inputs.ChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.skip_chat, input)


async def intercept_chat(info: Info, input: inputs.ChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.intercept_chat, input)


async def finish_chat(info: Info, input: inputs.ChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.finish_chat, input)


async def mark_chat_spam(info: Info, input: inputs.ChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.mark_chat_spam, input)


async def mark_chat_read(info: Info, input: inputs.ChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.mark_chat_read, input)


async def rename_chat(info: Info, input: inputs.RenameChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.rename_chat, input, title=input.title)


async def pin_chat(info: Info, input: inputs.PinChatInput) -> Outcome[models.Chat]:
    return await _chat_action(info, chats.pin_chat, input, pinned=input.pinned)


async def transfer_chat(info: Info, input: inputs.TransferChatInput) -> Outcome[models.Chat]:
    async def run():
        return await chats.transfer_chat(
            _viewer(info), chat_id=_chat_id(input),
            operator_id=decode_optional_id(input.operator_id, "Operator", ["input", "operatorId"]),
            open_channel_id=decode_optional_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            comment=input.comment,
        )

    return await outcome(run())


async def add_chat_participants(info: Info, input: inputs.AddChatParticipantsInput) -> Outcome[models.Chat]:
    async def run():
        ids = decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"])
        return await chats.add_chat_participants(_viewer(info), chat_id=_chat_id(input), operator_ids=ids)

    return await outcome(run())


async def send_message(info: Info, input: inputs.SendMessageInput) -> Outcome[models.Message]:
    async def run():
        return await messages.send_message(
            _viewer(info), chat_id=_chat_id(input), text=input.text, silent=bool(input.silent),
            attachment_ids=decode_ids(input.attachment_ids, "Attachment", ["input", "attachmentIds"]) or [],
            reply_to_message_id=decode_optional_id(input.reply_to_message_id, "Message", ["input", "replyToMessageId"]),
            quote_message_id=decode_optional_id(input.quote_message_id, "Message", ["input", "quoteMessageId"]),
            mention_operator_ids=decode_ids(input.mention_operator_ids, "Operator", ["input", "mentionOperatorIds"])
            or [],
        )

    return await outcome(run())


async def send_visitor_message(info: Info, input: inputs.SendVisitorMessageInput) -> Outcome[models.Message]:
    async def run():
        return await messages.send_visitor_message(
            _viewer(info), text=input.text,
            attachment_ids=decode_ids(input.attachment_ids, "Attachment", ["input", "attachmentIds"]) or [])

    return await outcome(run())


async def start_visitor_chat(info: Info, input: inputs.StartVisitorChatInput
                             ) -> Outcome[tuple[models.Chat | None, str]]:
    """The chat and the visitor's token."""
    async def run():
        await info.context.check_ip_limit(START_VISITOR_CHAT)
        return await visitors.start_visitor_chat(
            open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            name=input.name, email=input.email, phone=input.phone, text=input.text,
            external_id=input.external_id, identity_hash=input.identity_hash,
        )

    return await outcome(run())


async def login(info: Info, input: inputs.LoginInput) -> Outcome[tuple[str, models.Operator]]:
    """The token and the operator. Wrong credentials are a userError here (this is where signing
    in happens), UNAUTHENTICATED included."""
    try:
        await info.context.check_ip_limit(LOGIN)
        token, operator = await auth.login(email=input.email, password=input.password,
                                           ttl_seconds=Settings().token_ttl_seconds)
    except DomainError as error:
        return Outcome(error=error)
    return Outcome((token, operator))


async def logout(info: Info, input: inputs.LogoutInput | None = None) -> Outcome[int]:
    """How many tokens were revoked."""
    everywhere = bool(input and input.everywhere)

    async def run():
        return _revoked(info, await token_revocation.logout(
            _viewer(info), authorization=info.context.authorization, everywhere=everywhere,
            trusted=info.context.platform.tokens))

    return await outcome(run())


async def revoke_operator_tokens(info: Info, input: inputs.RevokeOperatorTokensInput
                                 ) -> Outcome[tuple[models.Operator, int]]:
    """The operator and how many of their tokens were revoked."""
    async def run():
        return _revoked(info, await token_revocation.revoke_operator_tokens(
            _viewer(info), operator_id=decode_id(input.operator_id, "Operator", ["input", "operatorId"]),
            trusted=info.context.platform.tokens))

    return await outcome(run())


def _revoked(info: Info, result: Any) -> Any:
    """Tokens were revoked: this process's WebSockets opened with them close now, not at the next period."""
    info.context.tokens_revoked()
    return result


async def create_operator(info: Info, input: inputs.CreateOperatorInput) -> Outcome[models.Operator]:
    async def run():
        return await operators.create_operator(_viewer(info), name=input.name, email=input.email,
                                               role=operators.parse_role(input.role.value if input.role else "OPERATOR"),
                                               password=input.password)

    return await outcome(run())


async def set_status(info: Info, input: inputs.SetStatusInput) -> Outcome[models.Operator]:
    async def run():
        return await operators.set_status(_viewer(info), status=input.status)

    return await outcome(run())


async def update_preferences(info: Info, input: inputs.UpdatePreferencesInput) -> Outcome[models.Operator]:
    call = operators.update_preferences(
        _viewer(info), show_open_channels_separately=input.show_open_channels_separately,
        group_waiting_first_response=input.group_waiting_first_response,
    )
    return await outcome(call)


async def create_open_channel(info: Info, input: inputs.CreateOpenChannelInput) -> Outcome[models.OpenChannel]:
    async def run():
        defaults = type(input)(name=input.name)  # the input type's defaults (schema/inputs.py)
        return await open_channels.create_open_channel(
            _viewer(info), name=input.name,
            distribution=_or(input.distribution, defaults.distribution),
            answer_timeout_seconds=_or(input.answer_timeout_seconds, defaults.answer_timeout_seconds),
            auto_close_after_seconds=_or(input.auto_close_after_seconds, defaults.auto_close_after_seconds),
            rating_enabled=_or(input.rating_enabled, defaults.rating_enabled),
            welcome_message=input.welcome_message, max_chats_per_operator=input.max_chats_per_operator,
            contact_fields=_or(input.contact_fields, defaults.contact_fields),
            operator_ids=decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"]) or [],
        )

    return await outcome(run())


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _working_hours(given: inputs.WorkingHoursInput | None) -> WorkingHours | None:
    if given is None:
        return None
    return parse_working_hours(time_zone=given.time_zone, holidays=given.holidays,
                               periods=[(p.weekday, p.opens, p.closes) for p in given.periods])


async def update_open_channel(info: Info, input: inputs.UpdateOpenChannelInput) -> Outcome[models.OpenChannel]:
    async def run():
        changes = {
            name: SERVICE_UNSET if getattr(input, name) is strawberry.UNSET else getattr(input, name)
            for name in ("name", "distribution", "answer_timeout_seconds", "auto_close_after_seconds",
                         "rating_enabled", "welcome_message", "max_chats_per_operator", "after_hours_message",
                         "language", "no_answer_rule", "no_answer_timeout_seconds", "no_answer_message",
                         "contact_fields")
        }
        if input.working_hours is not strawberry.UNSET:
            changes["working_hours"] = _working_hours(input.working_hours)
        if input.no_answer_transfer_to_id is not strawberry.UNSET:
            changes["no_answer_transfer_to_id"] = decode_optional_id(
                input.no_answer_transfer_to_id, "OpenChannel", ["input", "noAnswerTransferToId"])
        if input.sla_policy_id is not strawberry.UNSET:
            changes["sla_policy_id"] = decode_optional_id(input.sla_policy_id, "SlaPolicy", ["input", "slaPolicyId"])
        operator_ids = None if input.operator_ids in (strawberry.UNSET, None) else \
            decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"])
        return await open_channels.update_open_channel(
            _viewer(info), open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            operator_ids=operator_ids, **changes,
        )

    return await outcome(run())


async def finish_visitor_chat(info: Info) -> Outcome[models.Chat]:
    async def run():
        return await visitors.finish_visitor_chat(_viewer(info))

    return await outcome(run())


async def rotate_identity_secret(info: Info, input: inputs.OpenChannelInput) -> Outcome[str]:
    """The new secret (shown once)."""
    async def run():
        return await open_channels.rotate_identity_secret(
            _viewer(info), open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]))

    return await outcome(run())
