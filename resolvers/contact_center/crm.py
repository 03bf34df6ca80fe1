"""Entry points of the CRM: saveChatToCrm, and CRM records through node(id:)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.types import Info
from tortoise.models import Model

import models
from resolvers.errors import Outcome, outcome, viewer_of as _viewer
from resolvers.ids import decode_id
from services.contact_center import crm
from services.identity.viewer import Viewer

if TYPE_CHECKING:
    from schema.inputs import ChatInput


async def save_chat_to_crm(info: Info, input: ChatInput) -> Outcome[tuple[Any, models.Chat]]:
    """What the service saved (`created`, `contact`, `lead`) and the chat."""
    async def run():
        saved = await crm.save_chat_to_crm(_viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]))
        return saved, await info.context.loaders.chat.load(saved.chat_id)

    return await outcome(run())


def _node(model: type[Model]):
    async def resolve(info: Info, viewer: Viewer, pk: int):
        return await crm.crm_record(viewer, model, pk)

    return resolve


#: node(id:) resolvers of the CRM types (operators only)
NODE_RESOLVERS = {
    "CrmContact": _node(models.CrmContact),
    "CrmCompany": _node(models.CrmCompany),
    "CrmDeal": _node(models.CrmDeal),
    "CrmLead": _node(models.CrmLead),
}
