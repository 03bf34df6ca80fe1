"""The full-text index of message texts, created idempotently outside the ORM's migrations.

- PostgreSQL: two stored, generated `tsvector` columns of `message`, `search_english`
  (`to_tsvector('english', text)`, stemmed: "orders" finds "order") and `search_simple`
  (`to_tsvector('simple', text)`, exact words in any language, the fallback), each with a GIN
  index. PostgreSQL computes them when a message is written (COPY and `UPDATE` of the text
  included), so a search reads each vector instead of parsing the text again: testing a
  message on its row, and ranking it, cost a fraction of a microsecond, which lets a frequent
  word's newest matches be found by walking back from the newest message (services/contact_center/search.py).
  Adding the columns to an existing table rewrites it once (11 s at two million messages, and
  5 s for the two indexes, under an exclusive lock; done only when a column is missing); the
  GIN expression indexes of earlier versions (`to_tsvector(...)` of the text) are dropped
  first, so the rewrite does not rebuild them. The indexes are built without GIN's "fast
  update": that keeps new entries in a pending list which every search reads through until
  VACUUM (or 4 MB of them) moves them into the index, several ms per index and per statement
  once a few thousand messages have arrived (PostgreSQL's autovacuum may be off or late);
  written directly, a new message costs a few microseconds more instead. The table is
  analyzed when the columns have no statistics yet: without them the planner takes a frequent
  word for a rare one.
- SQLite: an FTS5 table `message_fts` over `message.text` (external content, unicode61 with
  diacritics removed), kept in step by three triggers, and rebuilt from `message` when made.

`ensure_search_index(connection)` may run any number of times: at start-up (the app's
lifespan), lazily before the first search on a connection (services/contact_center/search.py), or after a
bulk load (bench/seed.py runs `POSTGRES_STATEMENTS` itself); and at the same time in several
processes (servers starting together): on PostgreSQL the statements run in one transaction
that first takes an advisory lock, so one preparation runs at a time and the next finds its
work done. Unlocked, two `CREATE INDEX IF NOT EXISTS` of one index both pass the check and
the second fails on the catalog's unique index ("duplicate key value violates unique
constraint pg_class_relname_nsp_index"), and two ANALYZEs of one table can collide the same way.
"""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

#: the text search configuration of the language-aware index (the `simple` one is the fallback)
LANGUAGE = "english"

#: the columns of `message` holding the text's vector in the LANGUAGE configuration and in `simple`
LANGUAGE_COLUMN, SIMPLE_COLUMN = f"search_{LANGUAGE}", "search_simple"
#: column -> its text search configuration
POSTGRES_COLUMNS = {LANGUAGE_COLUMN: LANGUAGE, SIMPLE_COLUMN: "simple"}
#: the expression indexes of earlier versions, replaced by the columns' indexes
OBSOLETE_INDEXES = ("message_text_fts_english", "message_text_fts_simple")
#: the transaction-scoped advisory lock one preparation holds on PostgreSQL (services/events/events.py has 7_311_000_001)
PREPARATION_LOCK = 7_311_000_002


def _add_columns() -> str:
    """Both columns in one ALTER TABLE (one rewrite), only when one is missing: ALTER TABLE locks the table
    even when there is nothing to add."""
    names = ", ".join(f"'{column}'" for column in POSTGRES_COLUMNS)
    additions = ", ".join(f"ADD COLUMN IF NOT EXISTS {column} tsvector "
                          f"GENERATED ALWAYS AS (to_tsvector('{config}', text)) STORED"
                          for column, config in POSTGRES_COLUMNS.items())
    return (f"DO $$ BEGIN IF (SELECT count(*) FROM pg_attribute WHERE attrelid = 'message'::regclass "
            f"AND attname IN ({names}) AND NOT attisdropped) < {len(POSTGRES_COLUMNS)} THEN "
            f"ALTER TABLE message {additions}; END IF; END $$")


def _analyze_once() -> str:
    """ANALYZE when the columns have no statistics (just added, or never analyzed): PostgreSQL's autovacuum
    may be off or late, and a bulk load analyzed before the columns existed."""
    column = next(iter(POSTGRES_COLUMNS))
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() "
            f"AND tablename = 'message' AND attname = '{column}') THEN ANALYZE message; END IF; END $$")


POSTGRES_STATEMENTS = [
    # first: the rewrite that adds the columns would rebuild the old indexes too
    *(f"DROP INDEX IF EXISTS {index}" for index in OBSOLETE_INDEXES),
    _add_columns(),
    *(f"CREATE INDEX IF NOT EXISTS message_{column} ON message USING GIN ({column}) WITH (fastupdate = off)"
      for column in POSTGRES_COLUMNS),
    _analyze_once(),
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
        async with connection._in_transaction() as tx:  # a transaction (a savepoint when given one)
            await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [PREPARATION_LOCK])
            for statement in POSTGRES_STATEMENTS:
                await tx.execute_script(statement)
        return
    rows = await connection.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'message_fts'"
    )
    for statement in SQLITE_STATEMENTS:
        await connection.execute_script(statement)
    if not rows:  # made just now: index what is already there
        await connection.execute_script("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
