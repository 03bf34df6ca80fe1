"""Preparing the full-text index (services/contact_center/search_index.py) from several connections at once, as
two processes starting together do: each one succeeds, and the index ends up whole."""
from __future__ import annotations

import asyncio

import pytest
from tortoise import connections

from services.contact_center import search
from services.contact_center.search_index import POSTGRES_COLUMNS, ensure_search_index
from tests.factories import make_open_channel, make_operator, start_chat

pytestmark = pytest.mark.postgres_only

#: preparations started at once per round (each on its own pooled connection), and rounds
AT_ONCE, ROUNDS = 4, 5


async def _index_state(connection) -> tuple[set, set]:
    columns = {row["attname"] for row in await connection.execute_query_dict(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'message'::regclass AND attgenerated = 's' "
        "AND NOT attisdropped")}
    indexes = {row["indexname"] for row in await connection.execute_query_dict(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'message'")}
    return columns, indexes


async def test_preparations_started_at_once_all_succeed(db):
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann])
    for i in range(30):
        await start_chat(channel, f"parcel number {i} has arrived broken")
    connection = connections.get("default")
    await ensure_search_index(connection)
    indexes = "; ".join(f"DROP INDEX message_{column}" for column in POSTGRES_COLUMNS)
    columns = "ALTER TABLE message " + ", ".join(f"DROP COLUMN {column}" for column in POSTGRES_COLUMNS)
    try:
        for n in range(ROUNDS):  # the first from nothing (columns and indexes), then the indexes only
            await connection.execute_script(f"{indexes}; {columns}" if n == 0 else indexes)
            results = await asyncio.gather(*(ensure_search_index(connection) for _ in range(AT_ONCE)),
                                           return_exceptions=True)
            assert [r for r in results if r is not None] == [], results
            found_columns, found_indexes = await _index_state(connection)
            assert found_columns == set(POSTGRES_COLUMNS)
            assert {f"message_{column}" for column in POSTGRES_COLUMNS} <= found_indexes
    finally:
        await ensure_search_index(connection)  # whatever happened, the next test finds the index
    assert len((await search.search_messages(ann_v, query="parcels", first=50)).rows) == 30
