"""Positions in the event log that reads hand out, for a client to pass back as `after`.

- `newest_event_id`: the newest committed event, read BEFORE the data of an answer (an answer's
  `eventCursor`). Why that is a correct cursor: event ids are given in commit order (the advisory
  lock in services/events/events.py; SQLite has one writer), so once id N is read, every event up
  to N that will ever exist has committed, and the data read afterwards reflects it. An event
  after N may or may not show in the data; `after: N` delivers it either way: at worst a change
  is seen in the answer and again as an event, never missed.
- `message_event_ids`: the MESSAGE_ADDED event of each message (`Message.eventId`).
"""
from __future__ import annotations

from typing import cast

from models import Event
from services.events.stream_position import latest_event_id

MESSAGE_ADDED = "MESSAGE_ADDED"


async def newest_event_id() -> int:
    """The id of the newest committed event (0 if none)."""
    return await latest_event_id()


async def message_event_ids(messages: list[tuple[int, int]]) -> dict[int, int]:
    """The id of the event that added each message, by message id; `messages`: (message id,
    its chat's id) of messages the caller may read (nothing of them is read here).

    A message written without its own event (a transfer's comment, a silent system note) gets
    the event of the message before it in its chat, 0 if none: resuming `after` it then
    replays from there, so the messages after it are all delivered (and perhaps that earlier
    one again), never skipped. The messages of a chat are written under the chat's row lock, so
    their ids and their events are in the same order.
    """
    found: dict[int, int] = {}
    # newest first, so that the first event of a message (should there be two) is the one kept
    rows = await Event.filter(message_id__in=[m for m, _ in messages], kind=MESSAGE_ADDED).order_by("-id") \
        .values_list("message_id", "id")
    for message_id, event_id in cast(list[tuple[int, int]], rows):
        found[message_id] = event_id
    for message_id, chat_id in messages:
        if message_id not in found:  # rare: one small indexed read each
            earlier = cast(list[int], await Event.filter(chat_id=chat_id, kind=MESSAGE_ADDED, message_id__lt=message_id)
                           .order_by("-id").limit(1).values_list("id", flat=True))
            found[message_id] = earlier[0] if earlier else 0
    return found
