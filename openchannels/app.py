"""The ASGI application: Starlette, the GraphQL endpoint at /graphql, and the lifespan
that opens the database and the event broker."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from openchannels import broker as broker_module
from openchannels.database import close_database, init_database
from openchannels.settings import Settings
from resolvers.context import Context
from schema import schema
from services.auth import authenticate
from services.errors import DomainError

log = logging.getLogger("openchannels.app")

#: a client that opens a WebSocket must say who it is within this time
CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
#: close code for a missing/invalid/expired token (graphql-ws clients retry after it)
CLOSE_FORBIDDEN = 4403


class GraphQLApp(GraphQL):
    async def get_context(self, request: Any, response: Any = None) -> Context:
        if request.scope["type"] == "websocket":
            return Context(request=request, response=response)  # authenticated in on_ws_connect
        try:
            viewer = await authenticate(request.headers.get("authorization"))
        except DomainError as error:
            return Context(request=request, response=response, auth_error=error.message)
        return Context(request=request, response=response, viewer=viewer)

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate from connection_init's payload {"authorization": "Bearer <token>"}; bad: close 4403."""
        params = context.connection_params or {}
        value = params.get("authorization") or params.get("Authorization")
        try:
            context.authenticate_as(await authenticate(value if isinstance(value, str) else None))
        except DomainError:
            # graphql-ws (the legacy protocol) would otherwise close with 1011: close with 4403 first
            await context.request.close(code=CLOSE_FORBIDDEN, reason="Forbidden")
            raise ConnectionRejectionError({"message": "Invalid or expired token."})
        return None


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql",
        allow_queries_via_get=True,
        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
        allowed_origins=list(settings.allowed_origins),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette):
        await init_database(settings)
        broker = broker_module.make_broker(settings.redis_url, settings.redis_channel)
        await broker.start()
        broker_module.set_broker(broker)
        log.info("Open Channels ready (database %s, broker %s)", settings.database_url.split("://")[0],
                 "redis" if settings.redis_url else "in-process")
        try:
            yield
        finally:
            await broker.stop()
            await close_database()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
