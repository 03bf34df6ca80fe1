from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, build, provides
from schema.enums import QueueDistribution
from resolvers.ids import to_global_id
from schema.chats.operator import Operator
from schema.event_cursor import event_cursor
from resolvers.chats import relations as r

if TYPE_CHECKING:
    from services.chats.read_models import OpenChannelRow
    from schema.chats.chat import Chat


@strawberry.type
class OpenChannel(Node):
    id: strawberry.ID
    name: str
    distribution: QueueDistribution
    answer_timeout_seconds: int = strawberry.field(
        description="An offer not answered within this time passes to the next operator."
    )
    auto_close_after_seconds: int = strawberry.field(
        description="An answered chat with no activity for this long is closed automatically (pinned chats are not)."
    )
    rating_enabled: bool
    welcome_message: str | None
    max_chats_per_operator: int | None
    pk: strawberry.Private[int]

    @strawberry.field(description="The newest event this queue's answer reflects (pass it as `after` to queueChanged).")
    def event_cursor(self, info: Info) -> str:
        return event_cursor(info)  # type: ignore[return-value]  # an awaitable in messageAdded: graphql-core awaits it

    @strawberry.field(description="Queue members, in queue order. Operators only.")
    async def operators(self, info: Info) -> list[Operator]:
        return [Operator.from_model(o) for o in await r.queue_members(info, self.pk)]

    @strawberry.field(description="Chats waiting in this queue, oldest first (those the viewer may see).")
    async def queued_chats(self, info: Info) -> list[Annotated["Chat", strawberry.lazy("schema.chats.chat")]]:
        return [build("Chat", c) for c in await r.queued_chats(info, self.pk)]

    @strawberry.field(description="How many chats wait in this queue (of those the viewer may see).")
    async def queue_length(self, info: Info) -> int:
        return len(await r.queued_chats(info, self.pk))

    @classmethod
    def from_model(cls, channel: OpenChannelRow | models.OpenChannel) -> "OpenChannel":
        """From the read model (services/chats/read_models.py), or a model: the same attributes."""
        return cls(
            id=strawberry.ID(to_global_id("OpenChannel", channel.id)), pk=channel.id, name=channel.name,
            distribution=channel.distribution, answer_timeout_seconds=channel.answer_timeout_seconds,
            auto_close_after_seconds=channel.auto_close_after_seconds, rating_enabled=channel.rating_enabled,
            welcome_message=channel.welcome_message, max_chats_per_operator=channel.max_chats_per_operator,
        )


provides("OpenChannel", OpenChannel.from_model)
