"""Following events: the backlog after `after` from the database, then the live stream.

The order matters: subscribe to the broker FIRST, then read the backlog, then yield live
events, skipping ids already sent — so an event committed in between is neither lost nor
sent twice. Each event is re-authorised by the caller (resolvers load what it points to
through the viewer's visibility checks), so a viewer who loses access stops seeing it.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import AsyncIterator, Callable, cast

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Event
from infrastructure.broker import Resync, Subscriber, broker_in_use
from services.policies import events as event_policy
from services.policies import open_channels as open_channel_policy
from services.policies.chats import can_read, get_visible_chat, visible_chats
from services.common.errors import InvalidInput
from services.common.numerals import MAX_EVENT_ID, parse_numeral
from services.events.records import ChatEventKind, EventKind, EventRecord, record_of_wire
from services.events.stream_position import StreamPosition, latest_event_id
from services.identity.viewer import Viewer, require_operator, require_visitor

#: wait before a catch-up read that failed (database unreachable) is tried again
CATCH_UP_RETRY_SECONDS = 1.0

log = logging.getLogger("openchannels.subscriptions")

EventFilter = Callable[[EventRecord], bool]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one viewer: `readable`: whether they could read its chat when it happened
    (services/policies/events.py; if not, they get the event without the chat); `kind`: the
    ChatEventKind they see (CHAT_REMOVED when the chat left their list or view)."""

    event: EventRecord
    readable: bool
    kind: ChatEventKind | None = None


def parse_after(after: str | None) -> int | None:
    if after is None or after == "":
        return None
    number = parse_numeral(after, maximum=MAX_EVENT_ID)
    if number is None:
        raise InvalidInput("`after` must be an eventId received earlier.", field=["after"])
    return number


async def follow(backlog: QuerySet[Event], matches: EventFilter, after: str | None) -> AsyncIterator[EventRecord]:
    """Events that match, from just after `after` (if given), then live, in a gapless stream.

    When the broker says live delivery may have missed events (`Resync`: Redis came back, a
    publish failed, the periodic catch-up), the events after the last position read from the
    database are read again, skipping those already sent. The broker's wire dicts become
    records here (services/events/records.py).
    """
    after_id = parse_after(after)
    broker = broker_in_use()
    if broker is None:
        raise RuntimeError("no broker in use: follow events inside Platform.in_use() (infrastructure/platform.py)")
    hub = broker.hub
    subscriber = hub.subscribe()
    try:
        # with Redis, a process subscribes to the event channel only while it has subscribers:
        # the database is read once what is committed from now on arrives live; a re-read asked
        # meanwhile (the SUBSCRIBE's own) is what that first read does
        await broker.live()
        subscriber.discard_resync()
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
            elif position.take_live(item["id"]):
                event = record_of_wire(item)
                if matches(event):
                    yield event
    finally:
        hub.unsubscribe(subscriber)


async def _catch_up(position: StreamPosition, backlog: QuerySet[Event], resync: Resync,
                    subscriber: Subscriber) -> AsyncIterator[EventRecord]:
    """Read what live delivery may have missed; if the database cannot be read now, try again later."""
    try:
        async for event in position.read(backlog, resync.from_id):
            yield event
    except Exception as error:  # e.g. the database is unreachable: the subscription stays open
        log.warning("catch-up read failed (%r); retrying in %s s", error, CATCH_UP_RETRY_SECONDS)
        asyncio.get_running_loop().call_later(CATCH_UP_RETRY_SECONDS, subscriber.request_resync, resync.from_id)


async def queue_events(viewer: Viewer, open_channel_ids: list[int] | None, after: str | None,
                       current_viewer: Callable[[], Viewer] | None = None) -> AsyncIterator[Delivery]:
    """Queue changes of the given channels; omitted: every channel the viewer may see. Every event
    of a followed channel is delivered (a chat transferred to a queue the viewer is not in is
    `CHAT_TRANSFERRED` in the queue it left), unreadable if they could not read the chat then.

    `current_viewer`: who the viewer is now (a WebSocket's viewer follows its token: a
    supervisor demoted to operator gets their own queues' events only, from the next event on)."""
    allowed = await _followed_channels(viewer, open_channel_ids)
    members = await event_policy.member_channels(viewer)
    backlog = Event.filter(queue_kind__isnull=False)
    if allowed is not None:
        backlog = backlog.filter(open_channel_id__in=list(allowed))

    def matches(event: EventRecord) -> bool:
        return event.queue_kind is not None and (allowed is None or event.open_channel_id in allowed)

    async for event in follow(backlog, matches, after):
        now = current_viewer() if current_viewer is not None else viewer
        if now != viewer:  # `matches` reads `allowed`: from now on it is the new viewer's
            viewer, allowed = now, await _followed_channels(now, open_channel_ids)
            members = await event_policy.member_channels(now)
            if not matches(event):
                continue
        yield Delivery(event, event_policy.could_read_at(viewer, event, members))


