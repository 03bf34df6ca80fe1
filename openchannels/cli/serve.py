"""`openchannels serve`: check what would fail, in one line each, before uvicorn starts."""
from __future__ import annotations

import argparse
import asyncio
import copy
import os
import glob
import math
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from openchannels.cli.console import redact, say
from openchannels.cli.database_session import migrate_database, migration_summary
from openchannels.cli.demo import prepare_demo, print_demo
from openchannels.cli.failures import CommandError, log
from openchannels.cpu_affinity import check_mode
from openchannels.log_format import check_format
from openchannels.open_files import raise_open_files_limit
from infrastructure.settings import Settings
from openchannels.tracing import TracingNotInstalled, check_installed
from infrastructure.file_storage import StorageUnavailable
from infrastructure.platform import require_storage_package
from infrastructure.redis_client import redis_client
from openchannels.http_protocol import header_limits_enabled
from openchannels.websocket_protocol import PROTOCOL_PATH as WEBSOCKET_PROTOCOL, forget_handshake_enabled


def browser_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to `host`."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _check_port(host: str, port: int) -> None:
    """Fail in one line, before migrating or seeding, when the address is taken (uvicorn would log several)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def describe_redis(settings: Settings) -> str:
    """Where Redis is, for messages (no password)."""
    if settings.redis_sentinels:
        sentinels = ",".join(f"{host}:{port}" for host, port in settings.redis_sentinels)
        return f"Redis master {settings.redis_sentinel_master!r} of the Sentinels {sentinels}"
    return f"Redis {redact(settings.redis_url)}"


async def _check_redis(settings: Settings) -> None:
    try:
        client = redis_client(settings, socket_connect_timeout=5, socket_timeout=5)
    except ValueError as exc:
        raise CommandError(f"REDIS_URL={redact(settings.redis_url)!r}: {exc}") from exc
    try:
        await client.ping()
    except Exception as exc:
        log.debug("Redis ping failed", exc_info=True)
        raise CommandError(f"cannot reach {describe_redis(settings)}: {exc}") from exc
    finally:
        await client.aclose()


def server_log_config(level_name: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging plus ours; uvicorn applies it in every worker process, not just this one.
    LOG_FORMAT=json: every line is JSON (openchannels/log_format.py)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["named"] = {"()": "uvicorn.logging.DefaultFormatter",
                                     "fmt": "%(levelprefix)s %(name)s: %(message)s", "use_colors": None}
    config["handlers"]["named"] = {"formatter": "named", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    level = level_name.upper()
    config["loggers"]["openchannels"] = {"handlers": ["named"], "level": level, "propagate": False}
    # Tortoise's INFO lines are noise; at debug its SQL helps
    config["loggers"]["tortoise"] = {"handlers": ["named"], "propagate": False,
                                     "level": "WARNING" if level == "INFO" else level}
    if log_format == "json":
        config["formatters"] = {name: {"()": "openchannels.log_format.JsonFormatter"} for name in config["formatters"]}
    return config


def command_serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers if args.workers is not None else settings.workers
    if not 1 <= port <= 65535:
        raise CommandError(f"port {port} is out of range (1-65535)")
    if workers < 1:
        raise CommandError(f"{workers} workers: at least one is needed")
    if workers > 1 and not settings.uses_redis:
        raise CommandError(f"{workers} workers need REDIS_URL (or REDIS_SENTINELS): without Redis, events would not "
                           "cross processes (set REDIS_URL=redis://HOST:PORT/0 or use --workers 1)")
    try:
        require_storage_package(settings)
    except StorageUnavailable as error:
        raise CommandError(str(error)) from None
    try:
        check_format(settings.log_format)
        check_mode(settings.worker_cpu_affinity)
        check_installed(settings.otel_endpoint)
    except (ValueError, TracingNotInstalled) as error:
        raise CommandError(str(error)) from error
    if not settings.http_keep_alive_seconds > 0:
        raise CommandError(f"HTTP_KEEP_ALIVE_SECONDS must be above 0 (seconds an idle connection is kept), "
                           f"not {settings.http_keep_alive_seconds:g}")
    _check_port(host, port)  # after the settings: a wrong one is named even while the port is taken
    if settings.metrics_port:
        _check_port(host, settings.metrics_port)
    if settings.uses_redis:
        asyncio.run(_check_redis(settings))
    if settings.is_sqlite:
        say(f"migrating {redact(settings.database_url)}")
        say(migration_summary(asyncio.run(migrate_database(settings, say))))
    url = f"http://{browser_host(host)}:{port}/graphql"
    if args.demo:
        print_demo(asyncio.run(prepare_demo(settings)), url)
    production = settings.env == "production"
    say(f"GraphQL endpoint (production mode, no GraphiQL): {url}" if production else f"GraphiQL: {url}")
    broker = describe_redis(settings) if settings.uses_redis else "in-process (one server process)"
    say(f"database: {redact(settings.database_url)}; events: {broker}; workers: {workers}")
    if settings.metrics_port:
        say(f"metrics: http://{browser_host(host)}:{settings.metrics_port}/metrics")
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prepare_multiprocess_metrics()
    before, open_files = raise_open_files_limit()  # a socket per connection: the workers inherit it
    say(f"open files: up to {open_files} per process" + (f" (raised from {before})" if open_files > before else ""))

    run_uvicorn(
        settings.metrics_port,
        "openchannels.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level=settings.log_level, log_config=server_log_config(settings.log_level, settings.log_format),
        **uvicorn_options(settings),
    )
    return 0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `serve` has uvicorn speak HTTP and WebSocket, from the settings (the servers the tests
    and the bench start get the same, as `uvicorn` flags: `uvicorn_flags`)."""
    return {
        # request headers limited in time and size (openchannels/http_protocol.py)
        "http": "openchannels.http_protocol:HeaderLimitedHttpToolsProtocol" if header_limits_enabled(settings)
        else "auto",
        # the opening handshake let go once a WebSocket is accepted (openchannels/websocket_protocol.py)
        "ws": WEBSOCKET_PROTOCOL if forget_handshake_enabled(settings) else "auto",
        "ws_max_size": settings.ws_max_message_bytes,  # larger: closed with 1009 before it is read whole
        # off by default: each compressing connection holds ~40 KiB of zlib state (B2 idle memory)
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        # above the idle timeout of a proxy's or client's connection pool: the client side closes first
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "proxy_headers": False,  # X-Forwarded-For is trusted per TRUSTED_PROXY_HOPS only (openchannels/rate_limits.py)
    }


