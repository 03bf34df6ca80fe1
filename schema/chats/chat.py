from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models
from schema.chats.client import Client
from schema.common import Node, PageInfo, build, instance, page_info_of, provides
from schema.chats.labels import Label
from schema.chats.sla import ChatSla
from schema.enums import ChatKind, ChatPriority, ChatStatus, ChatVote
from resolvers.ids import to_global_id
from schema.chats.message import Message, MessageConnection
from schema.chats.open_channel import OpenChannel
from schema.event_cursor import event_cursor
from schema.plain_execution import prefetched_field
from schema.chats.operator import Operator
from schema.contact_center.sales import Order, orders_of_chat
from resolvers.chats import relations as r
from resolvers.pages import Page

if TYPE_CHECKING:
    from schema.chats.timeline import ChatTimelineConnection
    from services.chats.read_models import ChatRow


@strawberry.type
class ChatRating:
    vote: ChatVote
    comment: str | None
    rated_at: datetime


@strawberry.type
class Chat(Node):
    id: strawberry.ID
    number: int = strawberry.field(description="Human conversation number, unique and increasing.")
    kind: ChatKind
    title: str
    status: ChatStatus
    pinned: bool = strawberry.field(
        description="Locked as mine: stays with its operator whatever the queue settings; no auto-close."
    )
    waiting_first_response: bool = strawberry.field(description="No operator has yet sent a visible reply.")
    priority: ChatPriority = strawberry.field(
        description="Urgency, set by operators: the queue offers higher priorities first.")
    created_at: datetime
    answered_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    auto_close_at: datetime | None
    pk: strawberry.Private[int]
    channel_pk: strawberry.Private[int | None]
    client_pk: strawberry.Private[int | None]
    operator_pk: strawberry.Private[int | None]
    parent_pk: strawberry.Private[int | None]

    #: relations a list resolver loaded for the whole page (resolvers/prefetch.py), by field name
    prefetched: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    # The relations below are sync resolvers: a prefetched value is returned as is (no await);
    # otherwise they return the awaitable that loads it through the request's DataLoader.
    # `prefetched_field` lets schema/plain_execution.py read the prefetched value without them.

    @strawberry.field(description="The newest event this chat's answer reflects: pass it as `after` to chatEvents.")
    def event_cursor(self, info: Info) -> str:
        return event_cursor(info)  # type: ignore[return-value]  # an awaitable in messageAdded: graphql-core awaits it

    @strawberry.field(metadata=prefetched_field("open_channel"))
    def open_channel(self, info: Info) -> OpenChannel | None:
        return self._prefetched_or("open_channel", self._load_open_channel, info)

    @strawberry.field(metadata=prefetched_field("client"))
    def client(self, info: Info) -> Client | None:
        return self._prefetched_or("client", self._load_client, info)

    @strawberry.field(description="The operator responsible for the chat.", metadata=prefetched_field("operator"))
    def operator(self, info: Info) -> Operator | None:
        return self._prefetched_or("operator", self._load_operator, info)

    def _prefetched_or(self, name: str, load: Any, info: Info) -> Any:
        return self.prefetched[name] if name in self.prefetched else load(info)

    async def _load_open_channel(self, info: Info) -> OpenChannel | None:
        if self.channel_pk is None:
            return None
        channel = await r.open_channel(info, self.channel_pk)
        return OpenChannel.from_model(channel) if channel else None

    async def _load_client(self, info: Info) -> Client | None:
        if self.client_pk is None:
            return None
        client = await r.client(info, self.client_pk)
        return Client.from_model(client) if client else None

    async def _load_operator(self, info: Info) -> Operator | None:
        if self.operator_pk is None:
            return None
        operator = await r.operator(info, self.operator_pk)
        return Operator.from_model(operator) if operator else None

    @strawberry.field(description="Operators the queued chat is currently offered to.")
    async def offered_to(self, info: Info) -> list[Operator]:
        return [Operator.from_model(o) for o in await r.offered_to(info, self.pk)]

    @strawberry.field(description="Everyone on the operator side: the responsible operator and added colleagues.")
    async def participants(self, info: Info) -> list[Operator]:
        return [Operator.from_model(o) for o in await r.participants(info, self.pk)]

    @strawberry.field(description="Unread messages for the viewer.", metadata=prefetched_field("unread_count"))
    def unread_count(self, info: Info) -> int:
        return self._prefetched_or("unread_count", lambda i: r.unread_count(i, self.pk), info)

    @strawberry.field(metadata=prefetched_field("last_message"))
    def last_message(self, info: Info) -> Message | None:
        return self._prefetched_or("last_message", self._load_last_message, info)

    async def _load_last_message(self, info: Info) -> Message | None:
        message = await r.last_message(info, self.pk)
        return Message.from_model(message) if message else None

    @strawberry.field(description="The chat's messages, oldest first (silent notes only for operators).")
    async def messages(self, info: Info, first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None) -> MessageConnection:
        return MessageConnection.from_page(await r.chat_messages(info, self.pk, first=first, after=after,
                                                                 last=last, before=before))

    @strawberry.field(description="The chat this one was started from (start a new conversation, discuss in a chat).")
    async def parent_chat(self, info: Info) -> "Chat | None":
        if self.parent_pk is None:
            return None
        parent = await r.visible_chat_or_none(info, self.parent_pk)
        return Chat.from_model(parent) if parent else None

    @strawberry.field(description="The client's rating of the finished chat; null until they rate it.")
    async def rating(self, info: Info) -> ChatRating | None:
        row = await r.rating(info, self.pk)
        return ChatRating(vote=ChatVote(row.vote), comment=row.comment, rated_at=row.rated_at) if row else None

    @strawberry.field(description="The chat's labels, by name (operators only: a visitor sees none).")
    async def labels(self, info: Info) -> list[Label]:
        return [Label.from_model(label) for label in await r.labels(info, self.pk)]

    @strawberry.field(description="Service-level targets and their due times; null when the chat has none (its "
                                  "channel had no policy when it started) and for a visitor.")
    async def sla(self, info: Info) -> ChatSla | None:
        row = await r.chat_sla(info, self.pk)
        return ChatSla.from_model(row) if row is not None else None

    @strawberry.field(description="Position in its queue (1 = next, in the order the queue offers chats: priority, "
                                  "then the oldest), null unless QUEUED.")
    async def queue_position(self, info: Info) -> int | None:
        if self.status != models.ChatStatus.QUEUED or self.channel_pk is None:
            return None
        return await r.queue_position(info, self.pk)

    @strawberry.field(description="Estimated seconds until an operator answers, from recent answer times (the median "
                                  "wait of the channel's latest answered chats, less the time already waited); null "
                                  "unless QUEUED or unknown.")
    async def estimated_wait_seconds(self, info: Info) -> int | None:
        if self.status != models.ChatStatus.QUEUED or self.channel_pk is None:
            return None
        return await r.estimated_wait_seconds(info, self.channel_pk, self.created_at)

    @strawberry.field(description="What happened in this chat, oldest first, with who did it: the audit trail "
                                  "(operators; a visitor's is empty).")
    async def timeline(self, info: Info, first: int | None = None, after: str | None = None
                       ) -> Annotated["ChatTimelineConnection", strawberry.lazy("schema.chats.timeline")]:
        return build("ChatTimelineConnection", await r.chat_timeline(info, self.pk, first=first, after=after))

    @strawberry.field(description="Orders placed in this chat, oldest first.")
    async def orders(self, info: Info) -> list[Order]:
        return await orders_of_chat(info, self.pk)

    @classmethod
    def from_model(cls, chat: ChatRow | models.Chat) -> "Chat":
        """From a list's read model (services/chats/read_models.py), or a model: the same attributes."""
        return instance(cls, {
            "id": strawberry.ID(to_global_id("Chat", chat.id)), "pk": chat.id, "number": chat.id, "kind": chat.kind,
            "title": chat.title, "status": chat.status, "pinned": chat.pinned, "priority": chat.priority,
            "waiting_first_response": chat.first_response_at is None, "created_at": chat.created_at,
            "answered_at": chat.answered_at, "first_response_at": chat.first_response_at,
            "closed_at": chat.closed_at, "auto_close_at": chat.auto_close_at, "channel_pk": chat.open_channel_id,
            "client_pk": chat.client_id, "operator_pk": chat.operator_id, "parent_pk": chat.parent_chat_id,
            "prefetched": {},
        })


