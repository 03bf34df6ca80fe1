"""Entry points of labels and priorities: parse, call one service, return its outcome."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.types import Info

import models
from resolvers.errors import Outcome, outcome, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.ids import decode_id, decode_ids
from services.chats import labels, priorities

if TYPE_CHECKING:
    from schema.chats.labels import CreateLabelInput, SetChatLabelsInput
    from schema.inputs import SetChatPriorityInput


async def labels_list(info: Info) -> list[models.Label]:
    return await _call(labels.list_labels(_viewer(info)))


async def create_label(info: Info, input: CreateLabelInput) -> Outcome[models.Label]:
    return await outcome(labels.create_label(_viewer(info), name=input.name, color=input.color))


async def set_chat_labels(info: Info, input: SetChatLabelsInput) -> Outcome[models.Chat]:
    async def run():
        return await labels.set_chat_labels(
            _viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]),
            label_ids=decode_ids(input.label_ids, "Label", ["input", "labelIds"]))

    return await outcome(run())


async def set_chat_priority(info: Info, input: SetChatPriorityInput) -> Outcome[models.Chat]:
    async def run():
        return await priorities.set_chat_priority(
            _viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]),
            priority=models.ChatPriority(input.priority.value))

    return await outcome(run())


async def _node_label(info: Info, viewer, pk: int) -> models.Label | None:
    return await labels.visible_label(viewer, pk)


#: type name -> the object of that type with this pk, as far as the viewer may see it
NODE_RESOLVERS = {"Label": _node_label}
