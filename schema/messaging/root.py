"""Entry points of what an operator does with a message: formatting, files, edits, replies,
canned responses, tasks, the feed, GIFs, and the chats started from a message.

Each root field calls its resolver (resolvers/messaging/messaging.py) and builds the GraphQL types
from what it returns."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.messaging import messaging as r
from schema.chats.message import Attachment
from schema.messaging.messaging import (
    AddGifInput, AttachmentPayload, CannedResponse, CannedResponsePayload, CreateCannedResponseInput,
    CreateFeedPostFromMessageInput, CreateTaskFromMessageInput, DeleteCannedResponseInput, DiscussMessageInChatInput,
    EditMessageInput, FeedPost, FeedPostPayload, Gif, GifPayload, MessageCommand, MessageInput,
    SaveMessageAsCannedResponseInput, SendCannedResponseInput, Smiley, Task, TaskPayload, UpdateCannedResponseInput,
    UpdateTaskInput, UploadFileInput,
)
from schema.payloads import ChatPayload, MessagePayload, chat_payload, message_payload, payload


@strawberry.type
class MessagingQuery:
    @strawberry.field(description="My canned responses and my queues' (optionally of one open channel), matching "
                                  "`search`.")
    async def canned_responses(self, info: Info, search: str | None = None,
                               open_channel_id: strawberry.ID | None = None) -> list[CannedResponse]:
        return [CannedResponse.from_model(c) for c in await r.canned_responses_list(info, search, open_channel_id)]

    @strawberry.field(description="The formatting commands a message may use.")
    def message_commands(self) -> list[MessageCommand]:
        return [MessageCommand.from_domain(c) for c in r.message_commands()]

    @strawberry.field(description="Smiley codes and the emoji they become.")
    def smileys(self) -> list[Smiley]:
        return [Smiley.from_domain(s) for s in r.smileys()]

    @strawberry.field(description="GIFs for a query: the built-in catalog, or Giphy when configured (never fails: "
                                  "no GIFs when the provider does not answer).")
    async def search_gifs(self, info: Info, query: str, limit: int | None = 20) -> list[Gif]:
        return [Gif.from_domain(g) for g in await r.search_gifs(info, query, limit)]

    @strawberry.field(description="Tasks I am responsible for or gave, newest first.")
    async def my_tasks(self, info: Info) -> list[Task]:
        return [Task.from_model(t) for t in await r.my_tasks(info)]

    @strawberry.field(description="The news feed, newest first; `after`: the id of the last post shown.")
    async def feed(self, info: Info, first: int | None = None, after: str | None = None) -> list[FeedPost]:
        return [FeedPost.from_model(p) for p in await r.feed(info, first, after)]


def _canned_response_payload(outcome) -> CannedResponsePayload:
    return payload(CannedResponsePayload, "canned_response", outcome, CannedResponse.from_model)


@strawberry.type
class MessagingMutation:
    @strawberry.mutation(description="Admins: add a GIF to the built-in catalog that `searchGifs` searches.")
    async def add_gif(self, info: Info, input: AddGifInput) -> GifPayload:
        return payload(GifPayload, "gif", await r.add_gif(info, input), Gif.from_domain)

    @strawberry.mutation(description="Upload a file to a chat (GraphQL multipart request; send the header "
                                     "`Apollo-Require-Preflight: true`), then send it with `attachmentIds`.")
    async def upload_file(self, info: Info, input: UploadFileInput) -> AttachmentPayload:
        return payload(AttachmentPayload, "attachment", await r.upload_file(info, input),
                       lambda a: Attachment.from_model(a, info.context.viewer, info.context.platform.files))

    @strawberry.mutation(description="Rewrite your own message.")
    async def edit_message(self, info: Info, input: EditMessageInput) -> MessagePayload:
        return message_payload(await r.edit_message(info, input))

    @strawberry.mutation(
        description="Delete your own message: it stays in the history as deleted, without text or files.")
    async def delete_message(self, info: Info, input: MessageInput) -> MessagePayload:
        return message_payload(await r.delete_message(info, input))

    @strawberry.mutation(description="Mark the chat unread from this message on (for you).")
    async def mark_message_unread(self, info: Info, input: MessageInput) -> ChatPayload:
        return chat_payload(await r.mark_message_unread(info, input))

    @strawberry.mutation(description="Send a canned response, its placeholders filled: a silent one as a silent note.")
    async def send_canned_response(self, info: Info, input: SendCannedResponseInput) -> MessagePayload:
        return message_payload(await r.send_canned_response(info, input))

    @strawberry.mutation
    async def save_message_as_canned_response(self, info: Info,
                                              input: SaveMessageAsCannedResponseInput) -> CannedResponsePayload:
        return _canned_response_payload(await r.save_message_as_canned_response(info, input))

    @strawberry.mutation(
        description="A personal canned response; with `openChannelId`, the channel's (supervisors and admins).")
    async def create_canned_response(self, info: Info, input: CreateCannedResponseInput) -> CannedResponsePayload:
        return _canned_response_payload(await r.create_canned_response(info, input))

    @strawberry.mutation
    async def update_canned_response(self, info: Info, input: UpdateCannedResponseInput) -> CannedResponsePayload:
        return _canned_response_payload(await r.update_canned_response(info, input))

    @strawberry.mutation
    async def delete_canned_response(self, info: Info, input: DeleteCannedResponseInput) -> CannedResponsePayload:
        return _canned_response_payload(await r.delete_canned_response(info, input))

    @strawberry.mutation(
        description="A task linked to the message; the title defaults to the message, the responsible to you.")
    async def create_task_from_message(self, info: Info, input: CreateTaskFromMessageInput) -> TaskPayload:
        return payload(TaskPayload, "task", await r.create_task_from_message(info, input), Task.from_model)

    @strawberry.mutation(
        description="Change a task (title, description, status, responsible, deadline): its author, its responsible, "
                    "supervisors. A task from a silent note goes only to someone who may read its chat.")
    async def update_task(self, info: Info, input: UpdateTaskInput) -> TaskPayload:
        return payload(TaskPayload, "task", await r.update_task(info, input), Task.from_model)

    @strawberry.mutation(
        description="An internal chat with the chosen colleagues, opening with the message quoted.")
    async def discuss_message_in_chat(self, info: Info, input: DiscussMessageInChatInput) -> ChatPayload:
        return chat_payload(await r.discuss_message_in_chat(info, input))

    @strawberry.mutation
    async def create_feed_post_from_message(self, info: Info,
                                            input: CreateFeedPostFromMessageInput) -> FeedPostPayload:
        return payload(FeedPostPayload, "feed_post", await r.create_feed_post_from_message(info, input),
                       FeedPost.from_model)

    @strawberry.mutation(
        description="A new conversation with the message's client, you responsible, the message quoted.")
    async def start_conversation_from_message(self, info: Info, input: MessageInput) -> ChatPayload:
        return chat_payload(await r.start_conversation_from_message(info, input))
