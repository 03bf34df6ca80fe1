"""Entry points of the CRM: saveChatToCrm, and CRM records through node(id:)."""
from __future__ import annotations

from typing import Any

from strawberry.types import Info
from tortoise.models import Model

import models
from resolvers.errors import payload_of, viewer_of as _viewer
from schema.chats.chat import Chat
from schema.contact_center.crm import CrmCompany, CrmContact, CrmDeal, CrmLead, SaveChatToCrmPayload
from schema.ids import decode_id
from schema.inputs import ChatInput
from services.contact_center import crm
from services.identity.viewer import Viewer


async def save_chat_to_crm(info: Info, input: ChatInput) -> SaveChatToCrmPayload:
    async def run():
        saved = await crm.save_chat_to_crm(_viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]))
        return saved, await info.context.loaders.chat.load(saved.chat_id)

    def success(result) -> SaveChatToCrmPayload:
        saved, chat = result
        return SaveChatToCrmPayload(
            chat=Chat.from_model(chat), created=saved.created,
            contact=CrmContact.from_model(saved.contact) if saved.contact else None,
            lead=CrmLead.from_model(saved.lead) if saved.lead else None, user_errors=[],
        )

    return await payload_of(run(), success, lambda errors: SaveChatToCrmPayload(
        chat=None, created=False, contact=None, lead=None, user_errors=errors))


def _node(model: type[Model], kind: type[Any]):
    async def resolve(info: Info, viewer: Viewer, pk: int):
        row = await crm.crm_record(viewer, model, pk)
        return kind.from_model(row) if row else None

    return resolve


#: node(id:) resolvers of the CRM types (operators only)
NODE_RESOLVERS = {
    "CrmContact": _node(models.CrmContact, CrmContact),
    "CrmCompany": _node(models.CrmCompany, CrmCompany),
    "CrmDeal": _node(models.CrmDeal, CrmDeal),
    "CrmLead": _node(models.CrmLead, CrmLead),
}
