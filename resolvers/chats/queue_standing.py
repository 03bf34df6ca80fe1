"""The `visitorQueue` entry point: the visitor's waiting chat's standing, from this process's
queue watch (services/chats/queue_standing.py). Domain errors are top-level errors with their code."""
from __future__ import annotations

from contextlib import aclosing
from typing import AsyncGenerator

from strawberry.types import Info

from resolvers.errors import top_level
from services.chats import queue_standing
from services.chats.queue_standing import QueueStanding
from services.common.errors import DomainError


async def visitor_queue(info: Info) -> AsyncGenerator[QueueStanding, None]:
    platform = info.context.platform
    current = lambda: info.context.viewer  # noqa: E731 - a WebSocket's viewer follows its token
    watch = queue_standing.watch_of(platform.broker, throttle_seconds=platform.queue_position_throttle_seconds)
    try:
        async with aclosing(queue_standing.follow_queue_standing(info.context.viewer, watch=watch,
                                                                 current_viewer=current)) as standings:
            async for standing in standings:
                yield standing
    except DomainError as error:
        raise top_level(error)
