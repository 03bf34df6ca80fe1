"""Rate limits: how many calls a client IP or a token may make per minute.

Rules (the budgets come from the settings; a limit of 0 switches a rule off):

- `login` and `start_visitor_chat`: per client IP (anonymous calls from the open internet);
- `visitor_token`: per visitor token, every HTTP request and every WebSocket connection_init;
- `operator_token`: per operator token, every HTTP request (off by default).

Each rule is a fixed window counter that starts with the first call of a subject: the
window's first call sets its expiry, later calls only count. With Redis (REDIS_URL or
REDIS_SENTINELS) the counters live in Redis (`INCR` + `PEXPIRE` in one Lua script, atomic),
so every server process spends the same budget; without it, in this process's memory.

With Redis, the memory holds the window Redis last answered with (its count is every
process's calls). So when Redis fails, the process goes on counting in memory from where
the shared count was, not from zero, for a few seconds, then tries Redis again. The first
call of a subject after the outage hands Redis what was counted here meanwhile (`INCRBY`),
and Redis's count is raised to at least what this process knows (Redis may have restarted
empty). An outage never refuses a call that would have been allowed, and never hands out a
fresh budget: during it, a client gets at most what was left of it, per process.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from openchannels.forwarded import trusted_forwarded
from openchannels.request_headers import request_headers
from infrastructure.redis_client import redis_client
from services.identity.auth import bearer_token, hash_token, token_digest
from services.common.errors import DomainError, LimitExceeded
from services.identity.rate_limits import LOGIN, OPERATOR_TOKEN, START_VISITOR_CHAT, VISITOR_TOKEN

log = logging.getLogger("openchannels.rate_limits")

#: every rule counts calls per minute
WINDOW_SECONDS = 60.0
#: after a Redis failure, count in memory for this long before trying Redis again
REDIS_RETRY_SECONDS = 5.0
#: a rate-limit check never waits longer than this on Redis
REDIS_TIMEOUT_SECONDS = 0.5
#: the in-memory store drops expired windows once it holds this many
MEMORY_PRUNE_AT = 10_000


#: what each rule counts, for the error message
_WHAT = {
    LOGIN: "sign-in attempts from your address",
    START_VISITOR_CHAT: "new chats from your address",
    VISITOR_TOKEN: "requests with this visitor token",
    OPERATOR_TOKEN: "requests with this token",
}


@dataclass(frozen=True)
class Rule:
    name: str
    #: calls allowed per window; 0: no limit
    limit: int
    window_seconds: float = WINDOW_SECONDS


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: calls counted in the current window, this one included
    count: int
    #: whole seconds until the window ends (at least 1 when refused)
    retry_after_seconds: int


class RateLimited(LimitExceeded):
    """LIMIT_EXCEEDED with the number of seconds after which the call will be accepted again."""

    def __init__(self, rule: Rule, retry_after_seconds: int) -> None:
        super().__init__(f"Too many {_WHAT.get(rule.name, 'calls')} (at most {rule.limit} per minute): "
                         f"try again in {retry_after_seconds} seconds.")
        self.rule = rule.name
        self.retry_after_seconds = retry_after_seconds
        #: added to a top-level error's `extensions` (schema/error_policy.py)
        self.extensions = {"retryAfterSeconds": retry_after_seconds}


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: float, calls: int = 1, floor: int = 0) -> tuple[int, float]:
        """Count `calls` under `key` (the count becomes at least `floor`): (calls in the window so
        far, seconds until it ends)."""

    async def aclose(self) -> None: ...


class MemoryCounter:
    """Windows in this process's memory: key -> (count, end on the monotonic clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}

    async def hit(self, key: str, window_seconds: float, calls: int = 1, floor: int = 0) -> tuple[int, float]:
        now = self._clock()
        count, ends_at = self._windows.get(key, (0, 0.0))
        if ends_at <= now:
            count, ends_at = 0, now + window_seconds
            if len(self._windows) >= MEMORY_PRUNE_AT:
                self._prune(now)
        count = max(count + calls, floor)
        self._windows[key] = (count, ends_at)
        return count, ends_at - now

    def count_of(self, key: str) -> int:
        """Calls counted in the current window of `key` (0: none running)."""
        count, ends_at = self._windows.get(key, (0, 0.0))
        return count if ends_at > self._clock() else 0

    def adopt(self, key: str, count: int, ends_at: float) -> None:
        """Hold the shared window Redis answered with: counting goes on from there if Redis fails.
        Answers to concurrent calls arrive in any order: within a window the larger count stays."""
        held = self._windows.get(key)
        if held is None or held[1] <= self._clock() or count > held[0]:
            if held is None and len(self._windows) >= MEMORY_PRUNE_AT:
                self._prune(self._clock())
            self._windows[key] = (count, ends_at)

    def _prune(self, now: float) -> None:
        """Memory stays bounded by the subjects seen within one window."""
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}

    async def aclose(self) -> None:
        return None


