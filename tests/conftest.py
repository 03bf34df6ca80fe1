"""Fixtures shared by every test folder.

Every test that touches the database runs twice in one pytest run, once per `backend`:

- ``sqlite``: a fresh SQLite file (in memory-backed storage where there is some:
  `tests.resources.scratch_dir`; a copy of one made with the tables per worker), the in-process
  `LocalBroker`;
- ``postgres``: one database per pytest session (per xdist worker; created here, dropped at
  the end; tables made once, emptied and ids restarted before each test) and a `RedisBroker`
  on a channel unique to this run.

Where PostgreSQL and Redis are (`TEST_POSTGRES_URL`, `TEST_REDIS_URL`) and how the run names
what it makes there: tests/resources.py. At the end of the run nothing of it may be left
(`pytest_sessionfinish` below fails the run and removes what it finds).

PostgreSQL and Redis are required: when either is unreachable the postgres tests FAIL
(CI provides both). Tests marked ``postgres_only`` (real row locks, real concurrency) are
skipped on sqlite.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import redis.asyncio as redis
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext

from infrastructure.broker import Broker, LocalBroker, RedisBroker
from infrastructure.platform import Platform
from infrastructure.settings import tortoise_config
from tests.resources import (
    RUN_ID, TEST_POSTGRES_URL, TEST_REDIS_URL, admin_connect, database_name, drop_database,
    drop_template_databases, redis_prefix, remove_leftovers, remove_scratch, scratch_dir, with_database,
)

#: the names other test modules import (kept: TEST_REDIS_URL is the setting, REDIS_URL an alias)
REDIS_URL = TEST_REDIS_URL
_with_database = with_database
#: one Redis channel per pytest run and worker, so that parallel runs (CI jobs, developers) never cross
REDIS_CHANNEL = redis_prefix("events")

BACKENDS = ["sqlite", "postgres"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="postgres_only: SQLite has no row locks and a single writer")
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("postgres_only") and callspec and callspec.params.get("_backend_state") == "sqlite":
            item.add_marker(skip)


_leftovers_report = pytest.StashKey[tuple[str, bool]]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing this run made in PostgreSQL or Redis may be left: list it, remove it, fail the run.

    In the process that runs the whole session (not in an xdist worker: the controller's
    session ends after every worker's). PostgreSQL or Redis unreachable: nothing was made there.
    """
    if hasattr(session.config, "workerinput"):
        shutil.rmtree(scratch_dir(), ignore_errors=True)
        with contextlib.suppress(Exception):  # (not dropped: the controller's check names it and drops it)
            asyncio.run(drop_template_databases())  # before the controller looks for leftovers
        return
    remove_scratch(RUN_ID)
    asyncio.run(drop_template_databases())
    try:
        databases, keys = asyncio.run(remove_leftovers(RUN_ID))
    except Exception as error:  # noqa: BLE001 - unreachable servers: say so, do not fail the run
        databases, keys = [], []
        message = f"openchannels: could not look for leftovers of run {RUN_ID}: {type(error).__name__}: {error}"
    else:
        message = (f"openchannels: run {RUN_ID} left nothing behind in PostgreSQL or Redis"
                   if not databases and not keys else
                   f"openchannels: run {RUN_ID} LEFT {len(databases)} database(s) and {len(keys)} Redis key(s) "
                   f"behind (now removed): databases {databases}, keys {keys[:20]}")
    session.config.stash[_leftovers_report] = (message, bool(databases or keys))
    if databases or keys:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _leftovers_report in config.stash:
        message, failed = config.stash[_leftovers_report]
        terminalreporter.write_line(message, red=failed, bold=failed)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresDatabase:
    url: str
    #: every table, referencing tables before the tables they reference
    tables: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)

    @property
    def reset_sql(self) -> str:
        """Empty every table and restart every id at 1.

        What TRUNCATE ... RESTART IDENTITY CASCADE does, but TRUNCATE of these tables takes
        about 100 ms per test (file work for each table) and this takes about 3 ms.
        """
        deletes = " ".join(f'DELETE FROM "{t}";' for t in self.tables)
        restarts = ", ".join(f"setval('{q}', 1, false)" for q in self.sequences)
        return deletes + (f" SELECT {restarts};" if restarts else "")


