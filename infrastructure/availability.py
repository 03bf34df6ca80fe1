"""The database is unreachable: a clean, retryable error instead of an internal one.

While PostgreSQL cannot be reached (network cut, restart, failover) requests fail with the
code SERVICE_UNAVAILABLE — a top-level GraphQL error, or HTTP 503 with a GraphQL-shaped body
when the failure happens before the operation runs (checking the caller's token) — and no
stack trace. Nothing is half-written: the transaction of the request is rolled back by
PostgreSQL when its connection is lost. The connection pool replaces broken connections on
the next use, so the same process serves again as soon as the database answers.
"""
from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import DBConnectionError

try:
    import asyncpg
except ImportError:  # pragma: no cover - SQLite-only installation
    asyncpg = None

log = logging.getLogger("infrastructure.availability")

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
MESSAGE = "The service is temporarily unavailable (the database cannot be reached); try again shortly."
#: the hint sent with a 503 (seconds)
RETRY_AFTER_SECONDS = 2


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, DBConnectionError]
    if asyncpg is None:  # pragma: no cover - SQLite-only installation
        return tuple(errors)
    return (*errors, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
            asyncpg.CrashShutdownError)


_CONNECTION_ERRORS = _connection_errors()


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) is a lost or refused connection to the database."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _CONNECTION_ERRORS):
            return True
        if type(error).__name__ == "InterfaceError" and "connection is closed" in str(error):
            return True  # asyncpg: a pooled connection that the network dropped
        error = error.__cause__ or error.__context__
    return False


def unavailable_body() -> dict[str, Any]:
    return {"data": None, "errors": [{"message": MESSAGE, "extensions": {"code": SERVICE_UNAVAILABLE}}]}


class DatabaseUnavailableGuard:
    """ASGI wrapper: an HTTP request that fails, before answering, because the database is
    unreachable gets 503 with a GraphQL error SERVICE_UNAVAILABLE (not a 500 and a traceback)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started or not is_database_unavailable(error):
                raise
            log.warning("%s %s: the database is unavailable (%r)", scope.get("method"), scope.get("path"), error)
            response = JSONResponse(unavailable_body(), status_code=503,
                                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            await response(scope, receive, send)
