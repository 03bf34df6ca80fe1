"""Read use cases: what the viewer may see, shaped for the API's lists."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from collections.abc import Mapping, Set
from typing import Any, cast

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models import Chat, ChatKind, ChatOffer, ChatStatus, Message
from services.common import raw_sql
from services.policies import chats as chat_policy, messages as message_policy
from services.policies.chats import get_visible_chat
from services.chats import queue
from services.chats.chat_relations import chat_relations, ids_inline, with_join_keys, with_relations
from services.common.errors import NotFound
from services.common.pagination import Page, paginate
from services.common.read_models import row_reader, select_list
from services.chats.read_models import ChatRow
from services.identity.viewer import Viewer, require_operator
from services.common.transactions import default_connection


async def visible_chat_or_none(viewer: Viewer, chat_id: int) -> Chat | None:
    try:
        return await get_visible_chat(viewer, chat_id)
    except NotFound:
        return None


async def read_chat(viewer: Viewer, chat_id: int) -> Chat:
    """The chat if the viewer may see it; NOT_FOUND otherwise."""
    return await get_visible_chat(viewer, chat_id)


def _visible_queued(viewer: Viewer, channel_ids: list[int]) -> QuerySet[Chat]:
    """The queued chats of these open channels the viewer may see (a channel's queue and its length)."""
    return chat_policy.visible_chats(viewer).filter(open_channel_id__in=channel_ids, status=ChatStatus.QUEUED)


async def visible_queued_chats(viewer: Viewer, channel_ids: list[int]) -> list[Chat]:
    """The queued chats of these open channels the viewer may see, in the order the queue offers
    them: highest priority first, then oldest first."""
    return await queue.in_queue_order(_visible_queued(viewer, channel_ids))


async def visible_queue_lengths(viewer: Viewer, channel_ids: list[int]) -> dict[int, int]:
    """How many of `visible_queued_chats` each channel has (channels without any: absent), counted
    by the database: a queue event tells every subscriber its queue's length, and reading the
    queue's chats to count them cost about as much as the rest of the event."""
    rows = await _visible_queued(viewer, channel_ids).group_by("open_channel_id") \
        .annotate(waiting=Count("id")).values_list("open_channel_id", "waiting")
    return {channel_id: waiting for channel_id, waiting in rows}


async def my_open_chat_ids(viewer: Viewer) -> list[int]:
    """The queued and active chats the calling operator takes part in or is offered, by id."""
    if viewer.operator_id is None:
        return []
    # values_list(flat=True) is typed as tuples by Tortoise: the values are the ids
    chat_ids = cast(list[int], await chat_policy.in_relation(viewer, "participant").filter(
        status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE]).values_list("id", flat=True))
    chat_ids += cast(list[int], await ChatOffer.filter(operator_id=viewer.operator_id).values_list("chat_id", flat=True))
    return sorted(set(chat_ids))


def visible_messages(viewer: Viewer, chat_id: int):
    """Messages of one chat as the viewer may read them: never a silent note for a visitor."""
    return message_policy.of_chats(viewer, chat_id)


async def chat_messages(viewer: Viewer, *, chat_id: int, first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None) -> Page[Message]:
    await get_visible_chat(viewer, chat_id)
    return await paginate(visible_messages(viewer, chat_id), first=first, after=after, last=last, before=before)


@dataclass
class MyChatGroups:
    """The sidebar's chats (services/chats/read_models.py)."""
    offered: list[ChatRow]
    waiting_first_response: list[ChatRow]
    active: list[ChatRow]
    internal: list[ChatRow]
    #: chat id -> the relations asked for (as services/chat_relations.chat_relations gives them)
    relations: dict[int, dict[str, Any]] = field(default_factory=dict)


_read_chat = row_reader(ChatRow)
#: what my_chats reads of every chat to group them, whatever the caller reads
_GROUPED_BY = frozenset({"id", "kind", "operator_id"})
#: the sidebar's order: offers by id, my chats by last activity, newest first (of the rows of
#: `_my_chats_sql`, aliased `c`)
_ORDER = "c.offered, CASE WHEN c.offered = 0 THEN c.id ELSE 0 END, c.last_activity_at DESC, c.id DESC"


