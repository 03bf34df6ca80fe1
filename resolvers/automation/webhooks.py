"""Admin entry points of outbound webhooks."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.types import Info

import models
from resolvers.errors import Outcome, id_argument, outcome, unauthenticated_on_top, viewer_of
from resolvers.ids import decode_id
from resolvers.pages import Page, with_cursors
from services.automation import webhooks

if TYPE_CHECKING:
    from schema.automation.webhooks import CreateWebhookInput, ReplayWebhookInput, UpdateWebhookInput, WebhookInput


async def create_webhook(info: Info, input: CreateWebhookInput) -> Outcome[Any]:
    """The webhook, with its `secret` (shown only in this payload)."""
    async def run():
        return await webhooks.create_webhook(
            viewer_of(info), url=input.url, event_kinds=input.event_kinds,
            include_silent_notes=bool(input.include_silent_notes), targets=info.context.platform.webhooks)

    return await outcome(run())


async def update_webhook(info: Info, input: UpdateWebhookInput) -> Outcome[Any]:
    async def run():
        return await webhooks.update_webhook(
            viewer_of(info), webhook_id=decode_id(input.webhook_id, "Webhook", ["input", "webhookId"]),
            url=input.url, event_kinds=input.event_kinds, include_silent_notes=input.include_silent_notes,
            active=input.active, targets=info.context.platform.webhooks)

    return await outcome(run())


async def delete_webhook(info: Info, input: WebhookInput) -> Outcome[Any]:
    async def run():
        return await webhooks.delete_webhook(
            viewer_of(info), webhook_id=decode_id(input.webhook_id, "Webhook", ["input", "webhookId"]))

    return await outcome(run())


async def replay_webhook(info: Info, input: ReplayWebhookInput) -> Outcome[Any]:
    async def run():
        return await webhooks.replay_webhook(
            viewer_of(info), webhook_id=decode_id(input.webhook_id, "Webhook", ["input", "webhookId"]),
            after=input.after)

    return await outcome(run())


async def webhooks_list(info: Info) -> list[models.Webhook]:
    return await unauthenticated_on_top(webhooks.list_webhooks(viewer_of(info)))


async def webhook_deliveries(info: Info, webhook_id: str, first: int | None, after: str | None) -> Page:
    pk = id_argument(webhook_id, "Webhook", "webhookId")
    return with_cursors(await unauthenticated_on_top(
        webhooks.webhook_deliveries(viewer_of(info), webhook_id=pk, first=first, after=after)))


async def _node_webhook(info: Info, viewer, pk: int) -> models.Webhook | None:
    return await webhooks.visible_webhook(viewer, pk)


#: type name -> the object of that type with this pk, as far as the viewer may see it
NODE_RESOLVERS = {"Webhook": _node_webhook}
