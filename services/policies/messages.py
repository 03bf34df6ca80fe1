"""Who may read which message. A message is read in a chat one may see (services/policies/chats.py);
within it, a silent note is for operators only: never a visitor (nor a connector, which relays
only what the client reads: services/automation/connector_outbox.py).

The rule on the message row is `readable_in_chat`, one condition rendered for Tortoise and for
the hand-written statements (services/chats/chat_relations.py's last message); `can_read_text`
is the same rule for one message or one copy of its text (a quote). Who may read text COPIED
from a message elsewhere (a canned response, a task, a feed post) is services/policies/copy_audience.py.
"""
from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Message
from services.identity.viewer import Viewer
from services.policies import chats
from services.policies.conditions import EVERYTHING, Condition, Equals, Param, apply, render


def readable_in_chat(viewer: Viewer) -> Condition:
    """The messages of a chat the viewer may see that they may read: never a silent note for a visitor."""
    return EVERYTHING if viewer.is_operator else Equals("silent", False)


def readable_in_chat_sql(viewer: Viewer, alias: str, param: Param) -> str | None:
    """`readable_in_chat` on a message aliased `alias`; None: no condition."""
    return render(readable_in_chat(viewer), alias, param)


def can_read_text(viewer: Viewer, *, silent: bool) -> bool:
    """`readable_in_chat` for one message (or a quote of one) in a chat the viewer may see."""
    return viewer.is_operator or not silent


def of_chats(viewer: Viewer, chat_ids: Any) -> QuerySet[Message]:
    """The messages of these chats (ids, or one id) the viewer may read; the caller has checked the
    viewer may see the chats."""
    query = Message.filter(chat_id=chat_ids) if isinstance(chat_ids, int) else Message.filter(chat_id__in=chat_ids)
    return apply(query, readable_in_chat(viewer))


def readable_messages(viewer: Viewer) -> QuerySet[Message]:
    """Every message the viewer may read: in chats they may see, never a silent note for a visitor."""
    if viewer.is_operator and viewer.is_supervisor:
        # every chat: every message has one, so no `chat_id IN (every chat)`, which PostgreSQL
        # checked match by match
        return Message.all()
    return apply(Message.filter(chat_id__in=Subquery(chats.visible_chats(viewer).values("id"))),
                 readable_in_chat(viewer))


async def can_read(viewer: Viewer, message: Message | None, using: BaseDBAsyncClient | None = None) -> bool:
    """Whether the viewer may read this one message (its chat included)."""
    return message is not None and can_read_text(viewer, silent=message.silent) and \
        await chats.can_read(viewer, message.chat_id, using)
