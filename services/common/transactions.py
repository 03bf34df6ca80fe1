"""The one way a use case opens a transaction: `transaction()`.

On PostgreSQL it is Tortoise's `in_transaction`. On SQLite it also takes the database's write
lock with its first statement. SQLite's `BEGIN` is deferred: the transaction reads from a
snapshot and asks for the write lock at its first write; if another process (a second server on
the same file, the CLI) committed in between, that write fails at once with "database is locked"
(SQLite cannot move a snapshot forward, so its busy timeout does not apply). Taking the lock first
waits for the other writer instead (up to the connection's busy timeout, 5 s), so two processes
on one SQLite file take turns rather than failing each other's requests.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

#: a write that changes nothing: it takes SQLite's write lock (the event table exists in every
#: database of this application, from its first migration)
_TAKE_WRITE_LOCK = "UPDATE event SET id = id WHERE 0"


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    async with in_transaction() as tx:
        if tx.capabilities.dialect == "sqlite":
            await tx.execute_query(_TAKE_WRITE_LOCK)
        yield tx
