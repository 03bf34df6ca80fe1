"""Contact center > Conversations: every customer conversation the viewer may see, filtered
and ordered, one keyset page at a time, and an outbound conversation an operator starts."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import (
    Chat, ChatKind, ChatParticipant, ChatPriority, ChatStatus, Client, Message, MessageAuthorKind, OpenChannel,
    ReadMarker,
)
from services.chats import queue
from services.common import raw_sql
from services.contact_center import conversation_filters, search
from services.policies import clients as client_policy, messages as message_policy
from services.policies import open_channels as open_channel_policy
from services.policies.chats import visible_chats, visible_chats_sql
from services.policies.conditions import render
from services.chats.chat_relations import ids_inline, numbered, with_join_keys, with_relations
from services.chats.chats import auto_close_deadline
from services.common.errors import Forbidden, NotFound
from services.events.events import unit_of_work
from services.common.text_input import clean_text
from services.common.pagination import (
    Keyset, KeysetWindow, Page, keyset_page, keyset_sql, keyset_window, paginate, paginate_keyset,
)
from services.chats.read_models import ChatRow
from services.common.read_models import columns, row_reader, select_list
from services.identity.viewer import Viewer, require_operator
from services.common.text_input import SEARCH_LENGTH, check_text, text_input
from services.common.transactions import default_connection


class ConversationOrder(str, Enum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    LAST_ACTIVITY = "LAST_ACTIVITY"


#: the sort key of each order; ties are broken by id in the same direction
KEYSETS = {
    ConversationOrder.NEWEST: Keyset("NEWEST", "created_at", descending=True),
    ConversationOrder.OLDEST: Keyset("OLDEST", "created_at", descending=False),
    ConversationOrder.LAST_ACTIVITY: Keyset("LAST_ACTIVITY", "activity_at", descending=True),
}
#: the SQL of each sort key on a chat aliased `c`
_KEY_SQL = {"created_at": "c.created_at", "activity_at": "COALESCE(c.last_activity_at, c.created_at)"}


@dataclass(frozen=True)
class ConversationFilter:
    """Every field narrows the list; fields combine with AND, values of one list field with OR."""

    statuses: list[ChatStatus] | None = None
    open_channel_ids: list[int] | None = None
    #: the responsible operator
    operator_ids: list[int] | None = None
    client_id: int | None = None
    #: created at or after
    created_from: datetime | None = None
    #: created before
    created_to: datetime | None = None
    search: str | None = None
    pinned: bool | None = None
    waiting_first_response: bool | None = None
    #: chats with any of these labels
    label_ids: list[int] | None = None
    priorities: list[ChatPriority] | None = None
    #: missed a service-level target (true) or not (false)
    sla_breached: bool | None = None


def _conditions(viewer: Viewer, f: ConversationFilter, param: Callable[[Any], str]) -> list[str]:
    """The WHERE conditions (on a chat aliased `c`) of the customer conversations the viewer may
    see that pass the filter."""
    require_operator(viewer)
    conditions = [f"c.kind = '{ChatKind.CUSTOMER.value}'"]
    visible = visible_chats_sql(viewer, param)
    if visible is not None:
        conditions.append(visible)

    def one_of(column: str, values: list[Any] | None) -> None:
        if values is not None:  # an empty list matches nothing
            conditions.append(f"c.{column} IN ({', '.join(param(v) for v in values)})" if values else "1 = 0")

    one_of("status", [ChatStatus(s).value for s in f.statuses] if f.statuses is not None else None)
    one_of("open_channel_id", f.open_channel_ids)
    one_of("operator_id", f.operator_ids)
    if f.client_id is not None:
        conditions.append(f"c.client_id = {param(f.client_id)}")
    if f.created_from is not None:
        conditions.append(f"c.created_at >= {param(_as_stored(f.created_from))}")
    if f.created_to is not None:
        conditions.append(f"c.created_at < {param(_as_stored(f.created_to))}")
    if f.pinned is not None:
        conditions.append(f"c.pinned = {param(f.pinned)}")
    if f.waiting_first_response is not None:
        conditions.append(f"c.first_response_at IS {'' if f.waiting_first_response else 'NOT '}NULL")
    if f.search is not None and f.search.strip():
        conditions.append(search.chats_matching_sql(f.search, param))
    narrowed = render(conversation_filters.narrowing(f.label_ids, f.priorities, f.sla_breached), "c", param)
    if narrowed is not None:
        conditions.append(narrowed)
    return conditions


def _as_stored(moment: datetime) -> Any:
    """A moment as Tortoise compares it with a date column (a naive one is taken as UTC)."""
    return Chat._meta.fields_map["created_at"].to_db_value(moment, Chat)


@text_input(after=SEARCH_LENGTH, before=SEARCH_LENGTH)
async def conversations(
    viewer: Viewer, *, filter: ConversationFilter | None = None, order: ConversationOrder = ConversationOrder.NEWEST,
    first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    with_total: bool = True, with_cursors: bool = True, relations: Set[str] = frozenset(),
    chat_columns: Set[str] | None = None, relation_columns: Mapping[str, Set[str]] | None = None,
) -> Page[ChatRow]:
    """One page of the conversations list (chats as read models, services/chats/read_models.py), with the
    `relations` of services/chats/chat_relations.py asked for in `Page.relations`, and the total of
    the filtered list (without `with_total`, left for `Page.count_total`: counting every
    visible chat is the dearest part). Without `with_cursors` the cursors are left empty (a
    list polled for display asks for none; making 50 costs more than reading their rows).
    `chat_columns`, `relation_columns`: the columns of the chats' and the relations' read models
    the caller reads (None: all of them; chat_relations.relation_sql); the others are None in the
    rows, a partial read (decoding the timestamps a selection does not show cost about a tenth of
    the request). The chats' id, the order's key and the relations' join keys are always read.

    One hand-written statement for the page and its relations (plus the count, the search
    index check when searching): this is what consoles and partners poll; built with Tortoise
    and hydrated into models, the page cost more CPU than the database spent on it."""
    filter = filter or ConversationFilter()
    if filter.search:
        check_text(filter.search, ["filter", "search"], SEARCH_LENGTH)
    keyset = KEYSETS[ConversationOrder(order)]
    window = keyset_window(keyset, first=first, after=after, last=last, before=before)
    if filter.search and filter.search.strip():
        await search.ensure_ready()
    values: list[Any] = []
    # the viewer's and the filter's ids written in: the first page's statement is planned once
    ids = ids_inline(values)
    where = " AND ".join(_conditions(viewer, filter, ids))
    filtered = list(values)  # the window's statement adds its bounds and relations after them

    async def count_total() -> int:
        rows = await raw_sql.records(default_connection(), f"SELECT COUNT(*) FROM chat c WHERE {where}",
                                     *filtered)
        return int(rows[0][0])

    total = await count_total() if with_total else None
    sql, read_relations = _window_sql(viewer, where, window, relations, ids, numbered(values), with_cursors,
                                      chat_columns, relation_columns)
    found = await raw_sql.records(default_connection(), sql, *values)
    chats = [_read_chat(record) for record in found]
    if keyset.key in columns(ChatRow):
        page = keyset_page(window, chats, total, with_cursors=with_cursors)
    else:  # the key is computed by the statement (`_KEY_SQL`): read beside the chat
        keys = {record["id"]: record[keyset.key] for record in found}
        page = keyset_page(window, chats, total, with_cursors=with_cursors, key_of=lambda chat: keys[chat.id])
    page.relations = read_relations(found)
    if not with_total:
        page.count_total = count_total
    return page


_read_chat = row_reader(ChatRow)


def _window_sql(viewer: Viewer, where: str, window: KeysetWindow, relations: Set[str],
                ids: Callable[[Any], str], param: Callable[[Any], str], with_cursors: bool = True,
                chat_columns: Set[str] | None = None, relation_columns: Mapping[str, Set[str]] | None = None,
                ) -> tuple[str, Callable]:
    """The statement of the window's chats (those passing `where`) in the order the window reads
    them, with the relations asked for, and the function reading those (chat_relations.with_relations).
    `ids` adds the relations' values (the viewer's id, written in), `param` the bounds' (placeholders).
    `with_cursors`, `chat_columns`, `relation_columns`: as conversations takes them.

    The keyset's key orders the rows; it comes back in them only for the cursors or when the caller
    reads it (a timestamp costs the driver about 4,700 instructions to decode: 51 per first page)."""
    key = _KEY_SQL[window.keyset.key]
    bounds, order = keyset_sql(window, key, param)
    name = window.keyset.key
    shown = None if chat_columns is None else {*chat_columns, "id"}
    hidden = not with_cursors and shown is not None and name not in shown
    if shown is None:
        read = None
    elif hidden and not relations:  # the statement is this one: its ORDER BY reads the table's column, `c.<key>`
        read = shown
    else:  # with relations, the outer statement orders by the key the inner one read
        read = {*shown, name}
    selected = select_list(ChatRow, "c", with_join_keys(read, relations))
    computed = name not in columns(ChatRow)  # a key the statement computes (`_KEY_SQL`): returned as it is
    added = f", {key} AS {name}" if computed else ""
    chats = f"SELECT {selected}{added} FROM chat c WHERE {' AND '.join([where, *bounds])} {order}"
    direction = "DESC" if window.descending else "ASC"
    outer = "c.*" if not hidden else \
        select_list(ChatRow, "c", with_join_keys(shown, relations)) + (f", c.{name} AS {name}" if computed else "")
    return with_relations(viewer, chats, relations, ids, f"c.{name} {direction}, c.id {direction}",
                          relation_columns, outer)


@text_input()
async def start_conversation(viewer: Viewer, *, client_id: int, open_channel_id: int, text: str | None = None) -> Chat:
    """An outbound conversation with a known client on a chosen channel: ACTIVE at once, the caller
    responsible. The client must be one the caller may see (through one of their chats), and the
    caller a member of the channel's queue (supervisors and admins: any)."""
    me = require_operator(viewer)
    body = clean_text(text, ["input", "text"]) if text is not None else None
    async with unit_of_work(viewer) as uow:
        if not await client_policy.can_read(viewer, client_id, uow.tx) and not (
            viewer.is_supervisor and await Client.filter(id=client_id).using_db(uow.tx).exists()
        ):
            raise NotFound("No such client.", field=["input", "clientId"])
        channel = await OpenChannel.get_or_none(id=open_channel_id, using_db=uow.tx)
        if channel is None:
            raise NotFound("No such open channel.", field=["input", "openChannelId"])
        if not await open_channel_policy.can_act(viewer, channel.id, uow.tx):
            raise Forbidden("You are not in this open channel's queue.", field=["input", "openChannelId"])
        client = await Client.get(id=client_id, using_db=uow.tx)
        at = queue.now()
        chat = Chat(title=client.name, status=ChatStatus.ACTIVE, open_channel_id=channel.id, client_id=client.id,
                    operator_id=me, answered_at=at, last_activity_at=at, first_response_at=at if body else None)
        chat.auto_close_at = auto_close_deadline(chat, channel)
        await chat.save(using_db=uow.tx)
        await ChatParticipant.create(using_db=uow.tx, chat_id=chat.id, operator_id=me)
        uow.record("CONVERSATION_STARTED", chat=chat, chat_kind="CHAT_UPDATED", operator_ids=[me])
        if body:
            message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.OPERATOR,
                                           author_id=me, text=body)
            await ReadMarker.create(using_db=uow.tx, chat_id=chat.id, operator_id=me,
                                    last_read_message_id=message.id)
            uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id, operator_ids=[me])
    return chat


