"""The one way a use case opens a transaction: `transaction()`.

On PostgreSQL it is a connection of Tortoise's asyncpg pool with BEGIN and COMMIT of its own
(`DirectTransaction`, DIRECT_TRANSACTIONS=on, the default), or Tortoise's `in_transaction`
(off). The direct one lets the unit of work end with its events and the COMMIT in one round
trip (`DirectTransaction.commit_with`, services/events/events.py): the event-order lock is
then held for PostgreSQL's own work only, not while the server's event loop comes round to
sending COMMIT. Either way the client it yields is a Tortoise client (`using_db(tx)`,
`tx.execute_query`, `tx._in_transaction()` for a savepoint), set as the task's connection for
the transaction's length, and an exception rolls the transaction back.

On SQLite it is Tortoise's `in_transaction`, which also takes the database's write lock with
its first statement. SQLite's `BEGIN` is deferred: the transaction reads from a snapshot and
asks for the write lock at its first write; if another process (a second server on the same
file, the CLI) committed in between, that write fails at once with "database is locked"
(SQLite cannot move a snapshot forward, so its busy timeout does not apply). Taking the lock
first waits for the other writer instead (up to the connection's busy timeout, 5 s), so two
processes on one SQLite file take turns rather than failing each other's requests.

Statements kept prepared (`session_statement`): the statements that share BEGIN's or COMMIT's
round trip go in PostgreSQL's simple protocol, which parses and plans each of them every time.
Those that run in every such round trip (the row lock, the event's INSERT) are PREPAREd once in
each session of the pool and EXECUTEd by name there: on `sendMessage`, PostgreSQL's CPU per message
went from about 600 to 490 µs (the lock cost it 50 µs as a script, the event's INSERT 60 µs).
A connection that has not got one (a new session, a PREPARE that failed) runs the statement as a
script, as before. A session is the pool's own for its life (sessions are not shared through a
pooler in transaction mode: the event ids read back after COMMIT need the same session already).
"""
from __future__ import annotations

import itertools
import logging
import re
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, AsyncIterator, Sequence, cast

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import ConnectionHandler
from tortoise.context import require_context
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from infrastructure.settings import direct_transactions_enabled

#: a write that changes nothing: it takes SQLite's write lock (the event table exists in every
#: database of this application, from its first migration)
_TAKE_WRITE_LOCK = "UPDATE event SET id = id WHERE 0"
#: DIRECT_TRANSACTIONS, read once (a test may set this)
DIRECT = direct_transactions_enabled()
_savepoint_names = itertools.count(1)
log = logging.getLogger("services.transactions")

#: name -> the rest of its PREPARE statement ("(types) AS statement"): the statements each session
#: of the pool keeps prepared (`session_statement`)
_SESSION_STATEMENTS: dict[str, str] = {}
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def connection_handler() -> ConnectionHandler:
    """The current Tortoise context's connections: `tortoise.connection.get_connections()`, whose body
    runs an `import` statement at every call, and the `tortoise.connections` proxy (deprecated since
    Tortoise 1.0), which also fails an attribute lookup first. Each cost about 8,000 instructions
    (callgrind) per use: three times per `sendMessage`, once per list statement."""
    return require_context().connections


def default_connection() -> BaseDBAsyncClient:
    """The "default" connection of the current context (the task's transaction while one is open):
    what `tortoise.connections.get("default")` returns."""
    return connection_handler().get("default")


def session_statement(name: str, definition: str) -> str:
    """Keep `PREPARE <name> <definition>` prepared in each session of the pool (from the next
    transaction a connection begins); `EXECUTE <name>(...)` runs it where
    `DirectTransaction.prepared(name)` says the session has it. Returns the name."""
    assert _NAME.fullmatch(name), name
    known = _SESSION_STATEMENTS.setdefault(name, definition)
    assert known == definition, f"{name} is prepared as another statement already"
    return name


def prepare_sql(name: str) -> str:
    """The PREPARE statement of a statement kept prepared (`session_statement`)."""
    return f"PREPARE {name} {_SESSION_STATEMENTS[name]}"


