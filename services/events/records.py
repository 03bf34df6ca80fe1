"""What an event is, typed: its kind (`EventKind`), the chat's state right after it
(`ChatStateRecord`) and the event itself (`EventRecord`), and the ONE place where an event row
and the broker's wire form (a JSON-safe dict) become a record and back.

The broker (infrastructure/broker.py) carries wire dicts; services/events turns them into
records at the boundary (`record_of_wire`, `record_of_row`), and everything above sees records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from models import Chat, ChatPriority, ChatStatus, Event

E = TypeVar("E", bound=Enum)


def member(kind: type[E], value: E | str) -> E:
    """`kind(value)`, without Enum's call (two frames in Python) for a value that is a member already:
    a model's enum field holds members, and the busiest use cases record members (sendMessage)."""
    return value if type(value) is kind else kind(value)


class EventKind(str, Enum):
    """Every kind of event stored (the `kind` column). A chat's events also carry the kind its
    queue (`queue_kind`, a QueueEventKind) and its chat stream (`chat_kind`, a ChatEventKind) show."""

    CHAT_QUEUED = "CHAT_QUEUED"
    CHAT_OFFERED = "CHAT_OFFERED"
    CHAT_OFFER_WITHDRAWN = "CHAT_OFFER_WITHDRAWN"
    CHAT_OFFER_EXPIRED = "CHAT_OFFER_EXPIRED"
    CHAT_ANSWERED = "CHAT_ANSWERED"
    CHAT_SKIPPED = "CHAT_SKIPPED"
    CHAT_TRANSFERRED = "CHAT_TRANSFERRED"
    CHAT_INTERCEPTED = "CHAT_INTERCEPTED"
    CHAT_FINISHED = "CHAT_FINISHED"
    CHAT_FINISHED_BY_CLIENT = "CHAT_FINISHED_BY_CLIENT"
    CHAT_SPAM = "CHAT_SPAM"
    CHAT_AUTO_CLOSED = "CHAT_AUTO_CLOSED"
    CHAT_PINNED = "CHAT_PINNED"
    CHAT_UNPINNED = "CHAT_UNPINNED"
    CHAT_RENAMED = "CHAT_RENAMED"
    CHAT_RATED = "CHAT_RATED"
    CHAT_READ = "CHAT_READ"
    CHAT_UNREAD = "CHAT_UNREAD"
    CHAT_STARTED = "CHAT_STARTED"
    CONVERSATION_STARTED = "CONVERSATION_STARTED"
    PARTICIPANTS_CHANGED = "PARTICIPANTS_CHANGED"
    MESSAGE_ADDED = "MESSAGE_ADDED"
    MESSAGE_EDITED = "MESSAGE_EDITED"
    MESSAGE_DELETED = "MESSAGE_DELETED"
    PRIORITY_CHANGED = "PRIORITY_CHANGED"
    LABELS_CHANGED = "LABELS_CHANGED"
    #: nobody answered the waiting chat in time: its channel's no-answer rule was applied,
    #: `detail` = {"rule": the rule applied, "to_open_channel_id": where TRANSFER moved it}
    CHAT_NO_ANSWER = "CHAT_NO_ANSWER"
    #: a service-level target of the chat was missed (services/chats/sla.py), `detail` = {"target": its name}
    SLA_BREACHED = "SLA_BREACHED"
    #: a service-level target of the chat is due within its policy's warnBeforeSeconds, `detail` = {"target"}
    SLA_WARNING = "SLA_WARNING"
    #: an operator's presence (no chat): `detail` = {"operator_id", "status", "connected"}
    OPERATOR_PRESENCE = "OPERATOR_PRESENCE"
    #: an admin erased a client's personal data (GDPR). Written once with no chat (`detail` =
    #: {"client_id", "chat_ids", "messages", "files"}), and once per chat of theirs whose title changed
    #: (`queue_kind` CHAT_RENAMED, `chat_kind` CHAT_UPDATED: open consoles show the new title)
    CLIENT_ERASED = "CLIENT_ERASED"


