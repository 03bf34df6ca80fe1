"""Configuration, read once from the environment.

Every setting has an embedded default, so `openchannels serve` runs with nothing set:
a SQLite file in the working folder and the in-process event broker.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url

#: (variable, default, meaning) — the single list that `openchannels --help` and the README show.
ENVIRONMENT = [
    ("DATABASE_URL", "sqlite://openchannels.sqlite3", "sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB"),
    ("DATABASE_POOL_SIZE", "10", "most PostgreSQL connections each server process keeps (a `maxsize` in "
     "DATABASE_URL's query wins); Tortoise's own default, 5, made requests wait for a connection at 16 at once: "
     "p99 3.4-7.5 x p50 against 1.5-1.6 x at 10"),
    ("REDIS_URL", "", "redis://[USER:PASS@]HOST:PORT/N, rediss://... (TLS; redis-py's query options such as "
     "ssl_ca_certs=PATH) or unix:///PATH; with REDIS_SENTINELS, only its options count (password, db, TLS), "
     "not its host; unset and no REDIS_SENTINELS: the in-process event broker (one server process)"),
    ("REDIS_SENTINELS", "", "comma-separated HOST:PORT of Redis Sentinels: Redis is the master they name "
     "REDIS_SENTINEL_MASTER, followed through failovers; unset: REDIS_URL alone"),
    ("REDIS_SENTINEL_MASTER", "mymaster", "name of the master the Sentinels monitor (with REDIS_SENTINELS)"),
    ("OPENCHANNELS_HOST", "127.0.0.1", "address `serve` listens on"),
    ("OPENCHANNELS_PORT", "8000", "port `serve` listens on"),
    ("OPENCHANNELS_WORKERS", "1", "server processes for `serve` (more than one needs REDIS_URL or REDIS_SENTINELS)"),
    ("LOG_LEVEL", "info", "debug, info, warning or error"),
    ("LOG_FORMAT", "text", "text, or json: one JSON object per line, with the request id (README: Operations)"),
    ("OPENCHANNELS_ALLOWED_ORIGINS", "", "comma-separated origins (`https://app.example.com`) whose pages may call "
     "the API (CORS) and open a WebSocket, or `*` for any; unset: `*` when OPENCHANNELS_ENV is development, "
     "none in production (the server's own origin only)"),
    ("CORS_MAX_AGE_SECONDS", "600", "how long a browser may keep a CORS preflight's answer (Access-Control-Max-Age)"),
    ("PUBLIC_URL", "", "the server's address as clients reach it (`https://chat.example.com`), the base of every URL "
     "the API returns (Attachment.url, ...); unset: the request's scheme and Host (X-Forwarded-Proto and "
     "X-Forwarded-Host of the TRUSTED_PROXY_HOPS proxies)"),
    ("TOKEN_TTL_SECONDS", "2592000", "lifetime of a token issued by `login` (CLI tokens do not expire)"),
    ("TOKEN_CACHE_SECONDS", "10", "how long a server process trusts a token it found valid without reading the "
     "database again (a token deleted or a role changed by hand takes effect after this), and how often it re-reads "
     "the tokens of its open WebSockets; 0: every request reads it, and WebSockets are re-checked every second"),
    ("REDIS_CHANNEL", "openchannels:events", "Redis pub/sub channel that carries events between processes"),
    ("PAYMENT_URL_TEMPLATE", "https://pay.example.com/checkout?order={order_id}&amount={amount}&currency={currency}",
     "payment link of an order made in a chat: {order_id}, {amount} and {currency} are filled in"),
    ("PAYMENT_WEBHOOK_SECRET", "", "key of the HMAC-SHA256 signature of `POST /payments/webhook`; unset: every notification is refused"),
    ("FILES_DIR", "files", "folder where uploaded files are stored"),
    ("MAX_UPLOAD_BYTES", "26214400", "largest file `uploadFile` accepts (bytes); a multipart body larger than "
     "this plus 64 KiB is refused with 413 as it streams in"),
    ("MAX_REQUEST_BYTES", "1048576", "largest request body that is not an upload (a JSON POST, a webhook) and "
     "longest query string (a GET); larger: refused with 413 (414 for a query string) before it is read whole"),
    ("HTTP_HEADER_TIMEOUT_SECONDS", "10", "a request's line and headers must arrive within this time, or the "
     "connection is closed (408); 0: uvicorn's own protocol, with no limit on header time or size"),
    ("HTTP_MAX_HEADER_BYTES", "65536", "largest request line plus headers; larger: 431 and the connection closed"),
    ("HTTP_KEEP_ALIVE_SECONDS", "75", "an idle kept-alive HTTP connection is closed after this long (uvicorn's "
     "default is 5 s); keep it above the idle timeout of whatever reuses connections in front (nginx's upstream "
     "`keepalive_timeout` and AWS ALB's are 60 s): a request sent on a connection as the server closes it is lost "
     "to a reset (a 502 behind a proxy)"),
    ("FILE_URL_SECRET", "", "key that signs visitors' file links; unset: a random key per process"),
    ("FILE_URL_TTL_SECONDS", "3600", "lifetime of a visitor's signed file link"),
    ("S3_BUCKET", "", "S3-compatible bucket for uploaded files (needs the `[s3]` extra); unset: the folder FILES_DIR"),
    ("S3_ENDPOINT_URL", "", "S3-compatible endpoint (MinIO, Ceph, ...), addressed path-style; unset: AWS S3 in S3_REGION"),
    ("S3_REGION", "us-east-1", "region of the bucket (the requests are signed for it)"),
    ("S3_ACCESS_KEY_ID", "", "S3 access key; unset: the AWS credential chain (AWS_* variables, AWS_PROFILE, "
     "instance or task role)"),
    ("S3_SECRET_ACCESS_KEY", "", "secret of S3_ACCESS_KEY_ID"),
    ("GIPHY_API_KEY", "", "Giphy API key for `searchGifs`; unset: the built-in GIF catalog"),
    ("GIPHY_API_URL", "https://api.giphy.com/v1/gifs/search", "Giphy search endpoint"),
    ("GIF_SEARCH_TIMEOUT_SECONDS", "3", "how long `searchGifs` waits for Giphy before answering with no GIFs"),
    ("SCHEDULER_INTERVAL_SECONDS", "1", "seconds between two rounds of the scheduler of each server process "
     "(offer timeouts, auto-close, connector deliveries, webhooks); 0: no scheduler"),
    ("PRESENCE_GRACE_SECONDS", "60", "an ONLINE operator whose last WebSocket closed and who does not reconnect "
     "within this time becomes AWAY (their offers pass on); ONLINE again when they reconnect"),
    ("PRESENCE_HEARTBEAT_SECONDS", "10", "how often each server process renews its heartbeat in the database (the "
     "operators' WebSockets it holds count as connected while it does)"),
    ("PRESENCE_PROCESS_EXPIRY_SECONDS", "30", "a server process whose heartbeat is older than this is dead: the "
     "scheduler of another removes its operators' connections (keep it a few heartbeats)"),
    ("OPENCHANNELS_ENV", "development", "development or production: production refuses introspection, "
     "serves no GraphiQL and gives no field suggestions in errors"),
    ("CONSOLE_ENABLED", "", "true: serve the reference operator console at /console (built from console/); false: "
     "do not; unset: served when OPENCHANNELS_ENV is development, not in production"),
    ("QUERY_MAX_DEPTH", "15", "deepest nesting of fields in one operation"),
    ("QUERY_MAX_ALIASES", "30", "most aliased fields in one operation"),
    ("QUERY_MAX_ROOT_FIELDS", "20", "most top-level fields in one operation"),
    ("QUERY_MAX_COST", "10000", "most list items one operation may ask for (page sizes multiplied along the nesting)"),
    ("QUERY_MAX_TOKENS", "2000", "most tokens in one GraphQL document"),
    ("PERSISTED_OPERATIONS_ONLY", "false", "true: callers other than admins may run only the operations registered "
     "with `openchannels operations register` (by id); any other document is refused with PERSISTED_QUERY_REQUIRED"),
    ("WEBHOOK_ALLOW_PRIVATE", "false", "true: outbound webhooks may POST to hosts that resolve to loopback, "
     "link-local or private addresses (a receiver on this server's own network); checked when a webhook is made "
     "and before every delivery"),
    ("EVENT_CATCHUP_SECONDS", "30", "with Redis: seconds between two re-reads of the database by every live "
     "subscription, the safety net for an event whose publish was lost; 0: only when Redis reconnects or a publish fails"),
    ("QUEUE_POSITION_THROTTLE_SECONDS", "2", "a waiting visitor's `visitorQueue` subscription is sent a new "
     "position or estimate at most this often: each server process reads a channel's queue at most once per this "
     "time, whatever the number of queue events and subscribers (README: the visitor's side)"),
    ("RATE_LIMIT_LOGIN_PER_MINUTE", "10", "`login` calls per client IP per minute; 0: no limit"),
    ("RATE_LIMIT_START_VISITOR_CHAT_PER_MINUTE", "20",
     "`startVisitorChat` calls per client IP per minute; 0: no limit"),
    ("RATE_LIMIT_VISITOR_TOKEN_PER_MINUTE", "120", "requests per visitor token per minute (HTTP requests; over a "
     "WebSocket its connection_init and each operation); 0: no limit"),
    ("RATE_LIMIT_OPERATOR_TOKEN_PER_MINUTE", "0", "HTTP requests per operator token per minute; 0: no limit"),
    ("RATE_LIMIT_REDIS_PREFIX", "openchannels:rate", "prefix of the rate-limit counters in Redis (with Redis); "
     "processes with the same prefix share the budgets"),
    ("TRUSTED_PROXY_HOPS", "0", "reverse proxies in front of the server that append to X-Forwarded-For; "
     "0: the client IP is the TCP peer and X-Forwarded-For is ignored"),
    ("WS_MAX_SUBSCRIPTIONS", "20", "operations one WebSocket connection may run at once"),
    ("WS_SEND_QUEUE_SIZE", "256", "messages waiting to be sent on one WebSocket; a client that lets more pile up "
     "is closed with 4429"),
    ("WS_CONNECTION_INIT_TIMEOUT_SECONDS", "10", "a WebSocket that sends no connection_init within this time is "
     "closed with 4408"),
    ("WS_MAX_MESSAGE_BYTES", "1048576", "largest WebSocket message a client may send; larger: closed with 1009"),
    ("WS_MAX_CONNECTIONS_PER_IP", "50", "WebSockets one client IP (see TRUSTED_PROXY_HOPS) may hold open on one server "
     "process; the one over it is closed at once with 1013 (try again later). 0: no limit"),
    ("WS_ANONYMOUS_IDLE_SECONDS", "60", "a WebSocket without a token that runs no operation for this long is closed "
     "with 1000. 0: never"),
    ("WS_PER_MESSAGE_DEFLATE", "false", "compress WebSocket messages (permessage-deflate) when the client offers it: "
     "fewer bytes, but about 40 KiB more server memory per connection and a compression per frame sent"),
    ("WS_DIRECT_SEND", "on", "on: a WebSocket message with nothing queued before it is framed once and written "
     "straight to the socket, past the ASGI layers (uvicorn's websockets-sansio protocol, read through its private "
     "parts: only with the uvicorn release pinned in pyproject.toml, never with permessage-deflate); off: every "
     "message takes the ASGI path (Starlette's and uvicorn's send), same frames, more CPU per subscriber"),
    ("WS_FORGET_HANDSHAKE", "on", "on: a WebSocket lets go of its opening handshake (the request's headers and the "
     "101 response, which uvicorn keeps for the connection's life) once it is accepted, about 5 KiB less memory per "
     "connection, and of its parser's reference cycle when it closes, so that it is freed then and not by a full "
     "collection; its keepalive pings go out on one timer per process, not two per connection (about a third "
     "of the idle CPU uvicorn's take) (a subclass of uvicorn's websockets-sansio protocol, read through its "
     "private parts: only with the uvicorn release pinned in pyproject.toml); off: uvicorn's own protocol"),
    ("METRICS_PORT", "", "port of a listener on OPENCHANNELS_HOST that serves only /metrics, without auth (`serve` "
     "opens it); unset: /metrics is on the main port, behind METRICS_TOKEN"),
    ("METRICS_TOKEN", "", "bearer token that /metrics on the main port requires (without METRICS_PORT); "
     "unset: no /metrics on the main port"),
    ("PROMETHEUS_MULTIPROC_DIR", "", "folder where the worker processes keep their metrics, so that any of them "
     "answers a scrape with the totals; unset with OPENCHANNELS_WORKERS > 1: `serve` makes a fresh one"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "", "OpenTelemetry collector (OTLP over HTTP, e.g. http://127.0.0.1:4318): "
     "every GraphQL operation is traced (needs the `otel` extra); unset: no tracing"),
    ("PLAIN_EXECUTION", "on", "on: the fast paths that use private parts of Strawberry and graphql-core (plans for "
     "plain fields, memoised selections, inputs built in one step, shared subscriptions, prepared operations: "
     "tests/engine lists them, each pinned in pyproject.toml); off: only their public APIs, same answers, slower"),
    ("DIRECT_TRANSACTIONS", "on", "on: a PostgreSQL transaction is a connection of Tortoise's asyncpg pool with "
     "BEGIN and COMMIT of its own, and a unit of work sends its events and COMMIT in one round trip, so the "
     "event-order lock is not held while the server comes round to committing (services/common/transactions.py; "
     "private parts of Tortoise, pinned); off: Tortoise's in_transaction and a COMMIT of its own, same results, "
     "slower under concurrent writes"),
    ("MODEL_ROWS", "on", "on: a model read by a hand-written statement (sendMessage's chat and message, "
     "searchMessages' messages and their chats) is built by a constructor generated once per model from Tortoise's "
     "field groups (services/common/model_rows.py; private parts of Tortoise, pinned); off: Tortoise's own "
     "_init_from_db, same objects, slower"),
    ("EVENT_IDS_WITH_COMMIT", "on", "on: the statement that writes a unit of work's events on PostgreSQL also sets "
     "the session's `application_name` to a tag and their ids, which PostgreSQL reports in COMMIT's round trip, so "
     "the ids need no round trip of their own (`pg_stat_activity` shows the server's sessions as "
     "`openchannels <n>:<ids>;`, and an `application_name` given in DATABASE_URL is replaced after a session's "
     "first unit of work); off: that `application_name` stays, and the ids are read back in a round trip of their "
     "own (services/events/events.py)"),
    ("WORKER_CPU_AFFINITY", "off", "auto: each server process keeps to one CPU of its own, the one fewest of the "
     "server's processes hold, and among those the one that served the fewest device interrupts (as nginx's "
     "worker_cpu_affinity auto): fewer cold caches with several workers on a "
     "machine they share with PostgreSQL (README: Processes and machines); off: the kernel moves them freely"),
    ("GC_GEN0_THRESHOLD", "5000", "allocations between two young-generation garbage collections (Python's default "
     "is 700); the objects made at start are frozen out of collection either way. 0: Python's defaults"),
]


def default(name: str) -> str:
    """The default of a setting, as ENVIRONMENT (and the README's table) gives it."""
    return next(d for n, d, _ in ENVIRONMENT if n == name)


#: the environment settings are read from: this process's, or another's (`settings_of`)
_ENVIRON: ContextVar[Mapping[str, str]] = ContextVar("openchannels_settings_environ", default=os.environ)


def _env(name: str) -> str:
    return _ENVIRON.get().get(name, default(name))


def settings_of(environ: Mapping[str, str]) -> Settings:
    """The settings a process with this environment reads (a server this process starts)."""
    token = _ENVIRON.set(environ)
    try:
        return Settings()
    finally:
        _ENVIRON.reset(token)


def _positive(name: str) -> int:
    value = _env(name)
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL"))
    database_pool_size: int = field(default_factory=lambda: _positive("DATABASE_POOL_SIZE"))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    redis_sentinels: tuple[tuple[str, int], ...] = field(
        default_factory=lambda: parse_sentinels(_env("REDIS_SENTINELS")))
    redis_sentinel_master: str = field(default_factory=lambda: _env("REDIS_SENTINEL_MASTER").strip())
    host: str = field(default_factory=lambda: _env("OPENCHANNELS_HOST"))
    port: int = field(default_factory=lambda: int(_env("OPENCHANNELS_PORT")))
    workers: int = field(default_factory=lambda: int(_env("OPENCHANNELS_WORKERS")))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL").lower())
    log_format: str = field(default_factory=lambda: _env("LOG_FORMAT").strip().lower())
    metrics_port: int = field(default_factory=lambda: int(_env("METRICS_PORT") or 0))
    metrics_token: str = field(default_factory=lambda: _env("METRICS_TOKEN"))
    otel_endpoint: str = field(default_factory=lambda: _env("OTEL_EXPORTER_OTLP_ENDPOINT"))
    #: as configured; empty: the environment's default (`cross_origins`)
    allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.strip() for o in _env("OPENCHANNELS_ALLOWED_ORIGINS").split(",") if o.strip())
    )
    cors_max_age_seconds: int = field(default_factory=lambda: int(_env("CORS_MAX_AGE_SECONDS")))
    public_url: str = field(default_factory=lambda: _env("PUBLIC_URL").strip().rstrip("/"))
    token_ttl_seconds: int = field(default_factory=lambda: int(_env("TOKEN_TTL_SECONDS")))
    token_cache_seconds: float = field(default_factory=lambda: float(_env("TOKEN_CACHE_SECONDS")))
    redis_channel: str = field(default_factory=lambda: _env("REDIS_CHANNEL"))
    payment_url_template: str = field(default_factory=lambda: _env("PAYMENT_URL_TEMPLATE"))
    payment_webhook_secret: str = field(default_factory=lambda: _env("PAYMENT_WEBHOOK_SECRET"))
    files_dir: str = field(default_factory=lambda: _env("FILES_DIR"))
    max_upload_bytes: int = field(default_factory=lambda: int(_env("MAX_UPLOAD_BYTES")))
    max_request_bytes: int = field(default_factory=lambda: int(_env("MAX_REQUEST_BYTES")))
    http_header_timeout_seconds: float = field(default_factory=lambda: float(_env("HTTP_HEADER_TIMEOUT_SECONDS")))
    http_max_header_bytes: int = field(default_factory=lambda: int(_env("HTTP_MAX_HEADER_BYTES")))
    http_keep_alive_seconds: float = field(default_factory=lambda: float(_env("HTTP_KEEP_ALIVE_SECONDS")))
    file_url_secret: str = field(default_factory=lambda: _env("FILE_URL_SECRET"))
    file_url_ttl_seconds: int = field(default_factory=lambda: int(_env("FILE_URL_TTL_SECONDS")))
    s3_bucket: str = field(default_factory=lambda: _env("S3_BUCKET"))
    s3_endpoint_url: str = field(default_factory=lambda: _env("S3_ENDPOINT_URL"))
    s3_region: str = field(default_factory=lambda: _env("S3_REGION"))
    s3_access_key_id: str = field(default_factory=lambda: _env("S3_ACCESS_KEY_ID"))
    s3_secret_access_key: str = field(default_factory=lambda: _env("S3_SECRET_ACCESS_KEY"))
    giphy_api_key: str = field(default_factory=lambda: _env("GIPHY_API_KEY"))
    giphy_api_url: str = field(default_factory=lambda: _env("GIPHY_API_URL"))
    gif_search_timeout_seconds: float = field(default_factory=lambda: float(_env("GIF_SEARCH_TIMEOUT_SECONDS")))
    scheduler_interval_seconds: float = field(default_factory=lambda: float(_env("SCHEDULER_INTERVAL_SECONDS")))
    presence_grace_seconds: float = field(default_factory=lambda: float(_env("PRESENCE_GRACE_SECONDS")))
    presence_heartbeat_seconds: float = field(default_factory=lambda: float(_env("PRESENCE_HEARTBEAT_SECONDS")))
    presence_process_expiry_seconds: float = field(
        default_factory=lambda: float(_env("PRESENCE_PROCESS_EXPIRY_SECONDS")))
    env: str = field(default_factory=lambda: _env("OPENCHANNELS_ENV").strip().lower())
    #: as configured: True, False, or None (unset: `serves_console` follows the environment)
    console_enabled: bool | None = field(default_factory=lambda: _flag(_env("CONSOLE_ENABLED")))
    query_max_depth: int = field(default_factory=lambda: int(_env("QUERY_MAX_DEPTH")))
    query_max_aliases: int = field(default_factory=lambda: int(_env("QUERY_MAX_ALIASES")))
    query_max_root_fields: int = field(default_factory=lambda: int(_env("QUERY_MAX_ROOT_FIELDS")))
    query_max_cost: int = field(default_factory=lambda: int(_env("QUERY_MAX_COST")))
    query_max_tokens: int = field(default_factory=lambda: int(_env("QUERY_MAX_TOKENS")))
    persisted_operations_only: bool = field(
        default_factory=lambda: _env("PERSISTED_OPERATIONS_ONLY").strip().lower() in ("1", "true", "yes", "on"))
    event_catchup_seconds: float = field(default_factory=lambda: float(_env("EVENT_CATCHUP_SECONDS")))
    queue_position_throttle_seconds: float = field(
        default_factory=lambda: float(_env("QUEUE_POSITION_THROTTLE_SECONDS")))
    webhook_allow_private: bool = field(
        default_factory=lambda: _env("WEBHOOK_ALLOW_PRIVATE").strip().lower() in ("1", "true", "yes", "on"))
    rate_limit_login_per_minute: int = field(default_factory=lambda: int(_env("RATE_LIMIT_LOGIN_PER_MINUTE")))
    rate_limit_start_visitor_chat_per_minute: int = field(
        default_factory=lambda: int(_env("RATE_LIMIT_START_VISITOR_CHAT_PER_MINUTE")))
    rate_limit_visitor_token_per_minute: int = field(
        default_factory=lambda: int(_env("RATE_LIMIT_VISITOR_TOKEN_PER_MINUTE")))
    rate_limit_operator_token_per_minute: int = field(
        default_factory=lambda: int(_env("RATE_LIMIT_OPERATOR_TOKEN_PER_MINUTE")))
    rate_limit_redis_prefix: str = field(default_factory=lambda: _env("RATE_LIMIT_REDIS_PREFIX"))
    trusted_proxy_hops: int = field(default_factory=lambda: int(_env("TRUSTED_PROXY_HOPS")))
    ws_max_subscriptions: int = field(default_factory=lambda: int(_env("WS_MAX_SUBSCRIPTIONS")))
    ws_send_queue_size: int = field(default_factory=lambda: int(_env("WS_SEND_QUEUE_SIZE")))
    ws_connection_init_timeout_seconds: float = field(
        default_factory=lambda: float(_env("WS_CONNECTION_INIT_TIMEOUT_SECONDS")))
    ws_max_message_bytes: int = field(default_factory=lambda: int(_env("WS_MAX_MESSAGE_BYTES")))
    ws_max_connections_per_ip: int = field(default_factory=lambda: int(_env("WS_MAX_CONNECTIONS_PER_IP")))
    ws_anonymous_idle_seconds: float = field(default_factory=lambda: float(_env("WS_ANONYMOUS_IDLE_SECONDS")))
    ws_per_message_deflate: bool = field(
        default_factory=lambda: _env("WS_PER_MESSAGE_DEFLATE").strip().lower() in ("1", "true", "yes", "on"))
    ws_direct_send: bool = field(
        default_factory=lambda: _env("WS_DIRECT_SEND").strip().lower() in ("1", "true", "yes", "on"))
    ws_forget_handshake: bool = field(
        default_factory=lambda: _env("WS_FORGET_HANDSHAKE").strip().lower() in ("1", "true", "yes", "on"))
    gc_gen0_threshold: int = field(default_factory=lambda: int(_env("GC_GEN0_THRESHOLD")))
    worker_cpu_affinity: str = field(default_factory=lambda: _env("WORKER_CPU_AFFINITY").strip().lower())
    plain_execution: bool = field(default_factory=lambda: plain_execution_enabled())

    @property
    def cross_origins(self) -> tuple[str, ...]:
        """The origins whose pages may call the API and open WebSockets: OPENCHANNELS_ALLOWED_ORIGINS,
        or by default any in development and none in production (or any other mode)."""
        if self.allowed_origins:
            return self.allowed_origins
        return ("*",) if self.env == "development" else ()

    @property
    def serves_console(self) -> bool:
        """The operator console at /console: CONSOLE_ENABLED, or by default in development only."""
        return self.env == "development" if self.console_enabled is None else self.console_enabled

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_redis(self) -> bool:
        """Events, rate limits and readiness go through Redis (infrastructure/redis_client.py)."""
        return bool(self.redis_url or self.redis_sentinels)