class DirectTransaction(TransactionWrapper):
    """Tortoise's asyncpg transaction client (every query method, exceptions translated as
    Tortoise does), on a connection `transaction()` took from the pool, with BEGIN, COMMIT and
    ROLLBACK sent as plain statements, and `commit_with`. Savepoints (`_in_transaction`) are
    SAVEPOINT statements on the same connection."""

    def __init__(self, parent: AsyncpgDBClient, connection: Any) -> None:
        super().__init__(parent)
        self._connection = connection
        #: COMMIT went out with the last statements (commit_with)
        self.committed = False
        #: the names the session keeps prepared (`SessionConnection.prepared_statements`, read once:
        #: through the pool's proxy it is a fallback attribute lookup); None: a connection that keeps
        #: no record of them
        self._kept: set[str] | None = getattr(connection, "prepared_statements", None)

    def prepared(self, name: str) -> bool:
        """Whether this transaction's session has the statement `name` prepared (`session_statement`)."""
        return self._kept is not None and name in self._kept

    async def prepare_session(self) -> None:
        """PREPARE what this session lacks of the statements kept prepared: once in a session's
        life, outside a transaction, a round trip per statement. A connection that keeps no
        record of them (not the pool's `SessionConnection`) prepares nothing; a PREPARE that
        fails (its tables not made yet) leaves its statement to run as a script."""
        kept = self._kept
        if kept is None or len(kept) == len(_SESSION_STATEMENTS):
            return
        for name in list(_SESSION_STATEMENTS):
            if name in kept:
                continue
            try:
                await self._connection.execute(prepare_sql(name))
            except asyncpg.DuplicatePreparedStatementError:
                pass  # prepared already
            except asyncpg.PostgresError as error:
                log.debug("could not prepare %s (%s): it runs as a script", name, error)
                continue
            kept.add(name)

    def reported(self, name: str) -> str | None:
        """The value PostgreSQL last reported for the session parameter `name` (its ParameterStatus
        messages, which asyncpg keeps: `Connection.get_settings()`); None when it reported none."""
        return getattr(self._connection.get_settings(), name, None)

    def forget_prepared(self) -> None:
        """The session lost its prepared statements (PostgreSQL answered that one does not exist):
        they are prepared again from the next transaction on this connection."""
        if self._kept is not None:
            self._kept.clear()

    async def begin(self, script: str = "") -> None:
        """BEGIN, and `script` (statements without parameters) in the same round trip."""
        if script:
            sql = f"BEGIN; {script}"
            self.log.debug(sql)  # a script, as commit_with logs one (statement counts read it)
            await self._translate_exceptions(_status_of, sql, ())
        else:
            await self._connection.execute("BEGIN")

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[Any]:
        """asyncpg's rows of one statement (services/common/raw_sql.py's hot path): Tortoise's
        execute_query_dict without its per-call wrappers, its errors translated the same way."""
        async with self._lock:
            self.log.debug("%s: %s", sql, values)  # as Tortoise logs each statement (statement counts read it)
            return cast(list, await self._translate_exceptions(_fetch, sql, values))  # typed as Exception by Tortoise

    async def run(self, sql: str, values: Sequence[Any]) -> str:
        """asyncpg's status of one statement without rows (`UPDATE 1`), errors translated as Tortoise does."""
        async with self._lock:
            self.log.debug("%s: %s", sql, values)
            return cast(str, await self._translate_exceptions(_status_of, sql, values))

    async def commit_with(self, script: str) -> None:
        """Run `script` (statements without parameters, `;`-separated, in PostgreSQL's simple
        protocol) and COMMIT in the same round trip. A statement that fails leaves the
        transaction aborted (the rest is not run): `transaction()` rolls it back."""
        sql = f"{script}; COMMIT"
        async with self.acquire_connection() as connection:
            self.log.debug(sql)  # as Tortoise's execute_script logs a script
            await connection.execute(sql)
        self.committed = True

    async def commit(self) -> None:
        if self.committed:
            raise TransactionManagementError("Transaction already finalised")
        await self._connection.execute("COMMIT")
        self.committed = True

    async def rollback(self) -> None:
        if self.committed:
            raise TransactionManagementError("Transaction already finalised")
        self.committed = True
        if not self._connection.is_closed():
            await self._connection.execute("ROLLBACK")

    def _in_transaction(self) -> Any:
        return _Savepoint(self)


async def _fetch(tx: DirectTransaction, sql: str, values: Sequence[Any]) -> list[Any]:
    return await tx._connection.fetch(sql, *values)


async def _status_of(tx: DirectTransaction, sql: str, values: Sequence[Any]) -> str:
    return await tx._connection.execute(sql, *values)


class _Savepoint:
    """`async with tx._in_transaction() as savepoint`: a SAVEPOINT, released at the end or rolled
    back to on an exception (the transaction goes on); the client is the transaction's."""

    def __init__(self, tx: DirectTransaction) -> None:
        self.tx = tx
        self.name = f"openchannels_{next(_savepoint_names)}"

    async def __aenter__(self) -> DirectTransaction:
        await self.tx.execute_script(f"SAVEPOINT {self.name}")
        return self.tx

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self.tx.execute_script(f"RELEASE SAVEPOINT {self.name}")
        elif not self.tx._connection.is_closed():
            await self.tx.execute_script(f"ROLLBACK TO SAVEPOINT {self.name}")