#: the kinds whose `operator_ids` name only the operators they concern, not every operator of the chat
CONCERNING_SOME = frozenset({
    EventKind.CHAT_QUEUED, EventKind.CHAT_OFFERED, EventKind.CHAT_OFFER_WITHDRAWN, EventKind.CHAT_OFFER_EXPIRED,
    EventKind.CHAT_SKIPPED, EventKind.CHAT_READ, EventKind.CHAT_UNREAD, EventKind.OPERATOR_PRESENCE,
})


class QueueEventKind(str, Enum):
    """What a queue shows of an event (the `queue_kind` column; GraphQL's QueueEventKind)."""

    CHAT_QUEUED = "CHAT_QUEUED"
    CHAT_OFFERED = "CHAT_OFFERED"
    CHAT_ANSWERED = "CHAT_ANSWERED"
    CHAT_SKIPPED = "CHAT_SKIPPED"
    CHAT_TRANSFERRED = "CHAT_TRANSFERRED"
    CHAT_INTERCEPTED = "CHAT_INTERCEPTED"
    CHAT_FINISHED = "CHAT_FINISHED"
    CHAT_SPAM = "CHAT_SPAM"
    CHAT_PINNED = "CHAT_PINNED"
    CHAT_UNPINNED = "CHAT_UNPINNED"
    CHAT_RENAMED = "CHAT_RENAMED"
    CHAT_AUTO_CLOSED = "CHAT_AUTO_CLOSED"
    PRIORITY_CHANGED = "PRIORITY_CHANGED"
    CHAT_NO_ANSWER = "CHAT_NO_ANSWER"
    SLA_BREACHED = "SLA_BREACHED"
    SLA_WARNING = "SLA_WARNING"


class ChatEventKind(str, Enum):
    """What a chat's stream shows of an event (the `chat_kind` column; GraphQL's ChatEventKind).
    CHAT_REMOVED is never stored: a subscription says it to a viewer the chat left."""

    MESSAGE_ADDED = "MESSAGE_ADDED"
    MESSAGE_EDITED = "MESSAGE_EDITED"
    MESSAGE_DELETED = "MESSAGE_DELETED"
    CHAT_UPDATED = "CHAT_UPDATED"
    PARTICIPANTS_CHANGED = "PARTICIPANTS_CHANGED"
    CHAT_CLOSED = "CHAT_CLOSED"
    CHAT_REMOVED = "CHAT_REMOVED"
    LABELS_CHANGED = "LABELS_CHANGED"
    SLA_BREACHED = "SLA_BREACHED"


@dataclass(frozen=True, slots=True)
class ChatStateRecord:
    """The chat right after an event: what its subscribers show as `state`, and what decides who
    could read the chat then (services/policies/events.py). `client_id` never changes: whose
    chat it is, for the visitor's side."""

    status: ChatStatus
    title: str
    operator_id: int | None
    open_channel_id: int | None
    pinned: bool
    priority: ChatPriority
    client_id: int | None = None

    @classmethod
    def of(cls, chat: Chat) -> ChatStateRecord:
        """From the chat object as it is in memory (no query): call it after the change is applied."""
        return cls(status=member(ChatStatus, chat.status), title=chat.title, operator_id=chat.operator_id,
                   open_channel_id=chat.open_channel_id, pinned=bool(chat.pinned),
                   priority=member(ChatPriority, getattr(chat, "priority", None) or ChatPriority.NORMAL),
                   client_id=chat.client_id)

    def to_wire(self) -> dict[str, Any]:
        return {"status": self.status._value_, "title": self.title, "operator_id": self.operator_id,
                "open_channel_id": self.open_channel_id, "pinned": self.pinned, "priority": self.priority._value_,
                "client_id": self.client_id}

    @classmethod
    def of_wire(cls, data: dict[str, Any] | None) -> ChatStateRecord | None:
        if not data:
            return None
        return cls(status=ChatStatus(data["status"]), title=data["title"], operator_id=data.get("operator_id"),
                   open_channel_id=data.get("open_channel_id"), pinned=bool(data.get("pinned")),
                   priority=ChatPriority(data.get("priority") or ChatPriority.NORMAL.value),
                   client_id=data.get("client_id"))


