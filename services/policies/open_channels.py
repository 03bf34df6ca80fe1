"""Who may see or configure open channels (queues).

- Listing and `node(id:)`: supervisors and admins every channel, an operator the channels whose
  queue they are in (`listed`).
- A channel named by what the viewer reads (a chat's channel, a shared canned response's channel,
  a statistics row) is shown to them (`named`); its members only to operators
  (services/policies/operators.py's `ensure_staff_details`).
- Only admins create and configure channels: their queue, working hours, language, system texts
  and visitor identity secret.
- What a website's visitor may know of a channel before they write (`widget_readable`): its
  name, language, whether it asks for ratings, whether it is open now and which contact fields it
  asks for: anyone, no token needed (the widget reads them before there is a visitor token).
  Nothing else of the channel (its queue, timeouts, system texts, secret) is in them.
- A channel's wallboard (its queue's live figures, the `wallboard` subscription): whoever may list
  the channel: supervisors and admins any, an operator the channels whose queue they are in.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from models import OpenChannel, QueueMember
from services.common.errors import InvalidInput, NotFound
from services.identity.viewer import Viewer, require_admin, require_operator
from services.policies.conditions import EVERYTHING, Condition, InRows, apply
from services.policies.operators import ensure_staff_details


def listed(viewer: Viewer) -> Condition:
    """The channels the viewer may list or fetch by id."""
    me = require_operator(viewer)
    if viewer.is_supervisor:
        return EVERYTHING
    return InRows("id", QueueMember, "open_channel_id", (("operator_id", me),))


def listed_channels(viewer: Viewer) -> QuerySet[OpenChannel]:
    return apply(OpenChannel.all(), listed(viewer))


def named(viewer: Viewer) -> Condition:
    """The channels an object the viewer reads may name: every one (its settings, not its queue)."""
    return EVERYTHING


def named_channels(viewer: Viewer, ids: Iterable[int]) -> QuerySet[OpenChannel]:
    return apply(OpenChannel.filter(id__in=list(ids)), named(viewer))


def widget_readable(viewer: Viewer) -> Condition:
    """The channels whose widget settings the viewer may read: every one, whoever asks (a visitor
    reads them before their first message, so before any token). The settings are only what the
    widget shows a visitor anyway (services/chats/widget_settings.py)."""
    return EVERYTHING


def widget_readable_channels(viewer: Viewer) -> QuerySet[OpenChannel]:
    return apply(OpenChannel.all(), widget_readable(viewer))


def members_of(viewer: Viewer, channel_ids: Iterable[int]) -> QuerySet[QueueMember]:
    """The queue members of these channels (operators only: the staff's details)."""
    ensure_staff_details(viewer)
    return QueueMember.filter(open_channel_id__in=list(channel_ids))


def memberships_of(viewer: Viewer, operator_ids: Iterable[int]) -> QuerySet[QueueMember]:
    """The queues these operators are in (operators only: the staff's details)."""
    ensure_staff_details(viewer)
    return QueueMember.filter(operator_id__in=list(operator_ids))


def ensure_may_configure(viewer: Viewer) -> int:
    """Creating and configuring channels (and their queues): admins."""
    return require_admin(viewer)



def queue_channel_ids(viewer: Viewer) -> Any:
    """The ids of the channels whose queue the calling operator is in (their queue events, for one)."""
    return QueueMember.filter(operator_id=require_operator(viewer)).values_list("open_channel_id", flat=True)


async def can_act(viewer: Viewer, open_channel_id: int, using: BaseDBAsyncClient | None = None) -> bool:
    """Whether the viewer works in this channel (starts its conversations): its queue's members,
    supervisors and admins."""
    if viewer.is_supervisor:
        return True
    return await QueueMember.filter(open_channel_id=open_channel_id, operator_id=require_operator(viewer)) \
        .using_db(using).exists()


async def wallboard_channel_ids(viewer: Viewer, asked: list[int] | None) -> list[int]:
    """The channels whose wallboard the viewer watches: those asked (NOT_FOUND for one they may not
    list: unknown or not theirs), or every channel they may list when none is asked."""
    listed_ids = listed_channels(viewer)
    if asked is None:
        return sorted(cast(list[int], await listed_ids.values_list("id", flat=True)))
    if not asked:
        raise InvalidInput("Name at least one open channel, or omit openChannelIds.", field=["openChannelIds"])
    found = set(cast(list[int], await listed_ids.filter(id__in=asked).values_list("id", flat=True)))
    if missing := [i for i in asked if i not in found]:
        raise NotFound(f"No such open channel ({len(missing)} of those asked).", field=["openChannelIds"])
    return sorted(found)
