"""Read use cases: what the viewer may see, shaped for the API's lists."""
from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections
from tortoise.expressions import Subquery

from models import Chat, ChatKind, ChatOffer, ChatParticipant, ChatStatus, Message, Operator
from services.access import get_visible_chat, visible_chats
from services.errors import NotFound
from services.pagination import Page, paginate
from services.viewer import Viewer, require_operator


async def visible_chat_or_none(viewer: Viewer, chat_id: int) -> Chat | None:
    try:
        return await get_visible_chat(viewer, chat_id)
    except NotFound:
        return None


def visible_messages(viewer: Viewer, chat_id: int):
    """Messages of one chat as the viewer may read them: never a silent note for a visitor."""
    query = Message.filter(chat_id=chat_id)
    return query if viewer.is_operator else query.filter(silent=False)


async def chat_messages(viewer: Viewer, *, chat_id: int, first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None) -> Page[Message]:
    await get_visible_chat(viewer, chat_id)
    return await paginate(visible_messages(viewer, chat_id), first=first, after=after, last=last, before=before)


@dataclass
class MyChatGroups:
    offered: list[Chat]
    waiting_first_response: list[Chat]
    active: list[Chat]
    internal: list[Chat]


async def my_chats(viewer: Viewer) -> MyChatGroups:
    """The sidebar: offers to me, my active customer chats (split by first reply), colleague chats."""
    me = require_operator(viewer)
    operator = await Operator.get(id=me)
    offered = await Chat.filter(
        status=ChatStatus.QUEUED, id__in=Subquery(ChatOffer.filter(operator_id=me).values("chat_id"))
    ).order_by("id")
    mine = await Chat.filter(
        status=ChatStatus.ACTIVE, id__in=Subquery(ChatParticipant.filter(operator_id=me).values("chat_id"))
    ).order_by("-last_activity_at", "-id")
    customer = [c for c in mine if c.kind == ChatKind.CUSTOMER]
    internal = [c for c in mine if c.kind == ChatKind.INTERNAL]
    if operator.group_waiting_first_response:
        waiting = [c for c in customer if c.operator_id == me and c.first_response_at is None]
        waiting_ids = {c.id for c in waiting}
        active = [c for c in customer if c.id not in waiting_ids]
    else:
        waiting, active = [], customer
    return MyChatGroups(offered=offered, waiting_first_response=waiting, active=active, internal=internal)


async def visible_chat_ids(viewer: Viewer, chat_ids: list[int]) -> set[int]:
    """Which of these chats the viewer may see, in one query."""
    if not chat_ids:
        return set()
    return set(await visible_chats(viewer).filter(id__in=chat_ids).values_list("id", flat=True))


async def unread_counts(operator_id: int, chat_ids: list[int]) -> dict[int, int]:
    """Per chat: messages after the operator's read marker that someone else wrote (one query)."""
    if not chat_ids:
        return {}
    conn = connections.get("default")
    mark = (lambda i: f"${i}") if conn.capabilities.dialect == "postgres" else (lambda i: "?")
    in_list = ", ".join(mark(i + 2) for i in range(len(chat_ids)))
    sql = (
        "SELECT m.chat_id, COUNT(*) FROM message m "
        f"LEFT JOIN read_marker r ON r.chat_id = m.chat_id AND r.operator_id = {mark(1)} "
        f"WHERE m.chat_id IN ({in_list}) AND m.id > COALESCE(r.last_read_message_id, 0) "
        f"AND (m.author_id IS NULL OR m.author_id <> {mark(len(chat_ids) + 2)}) GROUP BY m.chat_id"
    )
    _, rows = await conn.execute_query(sql, [operator_id, *chat_ids, operator_id])
    return {row[0]: row[1] for row in (tuple(r.values()) if hasattr(r, "values") else tuple(r) for r in rows)}
