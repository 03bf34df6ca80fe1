"""The full-text index of message texts, created idempotently outside the ORM's migrations.

- PostgreSQL: two GIN expression indexes, `to_tsvector('english', text)` (stemmed: "orders"
  finds "order") and `to_tsvector('simple', text)` (exact words in any language, the fallback).
  Queries use the very same expressions, so the planner can use the indexes.
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

POSTGRES_STATEMENTS = [
    f"CREATE INDEX IF NOT EXISTS message_text_fts_{LANGUAGE} ON message "
    f"USING GIN (to_tsvector('{LANGUAGE}', text))",
    "CREATE INDEX IF NOT EXISTS message_text_fts_simple ON message USING GIN (to_tsvector('simple', text))",
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
