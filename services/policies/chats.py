"""Who may see which chat. Every read and every use case goes through these checks.

- a visitor: the chats of their own client (wherever they were transferred);
- an operator: the chats of their open channels, and chats they are responsible for,
  take part in or are offered;
- a supervisor or an admin: every chat.
A chat the viewer may not see is NOT_FOUND (its existence is not disclosed).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import Chat, ChatOffer, ChatParticipant, QueueMember
from services.common.errors import Forbidden, NotFound, Unauthenticated
from services.identity.viewer import Viewer


def visible_chats(viewer: Viewer) -> QuerySet[Chat]:
    """All chats the viewer may see, as a query to refine."""
    if viewer.is_operator:
        if viewer.is_supervisor:
            return Chat.all()
        me = viewer.operator_id
        return Chat.filter(
            Q(open_channel_id__in=Subquery(QueueMember.filter(operator_id=me).values("open_channel_id")))
            | Q(operator_id=me)
            | Q(id__in=Subquery(ChatParticipant.filter(operator_id=me).values("chat_id")))
            | Q(id__in=Subquery(ChatOffer.filter(operator_id=me).values("chat_id")))
        )
    if viewer.is_visitor:
        # the client was made for this visitor: their chats stay theirs after a transfer to another channel
        return Chat.filter(client_id=viewer.client_id)
    raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")


def visible_chats_sql(viewer: Viewer, param: Callable[[Any], str]) -> str | None:
    """The rule of `visible_chats` as a condition on a chat aliased `c`, for the hand-written
    statements of hot reads (its values added with `param`); None: every chat. Both forms are
    checked against each other (tests/contact_center/test_conversations_sql.py)."""
    if viewer.is_operator:
        if viewer.is_supervisor:
            return None
        me = param(viewer.operator_id)
        return (f"(c.open_channel_id IN (SELECT open_channel_id FROM queue_member WHERE operator_id = {me}) "
                f"OR c.operator_id = {me} "
                f"OR c.id IN (SELECT chat_id FROM chat_participant WHERE operator_id = {me}) "
                f"OR c.id IN (SELECT chat_id FROM chat_offer WHERE operator_id = {me}))")
    if viewer.is_visitor:
        return f"c.client_id = {param(viewer.client_id)}"
    raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")


@dataclass(frozen=True)
class ChatRoles:
    """How the calling operator relates to one chat."""

    supervisor: bool
    responsible: bool
    participant: bool
    offered: bool
    member: bool

    @property
    def can_see(self) -> bool:
        return self.supervisor or self.responsible or self.participant or self.offered or self.member

    @property
    def can_take(self) -> bool:
        """May answer, skip-transfer or mark as spam a queued chat."""
        return self.supervisor or self.offered or self.member


async def roles_in_chat(viewer: Viewer, chat: Chat, using: BaseDBAsyncClient | None = None) -> ChatRoles:
    me = viewer.operator_id
    if me is None:
        return ChatRoles(False, False, False, False, False)
    participant = await ChatParticipant.filter(chat_id=chat.id, operator_id=me).using_db(using).exists()
    offered = await ChatOffer.filter(chat_id=chat.id, operator_id=me).using_db(using).exists()
    member = chat.open_channel_id is not None and await QueueMember.filter(
        open_channel_id=chat.open_channel_id, operator_id=me
    ).using_db(using).exists()
    return ChatRoles(
        supervisor=viewer.is_supervisor,
        responsible=chat.operator_id == me,
        participant=participant,
        offered=offered,
        member=member,
    )


async def get_visible_chat(
    viewer: Viewer, chat_id: int, *, using: BaseDBAsyncClient | None = None, lock: bool = False
) -> Chat:
    """The chat if the viewer may see it; NOT_FOUND otherwise. `lock` takes its row lock (PostgreSQL)."""
    query = visible_chats(viewer).filter(id=chat_id).using_db(using)
    if lock:
        query = query.select_for_update()
    chat = await query.first()
    if chat is None:
        raise NotFound("No such chat.", field=["input", "chatId"])
    return chat


async def operator_chat(viewer: Viewer, chat_id: int, using: BaseDBAsyncClient) -> tuple[Chat, ChatRoles]:
    """A chat the calling operator may see, locked for a change, with the caller's roles in it."""
    if not viewer.is_operator:
        if viewer.is_visitor:
            raise Forbidden("A visitor token cannot do this.")
        raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")
    chat = await get_visible_chat(viewer, chat_id, using=using, lock=True)
    return chat, await roles_in_chat(viewer, chat, using)


def ensure(condition: bool, message: str) -> None:
    if not condition:
        raise Forbidden(message)
