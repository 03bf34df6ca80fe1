"""Building blocks for tests, made through the services (the same paths the API takes).

Plain async functions: call them inside a test that uses the `db` fixture.
"""
from __future__ import annotations

import itertools
from typing import Any

from models import (
    Chat, ChatOffer, ChatParticipant, ChatSkip, Event, Message, OpenChannel, Operator, OperatorRole, OperatorStatus,
    QueueDistribution, ReadMarker,
)
from services.identity import auth
from services.chats import open_channels
from services.chats import operators
from services.chats import visitors
from services.identity.viewer import Viewer

_sequence = itertools.count(1)


def viewer_of(operator: Operator) -> Viewer:
    """The Viewer that `services.identity.auth.authenticate` builds for this operator's token."""
    return Viewer(operator_id=operator.id, role=operator.role)


async def make_operator(
    name: str | None = None,
    *,
    role: OperatorRole = OperatorRole.OPERATOR,
    status: OperatorStatus = OperatorStatus.ONLINE,
    password: str | None = None,
    email: str | None = None,
) -> tuple[Operator, Viewer]:
    """A registered operator, ONLINE unless told otherwise."""
    n = next(_sequence)
    name = name or f"Operator {n}"
    operator = await operators.register_operator(
        name=name, email=email or f"operator{n}@example.test", role=role, password=password
    )
    viewer = viewer_of(operator)
    if status != operator.status:
        operator = await operators.set_status(viewer, status=status)
    return operator, viewer


async def make_admin(status: OperatorStatus = OperatorStatus.OFFLINE) -> tuple[Operator, Viewer]:
    return await make_operator(role=OperatorRole.ADMIN, status=status)


async def make_open_channel(
    members: list[Operator] | None = None,
    *,
    distribution: QueueDistribution = QueueDistribution.EVENLY,
    admin: Viewer | None = None,
    name: str | None = None,
    **settings: Any,
) -> OpenChannel:
    """An open channel whose queue holds `members` in this order (created by an admin)."""
    if admin is None:
        _, admin = await make_admin()
    return await open_channels.create_open_channel(
        admin,
        name=name or f"Channel {next(_sequence)}",
        distribution=distribution,
        operator_ids=[m.id for m in members or []],
        **settings,
    )


async def start_chat(
    channel: OpenChannel, text: str | None = "Hello, I need help", *, name: str | None = None
) -> tuple[Chat | None, Viewer, str]:
    """A visitor starts a chat: (the chat or None without `text`, the visitor's Viewer, their token)."""
    chat, token = await visitors.start_visitor_chat(open_channel_id=channel.id, name=name, text=text)
    visitor = await auth.authenticate(f"Bearer {token}")
    return chat, visitor, token


async def offered_to(chat_id: int) -> set[int]:
    """Ids of the operators the chat is offered to right now."""
    return set(await ChatOffer.filter(chat_id=chat_id).values_list("operator_id", flat=True))


async def participants_of(chat_id: int) -> set[int]:
    return set(await ChatParticipant.filter(chat_id=chat_id).values_list("operator_id", flat=True))


async def event_kinds(chat_id: int, after: int = 0) -> list[str]:
    """Kinds of the chat's events in id order (after event id `after`)."""
    return list(await Event.filter(chat_id=chat_id, id__gt=after).order_by("id").values_list("kind", flat=True))


async def last_event_id() -> int:
    last = await Event.all().order_by("-id").first()
    return last.id if last else 0


async def snapshot(chat_id: int) -> dict[str, Any]:
    """Everything a refused or invalid action must leave as it was."""
    return {
        "chat": await Chat.filter(id=chat_id).values(),
        "messages": await Message.filter(chat_id=chat_id).order_by("id").values(),
        "offers": sorted(await ChatOffer.filter(chat_id=chat_id).values_list("operator_id", flat=True)),
        "skips": sorted(await ChatSkip.filter(chat_id=chat_id).values_list("operator_id", flat=True)),
        "participants": sorted(await ChatParticipant.filter(chat_id=chat_id).values_list("operator_id", flat=True)),
        "read_markers": await ReadMarker.filter(chat_id=chat_id).order_by("id").values(),
        "events": await Event.all().count(),
        "chats": await Chat.all().count(),
    }


async def queued_chat(
    distribution: QueueDistribution = QueueDistribution.STRICT, *, members: int = 2, **settings: Any
) -> tuple[OpenChannel, list[tuple[Operator, Viewer]], Chat, Viewer]:
    """A channel of `members` ONLINE operators (in this order) and a visitor's chat queued in it."""
    cast = [await make_operator() for _ in range(members)]
    channel = await make_open_channel([op for op, _ in cast], distribution=distribution, **settings)
    chat, visitor, _ = await start_chat(channel)
    return channel, cast, chat, visitor
