"""`operatorsChanged`: the OPERATOR_PRESENCE events (services/chats/presence.py, operators.py
`change_status`) of the operators whose presence the viewer follows (the operator policy's
`presence_followed`), replayed after `after` and then live, like every other subscription
(services/events/subscriptions.py `follow`)."""
from __future__ import annotations

from typing import AsyncIterator, Callable

from models import Event
from services.events.records import EventKind, EventRecord
from services.events.subscriptions import follow
from services.identity.viewer import Viewer, require_operator
from services.policies import operators as policy


async def operator_events(viewer: Viewer, after: str | None = None,
                          current_viewer: Callable[[], Viewer] | None = None) -> AsyncIterator[EventRecord]:
    """Presence changes the viewer may follow, each checked when it is delivered (a colleague who left
    the viewer's queues is no longer followed). `current_viewer`: who the viewer is now (a WebSocket's
    viewer follows its token)."""
    require_operator(viewer)

    def matches(event: EventRecord) -> bool:
        return event.kind is EventKind.OPERATOR_PRESENCE and bool(event.detail)

    async for event in follow(Event.filter(kind=EventKind.OPERATOR_PRESENCE.value), matches, after):
        now = current_viewer() if current_viewer is not None else viewer
        assert event.detail is not None  # `matches`
        if await policy.follows_presence_of(now, event.detail["operator_id"]):
            yield event
