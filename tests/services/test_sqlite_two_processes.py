"""Two processes on one SQLite file (a second server, the CLI) take turns instead of failing.

SQLite's transactions start deferred: one that has read and then writes after another process
committed fails at once with "database is locked". A use case's transaction takes the write lock
with its first statement (services/common/transactions.py), so the other process waits for it.
"""
from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from models import Operator
from services.events.events import unit_of_work
from tests.factories import make_operator


async def test_a_use_case_and_another_process_writing_the_same_file_both_succeed(db, database_url):
    if db != "sqlite":
        pytest.skip("PostgreSQL has row locks and no file-wide writer")
    operator, _ = await make_operator("Ana")
    other_process_done = threading.Event()
    failures: list[BaseException] = []

    def other_process() -> None:
        connection = sqlite3.connect(database_url.removeprefix("sqlite://"), timeout=10, isolation_level=None)
        try:
            connection.execute("UPDATE operator SET name = 'Ana (other process)' WHERE id = ?", (operator.id,))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connection.close()
            other_process_done.set()

    async with unit_of_work() as uow:
        before = await Operator.filter(id=operator.id).using_db(uow.tx).values_list("name", flat=True)
        writer = threading.Thread(target=other_process)
        writer.start()
        await asyncio.sleep(0.3)  # the other process tries to write while this use case is open
        await Operator.filter(id=operator.id).using_db(uow.tx).update(status="AWAY")
    await asyncio.to_thread(writer.join, 15)

    assert before == ["Ana"]
    assert other_process_done.is_set() and not failures, failures
    stored = await Operator.get(id=operator.id)
    assert (stored.name, stored.status.value) == ("Ana (other process)", "AWAY")
