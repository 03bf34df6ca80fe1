"""The Redis broker on redis-py against real redis-servers: what concurrent requests publish
reaches Redis in the order they published it, once; a connection killed by Redis is made
again (publisher and PubSub) and subscribers re-read what they may have missed; the password
of the URL is sent; every URL form (password, `rediss://` with redis-py's `ssl_ca_certs`,
`unix://`) works the same for events and rate limits; Sentinel settings make a client of the
master they name."""
from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY
import redis.asyncio as redis
from redis.asyncio.sentinel import SentinelManagedSSLConnection

from bench.ports import free_port
from infrastructure.broker import RedisBroker, Resync, make_broker
from openchannels.rate_limits import LOGIN, RateLimiter
from infrastructure.redis_client import redis_client
from infrastructure.settings import Settings, parse_sentinels
from tests.conftest import REDIS_URL
from tests.e2e.redis_topology import RedisProcess

PASSWORD = "p@ss word"
QUOTED_PASSWORD = "p%40ss%20word"


def channel() -> str:
    return f"test-redis-broker:{uuid.uuid4().hex}"


async def next_event(subscriber, timeout: float = 5) -> dict[str, Any] | Resync:
    return await asyncio.wait_for(subscriber.get(), timeout)


async def listening(broker: RedisBroker):
    """A subscriber of the broker's hub, once the broker is subscribed to the event channel (it
    subscribes while its hub has subscribers) and the re-read that asks for is taken."""
    subscriber = broker.hub.subscribe()
    await broker.live()
    assert broker.listening
    assert await next_event(subscriber) == Resync()  # subscribed: the subscribers re-read the database
    return subscriber


async def test_concurrent_publishes_reach_redis_in_the_order_they_were_made_and_once() -> None:
    name = channel()
    broker = RedisBroker(redis.Redis.from_url(REDIS_URL), name)
    observer = redis.Redis.from_url(REDIS_URL)
    pubsub = observer.pubsub()
    await pubsub.subscribe(name)
    assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
    await broker.start()
    subscriber = await listening(broker)
    events = [{"id": i, "kind": "MESSAGE_ADDED"} for i in range(1, 51)] + [{"id": 51, "text": "x" * 100_000}]
    try:
        # one call with ten events, then one call per event, all at once
        await asyncio.gather(broker.publish(events[:10]), *(broker.publish([e]) for e in events[10:]))
        seen = []
        while len(seen) < len(events):
            message = await pubsub.get_message(timeout=5)
            assert message is not None, f"the observer got {len(seen)} of {len(events)}"
            seen.append(orjson.loads(message["data"]))
        assert seen == events
        assert [await next_event(subscriber) for _ in events] == events  # this process's hub, through Redis
        assert subscriber.queue.empty()
    finally:
        await broker.stop()
        await pubsub.aclose()
        await observer.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path, "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_connections_killed_by_redis_are_made_again_and_subscribers_reread(own_redis) -> None:
    broker = RedisBroker(redis.Redis.from_url(own_redis.url), channel())
    admin = redis.Redis.from_url(own_redis.url)
    await broker.start()
    subscriber = await listening(broker)
    try:
        await broker.publish([{"id": 1}])
        assert await next_event(subscriber) == {"id": 1}
        killed = await admin.client_kill_filter(_type="normal", skipme=True) + \
            await admin.client_kill_filter(_type="pubsub")
        assert killed >= 2  # the publisher's connection and the PubSub's

        # the broker makes a new PubSub, subscribed again: subscribers re-read
        assert await next_event(subscriber) == Resync()
        for event_id in range(2, 52):  # a publish on the dead connection may fail (then a re-read): the next reconnect
            await broker.publish([{"id": event_id}])
            event = await next_event(subscriber)
            if event == {"id": event_id}:
                break
            assert isinstance(event, Resync)
        else:
            raise AssertionError("no publish arrived live after the connections were killed")
        await broker.check()
    finally:
        await broker.stop()
        await admin.aclose()


@dataclass
class LockedRedis:
    port: int
    tls_port: int
    socket: Path
    certificate: Path


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[LockedRedis]:
    """A redis-server that wants a password, on a plain port, a TLS port (a self-signed
    certificate: clients must be given it as their CA) and a Unix socket."""
    certificate, key = tmp_path / "redis.crt", tmp_path / "redis.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True, timeout=60)
    tls_port, socket = free_port(), tmp_path / "redis.sock"
    server = RedisProcess(tmp_path, "redis-locked", [
        "--requirepass", PASSWORD, "--unixsocket", str(socket), "--unixsocketperm", "700",
        "--tls-port", str(tls_port), "--tls-cert-file", str(certificate), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(certificate), "--tls-auth-clients", "no"])
    server.start()
    try:
        yield LockedRedis(server.port, tls_port, socket, certificate)
    finally:
        server.stop()


