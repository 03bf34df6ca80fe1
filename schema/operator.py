from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node
from schema.enums import OperatorRole, OperatorStatus
from schema.ids import to_global_id

if TYPE_CHECKING:
    from schema.open_channel import OpenChannel


@strawberry.type
class OperatorPreferences:
    show_open_channels_separately: bool = strawberry.field(
        description="Keep open-channel conversations in their own tab, apart from colleague chats."
    )
    group_waiting_first_response: bool = strawberry.field(
        description="Show conversations that wait for the first operator reply as their own group."
    )

    @classmethod
    def from_model(cls, operator: models.Operator) -> "OperatorPreferences":
        return cls(
            show_open_channels_separately=operator.show_open_channels_separately,
            group_waiting_first_response=operator.group_waiting_first_response,
        )


@strawberry.type
class Operator(Node):
    id: strawberry.ID
    name: str
    email: str
    role: OperatorRole
    status: OperatorStatus
    pk: strawberry.Private[int]

    @strawberry.field(description="Chats this operator is responsible for that are not finished.")
    async def active_chats_count(self, info: Info) -> int:
        return await info.context.loaders.active_chats_count.load(self.pk)

    @strawberry.field(description="Open channels whose queue this operator is in.")
    async def open_channels(self, info: Info) -> list[Annotated["OpenChannel", strawberry.lazy("schema.open_channel")]]:
        from schema.open_channel import OpenChannel

        return [OpenChannel.from_model(c) for c in await info.context.loaders.operator_channels.load(self.pk)]

    @classmethod
    def from_model(cls, operator: models.Operator) -> "Operator":
        return cls(id=strawberry.ID(to_global_id("Operator", operator.id)), pk=operator.id, name=operator.name,
                   email=operator.email, role=operator.role, status=operator.status)


@strawberry.type
class Me:
    operator: Operator
    preferences: OperatorPreferences

    @strawberry.field(description="Total unread messages over all my chats.")
    async def unread_count(self, info: Info) -> int:
        return await info.context.loaders.total_unread()
