"""Events: recorded in the transaction of the change, published to the broker after commit.

Why the advisory lock: on PostgreSQL, ids come from a sequence when the row is inserted,
but transactions commit in any order, so a subscriber resuming `after` id N could miss an
id below N that committed later. Serialising the (short) final step of every
event-writing transaction makes commit order equal id order. Events are therefore written
last in each unit of work, after all row locks are taken. SQLite has a single writer.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import Chat, Event
from infrastructure.broker import broker_in_use
from services.common import raw_sql

EVENT_ORDER_LOCK = 7_311_000_001


@dataclass
class PendingEvent:
    kind: str
    queue_kind: str | None
    chat_kind: str | None
    chat_id: int | None
    open_channel_id: int | None
    message_id: int | None
    operator_ids: list[int]
    visitor_visible: bool
    #: what else the event says (an operator's presence: operator_id, status, connected)
    detail: dict[str, Any] | None = None


@dataclass
class UnitOfWork:
    """One transaction and the events it will write and then publish."""

    tx: BaseDBAsyncClient
    pending: list[PendingEvent] = field(default_factory=list)
    #: the events written, in the broker's wire form (event_to_dict)
    written: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        kind: str,
        *,
        chat: Chat | None,
        queue_kind: str | None = None,
        chat_kind: str | None = None,
        message_id: int | None = None,
        operator_ids: Iterable[int | None] = (),
        visitor_visible: bool = True,
        open_channel_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.pending.append(
            PendingEvent(
                kind=kind,
                queue_kind=queue_kind,
                chat_kind=chat_kind,
                chat_id=chat.id if chat else None,
                open_channel_id=open_channel_id if open_channel_id is not None else (chat.open_channel_id if chat else None),
                message_id=message_id,
                operator_ids=sorted({i for i in operator_ids if i is not None}),
                visitor_visible=visitor_visible,
                detail=detail,
            )
        )

    async def flush(self) -> None:
        if not self.pending:
            return
        lock = raw_sql.is_postgres(self.tx)
        for pending in self.pending:
            self.written.append(await _insert_event(self.tx, pending, take_order_lock=lock))
            lock = False
        self.pending.clear()


_EVENT_COLUMNS = ("kind", "queue_kind", "chat_kind", "chat_id", "open_channel_id", "message_id", "operator_ids",
                  "visitor_visible", "created_at", "detail")
_INSERT_EVENT = (f"INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                 "RETURNING id")
# The lock and the first event in one round trip (the lock is held until commit, so every
# statement saved inside it counts). The MATERIALIZED CTE runs, and so takes the lock,
# before the INSERT draws the id from the sequence.
_LOCK_AND_INSERT_EVENT = (
    "WITH event_order AS MATERIALIZED (SELECT pg_advisory_xact_lock($11)) "
    f"INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) SELECT $1::varchar, $2::varchar, $3::varchar, $4::int, "
    "$5::int, $6::int, $7::jsonb, $8::boolean, $9::timestamptz, $10::jsonb FROM event_order RETURNING id"
)
_OPERATOR_IDS = Event._meta.fields_map["operator_ids"]
_DETAIL = Event._meta.fields_map["detail"]


async def _insert_event(tx: BaseDBAsyncClient, pending: PendingEvent, *, take_order_lock: bool) -> dict[str, Any]:
    """Write one event (a short statement: Tortoise's query building cost more than the INSERT);
    the event in the broker's wire form, as event_to_dict makes it of a row."""
    values = {**pending.__dict__, "created_at": datetime.now(timezone.utc)}
    params = [values[c] for c in _EVENT_COLUMNS]
    params[6] = _OPERATOR_IDS.to_db_value(values["operator_ids"], Event)
    params[9] = _DETAIL.to_db_value(values["detail"], Event) if values["detail"] is not None else None
    if take_order_lock:
        rows = await raw_sql.rows(tx, _LOCK_AND_INSERT_EVENT, *params, EVENT_ORDER_LOCK)
    else:
        rows = await raw_sql.rows(tx, _INSERT_EVENT, *params)
    values["created_at"] = values["created_at"].isoformat()
    return {"id": rows[0]["id"], **values}


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[UnitOfWork]:
    """Run a use case in one transaction; its events are written at the end, published after commit
    to the broker in use (infrastructure/platform.py `Platform.in_use`; none: written only)."""
    async with in_transaction() as tx:
        uow = UnitOfWork(tx)
        yield uow
        await uow.flush()
    broker = broker_in_use()
    if uow.written and broker is not None:
        await broker.publish(uow.written)


def event_to_dict(event: Event) -> dict[str, Any]:
    """The broker's wire form of an event (JSON-safe)."""
    return {
        "id": event.id,
        "kind": event.kind,
        "queue_kind": event.queue_kind,
        "chat_kind": event.chat_kind,
        "chat_id": event.chat_id,
        "open_channel_id": event.open_channel_id,
        "message_id": event.message_id,
        "operator_ids": list(event.operator_ids or []),
        "visitor_visible": event.visitor_visible,
        "created_at": event.created_at.isoformat(),
        "detail": event.detail,
    }


def event_created_at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["created_at"])
