"""Short hand-written statements for the hot paths, run through the unit of work's connection.

Building a query with Tortoise (pypika) costs more CPU than PostgreSQL spends running a
simple statement; on the busiest use case, sendMessage, that was most of the request. The
statements here are written once with PostgreSQL's `$n` placeholders; SQLite, which runs
the test suite too, takes the same numbered parameters as `?n`. On a direct PostgreSQL
transaction (services/common/transactions.py) they go to asyncpg without Tortoise's per-call
wrappers (its lock and its translation of errors kept).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from services.common.transactions import DirectTransaction

_PLACEHOLDER = re.compile(r"\$(\d+)")


def is_postgres(tx: BaseDBAsyncClient) -> bool:
    return tx.capabilities.dialect == "postgres"


@functools.lru_cache(maxsize=256)
def _for_sqlite(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


def _dialect(tx: BaseDBAsyncClient, sql: str) -> str:
    return sql if is_postgres(tx) else _for_sqlite(sql)


async def rows(tx: BaseDBAsyncClient, sql: str, *values: Any) -> list[dict[str, Any]]:
    """The rows of a SELECT, or of a write with RETURNING, as dicts."""
    if type(tx) is DirectTransaction:  # asyncpg's own call, Tortoise's wrappers skipped
        return [dict(row) for row in await tx.fetch(sql, values)]
    return await tx.execute_query_dict(_dialect(tx, sql), list(values))


async def records(tx: BaseDBAsyncClient, sql: str, *values: Any) -> Sequence[Any]:
    """The rows of a SELECT as the driver gives them (asyncpg's Record, sqlite3.Row), read by
    column name (`row["id"]`): for wide results, copying every row into a dict costs more
    than the statement."""
    if type(tx) is DirectTransaction:  # asyncpg's own call, Tortoise's wrappers skipped
        return await tx.fetch(sql, values)
    _, found = await tx.execute_query(_dialect(tx, sql), list(values))
    return found


async def execute(tx: BaseDBAsyncClient, sql: str, *values: Any) -> int:
    """Run a write without RETURNING; the number of rows it changed."""
    if type(tx) is DirectTransaction:  # asyncpg's own call, Tortoise's wrappers skipped
        status = await tx.run(sql, values)  # "UPDATE 3", "INSERT 0 1"
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0
    changed, _ = await tx.execute_query(_dialect(tx, sql), list(values))
    return changed


def plus_seconds(at: str, seconds: str, *, postgres: bool) -> str:
    """SQL for the instant `seconds` (an integer expression; NULL gives NULL) after `at`: a
    timestamptz on PostgreSQL; on SQLite a text in the form datetimes are stored in there
    (Python's `isoformat(" ")`, the driver's adapter: `YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM`).
    SQLite's date functions keep milliseconds only, so the seconds are added to the first 19
    characters and the fraction and the offset are kept as they were: exactly the text of
    `(at + timedelta(seconds=n)).isoformat(" ")`, which the stored times are compared with."""
    if postgres:
        return f"{at} + make_interval(secs => {seconds})"
    return f"strftime('%Y-%m-%d %H:%M:%S', substr({at}, 1, 19), {seconds} || ' seconds') || substr({at}, 20)"


def literal(value: Any) -> str:
    """A value written into a statement that runs without parameters (PostgreSQL's simple
    protocol: several statements in one round trip): NULL, TRUE/FALSE, an integer, or an escaped
    string constant (E'...': backslashes and quotes doubled, so standard_conforming_strings does
    not matter) for a str or a datetime (ISO 8601); the statement casts it to its column's type."""
    if value is None:
        return "NULL"
    if type(value) is not str:  # the common case first: a message's or an event's text
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(int(value))
        if isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, str):
            raise TypeError(f"no SQL literal for {type(value).__name__}")
    if "\0" in value:
        raise ValueError("a NUL character cannot be stored in PostgreSQL text")
    if "\\" in value or "'" in value:
        value = value.replace("\\", "\\\\").replace("'", "''")
    return "E'" + value + "'"
