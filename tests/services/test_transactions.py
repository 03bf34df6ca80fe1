"""`transaction()` and the unit of work's end on each path: PostgreSQL's direct transaction
(DIRECT_TRANSACTIONS=on: events and COMMIT in one round trip), Tortoise's in_transaction (off),
and SQLite. What a caller relies on: everything commits together or nothing does, the events
are published after the commit with the ids the database gave them, in order, and a savepoint
inside rolls back alone."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.exceptions import IntegrityError

from infrastructure.broker import publishing_to
from infrastructure.settings import direct_transactions_enabled, event_ids_with_commit
from models import Chat, Event, Message, OpenChannel, QueueDistribution
from services.chats import chats
from services.common import transactions
from services.common.transactions import DirectTransaction, transaction
from services.events import events
from services.events.events import event_to_dict, unit_of_work
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat

#: text that must survive being written into a statement (services/common/raw_sql.literal)
AWKWARD = "it's a \\ back'slash, \"quoted\", é 😀\n\t$1 ?1 E'x' -- ;COMMIT"


@pytest.fixture(params=["on", "off"])
def direct(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(transactions, "DIRECT", request.param == "on")
    return request.param == "on"


class Capture:
    """A broker that keeps what is published, and whether the change was committed by then."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.committed_when_published: list[bool] = []

    async def publish(self, events: list[dict[str, Any]]) -> None:
        self.events.extend(events)
        # read on another connection: a change not yet committed is not there
        found = await Event.filter(id__in=[e["id"] for e in events]).count()
        self.committed_when_published.append(found == len(events))


def test_the_setting_is_on_or_off(monkeypatch):
    assert direct_transactions_enabled() is True  # the default
    assert direct_transactions_enabled("off") is False
    with pytest.raises(ValueError, match="DIRECT_TRANSACTIONS must be on or off"):
        direct_transactions_enabled("maybe")


async def test_the_transaction_is_direct_only_on_postgres_with_the_setting_on(db, backend, direct):
    async with transaction() as tx:
        assert connections.get("default") is tx  # the task's connection while it lasts
        if backend == "postgres" and direct:
            assert type(tx) is DirectTransaction
        elif backend == "postgres":
            assert type(tx) is TransactionWrapper
        else:
            assert tx.capabilities.dialect == "sqlite"
    assert connections.get("default") is not tx


async def test_events_are_published_after_the_commit_with_their_ids_in_order(db, direct):
    capture = Capture()
    with publishing_to(capture):  # type: ignore[arg-type]
        async with unit_of_work() as uow:
            channel = await OpenChannel.create(name=AWKWARD, using_db=uow.tx)
            uow.record("CHAT_RENAMED", chat=None, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                       operator_ids=[5, 3], removed_operator_ids=[9], visitor_visible=False,
                       open_channel_id=channel.id, detail={"old_title": AWKWARD, "n": 2 ** 40, "none": None})
            uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=7)
            uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=8)
    assert capture.committed_when_published == [True]
    ids = [e["id"] for e in capture.events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    rows = await Event.filter(id__in=ids).order_by("id")
    assert capture.events == [event_to_dict(row) for row in rows]  # what a replay `after` reads
    assert rows[0].detail == {"old_title": AWKWARD, "n": 2 ** 40, "none": None}
    assert [r.message_id for r in rows] == [None, 7, 8]
    assert (await OpenChannel.get(id=channel.id)).name == AWKWARD


async def test_an_exception_rolls_back_everything_and_publishes_nothing(db, direct):
    capture = Capture()
    before = await Event.all().count()
    with publishing_to(capture), pytest.raises(RuntimeError, match="refused"):  # type: ignore[arg-type]
        async with unit_of_work() as uow:
            await OpenChannel.create(name="never", using_db=uow.tx)
            uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=1)
            raise RuntimeError("refused")
    assert capture.events == [] and await Event.all().count() == before
    assert not await OpenChannel.filter(name="never").exists()
    async with unit_of_work() as uow:  # the connection went back usable
        uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=2)
    assert await Event.all().count() == before + 1


