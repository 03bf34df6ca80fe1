"""`openchannels serve`: check what would fail, in one line each, before uvicorn starts."""
from __future__ import annotations

import argparse
import asyncio
import copy
import socket
from typing import Any

from openchannels.cli.console import redact, say
from openchannels.cli.database_session import migrate_database, migration_summary
from openchannels.cli.demo import prepare_demo, print_demo
from openchannels.cli.failures import CommandError, log
from openchannels.settings import Settings
from services.file_storage import StorageUnavailable
from services.files import require_storage_package

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


async def _check_redis(url: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        log.debug("Redis ping failed", exc_info=True)
        raise CommandError(f"cannot reach Redis at {redact(url)}: {exc}") from exc
    finally:
        await client.aclose()


def server_log_config(level_name: str) -> dict[str, Any]:
    """uvicorn's logging plus ours; uvicorn applies it in every worker process, not just this one."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["named"] = {"()": "uvicorn.logging.DefaultFormatter",
                                     "fmt": "%(levelprefix)s %(name)s: %(message)s", "use_colors": None}
    config["handlers"]["named"] = {"formatter": "named", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    level = level_name.upper()
    config["loggers"]["openchannels"] = {"handlers": ["named"], "level": level, "propagate": False}
    # Tortoise's INFO lines are noise; at debug its SQL helps
    config["loggers"]["tortoise"] = {"handlers": ["named"], "propagate": False,
                                     "level": "WARNING" if level == "INFO" else level}
    return config


def command_serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers if args.workers is not None else settings.workers
    if not 1 <= port <= 65535:
        raise CommandError(f"port {port} is out of range (1-65535)")
    if workers < 1:
        raise CommandError(f"{workers} workers: at least one is needed")
    if workers > 1 and not settings.redis_url:
        raise CommandError(f"{workers} workers need REDIS_URL: without Redis, events would not cross processes "
                           "(set REDIS_URL=redis://HOST:PORT/0 or use --workers 1)")
    try:
        require_storage_package(settings)
    except StorageUnavailable as error:
        raise CommandError(str(error)) from None
    _check_port(host, port)
    if settings.redis_url:
        asyncio.run(_check_redis(settings.redis_url))
    if settings.is_sqlite:
        say(f"migrating {redact(settings.database_url)}")
        say(migration_summary(asyncio.run(migrate_database(settings, say))))
    url = f"http://{browser_host(host)}:{port}/graphql"
    if args.demo:
        print_demo(asyncio.run(prepare_demo(settings)), url)
    production = settings.env == "production"
    say(f"GraphQL endpoint (production mode, no GraphiQL): {url}" if production else f"GraphiQL: {url}")
    broker = "Redis " + redact(settings.redis_url) if settings.redis_url else "in-process (one server process)"
    say(f"database: {redact(settings.database_url)}; events: {broker}; workers: {workers}")

    import uvicorn

    from openchannels.http_protocol import header_limits_enabled

    http = "openchannels.http_protocol:HeaderLimitedHttpToolsProtocol" if header_limits_enabled(settings) else "auto"
    uvicorn.run(
        "openchannels.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level=settings.log_level, log_config=server_log_config(settings.log_level),
        ws_max_size=settings.ws_max_message_bytes,  # larger: closed with 1009 before it is read whole
        # off by default: each compressing connection holds ~40 KiB of zlib state (B2 idle memory)
        ws_per_message_deflate=settings.ws_per_message_deflate,
        http=http,  # request headers limited in time and size (openchannels/http_protocol.py)
        proxy_headers=False,  # X-Forwarded-For is trusted per TRUSTED_PROXY_HOPS only (openchannels/rate_limits.py)
    )
    return 0
