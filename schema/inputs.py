"""Mutation inputs, as the contract names them."""
from __future__ import annotations

import strawberry

from schema.enums import ChatPriority, ContactFields, NoAnswerRule, OperatorRole, OperatorStatus, QueueDistribution, Weekday


@strawberry.input
class ChatInput:
    chat_id: strawberry.ID


@strawberry.input
class RenameChatInput:
    chat_id: strawberry.ID
    title: str


@strawberry.input
class TransferChatInput:
    chat_id: strawberry.ID
    operator_id: strawberry.ID | None = strawberry.field(default=None, description="Exactly one of operatorId and openChannelId.")
    open_channel_id: strawberry.ID | None = None
    comment: str | None = strawberry.field(default=None, description="Left in the chat as a silent note for the next operator.")


@strawberry.input
class AddChatParticipantsInput:
    chat_id: strawberry.ID
    operator_ids: list[strawberry.ID]


@strawberry.input
class PinChatInput:
    chat_id: strawberry.ID
    pinned: bool


@strawberry.input
class SendMessageInput:
    chat_id: strawberry.ID
    text: str
    silent: bool | None = strawberry.field(default=False, description="Operator note: the client never sees it.")
    attachment_ids: list[strawberry.ID] | None = None
    reply_to_message_id: strawberry.ID | None = None
    quote_message_id: strawberry.ID | None = None
    mention_operator_ids: list[strawberry.ID] | None = None


@strawberry.input
class UpdatePreferencesInput:
    show_open_channels_separately: bool | None = None
    group_waiting_first_response: bool | None = None


@strawberry.input
class SetStatusInput:
    status: OperatorStatus


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class LogoutInput:
    everywhere: bool = strawberry.field(
        default=False, description="Revoke every token of mine (every device), not only this request's.")


@strawberry.input
class RevokeOperatorTokensInput:
    operator_id: strawberry.ID


@strawberry.input
class CreateOperatorInput:
    name: str
    email: str
    role: OperatorRole | None = OperatorRole.OPERATOR
    password: str | None = None


@strawberry.input
class CreateOpenChannelInput:
    name: str
    distribution: QueueDistribution | None = QueueDistribution.EVENLY
    answer_timeout_seconds: int | None = 60
    auto_close_after_seconds: int | None = 86400
    rating_enabled: bool | None = True
    welcome_message: str | None = None
    max_chats_per_operator: int | None = None
    operator_ids: list[strawberry.ID] | None = None
    contact_fields: ContactFields | None = strawberry.field(
        default=ContactFields.OPTIONAL, description="Whether the widget asks the visitor's name and e-mail before "
                                                    "the first message (REQUIRED: startVisitorChat needs both).")


@strawberry.input
class WorkingPeriodInput:
    weekday: Weekday
    opens: str = strawberry.field(description="HH:MM, 00:00 to 23:59.")
    closes: str = strawberry.field(description="HH:MM, after opens, up to 24:00: a period never crosses midnight "
                                               "(split 22:00-02:00 into 22:00-24:00 and 00:00-02:00 the next day).")


@strawberry.input
class WorkingHoursInput:
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/Madrid.")
    periods: list[WorkingPeriodInput] = strawberry.field(description="No periods: closed until changed.")
    holidays: list[str] | None = strawberry.field(default=None, description="Closed days (local), ISO dates.")


@strawberry.input
class OpenChannelInput:
    open_channel_id: strawberry.ID


@strawberry.input
class UpdateOpenChannelInput:
    working_hours: WorkingHoursInput | None = strawberry.field(
        default=strawberry.UNSET, description="null clears them (always open).")
    after_hours_message: str | None = strawberry.field(
        default=strawberry.UNSET, description="null or empty: the default text in the channel's language.")
    language: str | None = strawberry.field(
        default=strawberry.UNSET, description="An IETF tag of a language with system texts: es, en, pt (pt-BR...).")
    no_answer_rule: NoAnswerRule | None = strawberry.field(
        default=strawberry.UNSET, description="What happens to a chat nobody answers in time (TRANSFER needs "
                                              "noAnswerTransferToId).")
    no_answer_timeout_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="At least 1: seconds of working time; null: the rule never fires.")
    no_answer_message: str | None = strawberry.field(
        default=strawberry.UNSET, description="null or empty: the default text in the channel's language.")
    no_answer_transfer_to_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Another open channel (TRANSFER).")
    sla_policy_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The service-level policy of its new chats; null: none.")
    contact_fields: ContactFields | None = strawberry.field(
        default=strawberry.UNSET, description="Whether the widget asks the visitor's name and e-mail before the "
                                              "first message (REQUIRED: startVisitorChat needs both).")
    open_channel_id: strawberry.ID
    name: str | None = strawberry.UNSET
    distribution: QueueDistribution | None = strawberry.UNSET
    answer_timeout_seconds: int | None = strawberry.UNSET
    auto_close_after_seconds: int | None = strawberry.UNSET
    rating_enabled: bool | None = strawberry.UNSET
    welcome_message: str | None = strawberry.UNSET
    max_chats_per_operator: int | None = strawberry.UNSET
    operator_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the queue members, in this order."
    )


@strawberry.input
class StartVisitorChatInput:
    open_channel_id: strawberry.ID
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    text: str | None = strawberry.field(default=None, description="The first message; without it the chat starts with the visitor's first sendVisitorMessage.")
    external_id: str | None = strawberry.field(
        default=None, description="The website's own id of a signed-in visitor; with identityHash, a returning "
                                  "visitor is the same client (without it, a new client that does not keep it).")
    identity_hash: str | None = strawberry.field(
        default=None, description="hex HMAC-SHA256 of externalId keyed with the channel's identity secret "
                                  "(computed by the website's server). A wrong one is refused (INVALID_INPUT).")


@strawberry.input
class SendVisitorMessageInput:
    text: str
    attachment_ids: list[strawberry.ID] | None = None


@strawberry.input
class SetChatPriorityInput:
    chat_id: strawberry.ID
    priority: ChatPriority
