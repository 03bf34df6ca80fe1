"""Presence: the `presence` query and `operatorsChanged` (resolvers/chats/presence.py)."""
from __future__ import annotations

from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers.chats import presence as p
from schema.chats.operator import Operator
from schema.enums import OperatorStatus

if TYPE_CHECKING:
    from resolvers.chats.presence import OperatorEventFound


@strawberry.type(description="An operator's presence changed: their status, or whether they are connected.")
class OperatorEvent:
    event_id: str = strawberry.field(
        description="Monotonic event id; pass it back as `after` to resume without losing events."
    )
    operator: Operator
    status: OperatorStatus = strawberry.field(description="The operator's status right after the change.")
    connected: bool = strawberry.field(description="Whether the operator had a WebSocket open right after it.")
    occurred_at: datetime

    @classmethod
    def from_found(cls, found: OperatorEventFound) -> "OperatorEvent":
        return cls(event_id=found.event_id, operator=Operator.from_model(found.operator),
                   status=found.status, connected=found.connected,
                   occurred_at=found.occurred_at)


@strawberry.type
class PresenceQuery:
    @strawberry.field(description="Operators of the viewer's queues with their presence (supervisors: all); "
                                  "the viewer is among them.")
    async def presence(self, info: Info) -> list[Operator]:
        return [Operator.from_model(o) for o in await p.presence(info)]


@strawberry.type
class PresenceSubscription:
    @strawberry.subscription(
        description="Presence of operators: of the viewer's queues (supervisors: all): a status change, a first "
                    "WebSocket opened, the last one closed (or its server process gone). Resume with `after`.")
    async def operators_changed(self, info: Info, after: str | None = None) -> AsyncGenerator[OperatorEvent, None]:
        async with aclosing(p.operators_changed(info, after)) as events:
            async for event in events:
                yield OperatorEvent.from_found(event)
