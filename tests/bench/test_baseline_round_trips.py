"""The hand-written endpoints (bench/baseline.py) and B3's raw loop are what the server's figures
are divided by: they must make the server's round trips and no more, or the ratios flatter the
server. The server trusts a token it found valid for TOKEN_CACHE_SECONDS and releases its pooled
connections without asyncpg's reset statement (infrastructure/settings.py `keep_session`); so must
they."""
from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import httpx

from bench import baseline
from bench.ingest import raw_writers
from bench.seed import ensure_seeded
from tests.resources import TEST_REDIS_URL, database_name, drop_database

#: the first statement of asyncpg's reset (Connection.get_reset_query), when a pool resets what it gets back
_RESET = "SELECT pg_advisory_unlock_all();%"


async def _last_statements(db: asyncpg.Connection, database: str) -> list[str]:
    """The last statement of every other connection to `database` (pg_stat_activity)."""
    return [row["query"] for row in await db.fetch(
        "SELECT query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database)]


async def test_the_list_endpoints_trust_the_token_and_release_connections_without_a_reset(monkeypatch) -> None:
    database = database_name("bench_trips")
    try:
        url = await ensure_seeded(0.002, reseed=True, database=database, progress=lambda line: None)
        db = await asyncpg.connect(url, timeout=10)
        try:
            me = await db.fetchval("SELECT operator_id FROM chat_participant GROUP BY operator_id "
                                   "ORDER BY COUNT(*) DESC LIMIT 1")
            token = "bench-trips-token"
            await db.execute("INSERT INTO api_token (token_hash, created_at, operator_id) VALUES ($1, now(), $2)",
                             hashlib.sha256(token.encode()).hexdigest(), me)
            monkeypatch.setenv("DATABASE_URL", url)
            monkeypatch.setenv("TOKEN_CACHE_SECONDS", "60")
            app = baseline.create_app()
            async with app.router.lifespan_context(app):
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                    headers = {"Authorization": f"Bearer {token}"}
                    first = {path: (await client.get(path, headers=headers)).json() for path in
                             ("/my-chats", "/conversations")}
                    assert first["/my-chats"]["data"]["myChats"]["active"] or \
                        first["/my-chats"]["data"]["myChats"]["waitingFirstResponse"]
                    assert first["/conversations"]["data"]["conversations"]["edges"]
                    # the token is gone from the database: a server would still trust it for
                    # TOKEN_CACHE_SECONDS, and so does the endpoint (no token statement per request)
                    await db.execute("DELETE FROM api_token WHERE operator_id = $1", me)
                    for path, answer in first.items():
                        assert (await client.get(path, headers=headers)).json() == answer, path
                    assert "errors" in (await client.get("/my-chats", headers={"Authorization": "Bearer other"})).json()
                    last = await _last_statements(db, database)
                    assert last and not [query for query in last if query.startswith(_RESET[:-1])], last
        finally:
            await db.close()
    finally:
        await drop_database(database)


async def test_the_raw_loop_releases_connections_without_a_reset() -> None:
    database = database_name("bench_raw_trips")
    try:
        url = await ensure_seeded(0.002, reseed=True, database=database, progress=lambda line: None)
        db = await asyncpg.connect(url, timeout=10)
        try:
            chat = await db.fetchrow("SELECT p.chat_id, p.operator_id, c.open_channel_id FROM chat_participant p "
                                     "JOIN chat c ON c.id = p.chat_id ORDER BY p.chat_id LIMIT 1")
            senders, close = await raw_writers(url, TEST_REDIS_URL, "openchannels-test-raw-trips", [
                {"chat_id": chat["chat_id"], "operator_id": chat["operator_id"], "channel_id": chat["open_channel_id"]}])
            try:
                for _ in range(3):
                    assert await senders[0]() is None
                await asyncio.sleep(0)
                last = await _last_statements(db, database)
            finally:
                await close()
            assert "SELECT current_setting('bench.written_event_id')" in last, last  # its last round trip
            assert not [query for query in last if query.startswith(_RESET[:-1])], last
        finally:
            await db.close()
    finally:
        await drop_database(database)

