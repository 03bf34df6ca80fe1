"""Who may see or change operators.

- Operators see each other (the colleagues' list, `node(id:)`); a visitor sees only the name of an
  operator named by what they read (their chat's responsible, a message's author), never the
  staff's details (e-mail, load, queues): `ensure_staff_details`.
- Each operator changes their own status and preferences; only an admin creates operators.
- Presence (who is connected, status changes as they happen: the `presence` query and
  `operatorsChanged`): supervisors and admins follow every operator, an operator themselves and the
  colleagues who share one of their queues (`presence_followed`).
"""
from __future__ import annotations

from typing import cast

from collections.abc import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from models import Operator, QueueMember
from services.common.errors import Forbidden
from services.identity.viewer import Viewer, require_admin, require_operator
from services.policies.conditions import EVERYTHING, AnyOf, Condition, Equals, SharesGroup, apply


def listed(viewer: Viewer) -> Condition:
    """The operators the viewer may list or fetch by id: every one, for an operator."""
    require_operator(viewer)
    return EVERYTHING


def listed_operators(viewer: Viewer) -> QuerySet[Operator]:
    return apply(Operator.all(), listed(viewer))


def named(viewer: Viewer) -> Condition:
    """The operators an object the viewer reads may name (by id): every one, shown by name (the
    staff's details stay behind `ensure_staff_details`)."""
    return EVERYTHING


def named_operators(viewer: Viewer, ids: Iterable[int]) -> QuerySet[Operator]:
    """The operators these ids name, as an object the viewer reads names them."""
    return apply(Operator.filter(id__in=list(ids)), named(viewer))


def presence_followed(viewer: Viewer) -> Condition:
    """The operators whose presence the viewer follows: every one for supervisors and admins; for an
    operator, themselves and those who share one of their queues."""
    me = require_operator(viewer)
    if viewer.is_supervisor:
        return EVERYTHING
    return AnyOf((Equals("id", me), SharesGroup("id", QueueMember, "operator_id", "open_channel_id", me)))


def presence_operators(viewer: Viewer) -> QuerySet[Operator]:
    return apply(Operator.all(), presence_followed(viewer))


async def follows_presence_of(viewer: Viewer, operator_id: int) -> bool:
    """Whether a change of this operator's presence reaches the viewer (`operatorsChanged`)."""
    if viewer.is_supervisor:
        return True
    return await presence_operators(viewer).filter(id=operator_id).exists()


def can_read(viewer: Viewer, operator: Operator | None) -> bool:
    """`node(id:)` of an operator: operators only."""
    return operator is not None and viewer.is_operator


def ensure_staff_details(viewer: Viewer) -> None:
    """E-mail, load and queues of an operator: operators only (a visitor sees a name in their chat)."""
    if not viewer.is_operator:
        raise Forbidden("Only operators can read this.")


def ensure_may_create(viewer: Viewer) -> int:
    """Creating operators: admins."""
    return require_admin(viewer)


def myself(viewer: Viewer) -> int:
    """The operator whose status and preferences the caller changes: always themselves."""
    return require_operator(viewer)


async def existing_ids(ids: Iterable[int], using: BaseDBAsyncClient | None = None) -> set[int]:
    """Which of these ids are operators (a task's responsible, a transfer's target, queue members):
    an operator may name any colleague."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(cast(list[int], await Operator.filter(id__in=wanted).using_db(using).values_list("id", flat=True)))
