"""The visitor rates their finished chat."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.types import Info

import models
from resolvers.errors import Outcome, outcome, viewer_of
from services.automation import rating

if TYPE_CHECKING:
    from schema.automation.rating import RateChatInput


async def rate_chat(info: Info, input: RateChatInput) -> Outcome[models.Chat]:
    async def run():
        return await rating.rate_chat(viewer_of(info), vote=input.vote.value, comment=input.comment)

    return await outcome(run())
