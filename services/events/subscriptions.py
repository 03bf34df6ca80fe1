"""Following events: the backlog after `after` from the database, then the live stream.

The order matters: subscribe to the broker FIRST, then read the backlog, then yield live
events, skipping ids already sent — so an event committed in between is neither lost nor
sent twice. Each event is re-authorised by the caller (resolvers load what it points to
through the viewer's visibility checks), so a viewer who loses access stops seeing it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Callable, cast

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Event
from infrastructure.broker import Resync, Subscriber, broker_in_use
from services.policies import open_channels as open_channel_policy
from services.policies.chats import can_read, get_visible_chat, visible_chats
from services.common.errors import InvalidInput
from services.common.numerals import MAX_EVENT_ID, parse_numeral
from services.events.stream_position import StreamPosition, latest_event_id
from services.identity.viewer import Viewer, require_operator, require_visitor

#: wait before a catch-up read that failed (database unreachable) is tried again
CATCH_UP_RETRY_SECONDS = 1.0

log = logging.getLogger("openchannels.subscriptions")

EventFilter = Callable[[dict[str, Any]], bool]


def parse_after(after: str | None) -> int | None:
    if after is None or after == "":
        return None
    number = parse_numeral(after, maximum=MAX_EVENT_ID)
    if number is None:
        raise InvalidInput("`after` must be an eventId received earlier.", field=["after"])
    return number


async def follow(backlog: QuerySet[Event], matches: EventFilter, after: str | None) -> AsyncIterator[dict[str, Any]]:
    """Events that match, from just after `after` (if given), then live, in a gapless stream.

    When the broker says live delivery may have missed events (`Resync`: Redis came back, a
    publish failed, the periodic catch-up), the events after the last position read from the
    database are read again, skipping those already sent.
    """
    after_id = parse_after(after)
    broker = broker_in_use()
    if broker is None:
        raise RuntimeError("no broker in use: follow events inside Platform.in_use() (infrastructure/platform.py)")
    hub = broker.hub
    subscriber = hub.subscribe()
    try:
        newest = await latest_event_id()
        if after_id is not None and after_id > newest:
            # no client received that id (ids are given in commit order): a typo or a made-up
            # number would otherwise wait in silence for events until the log reached it
            raise InvalidInput("`after` is beyond the newest event: it must be an eventId received earlier.",
                               field=["after"])
        floor = after_id if after_id is not None else newest
        position = StreamPosition(floor, skip_live_below_floor=after_id is not None)
        if after_id is not None:
            async for event in position.read(backlog):
                if matches(event):
                    yield event
        while True:
            item = await subscriber.get()
            if isinstance(item, Resync):
                async for event in _catch_up(position, backlog, item, subscriber):
                    if matches(event):
                        yield event
            elif position.take_live(item) and matches(item):
                yield item
    finally:
        hub.unsubscribe(subscriber)


async def _catch_up(position: StreamPosition, backlog: QuerySet[Event], resync: Resync,
                    subscriber: Subscriber) -> AsyncIterator[dict[str, Any]]:
    """Read what live delivery may have missed; if the database cannot be read now, try again later."""
    try:
        async for event in position.read(backlog, resync.from_id):
            yield event
    except Exception as error:  # e.g. the database is unreachable: the subscription stays open
        log.warning("catch-up read failed (%r); retrying in %s s", error, CATCH_UP_RETRY_SECONDS)
        asyncio.get_running_loop().call_later(CATCH_UP_RETRY_SECONDS, subscriber.request_resync, resync.from_id)


async def queue_events(viewer: Viewer, open_channel_ids: list[int] | None, after: str | None,
                       current_viewer: Callable[[], Viewer] | None = None):
    """Queue changes of the given channels; omitted: every channel the viewer may see.

    `current_viewer`: who the viewer is now (a WebSocket's viewer follows its token: a
    supervisor demoted to operator gets their own queues' events only, from the next event on)."""
    allowed = await _followed_channels(viewer, open_channel_ids)
    backlog = Event.filter(queue_kind__isnull=False)
    if allowed is not None:
        backlog = backlog.filter(open_channel_id__in=list(allowed))

    def matches(event: dict[str, Any]) -> bool:
        return event["queue_kind"] is not None and (allowed is None or event["open_channel_id"] in allowed)

    async for event in follow(backlog, matches, after):
        now = current_viewer() if current_viewer is not None else viewer
        if now != viewer:  # `matches` reads `allowed`: from now on it is the new viewer's
            viewer, allowed = now, await _followed_channels(now, open_channel_ids)
            if not matches(event):
                continue
        yield event


async def _followed_channels(viewer: Viewer, open_channel_ids: list[int] | None) -> set[int] | None:
    """The channels whose queue events the viewer receives (None: every channel)."""
    require_operator(viewer)
    if viewer.is_supervisor:
        return set(open_channel_ids) if open_channel_ids else None
    mine = set(cast(list[int], await open_channel_policy.queue_channel_ids(viewer)))
    return mine & set(open_channel_ids) if open_channel_ids else mine


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
    own: set[int] = set(cast(list[int], await visible_chats(viewer).values_list("id", flat=True)))
    backlog = Event.filter(chat_id__in=Subquery(visible_chats(viewer).values("id")),
                           chat_kind__isnull=False, visitor_visible=True)
    async for event in follow(backlog, lambda e: e["chat_kind"] is not None and e["visitor_visible"], after):
        if event["chat_id"] not in own:
            if not await can_read(viewer, event["chat_id"]):
                continue
            own.add(event["chat_id"])
        yield event
