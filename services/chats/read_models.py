"""The read models of the chat lists: what myChats, conversations, a page's relations and search
return (services/common/read_models.py). Each field is an attribute of the model it reads, by the
same name (tests/read_models checks names, types and nullability), so the schema's types build
from a row as from a model; each statement selects the fields' columns (`columns`).

A list read for a selection (conversations, myChats: their `chat_columns` and `relation_columns`)
is a partial read: the columns its caller does not read are selected as NULL
(services/common/read_models.select_list) and are None in its rows, whatever the field's type."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import (
    Chat, ChatKind, ChatPriority, ChatStatus, Client, ContactFields, Message, MessageAuthorKind, OpenChannel, Operator, OperatorRole,
    NoAnswerRule, OperatorStatus, QueueDistribution,
)
from services.common.read_models import read_model


@read_model(Chat)
@dataclass(frozen=True, slots=True)
class ChatRow:
    """A chat of a list (myChats, conversations)."""
    id: int
    kind: ChatKind
    title: str
    status: ChatStatus
    pinned: bool
    priority: ChatPriority
    created_at: datetime
    answered_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    auto_close_at: datetime | None
    last_activity_at: datetime | None
    open_channel_id: int | None
    client_id: int | None
    operator_id: int | None
    parent_chat_id: int | None


@read_model(Client)
@dataclass(frozen=True, slots=True)
class ClientRow:
    id: int
    name: str
    email: str | None
    phone: str | None
    external_id: str | None


@read_model(Operator)
@dataclass(frozen=True, slots=True)
class OperatorRow:
    """An operator as the request's operator loader holds it (a page's operators prime it): what
    the schema's Operator and OperatorPreferences read. Not `created_at`: nothing that loads an
    operator reads it, and a list decoded it on every row with an operator (a timestamp costs
    asyncpg about 4,700 instructions, 36 of them in B1b's page)."""
    id: int
    name: str
    email: str
    role: OperatorRole
    status: OperatorStatus
    show_open_channels_separately: bool
    group_waiting_first_response: bool


@read_model(OpenChannel)
@dataclass(frozen=True, slots=True)
class OpenChannelRow:
    id: int
    name: str
    distribution: QueueDistribution
    answer_timeout_seconds: int
    auto_close_after_seconds: int
    rating_enabled: bool
    welcome_message: str | None
    max_chats_per_operator: int | None
    working_hours: str | None
    after_hours_message: str | None
    language: str
    no_answer_rule: NoAnswerRule
    no_answer_timeout_seconds: int | None
    no_answer_message: str | None
    no_answer_transfer_to_id: int | None
    sla_policy_id: int | None
    contact_fields: ContactFields


@read_model(Message)
@dataclass(frozen=True, slots=True)
class MessageRow:
    """A chat's last message, a search hit."""
    id: int
    chat_id: int
    author_id: int | None
    author_kind: MessageAuthorKind
    text: str
    silent: bool
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
