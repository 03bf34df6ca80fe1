"""Who may read the feed, and what may be shared in it: every operator reads every post (never a
visitor); so a post never carries a silent note's text (services/policies/copy_audience.py)."""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import FeedPost, Message
from services.identity.viewer import Viewer, require_operator
from services.policies.conditions import EVERYTHING, Condition, apply
from services.policies.copy_audience import audience_of_copy


def readable(viewer: Viewer) -> Condition:
    """Every post, for an operator."""
    require_operator(viewer)
    return EVERYTHING


def visible(viewer: Viewer) -> QuerySet[FeedPost]:
    return apply(FeedPost.all(), readable(viewer))


def can_read(viewer: Viewer, post: FeedPost | None) -> bool:
    return post is not None and viewer.is_operator


def ensure_may_share(viewer: Viewer, message: Message) -> int:
    """The author's id; the message's text may be read by everyone (not a silent note)."""
    me = require_operator(viewer)
    audience_of_copy(message).refuse_everyone(["input", "messageId"])  # every operator reads the feed
    return me
