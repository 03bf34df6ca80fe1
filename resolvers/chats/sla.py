"""Entry points of service-level policies: parse, call one service, return its outcome."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

import models
from resolvers.errors import Outcome, outcome, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.ids import decode_id
from services.chats import sla_policies

if TYPE_CHECKING:
    from schema.chats.sla import SlaPolicyInput, UpdateSlaPolicyInput

_SETTINGS = ("first_response_seconds", "next_response_seconds", "resolution_seconds", "warn_before_seconds")


async def sla_policies_list(info: Info) -> list[models.SlaPolicy]:
    return await _call(sla_policies.list_sla_policies(_viewer(info)))


async def create_sla_policy(info: Info, input: SlaPolicyInput) -> Outcome[models.SlaPolicy]:
    return await outcome(sla_policies.create_sla_policy(
        _viewer(info), name=input.name, **{name: getattr(input, name) for name in _SETTINGS}))


async def update_sla_policy(info: Info, input: UpdateSlaPolicyInput) -> Outcome[models.SlaPolicy]:
    async def run():
        changes: dict[str, Any] = {name: getattr(input, name) for name in ("name", *_SETTINGS)
                                   if getattr(input, name) is not strawberry.UNSET}
        return await sla_policies.update_sla_policy(
            _viewer(info), sla_policy_id=decode_id(input.sla_policy_id, "SlaPolicy", ["input", "slaPolicyId"]),
            **changes)

    return await outcome(run())


async def _node_sla_policy(info: Info, viewer, pk: int) -> models.SlaPolicy | None:
    return await sla_policies.visible_sla_policy(viewer, pk)


#: type name -> the object of that type with this pk, as far as the viewer may see it
NODE_RESOLVERS = {"SlaPolicy": _node_sla_policy}
