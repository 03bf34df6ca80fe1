"""Service-level policies: admins define them and attach one to an open channel (rules:
services/policies/sla_policies.py; what they do to chats: services/chats/sla.py).

A target is seconds of working time (at least 1), null: no such target. Bad input is refused
with INVALID_INPUT naming the field, an unknown policy with NOT_FOUND, and changes nothing.
"""
from __future__ import annotations

from typing import Any

from models import OpenChannel, SlaPolicy
from services.common.errors import InvalidInput, NotFound
from services.common.text_input import NAME_LENGTH, text_input
from services.events.events import UnitOfWork, unit_of_work
from services.identity.viewer import Viewer
from services.policies import sla_policies as policy

#: the seconds settings of a policy, with their GraphQL names (for the field of an error)
SECONDS = {"first_response_seconds": "firstResponseSeconds", "next_response_seconds": "nextResponseSeconds",
           "resolution_seconds": "resolutionSeconds", "warn_before_seconds": "warnBeforeSeconds"}
#: at most a year of working time per target
MAX_SECONDS = 366 * 24 * 3600


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    """The settings given, checked alone: a name of 1 to NAME_LENGTH characters, seconds from 1."""
    if "name" in changes:
        name = " ".join((changes["name"] or "").split())
        if not name or len(name) > NAME_LENGTH:
            raise InvalidInput(f"The name must be 1 to {NAME_LENGTH} characters.", field=["input", "name"])
        changes["name"] = name
    for column, graphql_name in SECONDS.items():
        value = changes.get(column)
        if value is not None and not 1 <= value <= MAX_SECONDS:
            raise InvalidInput(f"{graphql_name} must be between 1 and {MAX_SECONDS} seconds (null: none).",
                               field=["input", graphql_name])
    return changes


async def list_sla_policies(viewer: Viewer) -> list[SlaPolicy]:
    """Every policy, by name."""
    return await policy.visible_policies(viewer).order_by("name", "id")


@text_input()
async def create_sla_policy(viewer: Viewer, *, name: str, first_response_seconds: int | None = None,
                            next_response_seconds: int | None = None, resolution_seconds: int | None = None,
                            warn_before_seconds: int | None = None) -> SlaPolicy:
    """Admins: a new policy. It applies to the chats of the channels it is attached to."""
    policy.ensure_may_define(viewer)
    settings = _checked({"name": name, "first_response_seconds": first_response_seconds,
                         "next_response_seconds": next_response_seconds, "resolution_seconds": resolution_seconds,
                         "warn_before_seconds": warn_before_seconds})
    async with unit_of_work(viewer) as uow:
        return await SlaPolicy.create(using_db=uow.tx, **settings)


@text_input()
async def update_sla_policy(viewer: Viewer, *, sla_policy_id: int, **changes: Any) -> SlaPolicy:
    """Admins: change the given settings (a seconds setting set to None: no such target any more).
    New targets apply to the clocks that start after the change; running clocks keep their due times."""
    policy.ensure_may_define(viewer)
    unknown = set(changes) - {"name", *SECONDS}
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}")
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("name cannot be null.", field=["input", "name"])
    changes = _checked(changes)
    async with unit_of_work(viewer) as uow:
        found = await policy.visible_policies(viewer).filter(id=sla_policy_id).using_db(uow.tx) \
            .select_for_update().first()
        if found is None:
            raise NotFound("No such SLA policy.", field=["input", "slaPolicyId"])
        if changes:
            await SlaPolicy.filter(id=found.id).using_db(uow.tx).update(**changes)
    return await SlaPolicy.get(id=sla_policy_id)


async def check_channel_setting(uow: UnitOfWork, viewer: Viewer, channel: OpenChannel, changes: dict[str, Any]) -> None:
    """updateOpenChannel's `sla_policy_id` names a policy that exists (None: the channel has none)."""
    policy_id = changes.get("sla_policy_id")
    if policy_id is not None and not await policy.visible_policies(viewer).filter(id=policy_id) \
            .using_db(uow.tx).exists():
        raise NotFound("No such SLA policy.", field=["input", "slaPolicyId"])


async def policies_by_id(viewer: Viewer, ids: list[int]) -> dict[int, SlaPolicy]:
    """The policies named by what the viewer reads (a channel's, a chat's); none for a visitor."""
    return {p.id: p for p in await policy.named_policies(viewer, ids)}


async def visible_sla_policy(viewer: Viewer, sla_policy_id: int) -> SlaPolicy | None:
    return await policy.named_policies(viewer, [sla_policy_id]).first()
