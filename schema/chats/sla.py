"""Service levels: policies (admins), a chat's due times and missed targets, the inputs and payload."""
from __future__ import annotations

from datetime import datetime

import strawberry

import models
from resolvers.ids import to_global_id
from schema.common import Node, UserError
from schema.enums import SlaTarget


@strawberry.type(description="Service-level targets of an open channel, in seconds (counted within working hours "
                             "when the channel has them).")
class SlaPolicy(Node):
    id: strawberry.ID
    name: str
    first_response_seconds: int | None = strawberry.field(
        description="From the chat's start until an operator answers it; null: no such target.")
    next_response_seconds: int | None = strawberry.field(
        description="From a client message (or the answer) until an operator's visible reply; null: no such target.")
    resolution_seconds: int | None = strawberry.field(
        description="From the chat's start until it is closed; null: no such target.")
    warn_before_seconds: int | None = strawberry.field(
        description="Warn this many seconds before a target is due (SLA_WARNING).")

    @classmethod
    def from_model(cls, policy: models.SlaPolicy) -> "SlaPolicy":
        return cls(id=strawberry.ID(to_global_id("SlaPolicy", policy.id)), name=policy.name,
                   first_response_seconds=policy.first_response_seconds,
                   next_response_seconds=policy.next_response_seconds,
                   resolution_seconds=policy.resolution_seconds, warn_before_seconds=policy.warn_before_seconds)


@strawberry.type(description="A chat's service levels: the due time of each running target (null: met, stopped "
                             "or no such target) and the targets missed.")
class ChatSla:
    policy: SlaPolicy
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    breached: list[SlaTarget] = strawberry.field(description="Targets already missed.")

    @classmethod
    def from_model(cls, row: models.ChatSla) -> "ChatSla":
        missed = [target for target, column in ((SlaTarget.FIRST_RESPONSE, row.first_response_breached_at),
                                                (SlaTarget.NEXT_RESPONSE, row.next_response_breached_at),
                                                (SlaTarget.RESOLUTION, row.resolution_breached_at))
                  if column is not None]
        return cls(policy=SlaPolicy.from_model(row.policy), first_response_due_at=row.first_response_due_at,
                   next_response_due_at=row.next_response_due_at, resolution_due_at=row.resolution_due_at,
                   breached=missed)


@strawberry.input(description="Admins: a new SLA policy. Each target is at least 1 second of working time; "
                              "null: no such target.")
class SlaPolicyInput:
    name: str
    first_response_seconds: int | None = None
    next_response_seconds: int | None = None
    resolution_seconds: int | None = None
    warn_before_seconds: int | None = None


@strawberry.input(description="Admins: change the given settings (a target set to null: none any more). New "
                              "targets apply to the clocks that start afterwards.")
class UpdateSlaPolicyInput:
    sla_policy_id: strawberry.ID
    name: str | None = strawberry.UNSET
    first_response_seconds: int | None = strawberry.UNSET
    next_response_seconds: int | None = strawberry.UNSET
    resolution_seconds: int | None = strawberry.UNSET
    warn_before_seconds: int | None = strawberry.UNSET


@strawberry.type
class SlaPolicyPayload:
    sla_policy: SlaPolicy | None
    user_errors: list[UserError]
