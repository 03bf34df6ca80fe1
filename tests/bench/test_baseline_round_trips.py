"""The hand-written endpoints (bench/baseline.py) and B3's raw loop are what the server's figures
are divided by: they must make the server's round trips and no more, or the ratios flatter the
server. The server trusts a token it found valid for TOKEN_CACHE_SECONDS and releases its pooled
connections without asyncpg's reset statement (infrastructure/settings.py `keep_session`); so must
they."""
from __future__ import annotations

import hashlib

import asyncpg
import httpx

from bench import baseline
from bench.ingest import raw_writers
from tests.bench.seeded import seeded_database
from tests.resources import TEST_REDIS_URL

#: how asyncpg's reset begins (Connection.get_reset_query), when a pool resets what it gets back
_RESET = "SELECT pg_advisory_unlock_all();"


async def _last_statements(db: asyncpg.Connection) -> list[str]:
    """The last statement of every other connection to `db`'s database (pg_stat_activity)."""
    return [row["query"] for row in await db.fetch(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]


async def test_the_list_endpoints_trust_the_token_and_release_connections_without_a_reset(monkeypatch) -> None:
    async with seeded_database("bench_trips") as (url, db):
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
                last = await _last_statements(db)
                assert last and not [query for query in last if query.startswith(_RESET)], last


async def test_the_raw_loop_releases_connections_without_a_reset() -> None:
    async with seeded_database("bench_raw_trips") as (url, db):
        chat = await db.fetchrow("SELECT p.chat_id, p.operator_id, c.open_channel_id FROM chat_participant p "
                                 "JOIN chat c ON c.id = p.chat_id ORDER BY p.chat_id LIMIT 1")
        senders, close = await raw_writers(url, TEST_REDIS_URL, "openchannels-test-raw-trips", [
            {"chat_id": chat["chat_id"], "operator_id": chat["operator_id"], "channel_id": chat["open_channel_id"]}])
        try:
            for _ in range(3):
                assert await senders[0]() is None
            last = await _last_statements(db)
        finally:
            await close()
        # its last round trip: the event with COMMIT, the event's id reported in it (as the server's)
        assert [query for query in last if query.startswith("EXECUTE bench_write_event(")], last
        assert not [query for query in last if "current_setting" in query], last
        assert not [query for query in last if query.startswith(_RESET)], last
