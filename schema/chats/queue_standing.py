"""What the `visitorQueue` subscription delivers: the visitor's waiting chat's place in its queue."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from resolvers.ids import to_global_id

if TYPE_CHECKING:
    from services.chats.queue_standing import QueueStanding


@strawberry.type(description="Where the visitor's chat stands in its queue, as of `at`. Live only: not stored, "
                             "not replayed.")
class VisitorQueueStatus:
    chat_id: strawberry.ID
    queue_position: int | None = strawberry.field(
        description="Position in its queue (1 = next, in the order the queue offers chats: priority, then the "
                    "oldest); null when the chat does not wait in a queue (answered, or closed).")
    estimated_wait_seconds: int | None = strawberry.field(
        description="Estimated seconds until an operator answers, as of `at` (Chat.estimatedWaitSeconds); null when "
                    "unknown or not waiting.")
    at: datetime

    @classmethod
    def from_standing(cls, standing: QueueStanding) -> "VisitorQueueStatus":
        return cls(chat_id=strawberry.ID(to_global_id("Chat", standing.chat_id)),
                   queue_position=standing.queue_position,
                   estimated_wait_seconds=standing.estimated_wait_seconds, at=standing.at)
