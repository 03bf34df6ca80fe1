"""Outbound webhooks: the registry (admin use cases) and what an admin reads of the deliveries.

A webhook starts at the newest event when it is made (it receives what happens from then on)
and is delivered from the event log by services/automation/webhook_delivery.py. `replay_webhook`
moves its cursor back, so every matching event after the given one is delivered again (the
receiver tells a repeat by its eventId). Who may see and configure the registry:
services/policies/webhooks.py (admins). Where a webhook may POST: infrastructure/webhook_targets.py.
"""
from __future__ import annotations

import secrets

from infrastructure.webhook_targets import RefusedTarget, WebhookTargets
from models import Webhook
from services.common.errors import InvalidInput, NotFound
from services.common.numerals import parse_numeral
from services.common.pagination import Page, paginate
from services.common.text_input import URL_LENGTH, text_input
from services.events.cursors import newest_event_id
from services.events.records import ChatEventKind, QueueEventKind
from services.identity.viewer import Viewer
from services.policies import webhooks as policy

#: the kinds a webhook may ask for: what a queue and a chat's stream show (CHAT_REMOVED is never stored)
EVENT_KINDS = frozenset({k.value for k in QueueEventKind} | {k.value for k in ChatEventKind}) - {"CHAT_REMOVED"}
#: the largest event id `after` may name (event ids are 64-bit)
MAX_EVENT_ID = 2 ** 63 - 1


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _event_kinds(kinds: list[str] | None) -> list[str]:
    chosen: list[str] = []
    for kind in kinds or ():
        name = str(getattr(kind, "value", kind)).strip().upper()
        if name not in EVENT_KINDS:
            raise InvalidInput(f"Unknown event kind {kind!r}: use QueueEventKind or ChatEventKind names.",
                               field=["input", "eventKinds"])
        if name not in chosen:
            chosen.append(name)
    return chosen


@text_input(url=URL_LENGTH, event_kinds=64)
async def create_webhook(viewer: Viewer, *, url: str, targets: WebhookTargets, event_kinds: list[str] | None = None,
                         include_silent_notes: bool = False) -> Webhook:
    """A webhook for `url` receiving `event_kinds` (none: every kind) from the newest event on; its
    `secret` is read from the returned row once (the payload shows it once)."""
    policy.ensure_may_configure(viewer)
    url = (url or "").strip()
    kinds = _event_kinds(event_kinds)
    try:
        await targets.check(url)
    except RefusedTarget as refused:
        raise InvalidInput(str(refused), field=["input", "url"])
    return await Webhook.create(url=url, event_kinds=kinds, include_silent_notes=bool(include_silent_notes),
                                secret=new_secret(), delivered_event_id=await newest_event_id())


@text_input(url=URL_LENGTH, event_kinds=64)
async def update_webhook(viewer: Viewer, *, webhook_id: int, targets: WebhookTargets, url: str | None = None,
                         event_kinds: list[str] | None = None, include_silent_notes: bool | None = None,
                         active: bool | None = None) -> Webhook:
    """Change what is given (None: unchanged). The cursor stays: a paused webhook (`active` false)
    receives nothing, and once active again it gets every matching event it missed, in order, from
    where it stood (a round already under way may deliver one more event). A new URL is checked as
    at creation; new kinds and `include_silent_notes` apply to the events not delivered yet.
    Resuming or changing the URL lifts a failure's backoff (the webhook's and each held chat's), so
    delivery starts at the next round."""
    policy.ensure_may_configure(viewer)
    changes: dict[str, object] = {}
    if url is not None:
        url = url.strip()
        try:
            await targets.check(url)
        except RefusedTarget as refused:
            raise InvalidInput(str(refused), field=["input", "url"])
        changes.update(url=url, retry_at=None)
    if event_kinds is not None:
        changes["event_kinds"] = _event_kinds(event_kinds)
    if include_silent_notes is not None:
        changes["include_silent_notes"] = bool(include_silent_notes)
    if active is not None:
        changes["active"] = bool(active)
        if active:
            changes["retry_at"] = None
    found = policy.registry(viewer).filter(id=webhook_id)
    if not (await found.update(**changes) if changes else await found.exists()):
        raise NotFound("No such webhook.", field=["input", "webhookId"])
    if "retry_at" in changes:
        await _lift_held_backoff(viewer, webhook_id)
    webhook = await policy.registry(viewer).get_or_none(id=webhook_id)
    if webhook is None:  # deleted meanwhile
        raise NotFound("No such webhook.", field=["input", "webhookId"])
    return webhook


async def _lift_held_backoff(viewer: Viewer, webhook_id: int) -> None:
    """The chats held behind a refused event (services/automation/webhook_delivery.py) are tried
    again at the next round, not after their backoff."""
    await policy.deliveries(viewer, webhook_id).filter(delivered_at__isnull=True, chat_id__isnull=False) \
        .update(next_attempt_at=None)


async def list_webhooks(viewer: Viewer) -> list[Webhook]:
    return await policy.registry(viewer).order_by("id")


async def visible_webhook(viewer: Viewer, webhook_id: int) -> Webhook | None:
    return await policy.registry(viewer).get_or_none(id=webhook_id)


async def delete_webhook(viewer: Viewer, *, webhook_id: int) -> Webhook:
    """The webhook as it was; its deliveries go with it and nothing more is sent."""
    webhook = await policy.registry(viewer).get_or_none(id=webhook_id)
    if webhook is None or not await policy.registry(viewer).filter(id=webhook_id).delete():
        raise NotFound("No such webhook.", field=["input", "webhookId"])
    return webhook


def parse_event_id(value: str, field: list[str]) -> int:
    """An event id as the API gives it (eventId, eventCursor, deliveredEventId): a numeral, 0 or more."""
    number = parse_numeral(str(value).strip(), maximum=MAX_EVENT_ID)
    if number is None:
        raise InvalidInput("Not an event id (an eventId or eventCursor of this API).", field=field)
    return number


async def replay_webhook(viewer: Viewer, *, webhook_id: int, after: str) -> Webhook:
    """Deliver every matching event after `after` again (from the next round of the scheduler). The
    cursor only moves back: a replay never skips an event not delivered yet. The failure backoff is
    lifted (the webhook's and each held chat's), so the replay starts at once."""
    event_id = parse_event_id(after, ["input", "after"])
    if not await policy.registry(viewer).filter(id=webhook_id).exists():
        raise NotFound("No such webhook.", field=["input", "webhookId"])
    await policy.registry(viewer).filter(id=webhook_id, delivered_event_id__gt=event_id).update(
        delivered_event_id=event_id, retry_at=None)
    await _lift_held_backoff(viewer, webhook_id)
    webhook = await policy.registry(viewer).get_or_none(id=webhook_id)
    if webhook is None:  # deleted meanwhile
        raise NotFound("No such webhook.", field=["input", "webhookId"])
    return webhook


async def webhook_deliveries(viewer: Viewer, *, webhook_id: int, first: int | None = None,
                             after: str | None = None) -> Page:
    """The delivery attempts of a webhook, one row per event tried, newest first."""
    if not await policy.registry(viewer).filter(id=webhook_id).exists():
        raise NotFound("No such webhook.", field=["webhookId"])
    return await paginate(policy.deliveries(viewer, webhook_id), first=first, after=after, ascending=False)
