"""Contact-center statistics (definitions: services/contact_center/statistics.py, the README)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from schema.chats.labels import Label
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator
from schema.enums import ChatPriority
from resolvers.chats import relations as r
from resolvers.contact_center import relations as cr

if TYPE_CHECKING:
    from services.contact_center import statistics as service


@strawberry.input(description="Conversations created in [from, to), optionally of these open channels, "
                  "responsible operators, labels and priorities. An operator gets only their own numbers "
                  "whatever is asked.")
class StatisticsFilter:
    from_: datetime = strawberry.field(name="from", description="Created at or after (inclusive).")
    to: datetime = strawberry.field(description="Created before (exclusive).")
    open_channel_ids: list[strawberry.ID] | None = None
    operator_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Responsible operators."
    )
    time_zone: str | None = strawberry.field(
        default=None, description="IANA time zone for byDay and byHour (default UTC), e.g. Europe/Madrid. "
        "An unknown zone is an INVALID_INPUT error."
    )
    label_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Conversations with any of these labels."
    )
    priorities: list[ChatPriority] | None = strawberry.field(
        default=None, description="Conversations with one of these priorities (now)."
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
    average_queue_wait_seconds: float | None = strawberry.field(
        description="Queue wait: creation (or re-queue) to answer. Mean over every wait of these conversations "
        "in a queue, from entering it (creation, a transfer, a no-answer move) to an operator taking the chat; "
        "null when none was answered."
    )
    median_queue_wait_seconds: float | None = strawberry.field(description="Median of the same waits.")
    p90_first_response_seconds: float | None = strawberry.field(
        description="90th percentile of the first response time (nearest rank: the value at rank ceil(0.9 n))."
    )
    average_handle_seconds: float | None = strawberry.field(
        description="Answer to close, over closed chats: mean of (closing - first answer) over CLOSED "
        "conversations that were answered."
    )
    transfers: int = strawberry.field(description="Transfers of these conversations (to an operator or a channel).")

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
    day: str = strawberry.field(description="Calendar day (in the filter's time zone) in ISO format, e.g. 2026-11-24.")
    stats: ConversationStats


@strawberry.type
class HourStats:
    hour: int = strawberry.field(description="Hour of the day (0-23) in the filter's time zone.")
    stats: ConversationStats


@strawberry.type
class LabelStats:
    label_pk: strawberry.Private[int]
    stats: ConversationStats

    @strawberry.field
    async def label(self, info: Info) -> Label:
        found = await cr.statistics_label(info, self.label_pk)
        assert found is not None  # the statistics' own labels (every operator reads labels): the label exists
        return Label.from_model(found)


@strawberry.type
class PriorityStats:
    priority: ChatPriority
    stats: ConversationStats


@strawberry.type(description="Totals and breakdowns of the conversations created in the window. Groups with no "
                 "conversation are left out; byOperator groups by the responsible operator.")
class Statistics:
    totals: ConversationStats
    by_operator: list[OperatorStats]
    by_open_channel: list[OpenChannelStats]
    by_day: list[DayStats] = strawberry.field(
        description="By day of creation in the filter's time zone, oldest first.")
    by_hour: list[HourStats] = strawberry.field(
        description="Hour of the day (0-23) of creation in the filter's time zone, whatever the day; 0 first.")
    by_label: list[LabelStats] = strawberry.field(
        description="By each label the conversations have now (one with two labels counts in both).")
    by_priority: list[PriorityStats] = strawberry.field(description="By priority now, LOW first.")

    @classmethod
    def from_service(cls, result: service.Statistics) -> "Statistics":
        return cls(
            totals=ConversationStats.from_service(result.totals),
            by_operator=[OperatorStats(operator_pk=k, stats=ConversationStats.from_service(s))
                         for k, s in result.by_operator],
            by_open_channel=[OpenChannelStats(open_channel_pk=k, stats=ConversationStats.from_service(s))
                             for k, s in result.by_open_channel],
            by_day=[DayStats(day=k, stats=ConversationStats.from_service(s)) for k, s in result.by_day],
            by_hour=[HourStats(hour=k, stats=ConversationStats.from_service(s)) for k, s in result.by_hour],
            by_label=[LabelStats(label_pk=k, stats=ConversationStats.from_service(s)) for k, s in result.by_label],
            by_priority=[PriorityStats(priority=k, stats=ConversationStats.from_service(s))
                         for k, s in result.by_priority],
        )