def _children_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """Order tables so that a table comes before every table it references."""
    ordered: list[str] = []
    remaining = set(tables)
    while remaining:
        leaves = sorted(t for t in remaining if not any(parent == t and child in remaining and child != t
                                                         for child, parent in references))
        if not leaves:  # a reference cycle: the ON DELETE actions sort it out
            leaves = sorted(remaining)
        ordered += leaves
        remaining -= set(leaves)
    return ordered


_postgres: PostgresDatabase | None = None
_postgres_error: BaseException | None = None


async def _create_postgres_database() -> PostgresDatabase:
    name = database_name("session")
    admin = await admin_connect()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        # a throwaway database: no need to wait for the WAL flush at every commit
        await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await admin.close()
    database = PostgresDatabase(url=with_database(TEST_POSTGRES_URL, name))
    # an explicit context: leaves no Tortoise state behind for the tests
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(database.url))
        await ctx.generate_schemas(safe=False)
        client = ctx.db()
        tables = [row["tablename"] for row in await client.execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )]
        references = [(row["child"], row["parent"]) for row in await client.execute_query_dict(
            "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
        )]
        database.tables = _children_first(tables, references)
        database.sequences = [row["name"] for row in await client.execute_query_dict(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name FROM pg_sequences"
            " WHERE schemaname = current_schema()"
        )]
    return database


async def _drop_postgres_database(database: PostgresDatabase) -> None:
    await drop_database(urlsplit(database.url).path.lstrip("/"))


@pytest_asyncio.fixture(scope="session")
async def _postgres_session() -> AsyncIterator[Callable]:
    """Creates the session database lazily, on the first postgres test (a sqlite-only run needs no server)."""

    async def get() -> PostgresDatabase:
        global _postgres, _postgres_error
        if _postgres_error is not None:
            raise RuntimeError(f"PostgreSQL at {TEST_POSTGRES_URL} is not usable") from _postgres_error
        if _postgres is None:
            try:
                _postgres = await _create_postgres_database()
            except BaseException as err:  # fail every postgres test fast, not once per test after a timeout
                _postgres_error = err
                raise
        return _postgres

    yield get
    if _postgres is not None:
        await _drop_postgres_database(_postgres)


# --------------------------------------------------------------------------- SQLite


_sqlite_template: Path | None = None


async def _sqlite_with_tables(path: Path) -> None:
    """Makes `path` a copy of an SQLite database holding every table (made once per worker).

    Byte for byte what `Tortoise.generate_schemas` makes on an empty file, without making it
    again for every test (tables, indexes, the FTS5 table and its triggers: ~30 ms of CPU and
    a dozen commits each)."""
    global _sqlite_template
    if _sqlite_template is None:
        template = scratch_dir() / "template.sqlite3"
        template.unlink(missing_ok=True)
        async with TortoiseContext() as ctx:  # leaves no Tortoise state behind for the tests
            await ctx.init(config=tortoise_config(f"sqlite://{template}"))
            await ctx.generate_schemas(safe=False)
        _sqlite_template = template
    shutil.copyfile(_sqlite_template, path)


# --------------------------------------------------------------------------- backends


@dataclass
class BackendState:
    name: str
    database_url: str
    broker: Broker
    reset_sql: str | None = None
    #: this test's platform: its broker, uploads in its own folder, the GIF catalog, no token cache
    platform: Platform | None = None


@pytest_asyncio.fixture(params=BACKENDS, ids=BACKENDS)
async def _backend_state(request: pytest.FixtureRequest, tmp_path, _postgres_session) -> AsyncIterator[BackendState]:
    folder: Path | None = None
    if request.param == "sqlite":
        broker: Broker = LocalBroker()
        folder = scratch_dir() / uuid.uuid4().hex[:12]
        folder.mkdir()
        state = BackendState("sqlite", f"sqlite://{folder / 'openchannels.sqlite3'}", broker)
    else:
        database = await _postgres_session()
        probe = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=5)
        try:
            await probe.ping()  # unreachable Redis: an error here, not a 10 s wait in start()
        finally:
            await probe.aclose()
        broker = RedisBroker(redis.Redis.from_url(TEST_REDIS_URL), REDIS_CHANNEL)
        state = BackendState("postgres", database.url, broker, reset_sql=database.reset_sql)
    await broker.start()
    state.platform = Platform.local(tmp_path / "files", broker=broker, url_secret=b"test-secret")
    try:
        with state.platform.in_use():  # what the test's use cases commit is published to its broker
            yield state
    finally:
        await broker.stop()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def backend(_backend_state: BackendState) -> str:
    """"sqlite" or "postgres"; the test runs with a platform on the matching broker in use (`platform`)."""
    return _backend_state.name


