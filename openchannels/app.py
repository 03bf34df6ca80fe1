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
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

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


async def _viewer_from_init(params: Any) -> Any:
    """The viewer named by connection_init's payload {"authorization": "Bearer <token>"}."""
    params = params if isinstance(params, dict) else {}
    value = params.get("authorization") or params.get("Authorization")
    return await authenticate(value if isinstance(value, str) else None)


class LegacyGraphQLWSHandler(BaseGraphQLWSHandler):
    """graphql-ws (the legacy protocol) closes a rejected connection with 1011: close with 4403."""

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await _viewer_from_init(message.get("payload"))
        except DomainError as error:
            await self.send_message({"type": "connection_error", "payload": {"message": error.message}})
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason="Forbidden")
            return
        await super().handle_connection_init(message)


class GraphQLApp(GraphQL):
    graphql_ws_handler_class = LegacyGraphQLWSHandler

    async def get_context(self, request: Any, response: Any = None) -> Context:
        if request.scope["type"] == "websocket":
            return Context(request=request, response=response)  # authenticated in on_ws_connect
        try:
            viewer = await authenticate(request.headers.get("authorization"))
        except DomainError as error:
            return Context(request=request, response=response, auth_error=error.message)
        return Context(request=request, response=response, viewer=viewer)

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate from connection_init; a bad token is rejected (graphql-transport-ws closes 4403)."""
        try:
            context.authenticate_as(await _viewer_from_init(context.connection_params))
        except DomainError as error:
            raise ConnectionRejectionError({"message": error.message})
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
