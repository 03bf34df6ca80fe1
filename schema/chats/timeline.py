"""`Chat.timeline`: the chat's events, oldest first, with who did them (services/chats/timeline.py)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from resolvers.chats import relations as r
from resolvers.pages import Page
from schema.chats.events import ChatState
from schema.chats.message import Message
from schema.chats.operator import Operator
from schema.common import PageInfo, page_info_of, provides

if TYPE_CHECKING:
    from services.chats.timeline import TimelineEntry


@strawberry.type(description="One entry of a chat's timeline.")
class ChatTimelineEntry:
    event_id: str
    kind: str = strawberry.field(description="The event kind, a QueueEventKind or ChatEventKind name.")
    occurred_at: datetime
    state: ChatState
    message: Message | None
    detail: str | None = strawberry.field(
        description="For transfers: the comment; for renames: the old title; for rules: which rule.")
    actor_pk: strawberry.Private[int | None]

    @strawberry.field(description="Who did it; null for the client and the system (timers, rules).")
    async def actor(self, info: Info) -> Operator | None:
        if self.actor_pk is None:
            return None
        operator = await r.operator(info, self.actor_pk)
        return Operator.from_model(operator) if operator else None

    @classmethod
    def from_entry(cls, entry: TimelineEntry) -> "ChatTimelineEntry":
        return cls(event_id=str(entry.id), kind=entry.kind, occurred_at=entry.event.created_at,
                   state=ChatState.from_record(entry.state),
                   message=Message.from_model(entry.message) if entry.message is not None else None,
                   detail=entry.detail, actor_pk=entry.event.actor_id)


@strawberry.type
class ChatTimelineEdge:
    cursor: str
    node: ChatTimelineEntry


@strawberry.type
class ChatTimelineConnection:
    edges: list[ChatTimelineEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page) -> "ChatTimelineConnection":
        assert page.cursors is not None  # through resolvers/pages.with_cursors
        edges = [ChatTimelineEdge(cursor=cursor, node=ChatTimelineEntry.from_entry(entry))
                 for cursor, entry in zip(page.cursors, page.rows)]
        return cls(edges=edges, page_info=page_info_of(page, page.cursors), total_count=page.total_count or 0)


provides("ChatTimelineConnection", ChatTimelineConnection.from_page)
