"""PUBLISH through redis-py, pipelined on one connection of the client's pool.

Every committed event is published once, right after its commit, by the request that made
it. `client.publish()` takes a pool connection, a retry wrapper, redis-py's observability
hooks and (with a socket timeout) a `wait_for` task per call (about 100 µs of CPU per message
on this machine); here the messages of every request publishing meanwhile go out in one write
on one held connection of the pool, packed by hiredis, and their replies are read back in order
through redis-py's hiredis parser. The order in which requests call `publish` is the order
Redis receives their messages. The client should have no `socket_timeout`: each batch is
bounded by `timeout` as a whole, and redis-py's per-write timeout is one more task per write.
"""
from __future__ import annotations

import asyncio
import logging
import math

import redis.asyncio as redis
from hiredis import pack_command
from redis.asyncio.connection import AbstractConnection

log = logging.getLogger("infrastructure.broker")


class Publisher:
    def __init__(self, client: redis.Redis, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        #: (channel, message) not yet written, and the futures of the calls that queued them
        self._queued: list[tuple[bytes, bytes]] = []
        self._waiting: list[asyncio.Future] = []
        #: a call is writing and reading: the calls that come meanwhile queue for it
        self._sending = False

    async def publish(self, channel: bytes, messages: list[bytes]) -> None:
        """Publish the messages in order; raises when connecting or writing fails, Redis answers
        an error, or a batch does not finish within the timeout.

        The call that finds nobody sending sends (no task per publish: one less hop on the hot
        path), its own messages first, then what others queued meanwhile, batch after batch."""
        self._queued.extend((channel, message) for message in messages)
        if self._sending:
            future = asyncio.get_running_loop().create_future()
            self._waiting.append(future)
            await future
            return
        self._sending = True
        own: Exception | None = None
        try:
            own = await self._send_batch()
            while self._queued:
                await self._send_batch()
        except BaseException:  # cancelled mid-batch: what is queued is not sent either
            await self._drop_connection()
            self._queued, waiting, self._waiting = [], self._waiting, []
            _settle(waiting, ConnectionError("the publish was interrupted"))
            raise
        finally:
            self._sending = False
        if own is not None:
            raise own

    async def close(self) -> None:
        self._queued, waiting, self._waiting = [], self._waiting, []
        _settle(waiting, ConnectionError("the publisher was closed"))
        await self._drop_connection()

    async def _send_batch(self) -> Exception | None:
        """Send what is queued; settle the calls waiting for it; return the batch's error."""
        batch, waiting = self._queued, self._waiting
        self._queued, self._waiting = [], []
        try:
            async with asyncio.timeout(self._timeout):
                await self._send(batch)
        except asyncio.CancelledError:
            _settle(waiting, ConnectionError("the publish was interrupted"))
            raise
        except Exception as error:
            await self._drop_connection()
            _settle(waiting, error)
            return error
        _settle(waiting, None)
        return None

    async def _send(self, batch: list[tuple[bytes, bytes]]) -> None:
        connection = self._connection
        if connection is None:
            # held for good: one of the pool's connections (the pool connects it, through Sentinel if configured)
            connection = self._connection = await self._client.connection_pool.get_connection()
        # hiredis packs (C; redis-py's asyncio connection packs in Python, ~10 µs a command)
        # hiredis' stub types the command as a 1-tuple (Tuple[X], not Tuple[X, ...])
        await connection.send_packed_command([pack_command((b"PUBLISH", c, m)) for c, m in batch],  # type: ignore[arg-type]
                                             check_health=False)
        failed: Exception | None = None
        for _ in batch:
            try:  # the batch's timeout bounds the reads: none of its own per reply (math.inf)
                await connection.read_response(timeout=math.inf)
            except redis.ResponseError as error:  # read on: the next replies answer the next commands
                failed = failed or error
        if failed is not None:
            raise failed

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.disconnect(nowait=True)
            await self._client.connection_pool.release(connection)
        except Exception:  # noqa: BLE001 - a connection that is gone either way
            log.debug("dropping the publisher's connection failed", exc_info=True)


def _settle(waiting: list[asyncio.Future], error: Exception | None) -> None:
    for future in waiting:
        if not future.done():  # its caller may have been cancelled
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
