"""Contact center > Conversations: every customer conversation the viewer may see, filtered
and ordered, one keyset page at a time, and an outbound conversation an operator starts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from tortoise.expressions import F, Subquery
from tortoise.functions import Coalesce
from tortoise.queryset import QuerySet

from models import (
    Chat, ChatKind, ChatParticipant, ChatStatus, Client, Message, MessageAuthorKind, OpenChannel, QueueMember,
    ReadMarker,
)
from services import queue, search
from services.access import visible_chats
from services.chats import auto_close_deadline
from services.errors import Forbidden, NotFound
from services.events import unit_of_work
from services.messages import clean_text
from services.pagination import Keyset, Page, paginate, paginate_keyset
from services.viewer import Viewer, require_operator
from services.text_input import SEARCH_LENGTH, check_text, text_input


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


def customer_chats(viewer: Viewer) -> QuerySet[Chat]:
    """Customer conversations the viewer may see (operators only)."""
    require_operator(viewer)
    return visible_chats(viewer).filter(kind=ChatKind.CUSTOMER)


def apply_filter(query: QuerySet[Chat], f: ConversationFilter) -> QuerySet[Chat]:
    if f.statuses is not None:
        query = query.filter(status__in=list(f.statuses))
    if f.open_channel_ids is not None:
        query = query.filter(open_channel_id__in=f.open_channel_ids)
    if f.operator_ids is not None:
        query = query.filter(operator_id__in=f.operator_ids)
    if f.client_id is not None:
        query = query.filter(client_id=f.client_id)
    if f.created_from is not None:
        query = query.filter(created_at__gte=f.created_from)
    if f.created_to is not None:
        query = query.filter(created_at__lt=f.created_to)
    if f.pinned is not None:
        query = query.filter(pinned=f.pinned)
    if f.waiting_first_response is not None:
        query = query.filter(first_response_at__isnull=f.waiting_first_response)
    if f.search is not None and f.search.strip():
        query = query.filter(search.chats_matching(f.search))
    return query


@text_input(after=SEARCH_LENGTH, before=SEARCH_LENGTH)
async def conversations(
    viewer: Viewer, *, filter: ConversationFilter | None = None, order: ConversationOrder = ConversationOrder.NEWEST,
    first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    with_total: bool = True,
) -> Page[Chat]:
    """One page of the conversations list, with the total of the filtered list (without
    `with_total`, left for `Page.count_total`: counting every visible chat is the dearest part).
    Two statements (plus the search index check when searching)."""
    if filter is not None and filter.search:
        check_text(filter.search, ["filter", "search"], SEARCH_LENGTH)
    query = apply_filter(customer_chats(viewer), filter or ConversationFilter())
    if filter is not None and filter.search and filter.search.strip():
        await search.ensure_ready()
    keyset = KEYSETS[ConversationOrder(order)]
    if keyset.key == "activity_at":
        query = query.annotate(activity_at=Coalesce("last_activity_at", F("created_at")))
    return await paginate_keyset(query, keyset, first=first, after=after, last=last, before=before,
                                 with_total=with_total)


@text_input()
async def start_conversation(viewer: Viewer, *, client_id: int, open_channel_id: int, text: str | None = None) -> Chat:
    """An outbound conversation with a known client on a chosen channel: ACTIVE at once, the caller
    responsible. The client must be one the caller may see (through one of their chats), and the
    caller a member of the channel's queue (supervisors and admins: any)."""
    me = require_operator(viewer)
    body = clean_text(text, ["input", "text"]) if text is not None else None
    async with unit_of_work() as uow:
        if not await visible_chats(viewer).filter(client_id=client_id).using_db(uow.tx).exists() and not (
            viewer.is_supervisor and await Client.filter(id=client_id).using_db(uow.tx).exists()
        ):
            raise NotFound("No such client.", field=["input", "clientId"])
        channel = await OpenChannel.get_or_none(id=open_channel_id).using_db(uow.tx)
        if channel is None:
            raise NotFound("No such open channel.", field=["input", "openChannelId"])
        if not viewer.is_supervisor and not await QueueMember.filter(
            open_channel_id=channel.id, operator_id=me
        ).using_db(uow.tx).exists():
            raise Forbidden("You are not in this open channel's queue.", field=["input", "openChannelId"])
        client = await Client.get(id=client_id).using_db(uow.tx)
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
    if viewer.is_supervisor or await visible_chats(viewer).filter(client_id=client_id).exists():
        return await Client.get_or_none(id=client_id)
    return None



async def client_messages(viewer: Viewer, *, client_id: int, search_text: str | None = None,
                          created_from: datetime | None = None, created_to: datetime | None = None,
                          first: int | None = None, after: str | None = None, last: int | None = None,
                          before: str | None = None) -> Page[Message]:
    """The message history with the client across every conversation the viewer may see, oldest
    first, narrowed to messages holding every word of `search_text` and written in [from, to)."""
    query = Message.filter(chat_id__in=Subquery(chats_of_client(viewer, client_id).values("id")), deleted=False)
    if not viewer.is_operator:  # a visitor reading their own history: never a silent note
        query = query.filter(silent=False)
    if created_from is not None:
        query = query.filter(created_at__gte=created_from)
    if created_to is not None:
        query = query.filter(created_at__lt=created_to)
    query = await search.search_in(query, search_text)
    return await paginate(query, first=first, after=after, last=last, before=before)
