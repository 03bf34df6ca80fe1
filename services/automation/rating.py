"""Rating: when a chat is finished or auto-closed (never as spam) in a channel with rating
enabled, the client is asked to rate it, and may answer once: LIKE or DISLIKE, with an
optional comment. Operators receive the rating as a chat update."""
from __future__ import annotations

from tortoise.expressions import Subquery

from models import Chat, ChatRating, ChatStatus, OpenChannel
from services.chats import queue
from services.chats.chat_states import Action, transition
from services.common.errors import InvalidInput, InvalidState
from services.events.events import unit_of_work
from services.chats.audience import audience
from services.chats.greeting import RATING_REQUEST_TEXT  # noqa: F401 (the request is written by services/chats/greeting.py)
from services.identity.viewer import Viewer, require_visitor
from services.policies.chats import visible_chats
from services.common.text_input import text_input

VOTES = ("LIKE", "DISLIKE")
MAX_COMMENT_LENGTH = 2000


@text_input()
async def rate_chat(viewer: Viewer, *, vote: str, comment: str | None = None) -> Chat:
    """The visitor rates their latest chat they were asked to rate; once."""
    require_visitor(viewer)
    vote = str(getattr(vote, "value", vote)).upper()
    if vote not in VOTES:
        raise InvalidInput("Vote LIKE or DISLIKE.", field=["input", "vote"])
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput(f"The comment is longer than {MAX_COMMENT_LENGTH} characters.", field=["input", "comment"])
    async with unit_of_work(viewer) as uow:
        # the visitor's own chats (services/policies/chats.py)
        asked = await (ChatRating.filter(chat_id__in=Subquery(visible_chats(viewer).values("id"))).using_db(uow.tx)
                       .order_by("-chat_id").values_list("chat_id", flat=True))
        chat = asked and await Chat.filter(id=asked[0], status=ChatStatus.CLOSED).using_db(uow.tx) \
            .select_for_update().first()
        if not chat:
            raise InvalidState("There is no finished chat to rate.", field=["input"])
        await transition(uow, chat, Action.RATE)
        rated = await ChatRating.filter(chat_id=chat.id, vote__isnull=True).using_db(uow.tx).update(
            vote=vote, comment=comment, rated_at=queue.now())
        if not rated:
            raise InvalidState("This chat has already been rated.", field=["input", "vote"])
        uow.record("CHAT_RATED", chat=chat, chat_kind="CHAT_UPDATED", operator_ids=await audience(uow, chat))
    return chat


async def ratings_of(chat_ids: list[int]) -> list[ChatRating | None]:
    """The given ratings of these chats, in order (None: not rated), in one query (a DataLoader's batch)."""
    rows = {r.chat_id: r for r in await ChatRating.filter(chat_id__in=list(set(chat_ids)), vote__isnull=False)}
    return [rows.get(i) for i in chat_ids]
