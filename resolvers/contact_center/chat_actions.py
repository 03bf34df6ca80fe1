"""Entry points of bulk chat actions, client attributes and the GDPR erasure: parse, call one service, return
its outcome."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.types import Info

import models
from resolvers.errors import Outcome, outcome, viewer_of as _viewer
from resolvers.ids import decode_id, decode_ids, decode_optional_id
from services.contact_center import bulk_actions, client_attributes, gdpr

if TYPE_CHECKING:
    from schema.contact_center.chat_actions import BulkChatActionInput, ClientInput, SetClientAttributesInput


async def bulk_chat_action(info: Info, input: BulkChatActionInput) -> Outcome[list[bulk_actions.BulkChatResult]]:
    async def run():
        return await bulk_actions.bulk_chat_action(
            _viewer(info), chat_ids=decode_ids(input.chat_ids, "Chat", ["input", "chatIds"]),
            action=bulk_actions.BulkChatAction(input.action.value),
            operator_id=decode_optional_id(input.operator_id, "Operator", ["input", "operatorId"]),
            open_channel_id=decode_optional_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            priority=models.ChatPriority(input.priority.value) if input.priority is not None else None,
            label_ids=decode_ids(input.label_ids, "Label", ["input", "labelIds"]),
        )

    return await outcome(run())


async def set_client_attributes(info: Info, input: SetClientAttributesInput) -> Outcome[models.Client]:
    async def run():
        return await client_attributes.set_client_attributes(
            _viewer(info), client_id=decode_id(input.client_id, "Client", ["input", "clientId"]),
            attributes=[(a.key, a.value) for a in input.attributes])

    return await outcome(run())


async def erase_client(info: Info, input: ClientInput) -> Outcome[models.Client]:
    async def run():
        erasure = await gdpr.erase_client(_viewer(info), client_id=decode_id(input.client_id, "Client", ["input", "clientId"]),
                                          storage=info.context.platform.files.storage,
                                          trusted=info.context.platform.tokens)
        return erasure.client

    return await outcome(run())
