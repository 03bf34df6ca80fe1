"""Where a waiting chat stands: its position in its channel's queue and an estimate of its wait, shown
to its visitor and to operators who see the chat (only a count and a duration: nothing of the other
chats).

- queue position: 1 = next, among the QUEUED chats of the same channel in the order the queue offers
  them (services/chats/queue.py `in_queue_order`: priority, then the oldest);
- estimated wait: the median wait (answered_at - created_at) of the channel's last RECENT_ANSWERS
  chats answered within RECENT_HOURS, minus how long this chat has waited already (never below 0);
  unknown (None) when the channel answered none in that time.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from models import Chat, ChatStatus
from services.chats import queue

#: how many of a channel's latest answers an estimate looks at
RECENT_ANSWERS = 20
#: how far back they may be
RECENT_HOURS = 24


async def queue_positions(chat_ids: list[int]) -> dict[int, int]:
    """{chat id: its position} of those of these chats that wait in a channel's queue."""
    channel_ids = set(await Chat.filter(id__in=chat_ids, status=ChatStatus.QUEUED, open_channel_id__isnull=False)
                      .values_list("open_channel_id", flat=True))
    if not channel_ids:
        return {}
    waiting = await queue.in_queue_order(Chat.filter(status=ChatStatus.QUEUED, open_channel_id__in=channel_ids)) \
        .only("id", "open_channel_id", "priority", "created_at")
    places: dict[int | None, int] = defaultdict(int)
    positions = {}
    for chat in waiting:
        places[chat.open_channel_id] += 1
        positions[chat.id] = places[chat.open_channel_id]
    return {i: positions[i] for i in chat_ids if i in positions}


@dataclass(frozen=True, slots=True)
class ChannelQueue:
    """A channel's waiting chats as the queue offers them (what a queue position counts) and its
    median wait: everything the standings of all its waiting chats are made of."""

    #: {waiting chat id: its position, 1 = next}
    positions: dict[int, int]
    #: {waiting chat id: when it started waiting} (the estimate's `waiting_since`)
    waiting_since: dict[int, datetime]
    median_wait: float | None

    def position_of(self, chat_id: int) -> int | None:
        """None: the chat does not wait in this queue."""
        return self.positions.get(chat_id)

    def estimate_of(self, chat_id: int) -> int | None:
        since = self.waiting_since.get(chat_id)
        return remaining_wait(self.median_wait, since) if since is not None else None


async def channel_queue(channel_id: int) -> ChannelQueue:
    """The standing of every chat waiting in the channel's queue, in two statements whatever their number."""
    waiting = await queue.in_queue_order(Chat.filter(status=ChatStatus.QUEUED, open_channel_id=channel_id)) \
        .values_list("id", "created_at")
    median_wait = (await median_waits([channel_id]))[channel_id] if waiting else None
    return ChannelQueue(positions={chat_id: place for place, (chat_id, _) in enumerate(waiting, start=1)},
                        waiting_since=dict(waiting), median_wait=median_wait)


async def median_waits(channel_ids: list[int]) -> dict[int, float | None]:
    """{channel id: the median wait in seconds of its recent answers (None: none)}."""
    since = queue.now() - timedelta(hours=RECENT_HOURS)
    found: dict[int, float | None] = {}
    for channel_id in set(channel_ids):
        rows = await (Chat.filter(open_channel_id=channel_id, answered_at__gte=since).order_by("-answered_at", "-id")
                      .limit(RECENT_ANSWERS).values_list("created_at", "answered_at"))
        waits = [max(0.0, (answered - created).total_seconds()) for created, answered in rows]
        found[channel_id] = median(waits) if waits else None
    return found


def remaining_wait(median_wait: float | None, waiting_since: datetime) -> int | None:
    """The estimate for a chat waiting since then, in whole seconds (None: unknown)."""
    if median_wait is None:
        return None
    return max(0, round(median_wait - (queue.now() - waiting_since).total_seconds()))