async def _followed_channels(viewer: Viewer, open_channel_ids: list[int] | None) -> set[int] | None:
    """The channels whose queue events the viewer receives (None: every channel)."""
    require_operator(viewer)
    if viewer.is_supervisor:
        return set(open_channel_ids) if open_channel_ids else None
    mine = set(cast(list[int], await open_channel_policy.queue_channel_ids(viewer)))
    return mine & set(open_channel_ids) if open_channel_ids else mine


async def chat_events(viewer: Viewer, chat_id: int, after: str | None) -> AsyncIterator[Delivery]:
    """Everything that happens in one chat the viewer may see (operator-side events: operators only).

    The viewer could read the chat when subscribing; at the first event after which they could not
    (transferred away, taken over), they get CHAT_REMOVED without the chat, then nothing until an
    event after which they could read it again."""
    await get_visible_chat(viewer, chat_id)
    members = await event_policy.member_channels(viewer)
    backlog = Event.filter(chat_id=chat_id, chat_kind__isnull=False)
    if not viewer.is_operator:
        backlog = backlog.filter(visitor_visible=True)

    def matches(event: EventRecord) -> bool:
        return event.chat_id == chat_id and event.chat_kind is not None and event_policy.may_receive(viewer, event)

    # where the stream starts the viewer may read the chat (checked above); the first event that
    # names every operator of the chat settles whether they are among them
    readable = related = True
    async for event in follow(backlog, matches, after):
        could = event_policy.could_read_at(viewer, event, members, related_before=related)
        related = event_policy.related_after(viewer, event, related)
        if could:
            yield Delivery(event, True, event.chat_kind)
        elif readable:
            yield Delivery(event, False, ChatEventKind.CHAT_REMOVED)
        readable = could


async def my_chat_list_events(viewer: Viewer, after: str | None = None) -> AsyncIterator[Delivery]:
    """Changes to the viewer's own chat list: offers, answers, messages, unread counters; CHAT_REMOVED
    when a chat leaves it."""
    me = require_operator(viewer)
    members = await event_policy.member_channels(viewer)

    def matches(event: EventRecord) -> bool:
        return event.chat_id is not None and me in event.operator_ids

    async for event in follow(Event.filter(chat_id__isnull=False), matches, after):
        removed = event_policy.is_removal_for(viewer, event)
        yield Delivery(event, event_policy.could_read_at(viewer, event, members),
                       ChatEventKind.CHAT_REMOVED if removed else event.chat_kind or ChatEventKind.CHAT_UPDATED)


async def new_messages(viewer: Viewer, chat_id: int | None, after: str | None = None) -> AsyncIterator[EventRecord]:
    """New messages in one chat, or in every chat the operator takes part in or is offered: only
    those of a chat the viewer could read when it was written."""
    if chat_id is not None:
        await get_visible_chat(viewer, chat_id)
    else:
        require_operator(viewer)
    members = await event_policy.member_channels(viewer)
    me = viewer.operator_id
    backlog = Event.filter(kind=EventKind.MESSAGE_ADDED.value)
    if chat_id is not None:
        backlog = backlog.filter(chat_id=chat_id)

    def matches(event: EventRecord) -> bool:
        if event.kind is not EventKind.MESSAGE_ADDED or not event_policy.may_receive(viewer, event):
            return False
        return event.chat_id == chat_id if chat_id is not None else me in event.operator_ids

    async for event in follow(backlog, matches, after):
        # a message's event names every operator of its chat (`operator_ids`): no need of `before`
        if event_policy.could_read_at(viewer, event, members):
            yield event


async def visitor_events(viewer: Viewer, after: str | None) -> AsyncIterator[Delivery]:
    """The visitor's own chats, operator-side events excluded. A new chat of theirs joins the stream."""
    require_visitor(viewer)
    backlog = Event.filter(chat_id__in=Subquery(visible_chats(viewer).values("id")),
                           chat_kind__isnull=False, visitor_visible=True)

    def matches(event: EventRecord) -> bool:
        return event.chat_kind is not None and event_policy.may_receive(viewer, event)

    async for event in follow(backlog, matches, after):
        if event.state is None:  # written before events kept the chat's state: ask the chat policy
            if event.chat_id is None or not await can_read(viewer, event.chat_id):
                continue
        elif not event_policy.could_read_at(viewer, event):
            continue
        yield Delivery(event, True, event.chat_kind)
