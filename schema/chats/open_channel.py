from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, build, provides
from schema.enums import ContactFields, NoAnswerRule, QueueDistribution, Weekday
from resolvers.ids import to_global_id
from schema.chats.operator import Operator
from schema.chats.sla import SlaPolicy
from schema.event_cursor import event_cursor
from resolvers.chats import relations as r

if TYPE_CHECKING:
    from services.chats.read_models import OpenChannelRow
    from services.chats.widget_settings import WidgetSettings as WidgetSettingsValue
    from services.chats.working_hours import WorkingHours as WorkingHoursValue
    from schema.chats.chat import Chat


@strawberry.type(description="Opening hours of one weekday, in the channel's time zone.")
class WorkingPeriod:
    weekday: Weekday
    opens: str = strawberry.field(description="HH:MM")
    closes: str = strawberry.field(description="HH:MM; 24:00 allowed")


@strawberry.type(description="When a channel's operators work. Outside these hours a client who writes gets the "
                             "after-hours message and the chat waits: offers start when the channel opens.")
class WorkingHours:
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/Madrid.")
    periods: list[WorkingPeriod]
    holidays: list[str] = strawberry.field(description="Closed days, ISO dates.")

    @classmethod
    def from_value(cls, hours: WorkingHoursValue) -> "WorkingHours":
        return cls(time_zone=hours.time_zone, holidays=sorted(d.isoformat() for d in hours.holidays),
                   periods=[WorkingPeriod(weekday=p.weekday, opens=p.opens_hhmm, closes=p.closes_hhmm)
                            for p in hours.periods])


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
    after_hours_message: str | None = strawberry.field(
        description="Sent to a client who writes outside working hours (once per chat); null: the default text "
                    "in the channel's language.")
    language: str = strawberry.field(
        description="Language of the system messages (welcome, rating request, after-hours and no-answer "
                    "defaults): an IETF tag such as es, en, pt-BR.")
    no_answer_rule: NoAnswerRule = strawberry.field(
        description="What happens to a chat nobody answers within noAnswerTimeoutSeconds.")
    no_answer_timeout_seconds: int | None = strawberry.field(
        description="Seconds of working time a waiting chat may go unanswered before the rule applies; "
                    "null: never.")
    no_answer_message: str | None = strawberry.field(
        description="Sent by SEND_MESSAGE and CLOSE; null: the default text in the channel's language.")
    contact_fields: ContactFields = strawberry.field(
        description="Whether the widget asks the visitor's name and e-mail before the first message "
                    "(REQUIRED: startVisitorChat needs both).")
    pk: strawberry.Private[int]
    stored_working_hours: strawberry.Private[str | None]
    no_answer_transfer_to_pk: strawberry.Private[int | None]
    sla_policy_pk: strawberry.Private[int | None]

    @strawberry.field(description="The service-level targets of its new chats; null: none (and for a visitor).")
    async def sla_policy(self, info: Info) -> SlaPolicy | None:
        if self.sla_policy_pk is None:
            return None
        found = await r.sla_policy(info, self.sla_policy_pk)
        return SlaPolicy.from_model(found) if found else None

    @strawberry.field(description="Where TRANSFER moves an unanswered chat (once: never moved by a rule again).")
    async def no_answer_transfer_to(self, info: Info) -> "OpenChannel | None":
        if self.no_answer_transfer_to_pk is None:
            return None
        channel = await r.open_channel(info, self.no_answer_transfer_to_pk)
        return OpenChannel.from_model(channel) if channel else None

    @strawberry.field(description="When operators work; null: always.")
    def working_hours(self) -> WorkingHours | None:
        hours = r.working_hours(self.stored_working_hours)
        return WorkingHours.from_value(hours) if hours is not None else None

    @strawberry.field(description="Within working hours now.")
    def is_open_now(self) -> bool:
        return r.is_open_now(self.stored_working_hours)

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
        return await r.queue_length(info, self.pk)

    @classmethod
    def from_model(cls, channel: OpenChannelRow | models.OpenChannel) -> "OpenChannel":
        """From the read model (services/chats/read_models.py), or a model: the same attributes."""
        return cls(
            id=strawberry.ID(to_global_id("OpenChannel", channel.id)), pk=channel.id, name=channel.name,
            distribution=channel.distribution, answer_timeout_seconds=channel.answer_timeout_seconds,
            auto_close_after_seconds=channel.auto_close_after_seconds, rating_enabled=channel.rating_enabled,
            welcome_message=channel.welcome_message, max_chats_per_operator=channel.max_chats_per_operator,
            after_hours_message=channel.after_hours_message, language=channel.language,
            stored_working_hours=channel.working_hours, no_answer_rule=channel.no_answer_rule,
            no_answer_timeout_seconds=channel.no_answer_timeout_seconds, no_answer_message=channel.no_answer_message,
            no_answer_transfer_to_pk=channel.no_answer_transfer_to_id, sla_policy_pk=channel.sla_policy_id,
            contact_fields=channel.contact_fields,
        )


provides("OpenChannel", OpenChannel.from_model)


@strawberry.type(description="What the website widget shows before the visitor's first message (public: no token "
                             "needed). Nothing else of the channel.")
class WidgetSettings:
    open_channel_id: strawberry.ID
    name: str = strawberry.field(description="The channel's name (the panel's title).")
    language: str = strawberry.field(description="The IETF tag of the channel's language (es, en, pt-BR...): the "
                                                 "widget's texts from the first paint.")
    rating_enabled: bool = strawberry.field(description="The visitor is asked to rate a finished chat.")
    is_open_now: bool = strawberry.field(description="Within working hours now.")
    contact_fields: ContactFields = strawberry.field(
        description="Whether the form asks the visitor's name and e-mail before the first message.")

    @classmethod
    def from_value(cls, found: WidgetSettingsValue) -> "WidgetSettings":
        return cls(open_channel_id=strawberry.ID(to_global_id("OpenChannel", found.open_channel_id)),
                   name=found.name, language=found.language, rating_enabled=found.rating_enabled,
                   is_open_now=found.is_open_now, contact_fields=found.contact_fields)
