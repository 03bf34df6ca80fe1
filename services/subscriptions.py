"""Following events: the backlog after `after` from the database, then the live stream.

The order matters: subscribe to the broker FIRST, then read the backlog, then yield live
events, skipping ids already sent — so an event committed in between is neither lost nor
sent twice. Each event is re-authorised by the caller (resolvers load what it points to
through the viewer's visibility checks), so a viewer who loses access stops seeing it.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Callable

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Chat, Event, QueueMember
from openchannels.broker import get_broker
from services.access import get_visible_chat
from services.errors import InvalidInput
from services.events import event_to_dict
from services.viewer import Viewer, require_operator, require_visitor

BACKLOG_BATCH = 500
#: how many already-sent ids to remember for de-duplication of the live stream
SEEN_WINDOW = 10_000

EventFilter = Callable[[dict[str, Any]], bool]


def parse_after(after: str | None) -> int | None:
    if after is None or after == "":
        return None
    if not after.isdigit():
        raise InvalidInput("`after` must be an eventId received earlier.", field=["after"])
    return int(after)


async def follow(backlog: QuerySet[Event], matches: EventFilter, after: str | None) -> AsyncIterator[dict[str, Any]]:
    """Events that match, from just after `after` (if given), then live, in a gapless stream."""
    after_id = parse_after(after)
    hub = get_broker().hub
    subscriber = hub.subscribe()
    try:
        seen: set[int] = set()
        if after_id is not None:
            cursor = after_id
            while True:
                batch = await backlog.filter(id__gt=cursor).order_by("id").limit(BACKLOG_BATCH)
                for row in batch:
                    event = event_to_dict(row)
                    seen.add(row.id)
                    cursor = row.id
                    if matches(event):
                        yield event
                if len(batch) < BACKLOG_BATCH:
                    break
        while True:
            event = await subscriber.get()
            if event["id"] in seen or (after_id is not None and event["id"] <= after_id):
                continue
            seen.add(event["id"])
            if len(seen) > SEEN_WINDOW:
                seen = set(sorted(seen)[-SEEN_WINDOW // 2:])
            if matches(event):
                yield event
    finally:
        hub.unsubscribe(subscriber)


async def queue_events(viewer: Viewer, open_channel_ids: list[int] | None, after: str | None):
    """Queue changes of the given channels; omitted: every channel the viewer may see."""
    me = require_operator(viewer)
    if viewer.is_supervisor:
        allowed = set(open_channel_ids) if open_channel_ids else None
    else:
        mine = set(await QueueMember.filter(operator_id=me).values_list("open_channel_id", flat=True))
        allowed = mine & set(open_channel_ids) if open_channel_ids else mine
    backlog = Event.filter(queue_kind__isnull=False)
    if allowed is not None:
        backlog = backlog.filter(open_channel_id__in=list(allowed))

    def matches(event: dict[str, Any]) -> bool:
        return event["queue_kind"] is not None and (allowed is None or event["open_channel_id"] in allowed)

    async for event in follow(backlog, matches, after):
        yield event


async def chat_events(viewer: Viewer, chat_id: int, after: str | None):
    """Everything that happens in one chat the viewer may see (no silent notes for visitors)."""
    await get_visible_chat(viewer, chat_id)
    operator_side = viewer.is_operator
    backlog = Event.filter(chat_id=chat_id, chat_kind__isnull=False)
    if not operator_side:
        backlog = backlog.filter(visitor_visible=True)

    def matches(event: dict[str, Any]) -> bool:
        return (event["chat_id"] == chat_id and event["chat_kind"] is not None
                and (operator_side or event["visitor_visible"]))

    async for event in follow(backlog, matches, after):
        yield event


async def my_chat_list_events(viewer: Viewer, after: str | None = None):
    """Changes to the viewer's own chat list: offers, answers, messages, unread counters."""
    me = require_operator(viewer)

    def matches(event: dict[str, Any]) -> bool:
        return me in event["operator_ids"]

    async for event in follow(Event.filter(chat_id__isnull=False), matches, after):
        yield event


async def new_messages(viewer: Viewer, chat_id: int | None, after: str | None = None):
    """New messages in one chat, or in every chat the operator takes part in or is offered."""
    if chat_id is not None:
        await get_visible_chat(viewer, chat_id)
    else:
        require_operator(viewer)
    me = viewer.operator_id
    backlog = Event.filter(kind="MESSAGE_ADDED")
    if chat_id is not None:
        backlog = backlog.filter(chat_id=chat_id)

    def matches(event: dict[str, Any]) -> bool:
        if event["kind"] != "MESSAGE_ADDED":
            return False
        if not viewer.is_operator and not event["visitor_visible"]:
            return False
        return event["chat_id"] == chat_id if chat_id is not None else me in event["operator_ids"]

    async for event in follow(backlog, matches, after):
        yield event


async def visitor_events(viewer: Viewer, after: str | None):
    """The visitor's own chats, silent notes excluded. A new chat of theirs joins the stream."""
    require_visitor(viewer)
    own: set[int] = set(await Chat.filter(client_id=viewer.client_id).values_list("id", flat=True))
    backlog = Event.filter(chat_id__in=Subquery(Chat.filter(client_id=viewer.client_id).values("id")),
                           chat_kind__isnull=False, visitor_visible=True)
    async for event in follow(backlog, lambda e: e["chat_kind"] is not None and e["visitor_visible"], after):
        if event["chat_id"] not in own:
            if not await Chat.filter(id=event["chat_id"], client_id=viewer.client_id).exists():
                continue
            own.add(event["chat_id"])
        yield event
