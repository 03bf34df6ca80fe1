"""Who receives an event, and whether they could read its chat when it happened.

The rule is a pure function of the stored event and the viewer (plus the viewer's queue
channels), so a replay with `after` decides exactly as the live stream did. Every subscription
asks it (services/events/subscriptions.py), and so does anything else that hands events out.

- A visitor receives nothing that stays operator-side (`visitor_visible` false: silent notes, their
  files, operators' read markers), and only the events of their own client's chats.
- An operator could read the chat right after the event (the chat policy, services/policies/chats.py,
  applied to the event's `state`) when: a supervisor or an admin; the chat was in one of their queue
  channels; they were its responsible; or they had a personal relation to it (participant, offered).
  The personal relation is what the event says of it: an operator among those it names
  (`operator_ids`) has it, unless the chat left them (`removed_operator_ids`). An event of a change
  of the chat names every operator related to it before and after (`names_every_operator`): one it
  does not name has none. An event that names only those it concerns (an offer, a read marker)
  leaves the others' relation as it was (`related_before`, which a chat's stream knows).
- What they receive of the chat itself is the chat as it is now, loaded through the chat policy,
  and only if they could read it then too: never the content of a chat they no longer read.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from services.identity.viewer import Viewer
from services.policies import open_channels as open_channel_policy
from services.policies.conditions import EVERYTHING, NOTHING, Condition


class ChatStateFacts(Protocol):
    """What the rule reads of an event's chat state (services/events/records.py ChatStateRecord)."""

    @property
    def operator_id(self) -> int | None: ...
    @property
    def open_channel_id(self) -> int | None: ...
    @property
    def client_id(self) -> int | None: ...


class EventFacts(Protocol):
    """What the rule reads of an event (services/events/records.py EventRecord)."""

    @property
    def open_channel_id(self) -> int | None: ...
    @property
    def operator_ids(self) -> tuple[int, ...]: ...
    @property
    def removed_operator_ids(self) -> tuple[int, ...]: ...
    @property
    def names_every_operator(self) -> bool: ...
    @property
    def visitor_visible(self) -> bool: ...
    @property
    def state(self) -> ChatStateFacts | None: ...


def may_receive(viewer: Viewer, event: EventFacts) -> bool:
    """Whether the event is one the viewer's side receives at all: operator-side events never
    reach a visitor (nor a connector, which relays what the client reads)."""
    if viewer.is_operator:
        return True
    return viewer.is_visitor and event.visitor_visible


def webhook_receives(event: EventFacts, *, include_silent_notes: bool, silent_message: bool = False) -> bool:
    """Whether an outbound webhook receives the event: what the client could read, and what stays
    operator-side (silent notes, their files) only when the webhook was made to receive it
    (`includeSilentNotes`, an admin's choice). `silent_message`: the event's message, once loaded,
    is a silent note (asked again, whatever the event says)."""
    return (event.visitor_visible and not silent_message) or include_silent_notes


def timeline_events(viewer: Viewer) -> Condition:
    """Which events of a chat the viewer may read (services/policies/chats.py) its timeline shows:
    every one for an operator (silent notes and transfer comments are operator-side, and the
    timeline is the operator side's audit trail); none for a visitor."""
    return EVERYTHING if viewer.is_operator else NOTHING


def reads_event_detail(viewer: Viewer) -> bool:
    """Whether the viewer reads what an event says besides its kind and state (a transfer's comment,
    a chat's old title, a rule's name): operator-side only."""
    return viewer.is_operator


def related_after(viewer: Viewer, event: EventFacts, related_before: bool = False) -> bool:
    """Whether the operator had a personal relation to the chat (participant, offered, responsible)
    right after the event (see the module docstring)."""
    me = viewer.operator_id
    if me is None or me in event.removed_operator_ids:
        return False
    if me in event.operator_ids:
        return True
    return False if event.names_every_operator else related_before


def could_read_at(viewer: Viewer, event: EventFacts, member_channel_ids: Collection[int] = (), *,
                  related_before: bool = False) -> bool:
    """Whether the viewer could read the event's chat right after it (see the module docstring).

    `member_channel_ids`: the channels whose queue the viewer is in (`member_channels`);
    `related_before`: whether they had a personal relation to the chat just before this event
    (a chat's stream follows it with `related_after`; a queue's or a chat list's events say it)."""
    state = event.state
    if viewer.is_operator:
        if viewer.is_supervisor:
            return True
        if state is not None:
            if state.operator_id == viewer.operator_id:
                return True
            if state.open_channel_id is not None and state.open_channel_id in member_channel_ids:
                return True
        elif event.open_channel_id is not None and event.open_channel_id in member_channel_ids:
            return True  # an event written before events kept the chat's state
        return related_after(viewer, event, related_before)
    if viewer.is_visitor:
        # the client was made for this visitor; a chat never changes its client
        if state is None or state.client_id is None:  # written before events kept the chat's state
            return related_before
        return state.client_id == viewer.client_id
    return False


def is_removal_for(viewer: Viewer, event: EventFacts) -> bool:
    """Whether the chat leaves the viewer's own chat list with this event (CHAT_REMOVED for them)."""
    return viewer.operator_id is not None and viewer.operator_id in event.removed_operator_ids


async def member_channels(viewer: Viewer) -> frozenset[int]:
    """The channels whose queue the viewer is in (nothing for a visitor, nor needed for a supervisor)."""
    if not viewer.is_operator or viewer.is_supervisor:
        return frozenset()
    ids: Any = await open_channel_policy.queue_channel_ids(viewer)
    return frozenset(ids)
