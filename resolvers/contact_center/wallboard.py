"""The `wallboard` subscription's entry point (services/contact_center/wallboard.py)."""
from __future__ import annotations

from typing import AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers.chats.loaders import Loaders
from resolvers.errors import top_level, viewer_of as _viewer
from resolvers.ids import decode_ids
from services.common.errors import DomainError
from services.contact_center import wallboard
from services.contact_center.wallboard import QueueFigures


async def wallboard_figures(info: Info, open_channel_ids: list[strawberry.ID] | None = None
                            ) -> AsyncGenerator[list[QueueFigures], None]:
    viewer = _viewer(info)
    current = lambda: info.context.viewer  # noqa: E731 - a WebSocket's viewer follows its token
    try:
        channel_ids = decode_ids(open_channel_ids, "OpenChannel", ["openChannelIds"])
        async for figures in wallboard.watch(viewer, channel_ids, current):
            info.context.loaders = Loaders(info.context.viewer)  # fresh per message
            yield figures
    except DomainError as error:
        raise top_level(error)
