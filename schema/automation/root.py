"""Entry points of queue automation: the visitor's rating, the connector registry and outbound
webhooks (admin).
Timers need none: the scheduler runs in every server process.

Each root field calls its resolver (resolvers/automation/) and builds the GraphQL types from what
it returns."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.automation import connectors as c
from resolvers.automation import rating as r
from resolvers.automation import webhooks as w
from schema.automation.connectors import Connector, ConnectorPayload, CreateConnectorInput, RotateConnectorSecretInput
from schema.automation.rating import RateChatInput
from schema.automation.webhooks import (
    CreateWebhookInput, ReplayWebhookInput, UpdateWebhookInput, Webhook, WebhookDeliveryConnection, WebhookInput,
    WebhookPayload,
)
from schema.payloads import ChatPayload, chat_payload, user_errors


def _with_secret(done) -> ConnectorPayload:
    """The connector and its secret (shown only here, once), or the userErrors."""
    if done.error is not None:
        return ConnectorPayload(connector=None, secret=None, user_errors=user_errors(done))
    return ConnectorPayload(connector=Connector.from_model(done.result), secret=done.result.secret, user_errors=[])


def _webhook(done, *, with_secret: bool = False) -> WebhookPayload:
    """The webhook (and, at creation, its secret: shown only there, once), or the userErrors."""
    if done.error is not None:
        return WebhookPayload(webhook=None, secret=None, user_errors=user_errors(done))
    return WebhookPayload(webhook=Webhook.from_model(done.result), secret=done.result.secret if with_secret else None,
                          user_errors=[])


@strawberry.type
class AutomationQuery:
    @strawberry.field(description="Every channel connector (ADMIN).")
    async def connectors(self, info: Info) -> list[Connector]:
        return [Connector.from_model(found) for found in await c.connectors_list(info)]

    @strawberry.field(description="Every outbound webhook (ADMIN).")
    async def webhooks(self, info: Info) -> list[Webhook]:
        return [Webhook.from_model(found) for found in await w.webhooks_list(info)]

    @strawberry.field(description="Deliveries of one webhook, newest first (ADMIN).")
    async def webhook_deliveries(self, info: Info, webhook_id: strawberry.ID, first: int | None = None,
                                 after: str | None = None) -> WebhookDeliveryConnection:
        return WebhookDeliveryConnection.from_page(await w.webhook_deliveries(info, webhook_id, first, after))


@strawberry.type
class AutomationMutation:
    @strawberry.mutation(
        description="The visitor rates their finished chat, once: LIKE or DISLIKE with an optional comment.")
    async def rate_chat(self, info: Info, input: RateChatInput) -> ChatPayload:
        return chat_payload(await r.rate_chat(info, input))

    @strawberry.mutation(description="Connect an outside messenger to an open channel (ADMIN).")
    async def create_connector(self, info: Info, input: CreateConnectorInput) -> ConnectorPayload:
        return _with_secret(await c.create_connector(info, input))

    @strawberry.mutation(description="A new secret for a connector: the old one stops working at once (ADMIN).")
    async def rotate_connector_secret(self, info: Info, input: RotateConnectorSecretInput) -> ConnectorPayload:
        return _with_secret(await c.rotate_connector_secret(info, input))

    @strawberry.mutation(description="POST events of the given kinds, signed, to a URL from now on (ADMIN); the "
                                     "signing secret is in this payload only.")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> WebhookPayload:
        return _webhook(await w.create_webhook(info, input), with_secret=True)

    @strawberry.mutation(description="Change a webhook's URL, event kinds or silent notes, or pause and resume it "
                                     "(ADMIN); it keeps its cursor, so a resumed webhook misses nothing.")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> WebhookPayload:
        return _webhook(await w.update_webhook(info, input))

    @strawberry.mutation(description="Remove a webhook: nothing more is sent to it (ADMIN).")
    async def delete_webhook(self, info: Info, input: WebhookInput) -> WebhookPayload:
        return _webhook(await w.delete_webhook(info, input))

    @strawberry.mutation(description="Deliver every matching event after `after` again, in order (ADMIN).")
    async def replay_webhook(self, info: Info, input: ReplayWebhookInput) -> WebhookPayload:
        return _webhook(await w.replay_webhook(info, input))