def chats_of_client(viewer: Viewer, client_id: int) -> QuerySet[Chat]:
    """The client's conversations the viewer may see (a visitor: their own)."""
    return visible_chats(viewer).filter(kind=ChatKind.CUSTOMER, client_id=client_id)


async def client_chats(viewer: Viewer, *, client_id: int, first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None) -> Page[Chat]:
    """Every conversation with the client the viewer may see, newest first."""
    return await paginate_keyset(chats_of_client(viewer, client_id), KEYSETS[ConversationOrder.NEWEST],
                                 first=first, after=after, last=last, before=before)


async def get_client(viewer: Viewer, client_id: int) -> Client | None:
    """A client is visible to whoever may see one of their chats (supervisors: every client)."""
    require_operator(viewer)
    if viewer.is_supervisor or await client_policy.can_read(viewer, client_id):
        return await Client.get_or_none(id=client_id)
    return None



async def client_messages(viewer: Viewer, *, client_id: int, search_text: str | None = None,
                          created_from: datetime | None = None, created_to: datetime | None = None,
                          first: int | None = None, after: str | None = None, last: int | None = None,
                          before: str | None = None) -> Page[Message]:
    """The message history with the client across every conversation the viewer may see, oldest
    first, narrowed to messages holding every word of `search_text` and written in [from, to)."""
    # a visitor reading their own history: never a silent note
    query = message_policy.of_chats(viewer, Subquery(chats_of_client(viewer, client_id).values("id"))) \
        .filter(deleted=False)
    if created_from is not None:
        query = query.filter(created_at__gte=created_from)
    if created_to is not None:
        query = query.filter(created_at__lt=created_to)
    query = await search.search_in(query, search_text)
    return await paginate(query, first=first, after=after, last=last, before=before)
