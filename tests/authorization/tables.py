"""Every row of every table, read through Tortoise's connection: to prove a call changed nothing,
and to empty the database between two worlds.

Full-text index tables are left out: SQLite's FTS5 table (`message_fts` and its shadow
tables) is kept in step with `message` by triggers, so it changes exactly when `message` does.
"""
from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

#: table name -> its rows, each a sorted tuple of (column, value), the rows sorted
Dump = dict[str, list[tuple[tuple[str, Any], ...]]]


def _connection() -> BaseDBAsyncClient:
    return Tortoise.get_connection("default")


def _is_postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


async def _tables_and_references(connection: BaseDBAsyncClient) -> tuple[list[str], list[tuple[str, str]]]:
    """The data tables and their foreign keys as (child, parent) pairs."""
    if _is_postgres(connection):
        tables = [row["tablename"] for row in await connection.execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        references = [(row["child"], row["parent"]) for row in await connection.execute_query_dict(
            "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace")]
        return sorted(tables), references
    rows = await connection.execute_query_dict("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    virtual = [row["name"] for row in rows if (row["sql"] or "").upper().startswith("CREATE VIRTUAL TABLE")]
    tables = sorted(
        row["name"] for row in rows
        if not row["name"].startswith("sqlite_") and not any(row["name"].startswith(v) for v in virtual)
    )
    references = []
    for table in tables:
        for fk in await connection.execute_query_dict(f'PRAGMA foreign_key_list("{table}")'):
            references.append((table, fk["table"]))
    return tables, references


def _children_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    ordered: list[str] = []
    remaining = set(tables)
    while remaining:
        leaves = sorted(t for t in remaining
                        if not any(parent == t and child in remaining and child != t for child, parent in references))
        if not leaves:  # a cycle: the ON DELETE actions sort it out
            leaves = sorted(remaining)
        ordered += leaves
        remaining -= set(leaves)
    return ordered


def _comparable(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


async def dump() -> Dump:
    """Every row of every data table (order-independent)."""
    connection = _connection()
    tables, _ = await _tables_and_references(connection)
    result: Dump = {}
    for table in tables:
        rows = await connection.execute_query_dict(f'SELECT * FROM "{table}"')
        result[table] = sorted((tuple(sorted((k, _comparable(v)) for k, v in row.items())) for row in rows), key=repr)
    return result


def differences(before: Dump, after: Dump) -> list[str]:
    """Human-readable: which tables gained or lost which rows."""
    found = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        if old != new:
            added = [dict(r) for r in new if r not in old]
            removed = [dict(r) for r in old if r not in new]
            found.append(f"{table}: +{added[:2]} -{removed[:2]}")
    return found


async def empty_all_tables() -> None:
    """Delete every row (children before parents); ids are not restarted."""
    connection = _connection()
    tables, references = await _tables_and_references(connection)
    for table in _children_first(tables, references):
        await connection.execute_script(f'DELETE FROM "{table}"')