@strawberry.type
class ChatEdge:
    cursor: str
    node: Chat


@strawberry.type
class ChatConnection:
    edges: list[ChatEdge]
    page_info: PageInfo
    #: the page's Page (services/common/pagination.py): its total_count, or its count_total when
    #: the total was left out
    page: strawberry.Private[Page]

    @strawberry.field(description="The newest event this page reflects (pass it as `after` to queueChanged).")
    def event_cursor(self, info: Info) -> str:
        return event_cursor(info)  # type: ignore[return-value]  # an awaitable in messageAdded: graphql-core awaits it

    @strawberry.field
    def total_count(self) -> int:
        """Counted with the page, or, for a page read without it (conversations), only when asked for."""
        # an awaitable when the total was left out: graphql-core awaits it; the annotation is the GraphQL type
        return self.page.total()  # type: ignore[return-value]

    @classmethod
    def from_page(cls, page: Page) -> "ChatConnection":
        """`page`: with its rows' cursors (resolvers/pages.py)."""
        assert page.cursors is not None  # every connection's page comes through resolvers/pages.with_cursors
        edges = [ChatEdge(cursor=cursor, node=Chat.from_model(c)) for cursor, c in zip(page.cursors, page.rows)]
        return cls(edges=edges, page=page, page_info=page_info_of(page, [e.cursor for e in edges]))


@strawberry.type(description="The messenger sidebar: my chats, grouped.")
class MyChats:
    offered: list[Chat] = strawberry.field(description="Customer chats offered to me that I have not answered yet.")
    waiting_first_response: list[Chat] = strawberry.field(
        description="My answered customer chats still waiting for my first reply "
        "(empty when my preference groupWaitingFirstResponse is off: they are then in `active`)."
    )
    active: list[Chat] = strawberry.field(description="My other active customer chats.")
    internal: list[Chat] = strawberry.field(description="Colleague chats I take part in.")

    @strawberry.field(description="The newest event this answer reflects: pass it as `after` to myChatsChanged "
                                  "and nothing between the query and the subscription is missed.")
    def event_cursor(self, info: Info) -> str:
        return event_cursor(info)  # type: ignore[return-value]  # an awaitable in messageAdded: graphql-core awaits it


provides("Chat", Chat.from_model)
provides("ChatConnection", ChatConnection.from_page)
