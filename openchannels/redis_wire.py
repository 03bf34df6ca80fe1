"""Redis pub/sub spoken directly: RESP2 over one asyncio connection, for the broker's hot path.

Every committed event is published once and read back once by every server process. Through
redis-py each PUBLISH went through a connection pool, a pipeline, a retry wrapper and a shielded
release (about 55 µs of CPU, a fifth of what sendMessage's own statements cost), and each message
read through its PubSub parser layers; written here, a publish is one `write` and a future
resolved by `data_received` (about 12 µs). Commands from concurrent publishers share the
connection: Redis answers in order, so each reply resolves the oldest waiting future.

Only what the broker needs is here: connect (TCP, TLS with `rediss://`, or a Unix socket),
AUTH, PING, PUBLISH, SUBSCRIBE and the messages it delivers. redis-py keeps everything else
(the rate limits' counters).
"""
from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse


class RedisReplyError(Exception):
    """Redis answered a command with an error (`-ERR ...`)."""


class ProtocolError(Exception):
    """The connection sent something that is not RESP2."""


@dataclass(frozen=True)
class RedisAddress:
    host: str | None
    port: int
    unix_path: str | None
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        """redis://[user:password@]host[:port][/db], rediss:// (TLS) or unix:///path (the db number
        does not matter: pub/sub channels are shared by every database)."""
        parts = urlparse(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"REDIS_URL must start with redis://, rediss:// or unix://, not {parts.scheme}://")
        return cls(host=None if parts.scheme == "unix" else (parts.hostname or "localhost"), port=parts.port or 6379,
                   unix_path=parts.path if parts.scheme == "unix" else None,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, tls=parts.scheme == "rediss")


def command(*parts: bytes) -> bytes:
    """One command in RESP2: an array of bulk strings."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%b\r\n" % (len(part), part))
    return b"".join(out)


class _Incomplete(Exception):
    """More bytes are needed before the next reply can be read."""


def read_reply(buffer: bytearray | bytes, start: int) -> tuple[Any, int]:
    """The reply starting at `start` and where the next one starts; raises _Incomplete.

    Simple strings and bulk strings are bytes, integers int, errors RedisReplyError (returned,
    not raised: they answer one command), nil None, arrays lists."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        raise _Incomplete
    kind, line, after = buffer[start:start + 1], bytes(buffer[start + 1:end]), end + 2
    if kind == b"+":
        return line, after
    if kind == b":":
        return int(line), after
    if kind == b"-":
        return RedisReplyError(line.decode(errors="replace")), after
    if kind == b"$":
        length = int(line)
        if length < 0:
            return None, after
        if len(buffer) < after + length + 2:
            raise _Incomplete
        return bytes(buffer[after:after + length]), after + length + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = read_reply(buffer, after)
            items.append(item)
        return items, after
    raise ProtocolError(f"unexpected reply type {kind!r}")


class RespConnection(asyncio.Protocol):
    """One connection. `on_push` receives what arrives with no command waiting for it (the
    messages of a subscribed connection); otherwise each reply answers the oldest command."""

    def __init__(self, on_push: Callable[[Any], None] | None = None) -> None:
        self._buffer = bytearray()
        self._waiting: deque[asyncio.Future] = deque()
        self._transport: asyncio.Transport | None = None
        self._on_push = on_push
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, address: RedisAddress, *, timeout: float,
                   on_push: Callable[[Any], None] | None = None) -> RespConnection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            if address.unix_path:
                _, connection = await loop.create_unix_connection(lambda: cls(on_push), address.unix_path)
            else:
                _, connection = await loop.create_connection(
                    lambda: cls(on_push), address.host, address.port,
                    ssl=ssl.create_default_context() if address.tls else None)
            if address.password:
                credentials = ([address.username.encode()] if address.username else []) + [address.password.encode()]
                try:
                    await connection.call(b"AUTH", *credentials)
                except BaseException:
                    connection.close()
                    raise
        return connection

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        try:
            while start < len(buffer):
                reply, start = read_reply(buffer, start)
                self._dispatch(reply)
        except _Incomplete:
            pass
        except ProtocolError as error:
            self._fail(error)
            return
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("Redis closed the connection"))

    # commands
    def send(self, *commands: bytes) -> list[asyncio.Future]:
        """Write commands (already encoded by `command`); a future per reply, in order."""
        if self.is_closed:
            raise ConnectionError("the Redis connection is closed")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self._waiting.extend(futures)
        self._transport.write(b"".join(commands) if len(commands) > 1 else commands[0])
        return futures

    async def call(self, *parts: bytes) -> Any:
        """Send one command and return its reply (an error reply is raised)."""
        reply = await self.send(command(*parts))[0]
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    @property
    def is_closed(self) -> bool:
        return self.closed.done()

    def close(self) -> None:
        self._fail(ConnectionError("the Redis connection was closed"))

    def _dispatch(self, reply: Any) -> None:
        if self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # its caller may have given up (a timeout)
                waiter.set_result(reply)
        elif self._on_push is not None:
            self._on_push(reply)

    def _fail(self, error: BaseException) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        if not self.closed.done():
            self.closed.set_result(error)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


async def subscribe(address: RedisAddress, channel: bytes, on_message: Callable[[bytes], None], *,
                    timeout: float) -> RespConnection:
    """A connection subscribed to `channel`: `on_message` gets each message's data, from the
    moment this returns until the connection's `closed` future is done."""

    def on_push(reply: Any) -> None:
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            on_message(reply[2])

    connection = await RespConnection.open(address, timeout=timeout, on_push=on_push)
    try:
        async with asyncio.timeout(timeout):
            confirmed = await connection.call(b"SUBSCRIBE", channel)
        if not (isinstance(confirmed, list) and confirmed[:1] == [b"subscribe"]):
            raise ProtocolError(f"unexpected answer to SUBSCRIBE: {confirmed!r}")
    except BaseException:
        connection.close()
        raise
    return connection


class RedisPublisher:
    """PUBLISH on a connection of its own, opened on first use and again after it is lost."""

    def __init__(self, address: RedisAddress, *, connect_timeout: float) -> None:
        self._address = address
        self._connect_timeout = connect_timeout
        self._connection: RespConnection | None = None
        self._connecting = asyncio.Lock()

    async def publish(self, channel: bytes, messages: list[bytes]) -> None:
        """Publish the messages in order, in one write; raises when the connection fails or Redis
        answers an error."""
        connection = await self._connected()
        replies = connection.send(*(command(b"PUBLISH", channel, message) for message in messages))
        for reply in replies:
            if isinstance(found := await reply, RedisReplyError):
                raise found

    async def ping(self) -> None:
        """Redis answers PING (raises otherwise)."""
        await (await self._connected()).call(b"PING")

    async def _connected(self) -> RespConnection:
        connection = self._connection
        if connection is not None and not connection.is_closed:
            return connection
        async with self._connecting:  # concurrent publishers wait for one connection
            if self._connection is None or self._connection.is_closed:
                self._connection = await RespConnection.open(self._address, timeout=self._connect_timeout)
            return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
