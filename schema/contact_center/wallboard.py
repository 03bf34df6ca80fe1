"""The wallboard: live figures of queues (services/contact_center/wallboard.py)."""
from __future__ import annotations

from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers.chats import relations as r
from resolvers.contact_center import wallboard as w
from schema.chats.open_channel import OpenChannel

if TYPE_CHECKING:
    from services.contact_center.wallboard import QueueFigures


@strawberry.type(description="Live figures of one queue for a wallboard; pushed when they change (at most once a "
                             "second).")
class Wallboard:
    open_channel_pk: strawberry.Private[int]
    queued: int = strawberry.field(description="Chats waiting in the queue now.")
    longest_wait_seconds: int = strawberry.field(
        description="Seconds the oldest queued chat has waited (since it entered the queue: created, transferred "
                    "or moved there); 0 when none waits.")
    active: int = strawberry.field(description="Chats of the channel answered and not finished.")
    operators_online: int = strawberry.field(description="Members of the queue ONLINE.")
    operators_away: int = strawberry.field(description="Members of the queue AWAY.")
    sla_breached: int = strawberry.field(description="Chats with a missed service-level target that are not finished.")
    at: datetime = strawberry.field(description="When these figures were computed.")

    @strawberry.field
    async def open_channel(self, info: Info) -> OpenChannel:
        found = await r.open_channel(info, self.open_channel_pk)
        assert found is not None  # a channel the policy let the viewer watch
        return OpenChannel.from_model(found)

    @classmethod
    def from_figures(cls, figures: QueueFigures) -> "Wallboard":
        return cls(open_channel_pk=figures.open_channel_id, queued=figures.queued,
                   longest_wait_seconds=figures.longest_wait_seconds, active=figures.active,
                   operators_online=figures.operators_online, operators_away=figures.operators_away,
                   sla_breached=figures.sla_breached, at=figures.at)


@strawberry.type
class WallboardSubscription:
    @strawberry.subscription(
        description="Live queue figures (supervisors and admins any channel; operators the channels whose queue "
                    "they are in). The first message has every channel asked for (omitted: every channel the "
                    "viewer may watch), each next one the channels whose figures changed; at most one message a "
                    "second per channel. A channel the viewer may not watch is NOT_FOUND.")
    async def wallboard(self, info: Info, open_channel_ids: list[strawberry.ID] | None = None
                        ) -> AsyncGenerator[list[Wallboard], None]:
        async with aclosing(w.wallboard_figures(info, open_channel_ids)) as messages:
            async for figures in messages:
                yield [Wallboard.from_figures(f) for f in figures]
