"""Entry points of what an operator does with messages: parse, call one service, return what it
gave (the schema builds the types and payloads)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

import models
from resolvers.errors import Outcome, outcome, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.ids import decode_id, decode_ids, decode_optional_id
from services.messaging import canned_responses
from services.messaging import chats_from_messages
from services.messaging import feed as feed_service
from services.messaging import files
from services.messaging import formatting
from services.messaging import gifs
from services.messaging import messaging
from services.messaging import tasks
from services.identity.viewer import require_operator

if TYPE_CHECKING:
    from schema.messaging.messaging import (
        AddGifInput, CreateCannedResponseInput, CreateFeedPostFromMessageInput, CreateTaskFromMessageInput,
        DeleteCannedResponseInput, DiscussMessageInChatInput, EditMessageInput, MessageInput,
        SaveMessageAsCannedResponseInput, SendCannedResponseInput, UpdateCannedResponseInput, UpdateTaskInput,
        UploadFileInput,
    )


def _message_id(input, name: str = "messageId") -> int:
    return decode_id(input.message_id, "Message", ["input", name])


def _canned_id(input) -> int:
    return decode_id(input.canned_response_id, "CannedResponse", ["input", "cannedResponseId"])


# ---------------------------------------------------------------- queries


def message_commands() -> list[formatting.MessageCommand]:
    return list(formatting.COMMANDS)


def smileys() -> list[formatting.Smiley]:
    return list(formatting.SMILEYS)


async def add_gif(info: Info, input: AddGifInput) -> Outcome[gifs.Gif]:
    async def run():
        row = await gifs.add_catalog_gif(_viewer(info), title=input.title, url=input.url,
                                         preview_url=input.preview_url, tags=input.tags)
        return gifs.catalog_gif(row)

    return await outcome(run())


async def search_gifs(info: Info, query: str, limit: int | None = 20) -> list[gifs.Gif]:
    return await _call(gifs.search_gifs(_viewer(info), info.context.platform.gifs, query=query, limit=20 if limit is None else limit))


async def canned_responses_list(info: Info, search: str | None = None,
                                open_channel_id: strawberry.ID | None = None) -> list[models.CannedResponse]:
    channel = decode_optional_id(open_channel_id, "OpenChannel", ["openChannelId"])
    return await _call(canned_responses.list_canned_responses(_viewer(info), search=search, open_channel_id=channel))


async def my_tasks(info: Info) -> list[models.Task]:
    return await _call(tasks.my_tasks(_viewer(info)))


async def feed(info: Info, first: int | None = None, after: str | None = None) -> list[models.FeedPost]:
    async def run():
        after_id = decode_optional_id(after, "FeedPost", ["after"])
        return await feed_service.feed(_viewer(info), first=first, after_id=after_id)

    return await _call(run())


# ---------------------------------------------------------------- messages


async def edit_message(info: Info, input: EditMessageInput) -> Outcome[models.Message]:
    async def run():
        return await messaging.edit_message(_viewer(info), message_id=_message_id(input), text=input.text)

    return await outcome(run())


async def delete_message(info: Info, input: MessageInput) -> Outcome[models.Message]:
    async def run():
        return await messaging.delete_message(_viewer(info), message_id=_message_id(input),
                                              storage=info.context.platform.files.storage)

    return await outcome(run())


async def mark_message_unread(info: Info, input: MessageInput) -> Outcome[models.Chat]:
    async def run():
        return await messaging.mark_message_unread(_viewer(info), message_id=_message_id(input))

    return await outcome(run())


async def upload_file(info: Info, input: UploadFileInput) -> Outcome[models.Attachment]:
    async def run():
        viewer = _viewer(info)
        chat_id = decode_id(input.chat_id, "Chat", ["input", "chatId"])
        if viewer.is_anonymous:
            require_operator(viewer)
        # the parser spooled the file (to disk past 1 MiB): the service reads it in parts from there
        return await files.upload_file(viewer, info.context.platform.files, chat_id=chat_id, name=getattr(input.file, "filename", None),
                                       data=input.file)

    return await outcome(run())


# ---------------------------------------------------------------- canned responses


async def create_canned_response(info: Info, input: CreateCannedResponseInput) -> Outcome[models.CannedResponse]:
    async def run():
        channel = decode_optional_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"])
        return await canned_responses.create_canned_response(_viewer(info), title=input.title, text=input.text,
                                                             open_channel_id=channel)

    return await outcome(run())


async def update_canned_response(info: Info, input: UpdateCannedResponseInput) -> Outcome[models.CannedResponse]:
    async def run():
        return await canned_responses.update_canned_response(_viewer(info), canned_response_id=_canned_id(input),
                                                             title=input.title, text=input.text)

    return await outcome(run())


async def delete_canned_response(info: Info, input: DeleteCannedResponseInput) -> Outcome[models.CannedResponse]:
    async def run():
        return await canned_responses.delete_canned_response(_viewer(info), canned_response_id=_canned_id(input))

    return await outcome(run())


async def send_canned_response(info: Info, input: SendCannedResponseInput) -> Outcome[models.Message]:
    async def run():
        return await canned_responses.send_canned_response(
            _viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]),
            canned_response_id=_canned_id(input))

    return await outcome(run())


async def save_message_as_canned_response(info: Info, input: SaveMessageAsCannedResponseInput
                                          ) -> Outcome[models.CannedResponse]:
    async def run():
        return await canned_responses.save_message_as_canned_response(_viewer(info), message_id=_message_id(input),
                                                                      title=input.title)

    return await outcome(run())


# ---------------------------------------------------------------- tasks, feed, new chats


async def create_task_from_message(info: Info, input: CreateTaskFromMessageInput) -> Outcome[models.Task]:
    async def run():
        responsible = decode_optional_id(input.responsible_id, "Operator", ["input", "responsibleId"])
        return await tasks.create_task_from_message(
            _viewer(info), message_id=_message_id(input), title=input.title, description=input.description,
            responsible_id=responsible, deadline=input.deadline)

    return await outcome(run())


async def update_task(info: Info, input: UpdateTaskInput) -> Outcome[models.Task]:
    async def run():
        return await tasks.update_task(
            _viewer(info), task_id=decode_id(input.task_id, "Task", ["input", "taskId"]), title=input.title,
            description=input.description,
            status=models.TaskStatus(input.status.value) if input.status is not None else None,
            responsible_id=decode_optional_id(input.responsible_id, "Operator", ["input", "responsibleId"]),
            deadline=input.deadline)

    return await outcome(run())


async def create_feed_post_from_message(info: Info, input: CreateFeedPostFromMessageInput) -> Outcome[models.FeedPost]:
    async def run():
        return await feed_service.create_feed_post_from_message(_viewer(info), message_id=_message_id(input),
                                                                text=input.text)

    return await outcome(run())


async def discuss_message_in_chat(info: Info, input: DiscussMessageInChatInput) -> Outcome[models.Chat]:
    async def run():
        return await chats_from_messages.discuss_message_in_chat(
            _viewer(info), message_id=_message_id(input),
            operator_ids=decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"]) or [])

    return await outcome(run())


async def start_conversation_from_message(info: Info, input: MessageInput) -> Outcome[models.Chat]:
    async def run():
        return await chats_from_messages.start_conversation_from_message(_viewer(info), message_id=_message_id(input))

    return await outcome(run())


# ---------------------------------------------------------------- node(id:)


async def _node_attachment(info: Info, viewer, pk: int) -> models.Attachment | None:
    return await files.readable_attachment(viewer, pk)


async def _node_canned_response(info: Info, viewer, pk: int) -> models.CannedResponse | None:
    return await canned_responses.get_canned_response(viewer, pk)


async def _node_task(info: Info, viewer, pk: int) -> models.Task | None:
    return await tasks.visible_task(viewer, pk)


async def _node_feed_post(info: Info, viewer, pk: int) -> models.FeedPost | None:
    return await feed_service.get_feed_post(viewer, pk)


#: node(id:) resolvers of the messaging types, authorised like every other path to them
NODE_RESOLVERS = {
    "Attachment": _node_attachment,
    "CannedResponse": _node_canned_response,
    "Task": _node_task,
    "FeedPost": _node_feed_post,
}
