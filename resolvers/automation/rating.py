"""The visitor rates their finished chat."""
from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import payload, viewer_of
from schema.chats.chat import Chat
from schema.payloads import ChatPayload
from schema.automation.rating import RateChatInput
from services.automation import rating


async def rate_chat(info: Info, input: RateChatInput) -> ChatPayload:
    async def run():
        return await rating.rate_chat(viewer_of(info), vote=input.vote.value, comment=input.comment)

    return await payload(ChatPayload, "chat", run(), Chat.from_model)
