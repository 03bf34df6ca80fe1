"""PostgreSQL connections go back to the pool without a reset statement (infrastructure/settings.
keep_session), and still without an open transaction."""
from __future__ import annotations

import pytest
from tortoise import connections

from infrastructure.settings import keep_session, tortoise_config


def test_postgres_connections_are_released_without_a_reset_statement():
    config = tortoise_config("postgres://postgres@127.0.0.1:5432/test")["connections"]["default"]
    assert config["engine"] == "tortoise.backends.asyncpg" and config["credentials"]["reset"] is keep_session
    assert tortoise_config("sqlite:///tmp/x.sqlite3")["connections"]["default"] == "sqlite:///tmp/x.sqlite3"


async def test_a_transaction_left_open_is_rolled_back_on_release(db, backend):
    if backend != "postgres":
        pytest.skip("asyncpg's pool")
    pool = connections.get("default")._pool
    assert pool._reset is keep_session  # the running pool is configured so
    async with pool.acquire() as connection:
        await connection.execute("CREATE TEMP TABLE IF NOT EXISTS release_probe (n int)")
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO release_probe VALUES (1)")
        backend_pid = await connection.fetchval("SELECT pg_backend_pid()")
    async with pool.acquire() as connection:  # the pool holds at least one connection: take the same one
        if await connection.fetchval("SELECT pg_backend_pid()") != backend_pid:
            pytest.skip("the pool handed out another connection")
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT count(*) FROM release_probe") == 0  # rolled back


def test_the_pool_holds_database_pool_size_connections_unless_the_url_says(monkeypatch):
    from infrastructure.settings import Settings

    assert tortoise_config("postgres://postgres@127.0.0.1:5432/test")["connections"]["default"][
        "credentials"]["maxsize"] == 10  # not Tortoise's 5: requests waited for a connection at 16 at once
    assert tortoise_config("postgres://postgres@127.0.0.1:5432/test", 24)["connections"]["default"][
        "credentials"]["maxsize"] == 24
    assert int(tortoise_config("postgres://postgres@127.0.0.1:5432/test?maxsize=3", 24)["connections"]["default"][
        "credentials"]["maxsize"]) == 3
    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE must be a whole number of at least 1"):
        Settings()


async def test_the_running_pool_has_the_settings_size(db, backend):
    if backend != "postgres":
        pytest.skip("asyncpg's pool")
    assert connections.get("default")._pool._maxsize == 10
