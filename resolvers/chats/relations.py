"""What the fields of the chat types read: relations through the request's loaders (one query per
relation for a whole list), a chat's messages, staff-only fields.

A relation read through a DataLoader is returned as the loader's awaitable (no coroutine of its
own): the schema's field awaits it and builds its type (schema/chats/).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Awaitable

from strawberry.types import Info

import models
from resolvers.pages import with_cursors
from services.chats import open_channels, reads, timeline, waiting
from services.chats.working_hours import WorkingHours
from services.common.pagination import Page
from services.policies import operators as operator_policy


def staff_only(info: Info) -> None:
    """Visitors see an operator's name in their chat, never the staff's details (the operator policy)."""
    operator_policy.ensure_staff_details(info.context.viewer)


def operator(info: Info, pk: int) -> Awaitable[models.Operator | None]:
    return info.context.loaders.operator.load(pk)


def open_channel(info: Info, pk: int) -> Awaitable[models.OpenChannel | None]:
    return info.context.loaders.open_channel.load(pk)


def working_hours(stored: str | None) -> WorkingHours | None:
    return open_channels.working_hours_of(stored)


def is_open_now(stored: str | None) -> bool:
    return open_channels.is_open_now(stored)


def client(info: Info, pk: int) -> Awaitable[models.Client | None]:
    return info.context.loaders.client.load(pk)


def chat(info: Info, pk: int) -> Awaitable[models.Chat | None]:
    return info.context.loaders.chat.load(pk)


async def operators(info: Info, ids: list[int]) -> list[models.Operator]:
    return [o for o in await info.context.loaders.operator.load_many(ids) if o is not None]


# ---------------------------------------------------------------- Chat


async def offered_to(info: Info, chat_pk: int) -> list[models.Operator]:
    return await operators(info, await info.context.loaders.offered_to.load(chat_pk))


async def participants(info: Info, chat_pk: int) -> list[models.Operator]:
    return await operators(info, await info.context.loaders.participants.load(chat_pk))


def unread_count(info: Info, chat_pk: int) -> Awaitable[int]:
    return info.context.loaders.unread_count.load(chat_pk)


def last_message(info: Info, chat_pk: int) -> Awaitable[models.Message | None]:
    return info.context.loaders.last_message.load(chat_pk)


async def chat_messages(info: Info, chat_pk: int, first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None) -> Page:
    return with_cursors(await reads.chat_messages(info.context.viewer, chat_id=chat_pk, first=first, after=after,
                                                  last=last, before=before))


async def chat_timeline(info: Info, chat_pk: int, first: int | None = None, after: str | None = None) -> Page:
    return with_cursors(await timeline.chat_timeline(info.context.viewer, chat_id=chat_pk, first=first, after=after))


def visible_chat_or_none(info: Info, pk: int) -> Awaitable[models.Chat | None]:
    return reads.visible_chat_or_none(info.context.viewer, pk)


def visible_chat(info: Info, pk: int) -> Awaitable[models.Chat]:
    """The chat, or NOT_FOUND if the viewer may not see it."""
    return reads.read_chat(info.context.viewer, pk)


def queue_position(info: Info, chat_pk: int) -> Awaitable[int | None]:
    return info.context.loaders.queue_position.load(chat_pk)


async def estimated_wait_seconds(info: Info, channel_pk: int, waiting_since: datetime) -> int | None:
    return waiting.remaining_wait(await info.context.loaders.median_wait.load(channel_pk), waiting_since)


def sla_policy(info: Info, pk: int) -> Awaitable[models.SlaPolicy | None]:
    return info.context.loaders.sla_policy.load(pk)


def chat_sla(info: Info, chat_pk: int) -> Awaitable[models.ChatSla | None]:
    """The chat's service levels, for whoever reads the chat on the operator side (a visitor: None)."""
    return info.context.loaders.chat_sla.load(chat_pk)


def labels(info: Info, chat_pk: int) -> Awaitable[list[models.Label]]:
    return info.context.loaders.labels.load(chat_pk)


def rating(info: Info, chat_pk: int) -> Awaitable[Any]:
    return info.context.loaders.chat_rating.load(chat_pk)


# ---------------------------------------------------------------- OpenChannel, Operator, Me


async def queue_members(info: Info, channel_pk: int) -> list[models.Operator]:
    """Operators only."""
    staff_only(info)
    return await operators(info, await info.context.loaders.members.load(channel_pk))


def queued_chats(info: Info, channel_pk: int) -> Awaitable[list[models.Chat]]:
    return info.context.loaders.queued_chats.load(channel_pk)


def queue_length(info: Info, channel_pk: int) -> Awaitable[int]:
    """How many of `queued_chats` there are, counted by the database."""
    return info.context.loaders.queue_length.load(channel_pk)


async def active_chats_count(info: Info, operator_pk: int) -> int:
    """Operators only."""
    staff_only(info)
    return await info.context.loaders.active_chats_count.load(operator_pk)


async def operator_channels(info: Info, operator_pk: int) -> list[models.OpenChannel]:
    """Operators only."""
    staff_only(info)
    return await info.context.loaders.operator_channels.load(operator_pk)


def total_unread(info: Info) -> Awaitable[int]:
    return info.context.loaders.total_unread()
