"""The PostgreSQL and Redis a test run uses, and the names of what it makes there.

- ``TEST_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/test``): an admin
  connection to an existing database; every database a test makes is created beside it.
- ``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``): the Redis of every test.

Every database a run makes is named ``openchannels_test_<run>_...`` and every Redis key or
channel it makes starts with ``openchannels-test:<run>:``, where ``<run>`` is this run's id
(``TEST_RUN_ID``, made at start and inherited by pytest-xdist's workers and by the servers
the tests start). Each fixture removes what it made; at the end of the run `leftovers()`
must find nothing (the root conftest's `pytest_sessionfinish` fails the run otherwise).
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as redis

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/test"
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"

#: this run's id: set by the first process of the run, inherited by xdist workers (same run)
RUN_ID = os.environ.setdefault("TEST_RUN_ID", uuid.uuid4().hex[:10])
#: "gw0", "gw1", ... under pytest-xdist; "main" without it
WORKER = os.environ.get("PYTEST_XDIST_WORKER") or "main"

DATABASE_PREFIX = f"openchannels_test_{RUN_ID}_"
REDIS_PREFIX = f"openchannels-test:{RUN_ID}:"

_numbers = itertools.count(1)


def database_name(purpose: str) -> str:
    """A new database name of this run and worker, e.g. ``openchannels_test_<run>_gw1_e2e_3``."""
    return f"{DATABASE_PREFIX}{WORKER}_{purpose}_{next(_numbers)}"


def redis_prefix(purpose: str) -> str:
    """A new Redis key prefix (or channel name) of this run and worker; delete its keys when done."""
    return f"{REDIS_PREFIX}{WORKER}:{purpose}:{uuid.uuid4().hex[:8]}"


#: SQLite files of the tests go to memory-backed storage when there is some (Linux: /dev/shm): a test's
#: database is thrown away, and on a disk every commit would wait for its fsync (on a busy 2-core machine
#: that was half the time of a small test). The files are the same SQLite files, only not on a disk.
_SCRATCH_PARENT = Path("/dev/shm") if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def scratch_dir(worker: str = WORKER) -> Path:
    """This run's and worker's folder for throwaway SQLite files (removed by `remove_scratch`)."""
    parent = _SCRATCH_PARENT or Path(tempfile.gettempdir())
    folder = parent / f"openchannels-test-{RUN_ID}-{worker}"
    folder.mkdir(exist_ok=True)
    return folder


def remove_scratch(run_id: str = RUN_ID) -> None:
    """Remove the scratch folders of run `run_id` (every worker's)."""
    parent = _SCRATCH_PARENT or Path(tempfile.gettempdir())
    for folder in parent.glob(f"openchannels-test-{run_id}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def admin_connect() -> asyncpg.Connection:
    return await asyncpg.connect(TEST_POSTGRES_URL, timeout=10)


async def create_database(name: str, *, template: str | None = None) -> str:
    """CREATE DATABASE beside the admin database (a copy of database `template` if given); returns its URL."""
    admin = await admin_connect()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        # a throwaway database: no need to wait for the WAL flush at every commit
        await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await admin.close()
    return with_database(TEST_POSTGRES_URL, name)


async def drop_database(name: str) -> None:
    admin = await admin_connect()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


#: databases this process made to be copied (`create_database(..., template=...)`), kept for the whole
#: session; `drop_template_databases` (the root conftest's `pytest_sessionfinish`) drops them
_template_databases: list[str] = []


def register_template_database(name: str) -> None:
    """Drop database `name` at the end of this process's session (register it before creating it)."""
    _template_databases.append(name)


async def drop_template_databases() -> None:
    while _template_databases:
        await drop_database(_template_databases.pop())


async def delete_redis_keys(prefix: str, url: str = TEST_REDIS_URL) -> int:
    """Delete every key that starts with `prefix`; returns how many there were."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        keys = [key async for key in client.scan_iter(match=_glob(prefix) + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


def _glob(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _like(text: str) -> str:
    return "".join("\\" + c if c in "%_\\" else c for c in text)


async def leftovers(run_id: str = RUN_ID) -> tuple[list[str], list[str]]:
    """The databases and Redis keys of run `run_id` that still exist (both lists sorted)."""
    admin = await admin_connect()
    try:
        databases = [row["datname"] for row in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
            _like(f"openchannels_test_{run_id}_") + "%")]
    finally:
        await admin.close()
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=5)
    try:
        keys = sorted([key.decode() async for key in client.scan_iter(
            match=_glob(f"openchannels-test:{run_id}:") + "*", count=1000)])
    finally:
        await client.aclose()
    return databases, keys


async def remove_leftovers(run_id: str = RUN_ID) -> tuple[list[str], list[str]]:
    """Drop and delete what `leftovers` finds; returns what it removed."""
    databases, keys = await leftovers(run_id)
    for name in databases:
        await drop_database(name)
    if keys:
        await delete_redis_keys(f"openchannels-test:{run_id}:")
    return databases, keys