def _flag(value: str) -> bool | None:
    """A yes/no setting that may be left unset: None when empty."""
    value = value.strip().lower()
    if not value:
        return None
    return value in ("1", "true", "yes", "on")


def _on_or_off(name: str, value: str | None) -> bool:
    """The switch `name` (or `value`, when given): `on` or `off`, else a ValueError naming it."""
    value = (_env(name) if value is None else value).strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{name} must be on or off, not {value!r}")
    return value == "on"


def direct_transactions_enabled(value: str | None = None) -> bool:
    """DIRECT_TRANSACTIONS (or `value`): `on` or `off`."""
    return _on_or_off("DIRECT_TRANSACTIONS", value)


def model_rows_enabled(value: str | None = None) -> bool:
    """MODEL_ROWS (or `value`): `on` or `off`."""
    return _on_or_off("MODEL_ROWS", value)


def event_ids_with_commit(value: str | None = None) -> bool:
    """EVENT_IDS_WITH_COMMIT (or `value`): `on` or `off`."""
    return _on_or_off("EVENT_IDS_WITH_COMMIT", value)


def plain_execution_enabled(value: str | None = None) -> bool:
    """PLAIN_EXECUTION (or `value`): `on` or `off`."""
    return _on_or_off("PLAIN_EXECUTION", value)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` (an IPv6 host in brackets: `[::1]:26379`); a missing port is 26379."""
    sentinels = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        if not colon or host.endswith(":"):  # no port, or a bare IPv6 address
            host, port = item, "26379"
        host = host.removeprefix("[").removesuffix("]")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ValueError(f"REDIS_SENTINELS: {item!r} is not HOST:PORT")
        sentinels.append((host, int(port)))
    return tuple(sentinels)


#: most connections of a process's PostgreSQL pool when no setting says otherwise (DATABASE_POOL_SIZE)
DEFAULT_POOL_SIZE = 10


def tortoise_config(database_url: str, pool_size: int = DEFAULT_POOL_SIZE) -> dict:
    """The Tortoise configuration: one app, `models`, whose migrations live in `models/migrations`;
    on PostgreSQL a pool of at most `pool_size` connections (unless the URL's `maxsize` says)."""
    connection: str | dict = database_url
    if database_url.startswith(("postgres://", "postgresql://")):
        connection = expand_db_url(database_url)
        connection["credentials"]["reset"] = keep_session
        connection["credentials"]["connection_class"] = SessionConnection
        connection["credentials"].setdefault("maxsize", pool_size)
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def keep_session(connection: Any) -> None:
    """asyncpg's pool `reset`, run when a connection goes back to the pool: nothing to do.

    By default the pool resets every released connection with a statement of its own (close
    cursors, UNLISTEN, RESET ALL, release session advisory locks): a round trip per released
    connection, one in eight of the bench server's samples on a 50-chat myChats. This code keeps
    no session state that a reset would clear (its advisory locks are transaction-scoped, it never
    LISTENs or declares cursors; what it SETs it reads back in the same unit of work; the
    statements it PREPAREs are kept on purpose, `SessionConnection`), and asyncpg still rolls back
    a transaction left open before it calls this.
    """


class SessionConnection(asyncpg.Connection):
    """The pool's connections: an asyncpg connection that remembers which statements its session
    keeps prepared (services/common/transactions.py `session_statement`), for as long as it lives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the names PREPAREd in this session
        self.prepared_statements: set[str] = set()
