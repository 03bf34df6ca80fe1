"""Who may see, manage and send canned responses.

- A personal one (no open channel) belongs to its author: only they see and change it.
- A channel's one is seen by that queue's members, and by supervisors and admins, who alone
  create and manage it.
- One saved from a silent note keeps the note's audience (services/policies/copy_audience.py): it
  is silent, and sent as a silent note, never to the client.
"""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import CannedResponse, Message, QueueMember
from services.common.errors import Forbidden
from services.identity.viewer import Viewer, require_operator
from services.policies.conditions import AllOf, AnyOf, Condition, Equals, InRows, IsNull, apply
from services.policies.copy_audience import audience_of_copy


def readable(viewer: Viewer) -> Condition:
    """The canned responses the viewer may see: their own personal ones, and those of their queues
    (supervisors and admins: of every channel, and their own)."""
    me = require_operator(viewer)
    if viewer.is_supervisor:
        return AnyOf((IsNull("open_channel_id", False), Equals("created_by_id", me)))
    return AnyOf((AllOf((IsNull("open_channel_id"), Equals("created_by_id", me))),
                  InRows("open_channel_id", QueueMember, "open_channel_id", (("operator_id", me),))))


def visible(viewer: Viewer) -> QuerySet[CannedResponse]:
    return apply(CannedResponse.all(), readable(viewer))


async def can_read(viewer: Viewer, canned: CannedResponse | None) -> bool:
    return canned is not None and viewer.is_operator and await visible(viewer).filter(id=canned.id).exists()


def can_act(viewer: Viewer, canned: CannedResponse) -> bool:
    """May change or delete it (the caller may see it)."""
    if canned.open_channel_id is None:
        return viewer.is_operator and canned.created_by_id == viewer.operator_id
    return viewer.is_supervisor


def ensure_may_manage(viewer: Viewer, canned: CannedResponse) -> None:
    if not can_act(viewer, canned):
        if canned.open_channel_id is None:
            raise Forbidden("Only the author can change a personal canned response.")
        raise Forbidden("Supervisors and admins manage an open channel's canned responses.")


def ensure_may_share(viewer: Viewer, open_channel_id: int | None) -> int:
    """Creating one (the author's id): personal for any operator, a channel's for supervisors and admins."""
    me = require_operator(viewer)
    if open_channel_id is not None and not viewer.is_supervisor:
        raise Forbidden("Supervisors and admins manage an open channel's canned responses.",
                        field=["input", "openChannelId"])
    return me


def saved_silent(message: Message) -> bool:
    """A canned response saved from this message is silent (a silent note's audience)."""
    return audience_of_copy(message).operators_of_chat


def sent_silent(canned: CannedResponse) -> bool:
    """Sent as a silent note (operators only), never to the client: one saved from a silent note."""
    return canned.silent