async def test_an_event_the_database_refuses_rolls_back_the_whole_unit(db, backend, direct):
    if backend != "postgres":
        pytest.skip("SQLite stores any integer")
    capture = Capture()
    before = await Event.all().count()
    with publishing_to(capture), pytest.raises(Exception, match="out of range|int32"):  # type: ignore[arg-type]
        async with unit_of_work() as uow:
            await OpenChannel.create(name="never either", using_db=uow.tx)
            uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=1)
            uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=2 ** 40)  # not an int column's
    assert capture.events == [] and await Event.all().count() == before
    assert not await OpenChannel.filter(name="never either").exists()
    async with unit_of_work() as uow:
        uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=3)
    assert await Event.all().count() == before + 1


async def test_a_savepoint_rolls_back_alone_and_the_transaction_commits(db, direct):
    async with transaction() as tx:
        first = await OpenChannel.create(name="kept", using_db=tx)
        with pytest.raises(IntegrityError):  # the driver's error, translated as Tortoise does
            async with tx._in_transaction() as savepoint:
                await OpenChannel.create(name="dropped", using_db=savepoint)
                await OpenChannel.create(id=first.id, name="the same id", using_db=savepoint)
        async with transaction() as inner:  # a nested transaction() is a savepoint too
            await OpenChannel.create(name="nested", using_db=inner)
        await OpenChannel.create(name="after", using_db=tx)
    names = set(await OpenChannel.all().values_list("name", flat=True))
    assert {"kept", "nested", "after"} <= names and not names & {"dropped", "the same id"}


async def test_hand_written_statements_count_rows_and_raise_tortoise_errors_on_every_path(db, direct):
    from services.common import raw_sql

    first = await OpenChannel.create(name="counted")
    second = await OpenChannel.create(name="counted too")
    async with transaction() as tx:
        changed = await raw_sql.execute(tx, "UPDATE open_channel SET name = $1 WHERE name LIKE 'counted%'", "renamed")
        found = await raw_sql.rows(tx, "SELECT id, name FROM open_channel WHERE name = $1 ORDER BY id", "renamed")
        records = await raw_sql.records(tx, "SELECT id FROM open_channel WHERE id = $1", first.id)
        with pytest.raises(IntegrityError):
            async with tx._in_transaction() as savepoint:
                # the same row again: its id is taken
                await raw_sql.execute(savepoint, "INSERT INTO open_channel SELECT * FROM open_channel WHERE id = $1",
                                      first.id)
    assert changed == 2
    assert found == [{"id": first.id, "name": "renamed"}, {"id": second.id, "name": "renamed"}]
    assert [r["id"] for r in records] == [first.id]
    assert await OpenChannel.filter(name="renamed").count() == 2  # committed, the savepoint's failure aside


async def test_the_row_to_lock_is_locked_before_the_body_runs(db, backend, direct):
    """`transaction(lock=(table, id))`: another connection cannot lock that row until the end."""
    if backend != "postgres":
        pytest.skip("SQLite: the database's write lock, taken first, serialises writers")
    first, second = await OpenChannel.create(name="locked"), await OpenChannel.create(name="free")
    root = connections.get("default")
    async with transaction(lock=("open_channel", first.id)):
        async with root._pool.acquire() as other:
            with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
                await other.execute("SELECT 1 FROM open_channel WHERE id = $1 FOR UPDATE NOWAIT", first.id)
            await other.execute("SELECT 1 FROM open_channel WHERE id = $1 FOR UPDATE NOWAIT", second.id)
    async with root._pool.acquire() as other:
        await other.execute("SELECT 1 FROM open_channel WHERE id = $1 FOR UPDATE NOWAIT", first.id)


