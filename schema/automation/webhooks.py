"""Outbound webhooks in the API (admin only): the registry, its secrets and the deliveries."""
from __future__ import annotations

from datetime import datetime

import strawberry

import models
from resolvers.ids import to_global_id
from resolvers.pages import Page
from schema.common import Node, PageInfo, UserError, page_info_of


@strawberry.type(description="An outbound webhook: events of the event log POSTed, signed, to an outside URL.")
class Webhook(Node):
    id: strawberry.ID
    url: str
    event_kinds: list[str] = strawberry.field(
        description="Event kinds it receives (QueueEventKind and ChatEventKind names); empty: all.")
    include_silent_notes: bool = strawberry.field(
        description="Silent notes are sent (flagged silent) only when this is true.")
    active: bool
    delivered_event_id: str | None = strawberry.field(description="The newest event delivered and acknowledged.")
    failing: bool = strawberry.field(description="Deliveries failing now (retried with backoff).")
    created_at: datetime

    @classmethod
    def from_model(cls, webhook: models.Webhook) -> "Webhook":
        return cls(id=strawberry.ID(to_global_id("Webhook", webhook.id)), url=webhook.url,
                   event_kinds=list(webhook.event_kinds or []), include_silent_notes=webhook.include_silent_notes,
                   active=webhook.active,
                   delivered_event_id=str(webhook.delivered_event_id) if webhook.delivered_event_id else None,
                   failing=webhook.failing, created_at=webhook.created_at)


@strawberry.type(description="The attempts to deliver one event to a webhook.")
class WebhookDelivery:
    event_id: str
    attempts: int
    last_status: int | None = strawberry.field(description="HTTP status of the last attempt; null when it did not answer.")
    delivered_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_model(cls, delivery: models.WebhookDelivery) -> "WebhookDelivery":
        return cls(event_id=str(delivery.event_id), attempts=delivery.attempts, last_status=delivery.last_status,
                   delivered_at=delivery.delivered_at,
                   next_attempt_at=None if delivery.delivered_at is not None else delivery.next_attempt_at)


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> "WebhookDeliveryConnection":
        assert page.cursors is not None  # through resolvers/pages.with_cursors
        edges = [WebhookDeliveryEdge(cursor=cursor, node=WebhookDelivery.from_model(row))
                 for cursor, row in zip(page.cursors, page.rows)]
        return cls(edges=edges, page_info=page_info_of(page, page.cursors))


@strawberry.input
class CreateWebhookInput:
    url: str
    event_kinds: list[str] | None = None
    include_silent_notes: bool | None = False


@strawberry.input(description="Admins: change what is given (null or absent: unchanged). The webhook keeps its "
                              "cursor: paused (`active: false`), it receives nothing; resumed, it gets every "
                              "matching event it missed, in order.")
class UpdateWebhookInput:
    webhook_id: strawberry.ID
    url: str | None = strawberry.field(default=None, description="Checked as at creation.")
    event_kinds: list[str] | None = strawberry.field(
        default=None, description="QueueEventKind and ChatEventKind names; empty: all (for events not delivered yet).")
    include_silent_notes: bool | None = None
    active: bool | None = strawberry.field(default=None, description="false: paused; true: delivering again.")


@strawberry.input
class WebhookInput:
    webhook_id: strawberry.ID


@strawberry.input
class ReplayWebhookInput:
    webhook_id: strawberry.ID
    after: str = strawberry.field(description="redeliver every matching event after this one")


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(description="The signing secret, shown once at creation.")
    user_errors: list[UserError]
