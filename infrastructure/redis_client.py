"""The one way this project makes a Redis client: redis-py (with hiredis), from the settings.

Events (infrastructure/broker.py), rate limits, readiness and `serve`'s start-up check all get
their client here, so every form of address works the same everywhere:

- `REDIS_URL` alone: whatever redis-py's `from_url` accepts: `redis://[user:pass@]host:port/db`,
  `rediss://` (TLS, with redis-py's query options: `?ssl_ca_certs=/path/ca.pem&ssl_cert_reqs=required`,
  `ssl_certfile`, `ssl_keyfile`, ...) and `unix:///path/redis.sock?db=0`;
- `REDIS_SENTINELS` (host:port list) and `REDIS_SENTINEL_MASTER`: the master those Sentinels
  name, asked again whenever a connection is made, so a failover is followed. `REDIS_URL`, if
  set, then only gives the master connections' options (password, db, `rediss://` and its
  query options); its host and port are not used.
"""
from __future__ import annotations

from typing import Any, Protocol, cast

import redis.asyncio as redis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool


class RedisSettings(Protocol):
    # read-only members: the settings are a frozen dataclass
    @property
    def redis_url(self) -> str: ...
    @property
    def redis_sentinels(self) -> tuple[tuple[str, int], ...]: ...
    @property
    def redis_sentinel_master(self) -> str: ...


class SentinelMaster(redis.Redis):
    """The master found through Sentinel; closing it closes its connections to the Sentinels too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        await cast(SentinelConnectionPool, self.connection_pool).sentinel_manager.aclose()


def redis_client(settings: RedisSettings, **options: Any) -> redis.Redis:
    """A client of the Redis the settings name; `options` are redis-py's (timeouts, ...).

    The caller owns it (`await client.aclose()`)."""
    if not settings.redis_sentinels:
        if not settings.redis_url:
            raise ValueError("neither REDIS_URL nor REDIS_SENTINELS is set")
        return redis.Redis.from_url(settings.redis_url, **options)
    # parse_url's TypedDict names only some of the keys it returns (not the query options)
    connection = cast(dict[str, Any], parse_url(settings.redis_url)) if settings.redis_url else {}
    connection_class = connection.pop("connection_class", None)
    if connection_class is UnixDomainSocketConnection:
        raise ValueError("REDIS_URL=unix://... cannot name the options of a master found through REDIS_SENTINELS")
    for address_part in ("host", "port"):
        connection.pop(address_part, None)
    if connection_class is SSLConnection:  # the pool then makes Sentinel-managed TLS connections
        connection["ssl"] = True
    sentinel_options = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel = Sentinel(list(settings.redis_sentinels), sentinel_kwargs=sentinel_options)
    return sentinel.master_for(settings.redis_sentinel_master, redis_class=SentinelMaster,
                              **{**options, **connection})  # the URL's options win, as in from_url

