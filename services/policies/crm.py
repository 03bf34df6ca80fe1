"""Who may read and write CRM records (contacts, companies, deals, leads and a client's links to
them): operators of every role (the CRM is the whole team's), never a visitor."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.models import Model
from tortoise.queryset import QuerySet

from services.identity.viewer import Viewer, require_operator
from services.policies.conditions import EVERYTHING, NOTHING, Condition, apply


def readable(viewer: Viewer) -> Condition:
    """Every record for an operator; none for anyone else."""
    return EVERYTHING if viewer.is_operator else NOTHING


def records(viewer: Viewer, model: type[Model], **where: Any) -> QuerySet[Any]:
    """The records of one CRM model (filtered by `where`) the viewer may read."""
    return apply(model.filter(**where), readable(viewer))


def by_ids(viewer: Viewer, model: type[Model], ids: Iterable[int]) -> QuerySet[Any]:
    return records(viewer, model, id__in=list(ids))


def can_read(viewer: Viewer, record: Model | None) -> bool:
    return record is not None and viewer.is_operator


def ensure_may_write(viewer: Viewer) -> int:
    """Saving a chat's client to the CRM: any operator (who may see the chat)."""
    return require_operator(viewer)
