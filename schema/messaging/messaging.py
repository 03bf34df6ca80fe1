"""Types of what an operator does with messages: commands, smileys, GIFs, canned responses,
tasks, feed posts, and their payloads and inputs."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

import models
from schema.common import Node, UserError
from resolvers.ids import to_global_id
from schema.chats.message import Attachment, Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator
from resolvers.chats import relations as rc
from resolvers.messaging import relations as rm

if TYPE_CHECKING:
    from services.messaging import formatting
    from services.messaging import gifs


@strawberry.type
class MessageCommand:
    command: str = strawberry.field(description="What to type, e.g. [i] or /me.")
    description: str
    example: str

    @classmethod
    def from_domain(cls, command: formatting.MessageCommand) -> "MessageCommand":
        return cls(command=command.command, description=command.description, example=command.example)


@strawberry.type
class Smiley:
    code: str
    emoji: str
    name: str

    @classmethod
    def from_domain(cls, smiley: formatting.Smiley) -> "Smiley":
        return cls(code=smiley.code, emoji=smiley.emoji, name=smiley.name)


@strawberry.type
class Gif:
    id: str
    title: str
    url: str
    preview_url: str

    @classmethod
    def from_domain(cls, gif: gifs.Gif) -> "Gif":
        return cls(id=gif.id, title=gif.title, url=gif.url, preview_url=gif.preview_url)


async def _operator(info: Info, pk: int | None) -> Operator | None:
    if pk is None:
        return None
    found = await rc.operator(info, pk)
    return Operator.from_model(found) if found else None


async def _readable_message(info: Info, pk: int | None) -> Message | None:
    if pk is None:
        return None
    found = await rm.readable_message(info, pk)
    return Message.from_model(found) if found else None


@strawberry.type
class CannedResponse(Node):
    id: strawberry.ID
    title: str
    text: str = strawberry.field(description="May hold placeholders, filled when sent: "
                                             + ", ".join("{" + p + "}" for p in ("client.name", "operator.name",
                                                                                  "chat.title", "openChannel.name")))
    silent: bool = strawberry.field(description="Saved from a silent note: `sendCannedResponse` sends it as a silent "
                                                "note (operators only), never to the client.")
    open_channel_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]

    @strawberry.field(description="Shared with this open channel's queue; null: personal.")
    async def open_channel(self, info: Info) -> OpenChannel | None:
        if self.open_channel_pk is None:
            return None
        channel = await rc.open_channel(info, self.open_channel_pk)
        return OpenChannel.from_model(channel) if channel else None

    @strawberry.field
    async def created_by(self, info: Info) -> Operator | None:
        return await _operator(info, self.created_by_pk)

    @classmethod
    def from_model(cls, canned: models.CannedResponse) -> "CannedResponse":
        return cls(id=strawberry.ID(to_global_id("CannedResponse", canned.id)), title=canned.title, text=canned.text,
                   silent=canned.silent, open_channel_pk=canned.open_channel_id, created_by_pk=canned.created_by_id)


@strawberry.enum
class TaskStatus(Enum):
    OPEN = "OPEN"
    DONE = "DONE"


@strawberry.type
class Task(Node):
    id: strawberry.ID
    title: str
    description: str
    status: TaskStatus
    deadline: datetime | None
    created_at: datetime
    responsible_pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int]
    source_message_pk: strawberry.Private[int | None]

    @strawberry.field
    async def responsible(self, info: Info) -> Operator:
        found = await _operator(info, self.responsible_pk)
        assert found is not None  # the foreign key cascades: the operator exists
        return found

    @strawberry.field
    async def created_by(self, info: Info) -> Operator:
        found = await _operator(info, self.created_by_pk)
        assert found is not None  # the foreign key cascades: the operator exists
        return found

    @strawberry.field(description="The message the task was made from (null if you may not read it).")
    async def source_message(self, info: Info) -> Message | None:
        return await _readable_message(info, self.source_message_pk)

    @classmethod
    def from_model(cls, task: models.Task) -> "Task":
        return cls(id=strawberry.ID(to_global_id("Task", task.id)), title=task.title, description=task.description,
                   status=TaskStatus(task.status.value), deadline=task.deadline, created_at=task.created_at,
                   responsible_pk=task.responsible_id, created_by_pk=task.created_by_id,
                   source_message_pk=task.source_message_id)


@strawberry.type
class FeedPost(Node):
    id: strawberry.ID
    text: str
    created_at: datetime
    author_pk: strawberry.Private[int]
    source_message_pk: strawberry.Private[int | None]

    @strawberry.field
    async def author(self, info: Info) -> Operator:
        found = await _operator(info, self.author_pk)
        assert found is not None  # the foreign key cascades: the operator exists
        return found

    @strawberry.field(description="The message the post shares (null if you may not read it).")
    async def source_message(self, info: Info) -> Message | None:
        return await _readable_message(info, self.source_message_pk)

    @classmethod
    def from_model(cls, post: models.FeedPost) -> "FeedPost":
        return cls(id=strawberry.ID(to_global_id("FeedPost", post.id)), text=post.text, created_at=post.created_at,
                   author_pk=post.author_id, source_message_pk=post.source_message_id)


# ---------------------------------------------------------------- payloads


@strawberry.input
class AddGifInput:
    title: str
    url: str = strawberry.field(description="http(s) address of the GIF.")
    preview_url: str | None = strawberry.field(default=None, description="A smaller version; defaults to `url`.")
    tags: list[str] | None = strawberry.field(default=None, description="Words `searchGifs` finds it by.")


@strawberry.type
class GifPayload:
    gif: Gif | None
    user_errors: list[UserError]


@strawberry.type
class AttachmentPayload:
    attachment: Attachment | None
    user_errors: list[UserError]


@strawberry.type
class CannedResponsePayload:
    canned_response: CannedResponse | None
    user_errors: list[UserError]


@strawberry.type
class TaskPayload:
    task: Task | None
    user_errors: list[UserError]


@strawberry.type
class FeedPostPayload:
    feed_post: FeedPost | None
    user_errors: list[UserError]


# ---------------------------------------------------------------- inputs


@strawberry.input
class MessageInput:
    message_id: strawberry.ID


@strawberry.input
class EditMessageInput:
    message_id: strawberry.ID
    text: str


@strawberry.input
class UploadFileInput:
    chat_id: strawberry.ID
    file: Upload


@strawberry.input
class SendCannedResponseInput:
    chat_id: strawberry.ID
    canned_response_id: strawberry.ID


@strawberry.input
class CreateCannedResponseInput:
    title: str
    text: str
    open_channel_id: strawberry.ID | None = None


@strawberry.input
class UpdateCannedResponseInput:
    canned_response_id: strawberry.ID
    title: str | None = None
    text: str | None = None


@strawberry.input
class DeleteCannedResponseInput:
    canned_response_id: strawberry.ID


@strawberry.input
class SaveMessageAsCannedResponseInput:
    message_id: strawberry.ID
    title: str | None = None


@strawberry.input
class CreateTaskFromMessageInput:
    message_id: strawberry.ID
    title: str | None = None
    description: str | None = None
    responsible_id: strawberry.ID | None = None
    deadline: datetime | None = None


@strawberry.input(description="Change a task: only the fields given (null: unchanged).")
class UpdateTaskInput:
    task_id: strawberry.ID
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = strawberry.field(default=None, description="DONE when it is done; OPEN reopens it.")
    responsible_id: strawberry.ID | None = None
    deadline: datetime | None = None


@strawberry.input
class DiscussMessageInChatInput:
    message_id: strawberry.ID
    operator_ids: list[strawberry.ID] | None = None


@strawberry.input
class CreateFeedPostFromMessageInput:
    message_id: strawberry.ID
    text: str | None = None