@pytest.fixture
def database_url(_backend_state: BackendState) -> str:
    """The DATABASE_URL of this test's fresh database (for a server started by an e2e test)."""
    return _backend_state.database_url


@pytest.fixture
def broker(_backend_state: BackendState) -> Broker:
    """The broker installed for this test (LocalBroker on sqlite, RedisBroker on postgres)."""
    return _backend_state.broker


@pytest.fixture
def platform(_backend_state: BackendState) -> Platform:
    """This test's platform (infrastructure/platform.py), in use for the test: pass its parts to the
    use cases that need them (`platform.files`, `platform.gifs`...), and `platform=` to a Context."""
    assert _backend_state.platform is not None
    return _backend_state.platform


@pytest.fixture
def redis_url() -> str:
    """TEST_REDIS_URL: the Redis of every test; keys a test makes start with `redis_prefix(...)`."""
    return TEST_REDIS_URL


@pytest.fixture
def redis_channel() -> str:
    """The Redis channel of this run (for a server process started by an e2e test)."""
    return REDIS_CHANNEL


@pytest_asyncio.fixture
async def db(backend: str, _backend_state: BackendState) -> AsyncIterator[str]:
    """Tortoise initialised on a fresh database of this test's backend; yields the backend name."""
    # Tortoise caches each model's INSERT statement per connection *name*, not per dialect:
    # after a sqlite test, "default" would still insert with sqlite's `?` placeholders.
    EXECUTOR_CACHE.clear()
    if _backend_state.reset_sql is None:
        await _sqlite_with_tables(Path(_backend_state.database_url.removeprefix("sqlite://")))
    await Tortoise.init(config=tortoise_config(_backend_state.database_url), _enable_global_fallback=True)
    try:
        if _backend_state.reset_sql:
            await Tortoise.get_connection("default").execute_script(_backend_state.reset_sql)
        yield _backend_state.name
    finally:
        await Tortoise.close_connections()


# --------------------------------------------------------------------------- query counting


@dataclass
class QueryCounter:
    statements: list[str] = field(default_factory=list)
    #: each statement's values, in the same order ([] for a script)
    values: list[list] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


class _StatementHandler(logging.Handler):
    """Every statement a Tortoise client executes is logged at DEBUG by `tortoise.db_client`.

    execute_query / execute_query_dict / execute_insert / execute_many log "<sql>: <values>",
    execute_script logs the SQL alone; pool open/close messages are not statements.
    """

    def __init__(self, counter: QueryCounter) -> None:
        super().__init__(logging.DEBUG)
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s" and record.args:
            self.counter.statements.append(str(record.args[0]))
            self.counter.values.append(list(record.args[1] or []))  # type: ignore[index]
        elif not record.args and isinstance(record.msg, str):
            self.counter.statements.append(record.msg)
            self.counter.values.append([])


@pytest.fixture
def count_queries() -> Callable:
    """`with count_queries() as counter: ...` then `counter.count` (and `counter.statements`)."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        handler = _StatementHandler(counter)
        logger = logging.getLogger("tortoise.db_client")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield counter
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    return counting


# --------------------------------------------------------------------------- clock


class Clock:
    """A clock the test moves by hand; installed as `services.chats.queue.now` (the services' one clock)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freezes the services' clock at 2030-01-01 00:00 UTC; `clock.advance(seconds)` moves it."""
    import services.chats.queue

    fixed = Clock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    monkeypatch.setattr(services.chats.queue, "now", fixed)
    return fixed
