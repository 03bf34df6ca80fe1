"""Who may see labels, define them, and put them on a chat.

- Labels are the team's vocabulary: every operator sees them all (a visitor none).
- Admins define them (createLabel).
- A chat's labels are set by whoever may write in the chat (its responsible, its participants,
  supervisors and admins: `ChatRoles.can_label`), and read by whoever may see the chat.
"""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import Chat, ChatLabel, Label
from services.identity.viewer import Viewer, require_admin, require_operator
from services.policies.chats import ChatRoles, ensure, readable as readable_chats
from services.policies.conditions import EVERYTHING, Condition, apply, within


def readable(viewer: Viewer) -> Condition:
    """The labels the viewer may see: every one, for operators (FORBIDDEN for a visitor)."""
    require_operator(viewer)
    return EVERYTHING


def visible_labels(viewer: Viewer) -> QuerySet[Label]:
    return apply(Label.all(), readable(viewer))


def ensure_may_define(viewer: Viewer) -> None:
    """Only an admin defines labels."""
    require_admin(viewer)


def ensure_may_label(roles: ChatRoles) -> None:
    ensure(roles.can_label, "Only the chat's operators or a supervisor can change its labels.")


def labels_of_visible_chats(viewer: Viewer, chat_ids: list[int]) -> QuerySet[ChatLabel]:
    """The label rows of these chats, as far as the viewer may see the chats (a visitor: their own
    chats' labels are not theirs to see, so none)."""
    if not viewer.is_operator:
        return ChatLabel.filter(id__in=[])
    return apply(ChatLabel.filter(chat_id__in=chat_ids), within("chat_id", Chat, readable_chats(viewer)))