async def test_a_message_on_every_path_moves_the_chat_and_names_its_state_in_the_event(db, direct, clock):
    """sendMessage's one statement for the chat, its transition, the roles and the message, on each
    transaction path: the countdown restarts (none for a pinned chat), the first visible message is
    the first response, and the event carries the chat as it is after the message."""
    (operator, viewer), (other, _) = await make_operator(), await make_operator()
    channel = await make_open_channel([operator, other], distribution=QueueDistribution.STRICT,
                                      auto_close_after_seconds=120)
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(viewer, chat_id=chat.id)
    capture = Capture()
    with publishing_to(capture):  # type: ignore[arg-type]
        note = await messages.send_message(viewer, chat_id=chat.id, text="a note", silent=True)
        clock.now += timedelta(seconds=5)
        reply = await messages.send_message(viewer, chat_id=chat.id, text=AWKWARD)
    stored = await Chat.get(id=chat.id)
    assert (stored.first_response_at, stored.last_activity_at) == (clock.now, clock.now)
    assert stored.auto_close_at == clock.now + timedelta(seconds=120)
    assert [m.text for m in await Message.filter(id__in=[note.id, reply.id]).order_by("id")] == ["a note", AWKWARD]
    assert [e["message_id"] for e in capture.events] == [note.id, reply.id]
    assert capture.events[-1]["state"]["status"] == "ACTIVE" and capture.events[-1]["state"]["operator_id"] == operator.id
    assert capture.committed_when_published == [True, True]

    await chats.pin_chat(viewer, chat_id=chat.id, pinned=True)
    await messages.send_message(viewer, chat_id=chat.id, text="pinned")
    assert (await Chat.get(id=chat.id)).auto_close_at is None


async def _prepared_in(tx: Any) -> set[str]:
    """The statements the transaction's session keeps prepared, as PostgreSQL lists them."""
    rows = await tx.execute_query_dict("SELECT name FROM pg_prepared_statements WHERE name LIKE 'openchannels_%'")
    return {row["name"] for row in rows}


async def test_the_lock_and_a_single_event_run_as_statements_the_session_keeps_prepared(db, backend, caplog):
    """PostgreSQL plans the row lock and the event's INSERT once per session: BEGIN's and COMMIT's
    round trips EXECUTE them by name, and the event comes out as before (its id, in order)."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's direct transactions only")
    channel = await OpenChannel.create(name="prepared")
    capture = Capture()
    caplog.set_level("DEBUG", logger="tortoise.db_client")
    with publishing_to(capture):  # type: ignore[arg-type]
        for _ in range(2):  # the first unit of a connection prepares (a round trip of its own)
            async with unit_of_work(lock=("open_channel", channel.id)) as uow:
                assert {"openchannels_lock_open_channel", "openchannels_write_event"} <= await _prepared_in(uow.tx)
                uow.record("CHAT_RENAMED", chat=None, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                           open_channel_id=channel.id, detail={"old_title": AWKWARD})
    sent = [r.getMessage() for r in caplog.records]
    assert f"BEGIN; EXECUTE openchannels_lock_open_channel({channel.id})" in sent
    assert sum(m.startswith("EXECUTE openchannels_write_event(") and m.endswith("; COMMIT") for m in sent) == 2
    written = await Event.filter(open_channel_id=channel.id, kind="CHAT_RENAMED").order_by("id")
    assert [e["id"] for e in capture.events] == [e.id for e in written]
    assert [e.detail for e in written] == [{"old_title": AWKWARD}] * 2


@pytest.mark.parametrize("report", [True, False])
@pytest.mark.parametrize("count", [1, 3, 30])
async def test_the_events_ids_come_back_with_commit_else_they_are_read_back(db, backend, caplog, monkeypatch,
                                                                            report, count):
    """PostgreSQL reports the session parameter the events' statement sets (REPORTED_SETTING) in
    COMMIT's round trip: the ids need no round trip of their own. Thirty ids do not fit in it (63
    bytes), and with the report switched off there is none: the ids are read back. The same ids,
    in order, either way."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's direct transactions only")
    monkeypatch.setattr(events, "REPORT_EVENT_IDS", report)
    channel = await OpenChannel.create(name="reported")
    capture = Capture()
    caplog.set_level("DEBUG", logger="tortoise.db_client")
    with publishing_to(capture):  # type: ignore[arg-type]
        async with unit_of_work() as uow:
            for n in range(count):
                uow.record("MESSAGE_ADDED", chat=None, chat_kind="MESSAGE_ADDED", message_id=n + 1,
                           open_channel_id=channel.id)
    sent = [r.getMessage() for r in caplog.records]
    read_back = [m for m in sent if "current_setting('openchannels.written_event_ids')" in m]
    assert bool(read_back) == (not report or count == 30), sent
    rows = await Event.filter(open_channel_id=channel.id).order_by("id")
    assert len(rows) == count and [e["id"] for e in capture.events] == [r.id for r in rows]
    assert [r.message_id for r in rows] == list(range(1, count + 1))


