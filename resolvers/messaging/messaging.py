"""Entry points of what an operator does with messages: parse, call one service, map."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.errors import payload, unauthenticated_on_top as _call, viewer_of as _viewer
from schema.chats.chat import Chat
from schema.ids import decode_id, decode_ids, decode_optional_id
from schema.chats.message import Attachment, Message
from schema.messaging.messaging import (
    AddGifInput, GifPayload,
    AttachmentPayload, CannedResponse, CannedResponsePayload, CreateCannedResponseInput,
    CreateFeedPostFromMessageInput, CreateTaskFromMessageInput, DeleteCannedResponseInput, DiscussMessageInChatInput,
    EditMessageInput, FeedPost, FeedPostPayload, Gif, MessageCommand, MessageInput, SaveMessageAsCannedResponseInput,
    SendCannedResponseInput, Smiley, Task, TaskPayload, UpdateCannedResponseInput, UploadFileInput,
)
from schema.payloads import ChatPayload, MessagePayload
from services.messaging import canned_responses
from services.messaging import chats_from_messages
from services.messaging import feed as feed_service
from services.messaging import files
from services.messaging import formatting
from services.messaging import gifs
from services.messaging import messaging
from services.messaging import tasks
from services.identity.viewer import require_operator

def _message_id(input, name: str = "messageId") -> int:
    return decode_id(input.message_id, "Message", ["input", name])


def _canned_id(input) -> int:
    return decode_id(input.canned_response_id, "CannedResponse", ["input", "cannedResponseId"])


# ---------------------------------------------------------------- queries


def message_commands() -> list[MessageCommand]:
    return [MessageCommand.from_domain(c) for c in formatting.COMMANDS]


def smileys() -> list[Smiley]:
    return [Smiley.from_domain(s) for s in formatting.SMILEYS]


async def add_gif(info: Info, input: AddGifInput) -> GifPayload:
    async def run():
        row = await gifs.add_catalog_gif(_viewer(info), title=input.title, url=input.url,
                                         preview_url=input.preview_url, tags=input.tags)
        return gifs.catalog_gif(row)

    return await payload(GifPayload, "gif", run(), Gif.from_domain)


async def search_gifs(info: Info, query: str, limit: int | None = 20) -> list[Gif]:
    found = await _call(gifs.search_gifs(_viewer(info), info.context.platform.gifs, query=query, limit=20 if limit is None else limit))
    return [Gif.from_domain(g) for g in found]


async def canned_responses_list(info: Info, search: str | None = None,
                                open_channel_id: strawberry.ID | None = None) -> list[CannedResponse]:
    channel = decode_optional_id(open_channel_id, "OpenChannel", ["openChannelId"])
    rows = await _call(canned_responses.list_canned_responses(_viewer(info), search=search, open_channel_id=channel))
    return [CannedResponse.from_model(r) for r in rows]


async def my_tasks(info: Info) -> list[Task]:
    return [Task.from_model(t) for t in await _call(tasks.my_tasks(_viewer(info)))]


async def feed(info: Info, first: int | None = None, after: str | None = None) -> list[FeedPost]:
    async def run():
        after_id = decode_optional_id(after, "FeedPost", ["after"])
        return await feed_service.feed(_viewer(info), first=first, after_id=after_id)

    return [FeedPost.from_model(p) for p in await _call(run())]


# ---------------------------------------------------------------- messages


async def edit_message(info: Info, input: EditMessageInput) -> MessagePayload:
    async def run():
        return await messaging.edit_message(_viewer(info), message_id=_message_id(input), text=input.text)

    return await payload(MessagePayload, "message", run(), Message.from_model)


async def delete_message(info: Info, input: MessageInput) -> MessagePayload:
    async def run():
        return await messaging.delete_message(_viewer(info), message_id=_message_id(input),
                                              storage=info.context.platform.files.storage)

    return await payload(MessagePayload, "message", run(), Message.from_model)


async def mark_message_unread(info: Info, input: MessageInput) -> ChatPayload:
    async def run():
        return await messaging.mark_message_unread(_viewer(info), message_id=_message_id(input))

    return await payload(ChatPayload, "chat", run(), Chat.from_model)


async def upload_file(info: Info, input: UploadFileInput) -> AttachmentPayload:
    async def run():
        viewer = _viewer(info)
        chat_id = decode_id(input.chat_id, "Chat", ["input", "chatId"])
        if viewer.is_anonymous:
            require_operator(viewer)
        # the parser spooled the file (to disk past 1 MiB): the service reads it in parts from there
        return await files.upload_file(viewer, info.context.platform.files, chat_id=chat_id, name=getattr(input.file, "filename", None),
                                       data=input.file)

    return await payload(AttachmentPayload, "attachment", run(),
                         lambda a: Attachment.from_model(a, _viewer(info), info.context.platform.files))


# ---------------------------------------------------------------- canned responses


async def create_canned_response(info: Info, input: CreateCannedResponseInput) -> CannedResponsePayload:
    async def run():
        channel = decode_optional_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"])
        return await canned_responses.create_canned_response(_viewer(info), title=input.title, text=input.text,
                                                             open_channel_id=channel)

    return await payload(CannedResponsePayload, "canned_response", run(), CannedResponse.from_model)


async def update_canned_response(info: Info, input: UpdateCannedResponseInput) -> CannedResponsePayload:
    async def run():
        return await canned_responses.update_canned_response(_viewer(info), canned_response_id=_canned_id(input),
                                                             title=input.title, text=input.text)

    return await payload(CannedResponsePayload, "canned_response", run(), CannedResponse.from_model)


async def delete_canned_response(info: Info, input: DeleteCannedResponseInput) -> CannedResponsePayload:
    async def run():
        return await canned_responses.delete_canned_response(_viewer(info), canned_response_id=_canned_id(input))

    return await payload(CannedResponsePayload, "canned_response", run(), CannedResponse.from_model)


async def send_canned_response(info: Info, input: SendCannedResponseInput) -> MessagePayload:
    async def run():
        return await canned_responses.send_canned_response(
            _viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]),
            canned_response_id=_canned_id(input))

    return await payload(MessagePayload, "message", run(), Message.from_model)


async def save_message_as_canned_response(info: Info, input: SaveMessageAsCannedResponseInput
                                          ) -> CannedResponsePayload:
    async def run():
        return await canned_responses.save_message_as_canned_response(_viewer(info), message_id=_message_id(input),
                                                                      title=input.title)

    return await payload(CannedResponsePayload, "canned_response", run(), CannedResponse.from_model)


# ---------------------------------------------------------------- tasks, feed, new chats


async def create_task_from_message(info: Info, input: CreateTaskFromMessageInput) -> TaskPayload:
    async def run():
        responsible = decode_optional_id(input.responsible_id, "Operator", ["input", "responsibleId"])
        return await tasks.create_task_from_message(
            _viewer(info), message_id=_message_id(input), title=input.title, description=input.description,
            responsible_id=responsible, deadline=input.deadline)

    return await payload(TaskPayload, "task", run(), Task.from_model)


async def create_feed_post_from_message(info: Info, input: CreateFeedPostFromMessageInput) -> FeedPostPayload:
    async def run():
        return await feed_service.create_feed_post_from_message(_viewer(info), message_id=_message_id(input),
                                                                text=input.text)

    return await payload(FeedPostPayload, "feed_post", run(), FeedPost.from_model)


async def discuss_message_in_chat(info: Info, input: DiscussMessageInChatInput) -> ChatPayload:
    async def run():
        return await chats_from_messages.discuss_message_in_chat(
            _viewer(info), message_id=_message_id(input),
            operator_ids=decode_ids(input.operator_ids, "Operator", ["input", "operatorIds"]) or [])

    return await payload(ChatPayload, "chat", run(), Chat.from_model)


async def start_conversation_from_message(info: Info, input: MessageInput) -> ChatPayload:
    async def run():
        return await chats_from_messages.start_conversation_from_message(_viewer(info), message_id=_message_id(input))

    return await payload(ChatPayload, "chat", run(), Chat.from_model)


# ---------------------------------------------------------------- node(id:)


async def _node_attachment(info: Info, viewer, pk: int) -> Attachment | None:
    return Attachment.from_model(await files.readable_attachment(viewer, pk), viewer, info.context.platform.files)


async def _node_canned_response(info: Info, viewer, pk: int) -> CannedResponse | None:
    return CannedResponse.from_model(await canned_responses.get_canned_response(viewer, pk))


async def _node_task(info: Info, viewer, pk: int) -> Task | None:
    found = await tasks.visible_task(viewer, pk)
    return Task.from_model(found) if found else None


async def _node_feed_post(info: Info, viewer, pk: int) -> FeedPost | None:
    found = await feed_service.get_feed_post(viewer, pk)
    return FeedPost.from_model(found) if found else None


#: node(id:) resolvers of the messaging types, authorised like every other path to them
NODE_RESOLVERS = {
    "Attachment": _node_attachment,
    "CannedResponse": _node_canned_response,
    "Task": _node_task,
    "FeedPost": _node_feed_post,
}
