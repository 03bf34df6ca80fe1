from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, build, instance
from schema.enums import OperatorRole, OperatorStatus
from resolvers.chats import presence as p, relations as r
from resolvers.ids import to_global_id

if TYPE_CHECKING:
    from services.chats.read_models import OperatorRow
    from schema.chats.open_channel import OpenChannel


@strawberry.type
class OperatorPreferences:
    show_open_channels_separately: bool = strawberry.field(
        description="Keep open-channel conversations in their own tab, apart from colleague chats."
    )
    group_waiting_first_response: bool = strawberry.field(
        description="Show conversations that wait for the first operator reply as their own group."
    )

    @classmethod
    def from_model(cls, operator: OperatorRow | models.Operator) -> "OperatorPreferences":
        return cls(
            show_open_channels_separately=operator.show_open_channels_separately,
            group_waiting_first_response=operator.group_waiting_first_response,
        )


@strawberry.type
class Operator(Node):
    id: strawberry.ID
    name: str
    role: OperatorRole
    status: OperatorStatus
    pk: strawberry.Private[int]
    email_address: strawberry.Private[str]

    @strawberry.field(description="Operators only.")
    def email(self, info: Info) -> str:
        r.staff_only(info)
        return self.email_address

    @strawberry.field(description="Has at least one open WebSocket to the server now (any server process). "
                                  "Operators only.")
    async def connected(self, info: Info) -> bool:
        return (await p.operator_presence(info, self.pk)).connected

    @strawberry.field(description="When the operator's last WebSocket closed; null while connected, or if they "
                                  "never connected. Operators only.")
    async def last_seen_at(self, info: Info) -> datetime | None:
        return (await p.operator_presence(info, self.pk)).last_seen_at

    @strawberry.field(description="Chats this operator is responsible for that are not finished. Operators only.")
    async def active_chats_count(self, info: Info) -> int:
        return await r.active_chats_count(info, self.pk)

    @strawberry.field(description="Open channels whose queue this operator is in. Operators only.")
    async def open_channels(self, info: Info) -> list[Annotated["OpenChannel", strawberry.lazy("schema.chats.open_channel")]]:
        return [build("OpenChannel", c) for c in await r.operator_channels(info, self.pk)]

    @classmethod
    def from_model(cls, operator: OperatorRow | models.Operator) -> "Operator":
        """From the read model (services/chats/read_models.py), or a model: the same attributes."""
        return instance(cls, {"id": strawberry.ID(to_global_id("Operator", operator.id)), "pk": operator.id,
                              "name": operator.name, "email_address": operator.email, "role": operator.role,
                              "status": operator.status})


@strawberry.type
class Me:
    operator: Operator
    preferences: OperatorPreferences

    @strawberry.field(description="Total unread messages over all my chats.")
    async def unread_count(self, info: Info) -> int:
        return await r.total_unread(info)