def test_event_ids_with_commit_is_a_setting_that_is_on_unless_switched_off():
    assert event_ids_with_commit() is True  # the default
    assert event_ids_with_commit("off") is False and event_ids_with_commit(" ON ") is True
    with pytest.raises(ValueError, match="EVENT_IDS_WITH_COMMIT must be on or off"):
        event_ids_with_commit("sometimes")


def test_event_ids_with_commit_off_in_the_environment_switches_the_report_off():
    for value, expected in (("off", "False"), ("on", "True")):
        done = subprocess.run([sys.executable, "-c", "from services.events import events; print(events.REPORT_EVENT_IDS)"],
                              env={**os.environ, "EVENT_IDS_WITH_COMMIT": value}, capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2])
        assert done.stdout.strip() == expected, done.stderr[-2000:]


async def test_with_the_report_off_the_sessions_application_name_stays(db, backend, monkeypatch):
    """EVENT_IDS_WITH_COMMIT=off: the application_name an operator gave (DATABASE_URL's, or a SET) is
    still the session's after a unit of work, and its event's id comes back all the same; on, it
    is the unit's report."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's direct transactions only")
    channel = await OpenChannel.create(name="named")
    names = {}
    for report in (False, True):
        monkeypatch.setattr(events, "REPORT_EVENT_IDS", report)
        capture = Capture()
        with publishing_to(capture):  # type: ignore[arg-type]
            async with unit_of_work() as uow:
                await uow.tx.execute_script("SET application_name = 'helpdesk-eu'")
                backend_pid = (await uow.tx.execute_query_dict("SELECT pg_backend_pid() AS pid"))[0]["pid"]
                uow.record("CHAT_RENAMED", chat=None, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                           open_channel_id=channel.id)
            shown = await connections.get("default").execute_query_dict(
                "SELECT application_name FROM pg_stat_activity WHERE pid = $1", [backend_pid])
            names[report] = (shown[0]["application_name"], capture.events[0]["id"])
    written = [e.id for e in await Event.filter(open_channel_id=channel.id).order_by("id")]
    assert names[False] == ("helpdesk-eu", written[0])
    assert names[True][0] == f"{names[True][0].split(':')[0]}:{written[1]};" and names[True][1] == written[1]


def test_a_report_is_taken_only_whole_and_with_its_own_tag():
    """A value left by an earlier unit of work (another tag), one cut at the parameter's size (no
    closing `;`) or with another number of ids: not taken, the ids are read back."""
    assert events.reported_ids("openchannels 7:41,42;", "openchannels 7:", 2) == [41, 42]
    assert events.reported_ids("openchannels 6:41,42;", "openchannels 7:", 2) is None
    assert events.reported_ids("openchannels 17:41;", "openchannels 1:", 1) is None
    assert events.reported_ids("openchannels 7:41,4", "openchannels 7:", 2) is None
    assert events.reported_ids("openchannels 7:41;", "openchannels 7:", 2) is None
    assert events.reported_ids(None, "openchannels 7:", 1) is None


async def test_a_session_that_lost_its_prepared_statements_fails_one_unit_and_prepares_them_again(db, backend):
    """Should a session lose them (DEALLOCATE), the unit of work that finds one missing rolls back
    whole, and the connection prepares them again at its next transaction."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's direct transactions only")
    channel = await OpenChannel.create(name="deallocated")
    with pytest.raises(asyncpg.InvalidSQLStatementNameError):
        async with unit_of_work() as uow:
            await uow.tx.execute_script("DEALLOCATE ALL")
            await OpenChannel.filter(id=channel.id).using_db(uow.tx).update(name="lost")
            uow.record("CHAT_RENAMED", chat=None, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                       open_channel_id=channel.id)
            kept = uow.tx._connection.prepared_statements  # the session's record (infrastructure/settings.py)
            assert "openchannels_write_event" in kept
    assert kept == set()  # forgotten: prepared again next time
    assert (await OpenChannel.get(id=channel.id)).name == "deallocated"
    assert not await Event.filter(open_channel_id=channel.id).exists()
    for _ in range(3):  # every connection of the pool works, the one that lost them included
        async with unit_of_work() as uow:
            uow.record("CHAT_RENAMED", chat=None, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                       open_channel_id=channel.id)
    assert await Event.filter(open_channel_id=channel.id).count() == 3