@functools.lru_cache(maxsize=64)
def _my_chats_sql(read: frozenset[str] | None) -> str:
    """The sidebar's two sources in one statement: queued chats offered to me, active chats I take
    part in, with the chat's columns in `read` (None: all; services/common/read_models.select_list),
    what groups them, whether each still waits for its first response, and what orders them.
    `{me}`: the operator's id, written in by chat_relations.ids_inline (as the relations' values),
    so that each operator's statement is planned once per connection."""
    select = select_list(ChatRow, "c", None if read is None else read | _GROUPED_BY | {"last_activity_at"})
    return (
        f"SELECT {select}, 0 AS offered, (SELECT o.group_waiting_first_response FROM operator o WHERE o.id = {{me}}) "
        f"AS grouped, c.first_response_at IS NULL AS awaiting_reply FROM chat c "
        f"WHERE c.status = '{ChatStatus.QUEUED.value}' "
        "AND c.id IN (SELECT chat_id FROM chat_offer WHERE operator_id = {me}) "
        "UNION ALL "
        f"SELECT {select}, 1 AS offered, (SELECT o.group_waiting_first_response FROM operator o WHERE o.id = {{me}}) "
        f"AS grouped, c.first_response_at IS NULL AS awaiting_reply FROM chat c "
        f"WHERE c.status = '{ChatStatus.ACTIVE.value}' "
        "AND c.id IN (SELECT chat_id FROM chat_participant WHERE operator_id = {me})"
    )


@functools.lru_cache(maxsize=64)
def _shown(read: frozenset[str] | None) -> str:
    """The chats' columns the statement returns, of `_my_chats_sql`'s rows aliased `c`: those in
    `read` and what groups them (None: all). Timestamps are the dearest columns to decode (about
    4,700 instructions each): the order's is read only when the caller shows it."""
    if read is None:
        return "c.*"
    return f"{select_list(ChatRow, 'c', read | _GROUPED_BY)}, c.offered, c.grouped, c.awaiting_reply"


async def my_chats(viewer: Viewer, relations: Set[str] = frozenset(), chat_columns: Set[str] | None = None,
                   relation_columns: Mapping[str, Set[str]] | None = None) -> MyChatGroups:
    """The sidebar: offers to me, my active customer chats (split by first reply), colleague chats;
    with the `relations` of services/chats/chat_relations.py asked for. `chat_columns`,
    `relation_columns`: the columns of the chats' and the relations' read models the caller reads
    (None: all), as services/contact_center/conversations takes them; what the grouping reads
    (`_GROUPED_BY`) and the relations' join keys are always read.

    One hand-written statement, relations included (this is what every console polls): offers by
    id, my chats by last activity, newest first (`_ORDER`)."""
    me = require_operator(viewer)
    values: list[Any] = []
    ids = ids_inline(values)
    read = with_join_keys(chat_columns, relations)
    chats_sql = _my_chats_sql(read).format(me=ids(me))
    shown = _shown(read)
    if relations:
        sql, read_relations = with_relations(viewer, chats_sql, relations, ids, _ORDER, relation_columns, shown)
    else:
        sql, read_relations = f"SELECT {shown} FROM ({chats_sql}) AS c ORDER BY {_ORDER}", lambda rows: {}
    rows = await raw_sql.records(default_connection(), sql, *values)
    offered: list[ChatRow] = []
    waiting: list[ChatRow] = []
    active: list[ChatRow] = []
    internal: list[ChatRow] = []
    grouped = bool(rows[0]["grouped"]) if rows else False
    customer, colleagues = ChatKind.CUSTOMER, ChatKind.INTERNAL
    for row in rows:  # in the sidebar's order, each chat to its group (one pass)
        chat = _read_chat(row)
        if not row["offered"]:
            offered.append(chat)
        elif chat.kind == customer:
            # grouped: my chats that await my first reply apart from the others
            (waiting if grouped and chat.operator_id == me and row["awaiting_reply"] else active).append(chat)
        elif chat.kind == colleagues:
            internal.append(chat)
    return MyChatGroups(offered=offered, waiting_first_response=waiting, active=active, internal=internal,
                        relations=read_relations(rows))


async def visible_chat_ids(viewer: Viewer, chat_ids: list[int]) -> set[int]:
    """Which of these chats the viewer may see, in one query."""
    return await chat_policy.readable_chat_ids(viewer, chat_ids)


async def unread_counts(operator_id: int, chat_ids: list[int]) -> dict[int, int]:
    """Per chat: messages after the operator's read marker that someone else wrote (one query:
    services/chats/chat_relations.py's unread count, the one place that rule is written)."""
    found = await chat_relations(Viewer(operator_id=operator_id), chat_ids, {"unread_count"})
    return {chat_id: relations["unread_count"] for chat_id, relations in found.items()}
