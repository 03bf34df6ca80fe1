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
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from models import Chat, ChatOffer, ChatParticipant, ChatStatus, QueueMember
from services.common.errors import Forbidden, NotFound, Unauthenticated
from services.identity.viewer import Viewer
from services.policies.conditions import EVERYTHING, AnyOf, Condition, Equals, InRows, apply, render


def _operator_relations(me: int) -> dict[str, Condition]:
    """How an operator may relate to a chat, each a condition on the chat: the ONE definition of
    an operator's chats. Visibility (`readable`, both renderings), the roles of one chat
    (`roles_in_chat`, `ChatRoles`) and sendMessage's statement of the roles (`roles_sql`) are
    all made from it."""
    return {
        "member": InRows("open_channel_id", QueueMember, "open_channel_id", (("operator_id", me),)),
        "responsible": Equals("operator_id", me),
        "participant": InRows("id", ChatParticipant, "chat_id", (("operator_id", me),)),
        "offered": InRows("id", ChatOffer, "chat_id", (("operator_id", me),)),
    }


#: the relations of `_operator_relations`, by name (ChatRoles has one field per name, plus `supervisor`)
RELATIONS = tuple(_operator_relations(0))


def readable(viewer: Viewer) -> Condition:
    """The chats the viewer may see, as a condition on the chat (see the module docstring)."""
    if viewer.is_operator:
        if viewer.is_supervisor:
            return EVERYTHING
        return AnyOf(tuple(_operator_relations(viewer.operator_id).values()))  # type: ignore[arg-type]
    if viewer.is_visitor:
        # the client was made for this visitor: their chats stay theirs after a transfer to another channel
        return Equals("client_id", viewer.client_id)
    raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")


def writable(viewer: Viewer) -> Condition:
    """The chats the calling operator may write in (`ChatRoles.can_write` as a condition): the
    ones they are responsible for or take part in; every chat for supervisors and admins."""
    if not viewer.is_operator:
        if viewer.is_visitor:
            raise Forbidden("A visitor token cannot do this.")
        raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")
    if viewer.is_supervisor:
        return EVERYTHING
    relations = _operator_relations(viewer.operator_id)  # type: ignore[arg-type]
    return AnyOf((relations["responsible"], relations["participant"]))


def visible_chats(viewer: Viewer) -> QuerySet[Chat]:
    """All chats the viewer may see, as a query to refine."""
    return apply(Chat.all(), readable(viewer))


def visible_chats_sql(viewer: Viewer, param: Callable[[Any], str]) -> str | None:
    """The rule of `visible_chats` as a condition on a chat aliased `c`, for the hand-written
    statements of hot reads (its values added with `param`); None: every chat. Both forms are
    checked against each other (tests/policies/test_conditions.py)."""
    return render(readable(viewer), "c", param)


def in_relation(viewer: Viewer, relation: str) -> QuerySet[Chat]:
    """The chats the calling operator has this relation to (`participant`, `offered`...)."""
    return Chat.filter(_operator_relations(viewer.operator_id)[relation].q())  # type: ignore[arg-type]


async def can_read(viewer: Viewer, chat_id: int, using: BaseDBAsyncClient | None = None) -> bool:
    """Whether the viewer may see this one chat."""
    return await visible_chats(viewer).filter(id=chat_id).using_db(using).exists()


async def readable_chat_ids(viewer: Viewer, chat_ids: list[int]) -> set[int]:
    """Which of these chats the viewer may see, in one query."""
    if not chat_ids:
        return set()
    return set(cast(list[int], await visible_chats(viewer).filter(id__in=chat_ids).values_list("id", flat=True)))


def roles_sql(*, chat: str, channel: str, me: str, everyone: tuple[str, ...] = ("participant", "offered")) -> str:
    """One statement of (role, operator_id) rows for one chat, from `_operator_relations`: `chat`,
    `channel` and `me` are the placeholders of the chat's id, its open channel and the caller; the
    relations in `everyone` list every operator in them (the audience), the others only the caller.
    The responsible is the chat row's own `operator_id`."""
    values = {"id": chat, "open_channel_id": channel}
    relations = [(name, r) for name, r in _operator_relations(0).items() if isinstance(r, InRows)]
    relations.sort(key=lambda item: item[0] not in everyone)
    parts: list[str] = []
    for name, relation in relations:
        where = f"{relation.key} = {values[relation.column]}"
        if name not in everyone:
            where += " " + " ".join(f"AND {field} = {me}" for field, _ in relation.where)
        role = f"'{name}' AS role" if not parts else f"'{name}'"
        parts.append(f"SELECT {role}, operator_id FROM {relation.model._meta.db_table} WHERE {where}")
    return " UNION ALL ".join(parts)


@dataclass(frozen=True)
class ChatRoles:
    """How the calling operator relates to one chat (one field per relation of `_operator_relations`)."""

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

    @property
    def can_write(self) -> bool:
        """May write in the chat (messages, files)."""
        return self.supervisor or self.responsible or self.participant

    @property
    def can_label(self) -> bool:
        """May set the chat's labels: whoever may write in it."""
        return self.can_write

    def can_prioritise(self, chat: Chat) -> bool:
        """May set the chat's priority: whoever may write in it; while it waits in a queue (nobody
        writes in it yet), also whoever may take it (its queue's members, those it is offered to)."""
        return self.can_write or (chat.status == ChatStatus.QUEUED and self.can_take)

    @classmethod
    def of(cls, viewer: Viewer, chat: Chat, operators_by_role: dict[str, set[int]]) -> ChatRoles:
        """The caller's roles from the rows of `roles_sql` (by role name) and the chat row."""
        me = viewer.operator_id
        found = {name: me in operators_by_role.get(name, set()) for name in RELATIONS}
        found["responsible"] = chat.operator_id == me
        found["member"] = chat.open_channel_id is not None and found["member"]
        return cls(supervisor=viewer.is_supervisor, **found)


async def roles_in_chat(viewer: Viewer, chat: Chat, using: BaseDBAsyncClient | None = None) -> ChatRoles:
    me = viewer.operator_id
    if me is None:
        return ChatRoles(False, False, False, False, False)
    found: dict[str, bool] = {}
    for name, relation in _operator_relations(me).items():
        value = getattr(chat, relation.column)  # type: ignore[attr-defined]
        if isinstance(relation, Equals):
            found[name] = value == relation.value
        else:
            assert isinstance(relation, InRows)
            found[name] = value is not None and await relation.model.filter(
                **{relation.key: value}, **dict(relation.where)).using_db(using).exists()
    return ChatRoles(supervisor=viewer.is_supervisor, **found)


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