#: INCRBY the key by ARGV[2], raised to at least ARGV[3] (keeping its expiry); the first call of
#: a window sets its expiry (ARGV[1] ms). Returns {count, milliseconds left}.
_HIT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count < tonumber(ARGV[3]) then
  count = tonumber(ARGV[3])
  redis.call('SET', KEYS[1], count, 'KEEPTTL')
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisCounter:
    """Windows in Redis, shared by every process that uses the same Redis and key prefix."""

    def __init__(self, client: Any, prefix: str) -> None:
        """`client`: a redis.asyncio.Redis, owned from now on (made by infrastructure/redis_client.py)."""
        self._redis = client
        self._script = self._redis.register_script(_HIT_SCRIPT)
        self._prefix = prefix

    async def hit(self, key: str, window_seconds: float, calls: int = 1, floor: int = 0) -> tuple[int, float]:
        count, ttl_ms = await self._script(keys=[f"{self._prefix}:{key}"],
                                           args=[max(1, int(window_seconds * 1000)), calls, floor])
        return int(count), int(ttl_ms) / 1000

    async def aclose(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    def __init__(self, rules: list[Rule], counter: Counter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self._memory = MemoryCounter(clock)
        self._counter: Counter = counter or self._memory
        self._clock = clock
        self._redis_down_until = 0.0
        #: subject key -> (calls counted here while Redis was away, end of that memory window):
        #: handed to Redis with the subject's first call once it is back
        self._owed: dict[str, tuple[int, float]] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> RateLimiter:
        rules = [
            Rule(LOGIN, settings.rate_limit_login_per_minute),
            Rule(START_VISITOR_CHAT, settings.rate_limit_start_visitor_chat_per_minute),
            Rule(VISITOR_TOKEN, settings.rate_limit_visitor_token_per_minute),
            Rule(OPERATOR_TOKEN, settings.rate_limit_operator_token_per_minute),
        ]
        counter = None
        if settings.uses_redis:
            client = redis_client(settings, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                  socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            counter = RedisCounter(client, settings.rate_limit_redis_prefix)
        return cls(rules, counter)

    def limits(self, rule_name: str) -> bool:
        rule = self.rules.get(rule_name)
        return rule is not None and rule.limit > 0

    async def hit(self, rule_name: str, subject: str) -> Verdict:
        """Count one call of `subject` under the rule; a rule without a limit allows everything."""
        rule = self.rules.get(rule_name)
        if rule is None or rule.limit <= 0:
            return Verdict(True, 0, 0)
        count, seconds_left = await self._count(f"{rule.name}:{subject}", rule.window_seconds)
        if count <= rule.limit:
            return Verdict(True, count, 0)
        return Verdict(False, count, max(1, math.ceil(seconds_left)))

    async def check(self, rule_name: str, subject: str) -> None:
        """Count one call; RateLimited when it is over the budget."""
        verdict = await self.hit(rule_name, subject)
        if not verdict.allowed:
            raise RateLimited(self.rules[rule_name], verdict.retry_after_seconds)

    async def _count(self, key: str, window_seconds: float) -> tuple[int, float]:
        if self._counter is self._memory:
            return await self._memory.hit(key, window_seconds)
        if self._clock() < self._redis_down_until:
            return await self._count_while_away(key, window_seconds)
        calls, floor = 1, 0
        owed = self._owed.pop(key, None)
        if owed is not None and owed[1] > self._clock():  # the window of the calls counted here still runs
            calls, floor = owed[0] + 1, self._memory.count_of(key) + 1
        asked_at = self._clock()
        try:
            count, seconds_left = await self._counter.hit(key, window_seconds, calls, floor)
        except Exception as error:  # noqa: BLE001 - any Redis failure: count here for a while
            log.warning("rate limits: Redis failed (%s); counting in this process for %s s",
                        error.__class__.__name__, REDIS_RETRY_SECONDS)
            self._redis_down_until = self._clock() + REDIS_RETRY_SECONDS
            if owed is not None:
                self._owed[key] = owed
            return await self._count_while_away(key, window_seconds)
        # Redis's window, measured from before it was asked: it never outlives Redis's own
        self._memory.adopt(key, count, asked_at + seconds_left)
        return count, seconds_left

    async def _count_while_away(self, key: str, window_seconds: float) -> tuple[int, float]:
        """Count in memory, from the shared count last heard from Redis, and remember it is owed."""
        count, seconds_left = await self._memory.hit(key, window_seconds)
        now = self._clock()
        owed, ends_at = self._owed.get(key, (0, 0.0))
        if ends_at <= now:  # a new window: what was owed for the last one no longer counts
            owed = 0
            if len(self._owed) >= MEMORY_PRUNE_AT:
                self._owed = {k: v for k, v in self._owed.items() if v[1] > now}
        self._owed[key] = (owed + 1, now + seconds_left)
        return count, seconds_left

    async def aclose(self) -> None:
        if self._counter is not self._memory:
            await self._counter.aclose()


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxy_hops: int) -> str:
    """The caller's address: the TCP peer, or, behind `trusted_proxy_hops` proxies that each
    append to X-Forwarded-For, the address the outermost trusted proxy saw. Addresses further
    left in the header were written by the client and are never trusted."""
    return trusted_forwarded(forwarded_for, trusted_proxy_hops) or peer or "unknown"


def token_subject(authorization: str | None) -> str | None:
    """The key a token is counted under: its SHA-256 (the token itself never leaves the process)."""
    return token_digest(authorization)


def visitor_token_subject(authorization: str | None) -> str | None:
    """The key of a visitor token (`ocv_...`); None for anything else."""
    try:
        token = bearer_token(authorization)
    except DomainError:
        return None
    return hash_token(token) if token and token.startswith("ocv_") else None


class RequestLimits:  # an IpLimits (services/identity/rate_limits.py) for the resolvers
    """The rate limits of one HTTP request: who is calling from where, and the response to
    put `Retry-After` on."""

    def __init__(self, limiter: RateLimiter, ip: str, response: Any) -> None:
        self.limiter = limiter
        self.ip = ip
        self.response = response

    @classmethod
    def of(cls, limiter: RateLimiter, request: Any, response: Any, trusted_proxy_hops: int) -> RequestLimits:
        peer = request.client.host if request.client else None
        forwarded_for = request_headers(request.scope).get("x-forwarded-for")
        return cls(limiter, client_ip(peer, forwarded_for, trusted_proxy_hops), response)

    def refused(self, error: RateLimited) -> RateLimited:
        headers = getattr(self.response, "headers", None)
        if headers is not None:
            headers["Retry-After"] = str(error.retry_after_seconds)
        return error

    async def check_ip(self, rule_name: str) -> None:
        """Count one call of this client IP; RateLimited (and `Retry-After`) when over the budget."""
        try:
            await self.limiter.check(rule_name, self.ip)
        except RateLimited as error:
            raise self.refused(error)

    async def check_token(self, viewer: Any, authorization: str | None) -> RateLimited | None:
        """Count one request made with a token; the refusal when over the budget, else None."""
        rule_name = VISITOR_TOKEN if viewer.is_visitor else OPERATOR_TOKEN if viewer.is_operator else None
        if rule_name is None or not self.limiter.limits(rule_name):
            return None
        subject = token_subject(authorization)
        if subject is None:
            return None
        try:
            await self.limiter.check(rule_name, subject)
        except RateLimited as error:
            return self.refused(error)
        return None
