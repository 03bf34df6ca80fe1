"""The operators' news feed: posts, often shared from a message, newest first (who reads it and what
may be shared: services/policies/feed_posts.py)."""
from __future__ import annotations

from models import FeedPost
from services.messaging.messaging import get_visible_message
from services.policies.copy_audience import audience_of_copy
from services.policies import feed_posts as policy
from services.common.errors import InvalidInput
from services.identity.viewer import Viewer, require_operator
from services.common.text_input import text_input, LONG_TEXT_LENGTH

MAX_PAGE = 100


@text_input(text=LONG_TEXT_LENGTH)
async def create_feed_post_from_message(viewer: Viewer, *, message_id: int, text: str | None = None) -> FeedPost:
    """Share a message in the feed; without `text` the post says what the message says."""
    require_operator(viewer)
    message, _ = await get_visible_message(viewer, message_id)
    me = policy.ensure_may_share(viewer, message)
    text = (text if text is not None else message.text).strip()
    if not text:
        raise InvalidInput("The post is empty.", field=["input", "text"])
    return await FeedPost.create(text=text, author_id=me, source_message_id=message.id)


async def feed(viewer: Viewer, *, first: int | None = None, after_id: int | None = None) -> list[FeedPost]:
    """Newest first; `after_id` is the last post already shown (the next page is older)."""
    query = policy.visible(viewer)
    first = 20 if first is None else first
    if first < 0 or first > MAX_PAGE:
        raise InvalidInput(f"`first` must be between 0 and {MAX_PAGE}.", field=["first"])
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    return await query.order_by("-id").limit(first)


async def get_feed_post(viewer: Viewer, post_id: int) -> FeedPost | None:
    return await policy.visible(viewer).filter(id=post_id).first()
