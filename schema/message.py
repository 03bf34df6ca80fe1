from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, PageInfo, page_info_of
from schema.enums import MessageAuthorKind
from schema.ids import to_global_id
from schema.operator import Operator
from services.pagination import Page, encode_cursor

if TYPE_CHECKING:
    from schema.chat import Chat


@strawberry.type
class Attachment(Node):
    id: strawberry.ID
    name: str
    content_type: str
    size: int
    url: str


@strawberry.type
class Message(Node):
    id: strawberry.ID
    author_kind: MessageAuthorKind
    text: str = strawberry.field(
        description="Source text, with formatting commands such as [b]...[/b], [i]...[/i], [quote]...[/quote]."
    )
    silent: bool = strawberry.field(description="Visible to operators only.")
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    pk: strawberry.Private[int]
    chat_pk: strawberry.Private[int]
    author_pk: strawberry.Private[int | None]

    @strawberry.field(description="The text rendered to safe HTML (escaped; formatting commands arrive later).")
    def html(self) -> str:
        return escape(self.text).replace("\n", "<br>")

    @strawberry.field
    async def chat(self, info: Info) -> Annotated["Chat", strawberry.lazy("schema.chat")]:
        from schema.chat import Chat

        return Chat.from_model(await info.context.loaders.chat.load(self.chat_pk))

    @strawberry.field(description="The operator who wrote it, when authorKind is OPERATOR.")
    async def author(self, info: Info) -> Operator | None:
        if self.author_pk is None:
            return None
        operator = await info.context.loaders.operator.load(self.author_pk)
        return Operator.from_model(operator) if operator else None

    @strawberry.field(description="Files attached to the message (uploads arrive with a later release).")
    def attachments(self) -> list[Attachment]:
        return []

    @strawberry.field(description="The message this one replies to.")
    def reply_to(self) -> "Message | None":
        return None

    @strawberry.field(description="The message this one quotes.")
    def quoted_message(self) -> "Message | None":
        return None

    @strawberry.field(description="Operators mentioned in the message.")
    def mentions(self) -> list[Operator]:
        return []

    @classmethod
    def from_model(cls, message: models.Message) -> "Message":
        return cls(
            id=strawberry.ID(to_global_id("Message", message.id)), pk=message.id, chat_pk=message.chat_id,
            author_pk=message.author_id, author_kind=message.author_kind, text=message.text, silent=message.silent,
            created_at=message.created_at, edited_at=message.edited_at, deleted=message.deleted,
        )


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page) -> "MessageConnection":
        edges = [MessageEdge(cursor=encode_cursor(m.id), node=Message.from_model(m)) for m in page.rows]
        return cls(edges=edges, total_count=page.total_count,
                   page_info=page_info_of(page, [e.cursor for e in edges]))
