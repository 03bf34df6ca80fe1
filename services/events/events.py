"""Events: recorded in the transaction of the change, published to the broker after commit.

Why the advisory lock: on PostgreSQL, ids come from a sequence when the row is inserted,
but transactions commit in any order, so a subscriber resuming `after` id N could miss an
id below N that committed later. Serialising the (short) final step of every
event-writing transaction makes commit order equal id order. Events are therefore written
last in each unit of work, after all row locks are taken. SQLite has a single writer.
"""
from __future__ import annotations

import itertools
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import JSONField

from models import Chat, Event
from infrastructure.broker import broker_in_use
from infrastructure.settings import event_ids_with_commit
from services.common import raw_sql
from services.events.records import (
    ChatEventKind, ChatStateRecord, EventKind, EventRecord, QueueEventKind, kind_value, member, record_of_row,
)
from services.identity.viewer import Viewer
from services.common.transactions import DirectTransaction, session_statement, transaction

EVENT_ORDER_LOCK = 7_311_000_001


@dataclass
class PendingEvent:
    """An event recorded in a unit of work, written at its end: everything but the id and the time."""

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


@dataclass
class UnitOfWork:
    """One transaction and the events it will write and then publish, on behalf of `actor_id`
    (the operator who acts; None: the client, a connector or the system)."""

    tx: BaseDBAsyncClient
    actor_id: int | None = None
    pending: list[PendingEvent] = field(default_factory=list)
    #: the events written, in order
    written: list[EventRecord] = field(default_factory=list)

    def record(
        self,
        kind: EventKind | str,
        *,
        chat: Chat | None,
        queue_kind: QueueEventKind | str | None = None,
        chat_kind: ChatEventKind | str | None = None,
        message_id: int | None = None,
        operator_ids: Iterable[int | None] = (),
        removed_operator_ids: Iterable[int | None] = (),
        visitor_visible: bool = True,
        open_channel_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """An event of this unit of work. The chat's state is taken from `chat` NOW (in memory, no
        query): record after the chat object reflects the change. `removed_operator_ids`: whom the
        chat leaves with it (they receive it too: they are added to `operator_ids`)."""
        removed = {i for i in removed_operator_ids if i is not None}
        self.pending.append(
            PendingEvent(
                kind=member(EventKind, kind),
                queue_kind=member(QueueEventKind, queue_kind) if queue_kind is not None else None,
                chat_kind=member(ChatEventKind, chat_kind) if chat_kind is not None else None,
                chat_id=chat.id if chat else None,
                open_channel_id=open_channel_id if open_channel_id is not None else (chat.open_channel_id if chat else None),
                message_id=message_id,
                operator_ids=tuple(sorted({i for i in operator_ids if i is not None} | removed)),
                removed_operator_ids=tuple(sorted(removed)),
                actor_id=self.actor_id,
                state=ChatStateRecord.of(chat) if chat is not None else None,
                detail=detail,
                visitor_visible=visitor_visible,
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

    async def flush_and_commit(self) -> None:
        """The end of the unit of work. On a direct PostgreSQL transaction (services/common/transactions.py)
        the event-order lock, the events and COMMIT go in one round trip, so the lock is held for
        PostgreSQL's work only (not while this process comes round to sending COMMIT); the events'
        ids, drawn under the lock, are read back after it. Otherwise `flush`, and the transaction
        commits on its own."""
        if not self.pending or not isinstance(self.tx, DirectTransaction):
            await self.flush()
            return
        created_at = datetime.now(timezone.utc)
        tag = f"openchannels {next(_TAGS)}:" if REPORT_EVENT_IDS else ""
        if len(self.pending) == 1 and self.tx.prepared(_WRITE_EVENT):
            # the statement kept prepared in the session: planned once, not in every round trip; its
            # parameters are typed (_CASTS), so the literals need no casts of their own
            literal = raw_sql.literal
            await self.tx.commit_with(f"EXECUTE {_WRITE_EVENT}("
                                      f"{', '.join(map(literal, _params(self.pending[0], created_at)))}, "
                                      f"{literal(tag)})")
        else:
            rows = ", ".join(f"({', '.join(_literals(pending, created_at))})" for pending in self.pending)
            await self.tx.commit_with(
                f"SELECT pg_advisory_xact_lock({EVENT_ORDER_LOCK}); "
                f"WITH written AS (INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) VALUES {rows} RETURNING id) "
                f"SELECT {_keep_ids(_ALL_IDS, raw_sql.literal(tag))} FROM written")
        ids = reported_ids(self.tx.reported(REPORTED_SETTING), tag, len(self.pending)) if tag else None
        if ids is None:  # not reported (too many ids for the setting, or a proxy that keeps reports): read back
            found = await raw_sql.rows(self.tx, f"SELECT current_setting('{_WRITTEN_IDS}') AS ids")
            ids = [int(i) for i in found[0]["ids"].split(",")]
        assert len(ids) == len(self.pending)  # the rows' ids, drawn in order under the lock
        self.written += [_record(pending, event_id, created_at) for pending, event_id in zip(self.pending, ids)]
        self.pending.clear()


#: an event's columns and their PostgreSQL types, in the order `_params` gives the values. The types are the
#: casts of the statements that send the values without a table to take them from (_LOCK_AND_INSERT_EVENT's
#: SELECT, `UnitOfWork.flush_and_commit`'s literals for several events), and the parameters' types of
#: _WRITE_EVENT (its literals need no casts)
_COLUMNS_AND_TYPES = (("kind", "varchar"), ("queue_kind", "varchar"), ("chat_kind", "varchar"), ("chat_id", "int"),
                      ("open_channel_id", "int"), ("message_id", "int"), ("operator_ids", "jsonb"),
                      ("visitor_visible", "boolean"), ("created_at", "timestamptz"),
                      ("removed_operator_ids", "jsonb"), ("actor_id", "int"), ("state", "jsonb"),
                      ("detail", "jsonb"))
_EVENT_COLUMNS = tuple(column for column, _ in _COLUMNS_AND_TYPES)
_CASTS = tuple(cast for _, cast in _COLUMNS_AND_TYPES)
_INSERT_EVENT = (f"INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) "
                 f"VALUES ({', '.join(f'${i}' for i in range(1, len(_EVENT_COLUMNS) + 1))}) RETURNING id")
# The lock and the first event in one statement (the lock is held until commit, so every
# statement saved inside it counts). The MATERIALIZED CTE runs, and so takes the lock,
# before the INSERT draws the id from the sequence.
def _event_order(lock: object) -> str:
    """The CTE that takes the event-order lock (`lock`: the key, or its placeholder)."""
    return f"event_order AS MATERIALIZED (SELECT pg_advisory_xact_lock({lock}))"


def _insert_after_order(values: Iterable[str]) -> str:
    """The event's INSERT of `values` (in _EVENT_COLUMNS' order), run after `_event_order`'s CTE."""
    return (f"INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) "
            f"SELECT {', '.join(values)} FROM event_order RETURNING id")


_LOCK_AND_INSERT_EVENT = (f"WITH {_event_order('$14')} "
                          + _insert_after_order(f"${i}::{cast}" for i, cast in enumerate(_CASTS, 1)))
def _encoder(name: str) -> Callable[[Any], str]:
    """The encoder of the Event's JSON field `name` (what its `to_db_value` calls)."""
    field = Event._meta.fields_map[name]
    assert isinstance(field, JSONField), name
    return field.encoder


#: the JSON columns' encoders, in `_params`: each field's own `encoder` (orjson's, as Tortoise stores them),
#: called for a list or a dict, which is all `to_db_value` would do with one past its checks (no validators,
#: not None, not text already; 30 bytecodes a column, four columns of every event written)
_OPERATOR_IDS, _REMOVED_OPERATOR_IDS, _STATE, _DETAIL = (
    _encoder(name) for name in ("operator_ids", "removed_operator_ids", "state", "detail"))
#: a session setting of the connection: the ids of the events its last unit of work wrote (read after COMMIT)
_WRITTEN_IDS = "openchannels.written_event_ids"
#: a session parameter PostgreSQL reports to its client whenever it changes (a ParameterStatus message,
#: which asyncpg keeps in `Connection.get_settings()`): set to a tag and the events' ids in COMMIT's round
#: trip, it brings the ids back without a round trip of their own. `pg_stat_activity` shows the server's
#: sessions as `openchannels <n>:<ids>;`, their last unit of work. Its value is cut at 63 bytes: an id list
#: cut short lacks the closing `;`, and the ids are read back instead, as they are with REPORT_EVENT_IDS off.
REPORTED_SETTING = "application_name"
#: the switch (EVENT_IDS_WITH_COMMIT, read once at import; a test turns it off to check the read back)
REPORT_EVENT_IDS = event_ids_with_commit()
#: this process's tags: a report is taken only when it carries the tag its own unit of work set, so a
#: value left from an earlier unit of work (or one a proxy between did not pass on) is never taken
_TAGS = itertools.count(1)


#: the ids of the rows `written` (a CTE), in order, as SQL text
_ALL_IDS = "string_agg(id::text, ',' ORDER BY id)"


def _keep_ids(ids: str, tag: str) -> str:
    """The SELECT list that keeps the events' ids `ids` (SQL text) in the session, and reports them
    after `tag` (SQL text; empty: not reported)."""
    return (f"set_config('{_WRITTEN_IDS}', {ids}, false), "
            f"set_config('{REPORTED_SETTING}', CASE WHEN {tag} = '' THEN current_setting('{REPORTED_SETTING}') "
            f"ELSE {tag} || {ids} || ';' END, false)")


def reported_ids(reported: str | None, tag: str, count: int) -> list[int] | None:
    """The ids `tag`'s unit of work reported (`_keep_ids`), or None when the report is not there whole."""
    if not reported or not reported.startswith(tag) or not reported.endswith(";"):
        return None
    ids = [int(i) for i in reported[len(tag):-1].split(",")]
    return ids if len(ids) == count else None


#: a unit of work's one event, the event-order lock and the id kept in the session and reported (the tag:
#: the last parameter), as `flush_and_commit`'s script writes them, kept prepared in each session of the
#: pool (services/common/transactions.py)
_WRITE_EVENT = session_statement(
    "openchannels_write_event",
    f"({', '.join(_CASTS)}, text) AS WITH {_event_order(EVENT_ORDER_LOCK)}, "
    f"written AS ({_insert_after_order(f'${i}' for i in range(1, len(_EVENT_COLUMNS) + 1))}) "
    f"SELECT {_keep_ids('id::text', f'${len(_EVENT_COLUMNS) + 1}')} FROM written")


def _params(pending: PendingEvent, created_at: datetime) -> list[Any]:
    """The values of _COLUMNS_AND_TYPES' columns, in its order, as the database stores them (the JSON
    columns encoded by their fields, as Tortoise stores them)."""
    state, detail = pending.state, pending.detail
    return [pending.kind._value_, kind_value(pending.queue_kind), kind_value(pending.chat_kind), pending.chat_id,
            pending.open_channel_id, pending.message_id, _OPERATOR_IDS(list(pending.operator_ids)),
            pending.visitor_visible, created_at, _REMOVED_OPERATOR_IDS(list(pending.removed_operator_ids)),
            pending.actor_id, _STATE(state.to_wire()) if state is not None else None,
            _DETAIL(detail) if detail is not None else None]


def _literals(pending: PendingEvent, created_at: datetime) -> list[str]:
    literal = raw_sql.literal
    return [f"{literal(value)}::{cast}" for value, cast in zip(_params(pending, created_at), _CASTS)]


def _record(pending: PendingEvent, event_id: int, created_at: datetime) -> EventRecord:
    return EventRecord(
        id=event_id, kind=pending.kind, queue_kind=pending.queue_kind, chat_kind=pending.chat_kind,
        chat_id=pending.chat_id, open_channel_id=pending.open_channel_id, message_id=pending.message_id,
        operator_ids=pending.operator_ids, removed_operator_ids=pending.removed_operator_ids,
        actor_id=pending.actor_id, state=pending.state, detail=pending.detail,
        visitor_visible=pending.visitor_visible, created_at=created_at,
    )


async def _insert_event(tx: BaseDBAsyncClient, pending: PendingEvent, *, take_order_lock: bool) -> EventRecord:
    """Write one event (a short statement: Tortoise's query building cost more than the INSERT)."""
    created_at = datetime.now(timezone.utc)
    params = _params(pending, created_at)
    if take_order_lock:
        rows = await raw_sql.rows(tx, _LOCK_AND_INSERT_EVENT, *params, EVENT_ORDER_LOCK)
    else:
        rows = await raw_sql.rows(tx, _INSERT_EVENT, *params)
    return _record(pending, rows[0]["id"], created_at)


def actor_of(viewer: Viewer | None) -> int | None:
    """Who an event names as its actor: the operator acting; None for a visitor, a connector, the system."""
    return viewer.operator_id if viewer is not None and viewer.is_operator else None


def unit_of_work(actor: Viewer | None = None, *, lock: tuple[str, int] | None = None
                 ) -> AbstractAsyncContextManager[UnitOfWork]:
    """`async with unit_of_work(viewer) as uow:` run a use case in one transaction; its events are
    written at the end, published after commit to the broker in use (infrastructure/platform.py
    `Platform.in_use`; none: written only). `actor`: the viewer the use case acts for (its events
    name the operator; see `actor_of`). `lock`: (table, id) of a row locked first
    (`transaction(lock=...)`: in BEGIN's round trip)."""
    return _UnitOfWorkScope(transaction(lock=lock), actor_of(actor))


class _UnitOfWorkScope:
    """`unit_of_work`'s context manager: the transaction entered, the unit of work given to the body;
    after it, the events written and COMMIT (or, when the body or that raised, the transaction's
    rollback), then the events published. A class rather than a generator (contextlib's
    asynccontextmanager), as `transaction`'s: every write passes here."""

    __slots__ = ("transaction", "actor_id", "uow")

    def __init__(self, transaction: AbstractAsyncContextManager[BaseDBAsyncClient], actor_id: int | None) -> None:
        self.transaction, self.actor_id = transaction, actor_id

    async def __aenter__(self) -> UnitOfWork:
        self.uow = UnitOfWork(await self.transaction.__aenter__(), actor_id=self.actor_id)
        return self.uow

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        if error is not None:
            await self.transaction.__aexit__(kind, error, traceback)
            return False  # the body's error goes on
        try:
            await self.uow.flush_and_commit()
        except BaseException as failed:
            await self.transaction.__aexit__(type(failed), failed, failed.__traceback__)
            raise
        await self.transaction.__aexit__(None, None, None)
        broker = broker_in_use()
        if self.uow.written and broker is not None:
            await broker.publish([record.to_wire() for record in self.uow.written])
        return False


def event_to_dict(event: Event) -> dict[str, Any]:
    """The broker's wire form of an event row (JSON-safe): services/events/records.py makes it."""
    return record_of_row(event).to_wire()
