"""Every row of every table, read through Tortoise's connection: to prove a call changed nothing,
and to empty the database between two worlds.

Full-text index tables are left out: SQLite's FTS5 table (`message_fts` and its shadow
tables) is kept in step with `message` by triggers, so it changes exactly when `message` does.
"""
from __future__ import annotations

import json
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
    """Every row of every data table (order-independent).

    On PostgreSQL in one statement, every row as its JSON text (every column, exact: timestamps
    to the microsecond, numbers as stored): one round trip instead of one per table (the matrix
    dumps the database after each of its ~1,000 calls)."""
    connection = _connection()
    tables, _ = await _tables_and_references(connection)
    result: Dump = {}
    if _is_postgres(connection):
        columns = ", ".join(f"(SELECT coalesce(json_agg(r)::text, '[]') FROM \"{t}\" r) AS \"{t}\"" for t in tables)
        [row] = await connection.execute_query_dict(f"SELECT {columns}")
        for table in tables:
            rows = json.loads(row[table])
            result[table] = sorted((tuple(sorted(r.items())) for r in rows), key=repr)
        return result
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


#: where `snapshot()` keeps its copy: a schema of its own on PostgreSQL, an attached in-memory database on
#: SQLite (neither is seen by `dump()`, which reads the tables of the connection's own schema)
SNAPSHOT = "matrix_snapshot"


async def _copied_columns(connection: BaseDBAsyncClient, table: str) -> str:
    """The columns a copy writes: all but PostgreSQL's generated ones (the tsvector columns of `message`)."""
    if _is_postgres(connection):
        rows = await connection.execute_query_dict(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position", [table])
        return ", ".join(f'"{row["column_name"]}"' for row in rows)
    rows = await connection.execute_query_dict(f'PRAGMA table_info("{table}")')
    return ", ".join(f'"{row["name"]}"' for row in rows)


async def snapshot() -> None:
    """Copy every row of every data table aside, for `restore()` (replaces an earlier snapshot)."""
    connection = _connection()
    tables, _ = await _tables_and_references(connection)
    if _is_postgres(connection):
        statements = [f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE", f"CREATE SCHEMA {SNAPSHOT}"]
        statements += [f'CREATE TABLE {SNAPSHOT}."{t}" AS SELECT {await _copied_columns(connection, t)} FROM "{t}"'
                       for t in tables]
    else:
        attached = [row["name"] for row in await connection.execute_query_dict("PRAGMA database_list")]
        statements = [] if SNAPSHOT in attached else [f"ATTACH DATABASE ':memory:' AS {SNAPSHOT}"]
        for t in tables:
            statements += [f'DROP TABLE IF EXISTS {SNAPSHOT}."{t}"',
                           f'CREATE TABLE {SNAPSHOT}."{t}" AS SELECT {await _copied_columns(connection, t)} FROM "{t}"']
    for statement in statements:
        await connection.execute_script(statement)


def changed_tables(before: Dump, after: Dump) -> set[str]:
    return {t for t in set(before) | set(after) if before.get(t) != after.get(t)}


async def restore(changed: set[str] | None = None) -> None:
    """Every data table holds exactly the rows it held at `snapshot()` (same ids, same values).

    `changed`: the tables that changed since (default: all); they and every table that refers to
    them, directly or not (a row deleted there may have deleted or changed rows there), are
    emptied and copied back, through the database's own triggers (SQLite's FTS5 index follows
    `message`; PostgreSQL computes the generated tsvector columns again). Sequences are not
    restarted, so rows made after a restore get ids never used before (as when a world was rebuilt)."""
    connection = _connection()
    tables, references = await _tables_and_references(connection)
    if changed is not None:
        chosen = set(changed) & set(tables)
        while more := {child for child, parent in references if parent in chosen and child not in chosen}:
            chosen |= more
        tables = [t for t in tables if t in chosen]
        references = [(c, p) for c, p in references if c in chosen and p in chosen]
        if not tables:
            return
    children_first = _children_first(tables, references)
    columns = {t: await _copied_columns(connection, t) for t in tables}
    deletes = [f'DELETE FROM "{t}"' for t in children_first]
    if _is_postgres(connection):
        # the foreign keys are checked at the end of each statement: parents first is enough, one transaction
        inserts = [f'INSERT INTO "{t}" ({columns[t]}) OVERRIDING SYSTEM VALUE SELECT {columns[t]} FROM {SNAPSHOT}."{t}"'
                   for t in reversed(children_first)]
        await connection.execute_script("BEGIN; " + "; ".join(deletes + inserts) + "; COMMIT;")
    else:
        inserts = [f'INSERT INTO "{t}" ({columns[t]}) SELECT {columns[t]} FROM {SNAPSHOT}."{t}"'
                   for t in reversed(children_first)]
        # every row is back before the foreign keys are checked (at COMMIT)
        await connection.execute_script("BEGIN; PRAGMA defer_foreign_keys = ON; " + "; ".join(deletes + inserts)
                                        + "; COMMIT;")


async def drop_snapshot() -> None:
    connection = _connection()
    if _is_postgres(connection):
        await connection.execute_script(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE")
    else:
        attached = [row["name"] for row in await connection.execute_query_dict("PRAGMA database_list")]
        if SNAPSHOT in attached:
            await connection.execute_script(f"DETACH DATABASE {SNAPSHOT}")
