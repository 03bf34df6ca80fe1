from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models
from infrastructure.file_storage import FileSettings
from schema.common import Node, PageInfo, build, instance, page_info_of, provides
from schema.enums import MessageAuthorKind
from resolvers.ids import to_global_id
from schema.chats.operator import Operator
from resolvers.chats import relations as rc
from resolvers.messaging import relations as rm
from resolvers.pages import Page

if TYPE_CHECKING:
    from schema.chats.chat import Chat
    from services.chats.read_models import MessageRow


@strawberry.type
class Attachment(Node):
    id: strawberry.ID
    name: str
    content_type: str = strawberry.field(description="Sniffed from the file's bytes, not taken from the client.")
    size: int = strawberry.field(description="In bytes.")
    path: strawberry.Private[str]

    @strawberry.field(
        description="Where to fetch the file: an absolute URL (PUBLIC_URL, or the address the request was sent to). "
                    "Operators send their token with the request; a visitor's link is signed and expires "
                    "(FILE_URL_TTL_SECONDS)."
    )
    def url(self, info: Info) -> str:
        return info.context.absolute_url(self.path)

    @classmethod
    def from_model(cls, attachment: models.Attachment, viewer: Any, file_settings: FileSettings) -> "Attachment":
        return cls(id=strawberry.ID(to_global_id("Attachment", attachment.id)), name=attachment.name,
                   content_type=attachment.content_type, size=attachment.size,
                   path=rm.attachment_path(viewer, attachment, file_settings))


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

    #: set when this object is the snapshot a quote keeps (not the live message)
    snapshot: strawberry.Private[bool] = False
    #: the message's chat (a model) when the list resolver read it with the page (a search hit: Page.relations)
    read_chat: strawberry.Private[Any] = None

    @strawberry.field(description="The text rendered to safe HTML (escaped, formatting applied, mentions linked).")
    async def html(self, info: Info) -> str:
        return await rm.html(info, self.text, self.pk, self.author_pk, self.snapshot)

    @strawberry.field
    def chat(self, info: Info) -> Annotated["Chat", strawberry.lazy("schema.chats.chat")]:
        # a sync resolver: the chat read with the page is returned as is. An awaitable here, even of a primed
        # DataLoader, made graphql-core gather a task per message: two more turns of the event loop for the page,
        # each behind every callback ready then (under B3's writers, a few ms each: issue #18's B4w)
        if self.read_chat is not None and not self.snapshot:
            return build("Chat", self.read_chat)
        return self._load_chat(info)  # type: ignore[return-value]  # an awaitable: graphql-core awaits it

    async def _load_chat(self, info: Info) -> Any:
        if self.snapshot:
            # a quote may come from a chat the reader may not see (discussMessageInChat): the quote's
            # text is shared, the chat is not (NOT_FOUND, as for every chat one may not see)
            return build("Chat", await rc.visible_chat(info, self.chat_pk))
        chat = await rc.chat(info, self.chat_pk)
        assert chat is not None  # the foreign key cascades: a message's chat exists
        return build("Chat", chat)

    @strawberry.field(description="The event that added this message: pass it as `after` to messageAdded (a "
                                  "message written without an event of its own, such as a transfer's comment: the "
                                  "event of the message before it).")
    async def event_id(self, info: Info) -> str:
        return await rm.event_id(info, self.pk, self.chat_pk)

    @strawberry.field(description="The operator who wrote it, when authorKind is OPERATOR.")
    async def author(self, info: Info) -> Operator | None:
        if self.author_pk is None:
            return None
        operator = await rc.operator(info, self.author_pk)
        return Operator.from_model(operator) if operator else None

    @strawberry.field(description="Files attached to the message (none once it is deleted).")
    async def attachments(self, info: Info) -> list[Attachment]:
        if self.snapshot or self.deleted:
            return []
        rows = await rm.attachments(info, self.pk)
        return [Attachment.from_model(row, info.context.viewer, info.context.platform.files) for row in rows]

    @strawberry.field(description="The message this one replies to (in the same chat).")
    async def reply_to(self, info: Info) -> "Message | None":
        if self.snapshot:
            return None
        original = await rm.reply_to(info, self.pk)
        return Message.from_model(original) if original else None

    @strawberry.field(description="The message this one quotes, as it read when quoted (later edits and deletion "
                                  "of the original do not change the quote).")
    async def quoted_message(self, info: Info) -> "Message | None":
        if self.snapshot:
            return None
        reference = await rm.quote(info, self.pk)
        return Message.from_quote(reference) if reference else None

    @strawberry.field(description="Operators mentioned in the message.")
    async def mentions(self, info: Info) -> list[Operator]:
        if self.snapshot:
            return []
        return [Operator.from_model(o) for o in await rm.mentions(info, self.pk)]

    @classmethod
    def from_quote(cls, reference: models.MessageReference) -> "Message":
        """The quoted message as it was when quoted."""
        pk = reference.quoted_message_id or 0
        assert reference.quoted_created_at is not None  # written with every quote (services/messaging/messaging.py)
        return cls(
            id=strawberry.ID(to_global_id("Message", pk)), pk=pk, chat_pk=reference.quoted_chat_id or 0,
            author_pk=reference.quoted_author_id, author_kind=reference.quoted_author_kind,
            text=reference.quoted_text or "", silent=reference.quoted_silent, created_at=reference.quoted_created_at,
            edited_at=None, deleted=False, snapshot=True,
        )

    @classmethod
    def from_model(cls, message: MessageRow | models.Message, chat: models.Chat | None = None) -> "Message":
        """From the read model (a last message, a search hit: services/chats/read_models.py), or a
        model: the same attributes; `chat`: the message's chat, when read with it."""
        return instance(cls, {
            "id": strawberry.ID(to_global_id("Message", message.id)), "pk": message.id, "chat_pk": message.chat_id,
            "author_pk": message.author_id, "author_kind": message.author_kind, "text": message.text,
            "silent": message.silent, "created_at": message.created_at, "edited_at": message.edited_at,
            "deleted": message.deleted, "snapshot": False, "read_chat": chat,
        })


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo
    #: the page's Page (services/common/pagination.py): its total_count, or its count_total when
    #: the total was left out
    page: strawberry.Private[Page]

    @strawberry.field
    def total_count(self) -> int:
        """Counted with the page, or, for a page read without it (a search), only when asked for."""
        # an awaitable when the total was left out: graphql-core awaits it; the annotation is the GraphQL type
        return self.page.total()  # type: ignore[return-value]

    @classmethod
    def from_page(cls, page: Page) -> "MessageConnection":
        """`page`: with its rows' cursors (resolvers/pages.py)."""
        assert page.cursors is not None  # every connection's page comes through resolvers/pages.with_cursors
        edges = [MessageEdge(cursor=cursor, node=Message.from_model(m)) for cursor, m in zip(page.cursors, page.rows)]
        return cls(edges=edges, page=page, page_info=page_info_of(page, [e.cursor for e in edges]))


provides("MessageConnection", MessageConnection.from_page)
