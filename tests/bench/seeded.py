"""A tiny bench seed for a test of the bench's own parts."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg

from bench.seed import ensure_seeded
from tests.resources import database_name, drop_database


@asynccontextmanager
async def seeded_database(purpose: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """The bench's seed at scale 0.002 in a database of the test's own (dropped after it), its URL
    and a connection to it."""
    database = database_name(purpose)
    try:
        url = await ensure_seeded(0.002, reseed=True, database=database, progress=lambda line: None)
        db = await asyncpg.connect(url, timeout=10)
        try:
            yield url, db
        finally:
            await db.close()
    finally:
        await drop_database(database)
