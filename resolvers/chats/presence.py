"""Presence entry points: the `presence` query, `operatorsChanged`, and what `Operator.connected` and
`lastSeenAt` read (services/chats/presence.py; who follows whom: the operator policy)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import AsyncGenerator

from strawberry.types import Info

import models
from models import OperatorStatus
from resolvers.chats.loaders import Loaders
from resolvers.chats.relations import staff_only
from resolvers.errors import top_level, unauthenticated_on_top as _call, viewer_of as _viewer
from services.chats import presence as presence_service
from services.chats.presence import OperatorPresence
from services.chats.presence_events import operator_events
from services.common.errors import DomainError


@dataclass(frozen=True, slots=True)
class OperatorEventFound:
    """A change of an operator's presence the viewer follows, as the event recorded it."""
    event_id: str
    operator: models.Operator
    status: OperatorStatus
    connected: bool
    occurred_at: datetime


async def presence(info: Info) -> list[models.Operator]:
    return await _call(presence_service.followed_operators(_viewer(info)))


async def operator_presence(info: Info, operator_pk: int) -> OperatorPresence:
    """Operators only (the staff's details)."""
    staff_only(info)
    found = await info.context.loaders.operator_presence.load(operator_pk)
    return found if found is not None else OperatorPresence(False, None)


async def operators_changed(info: Info, after: str | None = None) -> AsyncGenerator[OperatorEventFound, None]:
    viewer = _viewer(info)
    current = lambda: info.context.viewer  # noqa: E731 - a WebSocket's viewer follows its token
    try:
        async for event in operator_events(viewer, after, current):
            loaders = info.context.loaders = Loaders(info.context.viewer)  # fresh per event
            detail = event.detail or {}
            operator = await loaders.operator.load(detail["operator_id"])
            if operator is None:
                continue
            yield OperatorEventFound(
                event_id=str(event.id), operator=operator, status=OperatorStatus(detail["status"]),
                connected=bool(detail["connected"]), occurred_at=event.created_at)
    except DomainError as error:
        raise top_level(error)
