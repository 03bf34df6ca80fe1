"""The broker's own RESP client (openchannels/redis_wire.py) against real redis-servers: what it
publishes arrives, in order, at a redis-py subscriber and at its own; errors and lost
connections are raised, and the next publish connects again; passwords and URLs work."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from openchannels.redis_wire import (
    ProtocolError, RedisAddress, RedisPublisher, RedisReplyError, _Incomplete, command, read_reply, subscribe,
)
from tests.resources import TEST_REDIS_URL
from tests.e2e.outages import free_port


def test_commands_are_arrays_of_bulk_strings() -> None:
    assert command(b"PUBLISH", b"ch", b"hello") == b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    assert command(b"SET", b"k", b"") == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"


def test_every_reply_type_is_read_and_where_the_next_one_starts() -> None:
    stream = (b"+OK\r\n:42\r\n-ERR wrong\r\n$5\r\na\r\nbc\r\n$-1\r\n"
              b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\n{}\r\n*-1\r\n")
    replies, at = [], 0
    while at < len(stream):
        reply, at = read_reply(stream, at)
        replies.append(reply)
    assert replies[:2] == [b"OK", 42]
    assert isinstance(replies[2], RedisReplyError) and str(replies[2]) == "ERR wrong"
    assert replies[3:] == [b"a\r\nbc", None, [b"message", b"ch", b"{}"], None]  # a bulk string may hold CRLF


@pytest.mark.parametrize("cut", [1, 4, 9, 20, 33])
def test_a_reply_cut_anywhere_waits_for_the_rest(cut: int) -> None:
    whole = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$9\r\n{\"id\": 1}\r\n"
    with pytest.raises(_Incomplete):
        read_reply(whole[:cut], 0)
    assert read_reply(whole, 0) == ([b"message", b"ch", b'{"id": 1}'], len(whole))


def test_something_that_is_not_resp_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        read_reply(b"HTTP/1.1 400 Bad Request\r\n", 0)


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6380/2", RedisAddress("127.0.0.1", 6380, None, None, None, False)),
    ("redis://localhost", RedisAddress("localhost", 6379, None, None, None, False)),
    ("rediss://app:s%40cret@cache.example:6390/0", RedisAddress("cache.example", 6390, None, "app", "s@cret", True)),
    ("redis://:only-password@h/0", RedisAddress("h", 6379, None, None, "only-password", False)),
    ("unix:///run/redis.sock", RedisAddress(None, 6379, "/run/redis.sock", None, None, False)),
])
def test_redis_urls(url: str, expected: RedisAddress) -> None:
    assert RedisAddress.from_url(url) == expected


def test_a_url_of_another_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="REDIS_URL must start with"):
        RedisAddress.from_url("http://127.0.0.1:6379")


async def test_published_messages_reach_subscribers_in_order() -> None:
    channel = f"test-redis-wire-{time.monotonic_ns()}".encode()
    address = RedisAddress.from_url(TEST_REDIS_URL)
    received: list[bytes] = []
    ours = await subscribe(address, channel, received.append, timeout=5)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    theirs = client.pubsub()
    await theirs.subscribe(channel)
    await theirs.get_message(timeout=1)  # the subscribe confirmation
    publisher = RedisPublisher(address, connect_timeout=2)
    try:
        messages = [b'{"id": %d}' % i for i in range(50)] + [b"x" * 100_000]  # one larger than a read
        await asyncio.gather(publisher.publish(channel, messages[:10]),
                             *(publisher.publish(channel, [m]) for m in messages[10:]))
        for _ in range(100):
            if len(received) == len(messages):
                break
            await asyncio.sleep(0.02)
        assert received == messages
        seen = []
        while len(seen) < len(messages):
            message = await theirs.get_message(timeout=2)
            assert message is not None, f"redis-py subscriber got {len(seen)} of {len(messages)}"
            if message["type"] == "message":
                seen.append(message["data"])
        assert seen == messages
    finally:
        publisher.close()
        ours.close()
        await theirs.aclose()
        await client.aclose()


async def test_an_error_reply_is_raised_and_the_connection_stays_usable() -> None:
    publisher = RedisPublisher(RedisAddress.from_url(TEST_REDIS_URL), connect_timeout=2)
    try:
        connection = await publisher._connected()
        with pytest.raises(RedisReplyError, match="unknown command"):
            await connection.call(b"NO-SUCH-COMMAND")
        await publisher.ping()
        await publisher.publish(b"test-redis-wire-after-error", [b"{}"])
    finally:
        publisher.close()


async def test_a_killed_connection_fails_its_commands_and_the_next_publish_reconnects() -> None:
    address = RedisAddress.from_url(TEST_REDIS_URL)
    publisher = RedisPublisher(address, connect_timeout=2)
    admin = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        connection = await publisher._connected()
        my_id = await connection.call(b"CLIENT", b"ID")
        await admin.execute_command("CLIENT", "KILL", "ID", str(my_id))
        await asyncio.wait_for(asyncio.shield(connection.closed), 5)
        with pytest.raises(ConnectionError):
            connection.send(command(b"PING"))
        await publisher.publish(b"test-redis-wire-reconnect", [b"{}"])  # a new connection
        assert await (await publisher._connected()).call(b"CLIENT", b"ID") != my_id
    finally:
        publisher.close()
        await admin.aclose()


async def test_nothing_listening_is_a_connection_error() -> None:
    publisher = RedisPublisher(RedisAddress.from_url(f"redis://127.0.0.1:{free_port()}"), connect_timeout=2)
    with pytest.raises(OSError):
        await publisher.publish(b"ch", [b"{}"])


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[int]:
    """A redis-server of its own that requires a password."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed"
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--requirepass", "p@ss word", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while b"NOAUTH" not in subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout:
            assert time.monotonic() < deadline and process.poll() is None, "redis-server did not start"
            time.sleep(0.05)  # start-up polling, bounded by the deadline
        yield port
    finally:
        process.kill()
        process.wait()


async def test_the_password_of_the_url_is_sent(password_redis: int) -> None:
    good = RedisPublisher(RedisAddress.from_url(f"redis://:p%40ss%20word@127.0.0.1:{password_redis}/0"),
                          connect_timeout=2)
    wrong = RedisPublisher(RedisAddress.from_url(f"redis://:nope@127.0.0.1:{password_redis}/0"), connect_timeout=2)
    anonymous = RedisPublisher(RedisAddress.from_url(f"redis://127.0.0.1:{password_redis}/0"), connect_timeout=2)
    try:
        await good.publish(b"ch", [b"{}"])
        with pytest.raises(RedisReplyError, match="WRONGPASS|invalid password"):
            await wrong.publish(b"ch", [b"{}"])
        for _ in range(50):  # the refused connection is closed: redis-cli's and `good`'s remain
            clients = subprocess.run(["redis-cli", "-p", str(password_redis), "--no-auth-warning", "-a", "p@ss word",
                                      "client", "list"], capture_output=True, text=True).stdout
            if len(clients.splitlines()) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(clients.splitlines()) == 2, clients
        with pytest.raises(RedisReplyError, match="NOAUTH"):
            await anonymous.publish(b"ch", [b"{}"])
    finally:
        for publisher in (good, wrong, anonymous):
            publisher.close()
