"""Who may see and configure channel connectors: the registry (list, create, rotate a secret) is
admins' alone. An outside request is authenticated by its connector's secret
(services/automation/connector_adapters.py), and what goes out to a connector is only what the
client reads (services/policies/messages.py)."""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import Connector
from services.identity.viewer import Viewer, require_admin
from services.policies.conditions import EVERYTHING, Condition, apply


def readable(viewer: Viewer) -> Condition:
    """Every connector, for an admin (anyone else: FORBIDDEN / UNAUTHENTICATED)."""
    require_admin(viewer)
    return EVERYTHING


def registry(viewer: Viewer) -> QuerySet[Connector]:
    return apply(Connector.all(), readable(viewer))


def ensure_may_configure(viewer: Viewer) -> int:
    return require_admin(viewer)
