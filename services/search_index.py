"""The full-text index of message texts, created idempotently outside the ORM's migrations.

- PostgreSQL: two GIN expression indexes, `to_tsvector('english', text)` (stemmed: "orders"
  finds "order") and `to_tsvector('simple', text)` (exact words in any language, the fallback).
  Queries use the very same expressions, so the planner can use the indexes. Both are built
  without GIN's "fast update": that keeps new entries in a pending list which every search
  reads through until VACUUM (or 4 MB of them) moves them into the index, several ms per index
  and per statement once a few thousand messages have arrived (PostgreSQL's autovacuum may be
  off or late); written directly, a new message costs a few microseconds more instead.
- SQLite: an FTS5 table `message_fts` over `message.text` (external content, unicode61 with
  diacritics removed), kept in step by three triggers, and rebuilt from `message` when made.

`ensure_search_index(connection)` may run any number of times: at start-up (the app's
lifespan), lazily before the first search on a connection (services/search.py), or at
migration time with the same statements.
"""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

#: the text search configuration of the language-aware index (the `simple` one is the fallback)
LANGUAGE = "english"

POSTGRES_INDEXES = {f"message_text_fts_{LANGUAGE}": LANGUAGE, "message_text_fts_simple": "simple"}


def _without_fast_update(index: str) -> str:
    """An index made before fast update was turned off: turned off, and its pending entries moved into it
    (once: ALTER INDEX locks the index, so it runs only when the option is missing)."""
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('{index}') "
            f"AND 'fastupdate=off' = ANY(reloptions)) THEN ALTER INDEX {index} SET (fastupdate = off); "
            f"PERFORM gin_clean_pending_list('{index}'::regclass); END IF; END $$")


POSTGRES_STATEMENTS = [
    statement
    for index, config in POSTGRES_INDEXES.items()
    for statement in (
        f"CREATE INDEX IF NOT EXISTS {index} ON message USING GIN (to_tsvector('{config}', text)) "
        "WITH (fastupdate = off)",
        _without_fast_update(index),
    )
]

SQLITE_STATEMENTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5("
    "text, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_update AFTER UPDATE OF text ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
]


def dialect_of(connection: BaseDBAsyncClient) -> str:
    return connection.capabilities.dialect


async def ensure_search_index(connection: BaseDBAsyncClient) -> None:
    """Create the index if it is missing (idempotent; existing messages are indexed too)."""
    if dialect_of(connection) == "postgres":
        for statement in POSTGRES_STATEMENTS:
            await connection.execute_script(statement)
        return
    rows = await connection.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'message_fts'"
    )
    for statement in SQLITE_STATEMENTS:
        await connection.execute_script(statement)
    if not rows:  # made just now: index what is already there
        await connection.execute_script("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