@dataclass(frozen=True)
class EventRecord:
    """One event, as stored and as delivered. `operator_ids`: whose own chat list it changes
    (offered, responsible, participants, before and after); `removed_operator_ids` (among them):
    those the chat leaves with it; `actor_id`: the operator who caused it (None: the client or the
    system); `state`: the chat right after it (None for an event of no chat, or one written before
    events kept it); `visitor_visible`: False for what stays operator-side (silent notes)."""

    id: int
    kind: EventKind
    queue_kind: QueueEventKind | None
    chat_kind: ChatEventKind | None
    chat_id: int | None
    open_channel_id: int | None
    message_id: int | None
    operator_ids: tuple[int, ...]
    removed_operator_ids: tuple[int, ...]
    actor_id: int | None
    state: ChatStateRecord | None
    detail: dict[str, Any] | None
    visitor_visible: bool
    created_at: datetime
    #: work the subscriptions of one process share for this delivered event (never stored or sent:
    #: resolvers/chats/event_sharing.py)
    shared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def names_every_operator(self) -> bool:
        """Whether `operator_ids` names every operator related to the chat before and after (a change
        of the chat), not only those it concerns (an offer, a read marker): services/policies/events.py."""
        return self.kind not in CONCERNING_SOME

    def to_wire(self) -> dict[str, Any]:
        """The broker's wire form (JSON-safe)."""
        return {
            "id": self.id,
            "kind": self.kind._value_,
            "queue_kind": kind_value(self.queue_kind),
            "chat_kind": kind_value(self.chat_kind),
            "chat_id": self.chat_id,
            "open_channel_id": self.open_channel_id,
            "message_id": self.message_id,
            "operator_ids": list(self.operator_ids),
            "removed_operator_ids": list(self.removed_operator_ids),
            "actor_id": self.actor_id,
            "state": self.state.to_wire() if self.state is not None else None,
            "detail": self.detail,
            "visitor_visible": self.visitor_visible,
            "created_at": self.created_at.isoformat(),
        }


#: where a wire dict keeps the record made of it: the hub hands one dict to every subscription of
#: the process, which so share one record (and the work kept on it)
_RECORD_KEY = "_record"


def record_of_wire(wire: dict[str, Any]) -> EventRecord:
    """The record of a wire dict (made once per dict)."""
    found = wire.get(_RECORD_KEY)
    if found is None:
        found = wire[_RECORD_KEY] = EventRecord(
            id=wire["id"], kind=EventKind(wire["kind"]),
            queue_kind=QueueEventKind(wire["queue_kind"]) if wire.get("queue_kind") else None,
            chat_kind=ChatEventKind(wire["chat_kind"]) if wire.get("chat_kind") else None,
            chat_id=wire.get("chat_id"), open_channel_id=wire.get("open_channel_id"), message_id=wire.get("message_id"),
            operator_ids=tuple(wire.get("operator_ids") or ()),
            removed_operator_ids=tuple(wire.get("removed_operator_ids") or ()),
            actor_id=wire.get("actor_id"), state=ChatStateRecord.of_wire(wire.get("state")),
            detail=wire.get("detail"), visitor_visible=bool(wire.get("visitor_visible", True)),
            created_at=datetime.fromisoformat(wire["created_at"]),
        )
    return found


def record_of_row(event: Event) -> EventRecord:
    """The record of an event row (a replay, a catch-up read)."""
    return EventRecord(
        id=event.id, kind=EventKind(event.kind),
        queue_kind=QueueEventKind(event.queue_kind) if event.queue_kind else None,
        chat_kind=ChatEventKind(event.chat_kind) if event.chat_kind else None,
        chat_id=event.chat_id, open_channel_id=event.open_channel_id, message_id=event.message_id,
        operator_ids=tuple(event.operator_ids or ()), removed_operator_ids=tuple(event.removed_operator_ids or ()),
        actor_id=event.actor_id, state=ChatStateRecord.of_wire(event.state), detail=event.detail,
        visitor_visible=event.visitor_visible, created_at=event.created_at,
    )


def wire_of_row(event: Event) -> dict[str, Any]:
    """The wire form of an event row: what was published when it was written."""
    return record_of_row(event).to_wire()


def kind_value(kind: Enum | None) -> str | None:
    """The stored form of an optional kind (`_value_`, the member's own attribute: `.value` is a
    property of Enum's, a call in Python on the write path's every event)."""
    return kind._value_ if kind is not None else None