@pytest.mark.parametrize("form", ["redis", "rediss", "unix"])
async def test_every_url_form_serves_events_and_rate_limits(locked_redis, form: str) -> None:
    server, certificate = locked_redis, locked_redis.certificate
    url = {"redis": f"redis://:{QUOTED_PASSWORD}@127.0.0.1:{server.port}/3",
           "rediss": f"rediss://:{QUOTED_PASSWORD}@127.0.0.1:{server.tls_port}/3?ssl_ca_certs={certificate}",
           "unix": f"unix://:{QUOTED_PASSWORD}@{server.socket}?db=3"}[form]
    prefix = f"test-rate:{uuid.uuid4().hex}"
    settings = Settings(redis_url=url, redis_channel=channel(), rate_limit_redis_prefix=prefix,
                        rate_limit_login_per_minute=5, event_catchup_seconds=0)
    broker = make_broker(settings)
    limiter = RateLimiter.from_settings(settings)
    admin = redis.Redis(host="127.0.0.1", port=server.port, password=PASSWORD, db=3)
    try:
        await asyncio.wait_for(broker.start(), 15)
        subscriber = await listening(broker)
        await broker.publish([{"id": 7}])
        assert await next_event(subscriber) == {"id": 7}
        await broker.check()
        assert (await limiter.hit(LOGIN, "10.0.0.1")).count == 1
        assert (await limiter.hit(LOGIN, "10.0.0.1")).count == 2
        assert await admin.get(f"{prefix}:{LOGIN}:10.0.0.1") == b"2"  # counted in that Redis, in db 3
    finally:
        await broker.stop()
        await limiter.aclose()
        await admin.aclose()


async def test_the_password_of_the_url_is_sent(locked_redis, caplog) -> None:
    server = locked_redis
    good = RedisBroker(redis.Redis.from_url(f"redis://:{QUOTED_PASSWORD}@127.0.0.1:{server.port}/0"), channel())
    wrong = RedisBroker(redis.Redis.from_url(f"redis://:nope@127.0.0.1:{server.port}/0"), channel())
    anonymous = RedisBroker(redis.Redis.from_url(f"redis://127.0.0.1:{server.port}/0"), channel())
    try:
        await asyncio.wait_for(good.start(), 15)
        await good.check()
        for broker, refusal in ((wrong, "WRONGPASS|invalid"), (anonymous, "NOAUTH|authenticated")):
            with pytest.raises(redis.RedisError, match=refusal):
                await broker.check()
            await broker.publish([{"id": 3}])  # refused: logged, not raised
        assert caplog.text.count("could not publish 1 event(s) from id 3") == 2
    finally:
        for broker in (good, wrong, anonymous):
            await broker.stop()


def test_sentinel_settings_make_a_client_of_the_master_with_the_options_of_the_url() -> None:
    settings = Settings(redis_url=f"rediss://app:{QUOTED_PASSWORD}@old-master:6390/2?ssl_ca_certs=/etc/ca.pem",
                        redis_sentinels=parse_sentinels("10.1.0.1:26379, [::1]:26380,sentinel-c"),
                        redis_sentinel_master="events")
    assert settings.redis_sentinels == (("10.1.0.1", 26379), ("::1", 26380), ("sentinel-c", 26379))
    client = redis_client(settings, socket_timeout=2)
    pool = client.connection_pool
    assert pool.service_name == "events" and pool.is_master
    assert pool.connection_class is SentinelManagedSSLConnection  # TLS to whichever master the Sentinels name
    options = pool.connection_kwargs
    assert (options["username"], options["password"], options["db"]) == ("app", PASSWORD, 2)
    assert options["ssl_ca_certs"] == "/etc/ca.pem" and "host" not in options and options["socket_timeout"] == 2
    sentinels = [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
                 for s in pool.sentinel_manager.sentinels]
    assert sentinels == list(settings.redis_sentinels)


@pytest.mark.parametrize("value", ["host:notaport", "host:0", ":26379"])
def test_a_sentinel_that_is_not_host_port_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="REDIS_SENTINELS"):
        parse_sentinels(value)


def test_a_unix_socket_url_cannot_go_with_sentinels() -> None:
    with pytest.raises(ValueError, match="unix://"):
        redis_client(Settings(redis_url="unix:///run/redis.sock", redis_sentinels=(("127.0.0.1", 26379),)))


async def subscribers_of(client: redis.Redis, name: str) -> int:
    """How many connections Redis sends the channel's messages to (PUBSUB NUMSUB)."""
    return dict(await client.pubsub_numsub(name))[name.encode()]


def received() -> float:
    return REGISTRY.get_sample_value("openchannels_broker_events_received_total") or 0.0


async def test_a_process_is_subscribed_to_the_event_channel_only_while_its_hub_has_subscribers() -> None:
    """Issue #18, processes that add up: Redis sends a process no event while nobody there
    follows events (nothing to parse, decode or hand out), and everything once someone does."""
    name = channel()
    broker = RedisBroker(redis.Redis.from_url(REDIS_URL), name, unsubscribe_after_seconds=0.05)
    other = redis.Redis.from_url(REDIS_URL)  # another process's publishes
    await broker.start()
    try:
        await broker.check()  # ready: connected to Redis ...
        assert await subscribers_of(other, name) == 0 and not broker.listening  # ... and subscribed to nothing
        before = received()
        await other.publish(name, orjson.dumps({"id": 1}))  # nobody here follows events: not received

        subscriber = await listening(broker)
        assert await subscribers_of(other, name) == 1
        await other.publish(name, orjson.dumps({"id": 2}))
        assert await next_event(subscriber) == {"id": 2}
        assert received() == before + 1  # id 1 never came

        broker.hub.unsubscribe(subscriber)  # the last one: unsubscribed 0.05 s later
        for _ in range(500):
            if not broker.listening:
                break
            await asyncio.sleep(0.01)
        assert not broker.listening and await subscribers_of(other, name) == 0
        await other.publish(name, orjson.dumps({"id": 3}))  # not received

        subscriber = await listening(broker)  # subscribed again, and the hub starts a new sequence:
        await other.publish(name, orjson.dumps({"id": 4}))  # id 4 is not held waiting for id 3
        assert await next_event(subscriber) == {"id": 4}
        assert received() == before + 2
        assert subscriber.queue.empty()
        await broker.check()
    finally:
        await broker.stop()
        await other.aclose()
