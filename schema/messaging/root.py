"""Entry points of what an operator does with a message: formatting, files, edits, replies,
canned responses, tasks, the feed, GIFs, and the chats started from a message."""
from __future__ import annotations

import strawberry

from resolvers.messaging import messaging as r
from schema.messaging.messaging import (
    AttachmentPayload, CannedResponse, GifPayload, CannedResponsePayload, FeedPost, FeedPostPayload, Gif, MessageCommand, Smiley,
    Task, TaskPayload,
)
from schema.payloads import ChatPayload, MessagePayload


@strawberry.type
class MessagingQuery:
    canned_responses: list[CannedResponse] = strawberry.field(
        resolver=r.canned_responses_list,
        description="My canned responses and my queues' (optionally of one open channel), matching `search`.",
    )
    message_commands: list[MessageCommand] = strawberry.field(
        resolver=r.message_commands, description="The formatting commands a message may use.")
    smileys: list[Smiley] = strawberry.field(resolver=r.smileys, description="Smiley codes and the emoji they become.")
    search_gifs: list[Gif] = strawberry.field(
        resolver=r.search_gifs,
        description="GIFs for a query: the built-in catalog, or Giphy when configured (never fails: "
                    "no GIFs when the provider does not answer).",
    )
    my_tasks: list[Task] = strawberry.field(resolver=r.my_tasks,
                                            description="Tasks I am responsible for or gave, newest first.")
    feed: list[FeedPost] = strawberry.field(resolver=r.feed, description="The news feed, newest first; `after`: the id of the last post shown.")


@strawberry.type
class MessagingMutation:
    add_gif: GifPayload = strawberry.mutation(
        resolver=r.add_gif, description="Admins: add a GIF to the built-in catalog that `searchGifs` searches."
    )
    upload_file: AttachmentPayload = strawberry.mutation(
        resolver=r.upload_file,
        description="Upload a file to a chat (GraphQL multipart request; send the header "
                    "`Apollo-Require-Preflight: true`), then send it with `attachmentIds`.",
    )
    edit_message: MessagePayload = strawberry.mutation(resolver=r.edit_message,
                                                       description="Rewrite your own message.")
    delete_message: MessagePayload = strawberry.mutation(
        resolver=r.delete_message,
        description="Delete your own message: it stays in the history as deleted, without text or files.")
    mark_message_unread: ChatPayload = strawberry.mutation(
        resolver=r.mark_message_unread, description="Mark the chat unread from this message on (for you).")
    send_canned_response: MessagePayload = strawberry.mutation(
        resolver=r.send_canned_response,
        description="Send a canned response, its placeholders filled: a silent one as a silent note.")
    save_message_as_canned_response: CannedResponsePayload = strawberry.mutation(
        resolver=r.save_message_as_canned_response)
    create_canned_response: CannedResponsePayload = strawberry.mutation(
        resolver=r.create_canned_response,
        description="A personal canned response; with `openChannelId`, the channel's (supervisors and admins).")
    update_canned_response: CannedResponsePayload = strawberry.mutation(resolver=r.update_canned_response)
    delete_canned_response: CannedResponsePayload = strawberry.mutation(resolver=r.delete_canned_response)
    create_task_from_message: TaskPayload = strawberry.mutation(
        resolver=r.create_task_from_message,
        description="A task linked to the message; the title defaults to the message, the responsible to you.")
    discuss_message_in_chat: ChatPayload = strawberry.mutation(
        resolver=r.discuss_message_in_chat,
        description="An internal chat with the chosen colleagues, opening with the message quoted.")
    create_feed_post_from_message: FeedPostPayload = strawberry.mutation(resolver=r.create_feed_post_from_message)
    start_conversation_from_message: ChatPayload = strawberry.mutation(
        resolver=r.start_conversation_from_message,
        description="A new conversation with the message's client, you responsible, the message quoted.")
