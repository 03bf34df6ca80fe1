"""The rate limiter on its own: fixed windows in memory and in Redis, several processes'
limiters sharing one budget through Redis, a Redis outage, and the client IP behind proxies."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as redis

from bench.ports import free_port
from openchannels.rate_limits import (
    LOGIN, REDIS_RETRY_SECONDS, REDIS_TIMEOUT_SECONDS, MemoryCounter, RateLimited, RateLimiter, RedisCounter, Rule, client_ip,
)
from infrastructure.redis_client import redis_client
from infrastructure.settings import Settings
from tests.e2e.outages import RedisServer
from tests.resources import delete_redis_keys, redis_prefix

STORES = ["memory", "redis"]


def client_of(url: str) -> redis.Redis:
    """The client a server process with REDIS_URL=url gives its rate limiter."""
    return redis_client(Settings(redis_url=url), socket_timeout=REDIS_TIMEOUT_SECONDS,
                        socket_connect_timeout=REDIS_TIMEOUT_SECONDS)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    name = redis_prefix("rate")
    yield name
    await delete_redis_keys(name, redis_url)


def limiter_on(store: str, rules: list[Rule], redis_url: str, prefix: str) -> RateLimiter:
    return RateLimiter(rules, RedisCounter(client_of(redis_url), prefix) if store == "redis" else None)


@pytest.mark.parametrize("store", STORES)
async def test_the_call_over_the_limit_is_refused_with_the_seconds_left(store, redis_url, prefix):
    limiter = limiter_on(store, [Rule(LOGIN, 3)], redis_url, prefix)
    try:
        verdicts = [await limiter.hit(LOGIN, "203.0.113.7") for _ in range(5)]
        other_ip = await limiter.hit(LOGIN, "203.0.113.8")
    finally:
        await limiter.aclose()

    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4, 5]
    assert all(0 < v.retry_after_seconds <= 60 for v in verdicts[3:])
    assert other_ip.allowed  # each IP has its own budget


@pytest.mark.parametrize("store", STORES)
async def test_check_raises_limit_exceeded_with_a_retry_hint(store, redis_url, prefix):
    limiter = limiter_on(store, [Rule(LOGIN, 1)], redis_url, prefix)
    try:
        await limiter.check(LOGIN, "198.51.100.1")
        with pytest.raises(RateLimited) as refused:
            await limiter.check(LOGIN, "198.51.100.1")
    finally:
        await limiter.aclose()

    assert refused.value.code == "LIMIT_EXCEEDED"
    assert 0 < refused.value.retry_after_seconds <= 60
    assert refused.value.extensions == {"retryAfterSeconds": refused.value.retry_after_seconds}
    assert f"try again in {refused.value.retry_after_seconds} seconds" in refused.value.message


async def test_a_new_window_starts_when_the_last_one_ends():
    clock = Clock()
    limiter = RateLimiter([Rule(LOGIN, 2, window_seconds=60)], clock=clock)
    assert [(await limiter.hit(LOGIN, "a")).allowed for _ in range(3)] == [True, True, False]

    clock.now += 59.2
    late = await limiter.hit(LOGIN, "a")
    assert (late.allowed, late.retry_after_seconds) == (False, 1)  # rounded up: never "retry in 0 s"

    clock.now += 1
    assert [(await limiter.hit(LOGIN, "a")).allowed for _ in range(3)] == [True, True, False]


async def test_a_redis_window_expires_too(redis_url, prefix):
    limiter = RateLimiter([Rule(LOGIN, 1, window_seconds=0.5)], RedisCounter(client_of(redis_url), prefix))
    try:
        assert [(await limiter.hit(LOGIN, "a")).allowed for _ in range(2)] == [True, False]
        await asyncio.sleep(0.6)  # the key's PEXPIRE
        assert (await limiter.hit(LOGIN, "a")).allowed
    finally:
        await limiter.aclose()


async def test_two_processes_share_one_budget_through_redis(redis_url, prefix):
    """Each server process has its own limiter; with the same Redis and prefix they spend one budget."""
    first = RateLimiter([Rule(LOGIN, 4)], RedisCounter(client_of(redis_url), prefix))
    second = RateLimiter([Rule(LOGIN, 4)], RedisCounter(client_of(redis_url), prefix))
    elsewhere = RateLimiter([Rule(LOGIN, 4)], RedisCounter(client_of(redis_url), prefix + "-other-deployment"))
    try:
        verdicts = [await (first if i % 2 else second).hit(LOGIN, "192.0.2.1") for i in range(6)]
        concurrent = await asyncio.gather(*[first.hit(LOGIN, "192.0.2.2") for _ in range(10)],
                                          *[second.hit(LOGIN, "192.0.2.2") for _ in range(10)])
        other_deployment = await elsewhere.hit(LOGIN, "192.0.2.1")
    finally:
        for limiter in (first, second, elsewhere):
            await limiter.aclose()

    assert [v.allowed for v in verdicts] == [True] * 4 + [False] * 2
    # INCR is atomic: 20 calls at once, exactly 4 get through, and every count is different
    assert sum(v.allowed for v in concurrent) == 4
    assert sorted(v.count for v in concurrent) == list(range(1, 21))
    assert other_deployment.allowed


async def test_redis_down_the_process_counts_in_memory():
    """No Redis: the calls are not refused for that, and the limit still holds in this process."""
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RateLimiter([Rule(LOGIN, 2)], RedisCounter(client_of(unreachable), "openchannels-test-rate"))
    try:
        verdicts = await asyncio.wait_for(asyncio.gather(*[limiter.hit(LOGIN, "a") for _ in range(3)]), 10)
    finally:
        await limiter.aclose()

    assert [v.allowed for v in verdicts] == [True, True, False]


async def test_a_redis_outage_keeps_the_budget_spent_before_and_during_it(tmp_path, prefix):
    """Redis dies mid-window, then comes back empty: the calls made before (by every process) and
    during the outage stay spent; neither the fallback nor the recovery hands out a fresh budget."""
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    clock = Clock()
    here = RateLimiter([Rule(LOGIN, 4)], RedisCounter(client_of(redis_server.url), prefix), clock=clock)
    elsewhere = RateLimiter([Rule(LOGIN, 4)], RedisCounter(client_of(redis_server.url), prefix), clock=clock)
    try:
        # the last count this process heard from Redis includes the other process's call
        before = [await here.hit(LOGIN, "a"), await elsewhere.hit(LOGIN, "a"), await here.hit(LOGIN, "a")]
        redis_server.stop()
        during = [await asyncio.wait_for(here.hit(LOGIN, "a"), 10) for _ in range(2)]
        redis_server.start()  # empty: the shared count is gone
        clock.now += REDIS_RETRY_SECONDS  # the limiter tries Redis again
        after = await here.hit(LOGIN, "a")
        probe = redis.Redis.from_url(redis_server.url)
        try:  # what every process reads from now on
            shared_after = int(await probe.get(f"{prefix}:{LOGIN}:a"))
        finally:
            await probe.aclose()
    finally:
        await here.aclose()
        await elsewhere.aclose()
        redis_server.stop()

    assert [v.count for v in before] == [1, 2, 3]  # shared through Redis
    assert [(v.allowed, v.count) for v in during] == [(True, 4), (False, 5)]  # from the shared count on
    assert (after.allowed, after.count) == (False, 6)  # Redis back and empty: still spent
    assert shared_after == 6  # Redis was handed what was counted here: spent for every process


async def test_a_rule_without_a_limit_counts_nothing():
    counter = MemoryCounter()
    limiter = RateLimiter([Rule(LOGIN, 0)], counter)

    assert all([(await limiter.hit(LOGIN, "a")).allowed for _ in range(50)])
    assert (await limiter.hit("no-such-rule", "a")).allowed
    assert counter._windows == {}


async def test_memory_is_bounded_by_the_subjects_of_one_window(monkeypatch):
    monkeypatch.setattr("openchannels.rate_limits.MEMORY_PRUNE_AT", 100)
    clock = Clock()
    counter = MemoryCounter(clock)
    for i in range(100):
        await counter.hit(f"old-{i}", 60)
    clock.now += 61
    for i in range(5):
        await counter.hit(f"new-{i}", 60)

    assert sorted(counter._windows) == [f"new-{i}" for i in range(5)]


def test_the_client_ip_is_the_peer_unless_proxies_are_trusted():
    spoofed = "6.6.6.6, 203.0.113.9"

    assert client_ip("10.0.0.5", spoofed, 0) == "10.0.0.5"  # X-Forwarded-For ignored by default
    assert client_ip("10.0.0.5", None, 1) == "10.0.0.5"
    # one proxy appends the address it saw: the last entry; what the client wrote before it is ignored
    assert client_ip("10.0.0.5", spoofed, 1) == "203.0.113.9"
    assert client_ip("10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.4", 2) == "203.0.113.9"
    assert client_ip("10.0.0.5", "203.0.113.9", 2) == "203.0.113.9"  # fewer entries than hops
    assert client_ip(None, None, 0) == "unknown"


async def test_each_kind_of_token_is_counted_under_its_own_rule():
    from openchannels.rate_limits import OPERATOR_TOKEN, VISITOR_TOKEN, RequestLimits
    from services.identity.viewer import ANONYMOUS, Viewer

    class Response:
        def __init__(self) -> None:
            self.headers: dict[str, str] = {}

    limiter = RateLimiter([Rule(VISITOR_TOKEN, 1), Rule(OPERATOR_TOKEN, 2)])
    visitor, operator = Viewer(client_id=1, visitor_channel_id=1), Viewer(operator_id=1)

    async def refusals(viewer: Viewer, token: str, calls: int) -> list[bool]:
        results = []
        for _ in range(calls):
            response = Response()
            refusal = await RequestLimits(limiter, "127.0.0.1", response).check_token(viewer, f"Bearer {token}")
            results.append(refusal is not None)
            assert ("Retry-After" in response.headers) == (refusal is not None)
        return results

    assert await refusals(visitor, "ocv_a", 2) == [False, True]
    assert await refusals(visitor, "ocv_b", 1) == [False]  # per token
    assert await refusals(operator, "oc_a", 3) == [False, False, True]
    assert await refusals(ANONYMOUS, "", 5) == [False] * 5  # anonymous: counted per IP by login / startVisitorChat
