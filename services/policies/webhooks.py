"""Who may see and configure outbound webhooks: the registry (list, create, delete, replay) and
its deliveries are admins' alone. What a webhook receives of an event is decided with the events
(services/policies/events.py `webhook_receives`)."""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import Webhook, WebhookDelivery
from services.identity.viewer import Viewer, require_admin
from services.policies.conditions import EVERYTHING, Condition, apply


def readable(viewer: Viewer) -> Condition:
    """Every webhook, for an admin (anyone else: FORBIDDEN / UNAUTHENTICATED)."""
    require_admin(viewer)
    return EVERYTHING


def registry(viewer: Viewer) -> QuerySet[Webhook]:
    return apply(Webhook.all(), readable(viewer))


def deliveries(viewer: Viewer, webhook_id: int) -> QuerySet[WebhookDelivery]:
    """The delivery attempts of one webhook, for an admin (an event still waiting behind a refused
    one of its chat, never tried, is no attempt)."""
    return apply(WebhookDelivery.all(), readable(viewer)).filter(webhook_id=webhook_id, attempts__gt=0)


def ensure_may_configure(viewer: Viewer) -> int:
    return require_admin(viewer)
