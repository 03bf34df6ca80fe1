"""One event, many subscriptions of the same viewer: what they need of it is loaded once.

A supervisor's wall of dashboards, or a console with several subscriptions, holds many
subscriptions of one viewer, and each used to re-authorise and load every event on its own
(three to six queries each). The broker's hub hands the same event object to every
subscription of the process, so the work is kept on the event itself: the first subscription
of a viewer loads the chat through that viewer's visibility and makes the event's loaders;
the others await that result and share the loaders, so the fields they select are loaded once
too. It lives as long as the event's record does (`EventRecord.shared`: the hub hands one wire
dict to every subscription, which makes one record of it, services/events/records.py). Different viewers never share (visibility, unread
counts and silent notes depend on them); events replayed from the database are not shared.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from services.events.records import EventRecord


def once_per_viewer(event: EventRecord, viewer: Hashable, compute: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
    """`compute()`'s result for this event and viewer, computed by the first caller, shared with the rest."""
    shared: dict[Hashable, asyncio.Future] = event.shared
    work = shared.get(viewer)
    if work is None or (work.done() and (work.cancelled() or work.exception() is not None)):
        work = shared[viewer] = asyncio.ensure_future(compute())  # a failure is not kept: the next retries
    return asyncio.shield(work)  # one subscriber going away does not cancel it for the others