def uvicorn_flags(options: dict[str, Any]) -> list[str]:
    """`uvicorn_options` as `python -m uvicorn`'s command-line flags."""
    flags: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "proxy_headers":
            flags.append(flag if value else "--no-proxy-headers")
        elif name == "timeout_keep_alive":
            flags += [flag, str(math.ceil(value))]  # uvicorn's flag takes whole seconds
        elif isinstance(value, bool):
            flags += [flag, "true" if value else "false"]
        else:
            flags += [flag, str(value)]
    return flags


def prepare_multiprocess_metrics() -> None:
    """Several workers: their metrics go to files in PROMETHEUS_MULTIPROC_DIR, summed by whichever
    answers a scrape. Unset: a fresh folder for this run. Set: emptied of the last run's files
    (prometheus_client's rule: counters of a previous run would be added to this one's)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="openchannels-metrics-")
    os.makedirs(folder, exist_ok=True)
    for stale in glob.glob(os.path.join(folder, "*.db")):
        os.remove(stale)


def run_uvicorn(metrics_port: int, app: str, **options: Any) -> None:
    """uvicorn.run, and with a metrics port, one more listening socket that every worker serves
    (openchannels/metrics_endpoint.py answers /metrics there and nothing else)."""
    if not metrics_port:
        uvicorn.run(app, **options)
        return
    config = uvicorn.Config(app, **options)
    metrics = copy.copy(config)
    metrics.port = metrics_port
    sockets = [config.bind_socket(), metrics.bind_socket()]
    if config.workers > 1:
        Multiprocess(config, sockets=sockets).run()
    else:
        server = uvicorn.Server(config)
        server.run(sockets=sockets)
        if not server.started:
            raise SystemExit(3)
