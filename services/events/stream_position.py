"""Where one subscription stands in the event log, so it can (re)read the database without gaps
or duplicates: the replay after `after`, and every catch-up the broker asks for (Redis came
back, a publish failed, the periodic safety net).

Why reading after a checkpoint is enough: event ids are given in commit order (see
services/events/events.py), so once a read has seen id N, every event up to N that will ever exist
was visible to it. Events sent live in between are remembered (`seen`) and skipped when a
later read meets them again.
"""
from __future__ import annotations

from typing import AsyncIterator, cast

from tortoise.queryset import QuerySet

from models import Event
from services.events.records import EventRecord, record_of_row

BACKLOG_BATCH = 500
#: how many already-sent ids to remember for de-duplication
SEEN_WINDOW = 10_000


async def latest_event_id() -> int:
    """The id of the newest committed event (0 if none): where a subscription without `after` starts."""
    ids = cast(list[int], await Event.all().order_by("-id").limit(1).values_list("id", flat=True))
    return ids[0] if ids else 0


class StreamPosition:
    """`checkpoint`: every event up to it has been read from the database (or precedes the
    subscription); `seen`: ids already sent, live or read; `floor`: nothing at or below it is sent."""

    def __init__(self, floor: int, *, skip_live_below_floor: bool) -> None:
        self.floor = floor
        self.checkpoint = floor
        self.seen: set[int] = set()
        self._skip_live_below_floor = skip_live_below_floor

    def take_live(self, event_id: int) -> bool:
        """Whether a live event (its id) is new to this subscription (it is then remembered)."""
        if event_id in self.seen or (self._skip_live_below_floor and event_id <= self.floor):
            return False
        self._remember(event_id)
        return True

    async def read(self, backlog: QuerySet[Event], from_id: int | None = None) -> AsyncIterator[EventRecord]:
        """The events of `backlog` after the checkpoint (or from `from_id`, if lower), in id order,
        except those already sent."""
        cursor = self.checkpoint if from_id is None else max(self.floor, min(self.checkpoint, from_id - 1))
        while True:
            batch = await backlog.filter(id__gt=cursor).order_by("id").limit(BACKLOG_BATCH)
            for row in batch:
                cursor = row.id
                self.checkpoint = max(self.checkpoint, cursor)
                if row.id in self.seen:
                    continue
                self._remember(row.id)
                yield record_of_row(row)
            if len(batch) < BACKLOG_BATCH:
                return

    def _remember(self, event_id: int) -> None:
        self.seen.add(event_id)
        if len(self.seen) <= SEEN_WINDOW:
            return
        # ids at or below the checkpoint are never read again (except by a rare `from_id` read)
        recent = sorted(i for i in self.seen if i > self.checkpoint)
        if len(recent) > SEEN_WINDOW // 2:
            dropped, recent = recent[:-SEEN_WINDOW // 2], recent[-SEEN_WINDOW // 2:]
            self.checkpoint = max(self.checkpoint, dropped[-1])
        self.seen = set(recent)
