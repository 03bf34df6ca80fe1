"""Contact-center statistics (definitions: services/contact_center/statistics.py, the README)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator
from resolvers.chats import relations as r

if TYPE_CHECKING:
    from services.contact_center import statistics as service


@strawberry.input(description="Conversations created in [from, to), optionally of these open channels and "
                  "responsible operators. An operator gets only their own numbers whatever is asked.")
class StatisticsFilter:
    from_: datetime = strawberry.field(name="from", description="Created at or after (inclusive).")
    to: datetime = strawberry.field(description="Created before (exclusive).")
    open_channel_ids: list[strawberry.ID] | None = None
    operator_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Responsible operators."
    )


@strawberry.type(description="Figures about the conversations created in the window.")
class ConversationStats:
    conversations: int = strawberry.field(description="Conversations created in the window.")
    queued: int = strawberry.field(description="Of them, QUEUED now.")
    active: int = strawberry.field(description="Of them, ACTIVE now.")
    closed: int = strawberry.field(description="Of them, CLOSED now.")
    spam: int = strawberry.field(description="Of them, SPAM now.")
    missed: int = strawberry.field(description="Closed without any visible operator reply.")
    average_first_response_seconds: float | None = strawberry.field(
        description="Mean of (first visible operator message - creation) over conversations that have one; "
        "null when none has."
    )
    median_first_response_seconds: float | None = strawberry.field(
        description="Median of the same (the middle value, or the mean of the two middle values)."
    )
    average_resolution_seconds: float | None = strawberry.field(
        description="Mean of (closing - creation) over CLOSED conversations (spam excluded)."
    )
    likes: int = strawberry.field(description="Clients' LIKE ratings of these conversations.")
    dislikes: int = strawberry.field(description="Clients' DISLIKE ratings of these conversations.")
    client_messages: int = strawberry.field(description="Messages the clients wrote (deleted ones excluded).")
    operator_messages: int = strawberry.field(
        description="Visible messages operators wrote (silent notes and deleted messages excluded)."
    )
    unanswered: int = strawberry.field(description="Chats whose no-answer rule fired.")
    sla_breached: int = strawberry.field(description="Chats that missed any service-level target.")

    @classmethod
    def from_service(cls, stats: service.ConversationStats) -> "ConversationStats":
        return cls(**stats.__dict__)


@strawberry.type
class OperatorStats:
    operator_pk: strawberry.Private[int]
    stats: ConversationStats

    @strawberry.field
    async def operator(self, info: Info) -> Operator:
        found = await r.operator(info, self.operator_pk)
        assert found is not None  # the statistics' own operators (an admin's view): the operator exists
        return Operator.from_model(found)


@strawberry.type
class OpenChannelStats:
    open_channel_pk: strawberry.Private[int]
    stats: ConversationStats

    @strawberry.field
    async def open_channel(self, info: Info) -> OpenChannel:
        found = await r.open_channel(info, self.open_channel_pk)
        assert found is not None  # the statistics' own channels (an admin's view): the channel exists
        return OpenChannel.from_model(found)


@strawberry.type
class DayStats:
    day: str = strawberry.field(description="Calendar day (UTC) in ISO format, e.g. 2026-11-24.")
    stats: ConversationStats


@strawberry.type(description="Totals and breakdowns of the conversations created in the window. Groups with no "
                 "conversation are left out; byOperator groups by the responsible operator.")
class Statistics:
    totals: ConversationStats
    by_operator: list[OperatorStats]
    by_open_channel: list[OpenChannelStats]
    by_day: list[DayStats] = strawberry.field(description="By UTC day of creation, oldest first.")

    @classmethod
    def from_service(cls, result: service.Statistics) -> "Statistics":
        return cls(
            totals=ConversationStats.from_service(result.totals),
            by_operator=[OperatorStats(operator_pk=k, stats=ConversationStats.from_service(s))
                         for k, s in result.by_operator],
            by_open_channel=[OpenChannelStats(open_channel_pk=k, stats=ConversationStats.from_service(s))
                             for k, s in result.by_open_channel],
            by_day=[DayStats(day=k, stats=ConversationStats.from_service(s)) for k, s in result.by_day],
        )

