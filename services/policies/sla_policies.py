"""Who may see service-level policies and a chat's service levels, and who defines policies.

- Policies are the team's rules: every operator sees them all (a visitor none).
- Admins define and change them (createSlaPolicy, updateSlaPolicy) and attach them to channels.
- A chat's service levels (`Chat.sla`) are read by whoever may read the chat on the operator side
  (services/policies/chats.py); a visitor never sees them, not even of their own chat.
"""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import Chat, ChatSla, SlaPolicy
from services.identity.viewer import Viewer, require_admin, require_operator
from services.policies.chats import readable as readable_chats
from services.policies.conditions import EVERYTHING, Condition, apply, within


def readable(viewer: Viewer) -> Condition:
    """The policies the viewer may see: every one, for operators (FORBIDDEN for a visitor)."""
    require_operator(viewer)
    return EVERYTHING


def visible_policies(viewer: Viewer) -> QuerySet[SlaPolicy]:
    return apply(SlaPolicy.all(), readable(viewer))


def named_policies(viewer: Viewer, ids: list[int]) -> QuerySet[SlaPolicy]:
    """The policies named by what the viewer reads (a channel's, a chat's): none for a visitor."""
    if not viewer.is_operator:
        return SlaPolicy.filter(id__in=[])
    return visible_policies(viewer).filter(id__in=ids)


def ensure_may_define(viewer: Viewer) -> None:
    """Only an admin defines or changes policies."""
    require_admin(viewer)


def slas_of_visible_chats(viewer: Viewer, chat_ids: list[int]) -> QuerySet[ChatSla]:
    """The service-level rows of these chats, as far as the viewer may read the chats on the
    operator side (a visitor: none, their own chat's included)."""
    if not viewer.is_operator:
        return ChatSla.filter(chat_id__in=[])
    return apply(ChatSla.filter(chat_id__in=chat_ids), within("chat_id", Chat, readable_chats(viewer)))
