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
from datetime import datetime
from typing import Any, AsyncIterator, Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import Chat, Event
from openchannels.broker import get_broker

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


@dataclass
class UnitOfWork:
    """One transaction and the events it will write and then publish."""

    tx: BaseDBAsyncClient
    pending: list[PendingEvent] = field(default_factory=list)
    written: list[Event] = field(default_factory=list)

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
            )
        )

    async def flush(self) -> None:
        if not self.pending:
            return
        if self.tx.capabilities.dialect == "postgres":
            await self.tx.execute_query("SELECT pg_advisory_xact_lock($1)", [EVENT_ORDER_LOCK])
        for pending in self.pending:
            self.written.append(await Event.create(using_db=self.tx, **pending.__dict__))
        self.pending.clear()


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[UnitOfWork]:
    """Run a use case in one transaction; its events are written at the end, published after commit."""
    async with in_transaction() as tx:
        uow = UnitOfWork(tx)
        yield uow
        await uow.flush()
    if uow.written:
        await get_broker().publish([event_to_dict(e) for e in uow.written])


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
    }


def event_created_at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["created_at"])
