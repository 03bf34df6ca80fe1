"""Rating a finished chat (the visitor's side)."""
from __future__ import annotations

import strawberry

from schema.enums import ChatVote


@strawberry.input
class RateChatInput:
    vote: ChatVote
    comment: str | None = None