def lock_row_sql(lock: tuple[str, int]) -> str:
    """The statement that locks the row of table `lock[0]` whose id is `lock[1]` (PostgreSQL)."""
    table, row_id = lock
    return f"SELECT 1 FROM {table} WHERE id = {int(row_id)} FOR UPDATE"


#: table -> the name of its kept-prepared row lock (`lock_statement`)
_LOCK_STATEMENTS: dict[str, str] = {}


def lock_statement(table: str) -> str:
    """The kept-prepared statement that locks a row of `table` by its id ($1): registered with
    `session_statement` at its first use, then prepared in each session from its next transaction."""
    name = _LOCK_STATEMENTS.get(table)
    if name is None:
        name = _LOCK_STATEMENTS[table] = session_statement(
            f"openchannels_lock_{table}", f"(bigint) AS SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE")
    return name


def _lock_script(tx: DirectTransaction, name: str, lock: tuple[str, int]) -> str:
    """The lock in BEGIN's round trip: its statement `name` EXECUTEd where the session has it prepared."""
    return f"EXECUTE {name}({int(lock[1])})" if tx.prepared(name) else lock_row_sql(lock)


class _Direct:
    """A direct transaction (`DirectTransaction`) on a connection of the pool, as an async context
    manager of its own: BEGIN (with the row lock) on entry; on exit COMMIT, or ROLLBACK when the
    body raised; the connection back to the pool either way. A class rather than a generator
    (contextlib's asynccontextmanager): every write passes here, and a generator's context manager
    costs the generator, its wrapper and the event loop's registry of async generators each time."""

    __slots__ = ("root", "lock", "pool", "connection", "tx", "handler", "token")

    def __init__(self, root: AsyncpgDBClient, lock: tuple[str, int] | None) -> None:
        self.root, self.lock = root, lock

    async def __aenter__(self) -> DirectTransaction:
        root, lock = self.root, self.lock
        pool = root._pool
        assert pool is not None  # transaction() checked
        self.pool = pool  # the pool the connection goes back to, whatever becomes of root's meanwhile
        self.connection = connection = await pool.acquire()
        try:
            self.tx = tx = DirectTransaction(root, connection)
            # the task's connection is the transaction's while it lasts, as under in_transaction
            self.handler = connection_handler()
            self.token = self.handler.set(root.connection_name, tx)
            try:
                locking = lock_statement(lock[0]) if lock is not None else ""  # prepared from this transaction on
                await tx.prepare_session()
                await tx.begin(_lock_script(tx, locking, lock) if lock is not None else "")  # a failed lock: rolled back
            except BaseException as error:
                await self._undo(error)
                self.handler.reset(self.token)
                raise
        except BaseException:
            await pool.release(connection)
            raise
        return tx

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        try:
            try:
                if error is not None:
                    await self._undo(error)
                elif not self.tx.committed:
                    await self.tx.commit()
            finally:
                self.handler.reset(self.token)
        finally:
            await self.pool.release(self.connection)
        return False  # the body's error goes on

    async def _undo(self, error: BaseException) -> None:
        """After `error`: ROLLBACK unless committed (a failure of its own is left to the pool's release,
        which rolls back or drops the connection)."""
        tx = self.tx
        if isinstance(error, asyncpg.InvalidSQLStatementNameError):
            tx.forget_prepared()  # gone from the session (DEALLOCATE): prepared again next time
        if not tx.committed:
            try:
                await tx.rollback()
            except Exception:  # noqa: BLE001 - the pool's release rolls back, or drops the connection
                pass


def transaction(*, lock: tuple[str, int] | None = None) -> AbstractAsyncContextManager[BaseDBAsyncClient]:
    """`async with transaction() as tx:` the use case's transaction. `lock=(table, id)`: that row is
    locked (FOR UPDATE) before the body runs; on a direct PostgreSQL transaction in BEGIN's round
    trip. On SQLite the database's write lock, taken first, serialises writers already."""
    current = default_connection()
    # the pool's own client (not a transaction already: a nested one is a savepoint of it), its pool made
    if DIRECT and type(current) is AsyncpgDBClient and current._pool is not None:
        return _Direct(current, lock)
    return _tortoise_transaction(lock)


@asynccontextmanager
async def _tortoise_transaction(lock: tuple[str, int] | None) -> AsyncIterator[BaseDBAsyncClient]:
    """Tortoise's own transaction: SQLite, or PostgreSQL with DIRECT_TRANSACTIONS off."""
    async with in_transaction() as tx:
        if tx.capabilities.dialect == "sqlite":
            await tx.execute_query(_TAKE_WRITE_LOCK)
        elif lock is not None:
            await tx.execute_query(lock_row_sql(lock))
        yield tx
