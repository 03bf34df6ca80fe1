"""A chat's timeline: every event of the chat, oldest first, with who did it, the chat's state
right after it and what else it said: the audit trail a supervisor reads.

The viewer must be able to read the chat now (services/policies/chats.py); which of its events
they read, and whether they read an event's detail (a transfer's comment, an old title, a rule's
name), is services/policies/events.py's: the operator side reads all, a visitor no timeline.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from models import Event, Message
from services.common.errors import NotFound
from services.common.pagination import Page, paginate
from services.events.records import ChatStateRecord, EventRecord, record_of_row
from services.identity.viewer import Viewer
from services.policies import chats as chat_policy, events as event_policy, messages as message_policy
from services.policies.conditions import apply

#: what `detail` shows of an event, by the key it was recorded with: a transfer's comment, a
#: rename's old title, the name of the rule that acted, the service-level target warned of or missed
DETAIL_KEYS = ("comment", "old_title", "rule", "target")


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    event: EventRecord
    #: the kind it shows as: its QueueEventKind, else its ChatEventKind
    kind: str
    #: the chat right after it
    state: ChatStateRecord
    message: Message | None
    detail: str | None


def detail_text(detail: dict[str, Any] | None) -> str | None:
    for key in DETAIL_KEYS:
        value = (detail or {}).get(key)
        if value not in (None, ""):
            return str(value)
    return None


async def chat_timeline(viewer: Viewer, *, chat_id: int, first: int | None = None, after: str | None = None) -> Page:
    """One page of the chat's timeline (rows: TimelineEntry); NOT_FOUND for a chat the viewer may not read."""
    chat = await chat_policy.visible_chats(viewer).get_or_none(id=chat_id)
    if chat is None:
        raise NotFound("No such chat.", field=["chatId"])
    query = apply(Event.filter(Q(queue_kind__isnull=False) | Q(chat_kind__isnull=False), chat_id=chat_id),
                  event_policy.timeline_events(viewer))
    page = await paginate(query, first=first, after=after)
    records = [record_of_row(row) for row in page.rows]
    message_ids = [r.message_id for r in records if r.message_id is not None]
    messages = {m.id: m for m in await message_policy.of_chats(viewer, chat_id).filter(id__in=message_ids)} \
        if message_ids else {}
    with_detail = event_policy.reads_event_detail(viewer)
    page.rows = [TimelineEntry(
        id=r.id, event=r, kind=(r.queue_kind or r.chat_kind).value,  # type: ignore[union-attr]  # one of them: the query
        state=r.state or ChatStateRecord.of(chat),  # an event written before events kept the state: the chat now
        message=messages.get(r.message_id) if r.message_id is not None else None,
        detail=detail_text(r.detail) if with_detail else None) for r in records]
    return page
