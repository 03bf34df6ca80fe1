"""The ASGI application: Starlette, the GraphQL endpoint at /graphql, and the lifespan
that opens the file storage, the database and the event broker."""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from datetime import timedelta
from functools import partial
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET

from infrastructure.availability import DatabaseUnavailableGuard
from openchannels.body_limits import BodyLimits
from openchannels.connector_endpoint import connector_events
from openchannels.cors import cors_middleware
from infrastructure.database import close_database, init_database
from openchannels.downloads import download_file
from openchannels.exports import export_client, export_conversations, export_statistics
from openchannels.cpu_affinity import check_mode, keep_to_one_cpu, let_go_of_cpu
from openchannels.gc_tuning import restore_garbage_collection, tune_garbage_collection
from openchannels.graphiql import graphiql_page, graphiql_static_route
from openchannels.console import console_routes
from openchannels.widget import widget_routes
from openchannels.http_compliance import GraphQLOverHTTP
from openchannels.prepared_http import PreparedOperationsView
from openchannels.health import healthz, readyz
from openchannels.log_format import configure_logging
from openchannels import metrics_endpoint
from infrastructure.metrics import OPEN_WEBSOCKETS
from openchannels.payments import payments_webhook
from openchannels.public_url import check_public_url, public_base
from openchannels.rate_limits import RateLimiter, RequestLimits
from openchannels.request_headers import request_headers
from services.identity.live_tokens import LiveTokens, recheck_period
from infrastructure.platform import Platform, open_file_storage, open_platform
from infrastructure.request_ids import RequestIds
from infrastructure.runtime_metrics import probe_event_loop, unwatch_garbage_collection, watch_garbage_collection
from infrastructure.token_cache import TokenCache
from infrastructure.settings import Settings
from openchannels.trusted_documents import TrustedDocuments, TrustedDocumentsView
from openchannels.tracing import shutdown_tracing, tracing_extensions
from openchannels.websocket_admission import ConnectionsPerIP
from openchannels.websocket_direct import SCOPE_KEY as DIRECT_WRITER, direct_writer
from openchannels.websocket_handlers import LimitedLegacyWSHandler, LimitedTransportWSHandler
from openchannels.websocket_limits import BoundedWebSocketAdapter, WebSocketLimits, init_authorization
from resolvers.context import Context
from schema import schema_for
from services.automation import scheduler
from services.chats.presence import PresenceTimes
from services.chats.server_presence import ServerPresence
from services.contact_center import search
from services.identity.auth import ValidTokens, authenticate, authenticate_with_expiry, token_digest
from services.common.errors import DomainError
from services.identity.viewer import require_signed_in

log = logging.getLogger("openchannels.app")

#: close code for a missing/invalid/expired token (graphql-ws clients retry after it)
CLOSE_FORBIDDEN = 4403
#: how long shutdown waits for a scheduler tick in progress
SCHEDULER_SHUTDOWN_SECONDS = 5


class LegacyGraphQLWSHandler(LimitedLegacyWSHandler):
    """graphql-ws (the legacy protocol) closes a rejected connection with 1011: close with 4403."""

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await authenticate(init_authorization(message.get("payload")), fresh=True)
        except DomainError as error:
            await self.send_message({"type": "connection_error", "payload": {"message": error.message}})
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason="Forbidden")
            return
        await super().handle_connection_init(message)


#: a multipart request must carry one of these: a browser cannot send them cross-site without a
#: CORS preflight, so a form on another site cannot make an operator's browser upload (CSRF)
CSRF_SAFE_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")


class MultipartRefused(HTTPException):
    """A multipart request refused before its body is read: 401, a JSON error with the code
    (answered like every refusal before GraphQL: openchannels/http_compliance.py)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(401, message)
        self.code = code


class GraphQLApp(GraphQLOverHTTP, PreparedOperationsView, TrustedDocumentsView, GraphQL[Context, None]):
    graphql_ws_handler_class = LegacyGraphQLWSHandler
    graphql_transport_ws_handler_class = LimitedTransportWSHandler
    websocket_adapter_class = BoundedWebSocketAdapter
    #: set by create_app (openchannels/rate_limits.py, openchannels/websocket_limits.py)
    rate_limiter: RateLimiter
    #: the live WebSocket connections' tokens, re-checked (services/identity/live_tokens.py)
    live_tokens: LiveTokens
    websocket_limits: WebSocketLimits
    websocket_connections: ConnectionsPerIP
    trusted_proxy_hops = 0
    #: PUBLIC_URL ("": each request's own address: openchannels/public_url.py)
    public_url = ""
    #: the outside services (infrastructure/platform.py), opened by the lifespan (None before it,
    #: as in an app a test runs without one: the GraphiQL page needs none)
    platform: Platform | None = None
    #: this process in the presence tables, registered by the lifespan (None without one: no presence)
    presence: ServerPresence | None = None

    @property
    def trusted_tokens(self) -> ValidTokens | None:
        """The platform's token cache (None: every request reads its token)."""
        return self.platform.tokens if self.platform is not None else None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multipart_uploads_enabled"] = True
        super().__init__(*args, **kwargs)
        self.trusted_documents = TrustedDocuments()  # create_app sets `only` from the settings

    async def render_graphql_ide(self, request: Any) -> Any:
        """GraphiQL from the package's own files (openchannels/graphiql), never from a CDN."""
        return graphiql_page(request)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """A WebSocket's scope gets the writer of its frames past the ASGI layers, when the
        connection allows one (openchannels/websocket_direct.py); its handler gets its `receive`
        and `send` through `Detachable`s, let go of as it ends."""
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        limits: WebSocketLimits | None = getattr(self, "websocket_limits", None)
        direct = limits is not None and limits.direct_send
        if direct:
            scope[DIRECT_WRITER] = direct_writer(send)
        receiving, sending = Detachable(receive), Detachable(send)
        try:
            await super().__call__(scope, receiving, sending)
        finally:
            # what outlives the handler (PLAIN_EXECUTION=off: graphql-core's execution context of
            # each operation, a reference cycle, holds its context and so Strawberry's request)
            # no longer reaches uvicorn's protocol, its parser and buffers
            receiving.detach()
            sending.detach()
            if direct:
                # the writer holds uvicorn's protocol, which holds this scope: left there, every
                # closed WebSocket was a reference cycle kept until the next full collection
                scope.pop(DIRECT_WRITER, None)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """The request's uploads are closed when it ends (Starlette spools them in memory or in
        deleted temporary files; left to the garbage collector, they stayed for good)."""
        if self.is_websocket_request(request):
            OPEN_WEBSOCKETS.inc()
            try:
                return await super().run(request, context, root_value)
            finally:
                OPEN_WEBSOCKETS.dec()
        try:
            return await super().run(request, context, root_value)
        finally:
            await request.close()

    async def parse_http_body(self, request: Any) -> Any:
        """Uploads (multipart): refused, before their body is read, without a CSRF-safe header or
        a valid token (the size limit is openchannels/body_limits.py's, as the body streams in)."""
        if request.method == "POST" and "multipart/form-data" in (request.content_type or ""):
            headers = request.headers
            if not any(headers.get(name) for name in CSRF_SAFE_HEADERS):
                raise HTTPException(400, "A multipart request must send the header `Apollo-Require-Preflight: true`.")
            try:
                require_signed_in(await authenticate(headers.get("authorization"), trusted=self.trusted_tokens))
            except DomainError as error:
                raise MultipartRefused(error.message, error.code) from error
        return await super().parse_http_body(request)

    def encode_json(self, data: object) -> bytes:
        """orjson: a 50-chat list encodes in about 6 µs instead of json.dumps's 90 µs.

        (Bodies are still decoded by json.loads, which lets a lone surrogate through to the
        input checks, where it gets a userError naming the field rather than a bare 400.)

        orjson refuses integers beyond 64 bits, which JSON has: such an answer (an error quoting a
        number a client sent, say) is encoded by json.dumps instead of becoming a 500 over HTTP
        or no answer at all over a WebSocket."""
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            return json.dumps(data, separators=(",", ":")).encode()

    def parse_json(self, data: str | bytes) -> Any:
        """A body nested deeper than the JSON decoder can go is a bad request (400), not a 500."""
        try:
            return super().parse_json(data)
        except RecursionError as error:
            raise HTTPException(400, "The request body is nested too deeply.") from error

    async def get_context(self, request: Any, response: Any = None) -> Context:
        if request.scope["type"] == "websocket":
            context = Context(request=request, response=response,
                              platform=self.platform)  # authenticated in on_ws_connect
            context.rate_limits = RequestLimits.of(self.rate_limiter, request, None, self.trusted_proxy_hops)
            context.live_tokens = self.live_tokens
            context.public_url_source = partial(public_base, request, self.public_url, self.trusted_proxy_hops)
            return context
        limits = RequestLimits.of(self.rate_limiter, request, response, self.trusted_proxy_hops)
        authorization = request_headers(request.scope).get("authorization")
        try:
            viewer = await authenticate(authorization, trusted=self.trusted_tokens)
        except DomainError as error:
            context = Context(request=request, response=response, auth_error=error.message, platform=self.platform)
        else:
            context = Context(request=request, response=response, viewer=viewer, platform=self.platform)
            context.authorization = authorization
            context.refusal = await limits.check_token(viewer, authorization)
        context.rate_limits = limits
        context.live_tokens = self.live_tokens
        context.public_url_source = partial(public_base, request, self.public_url, self.trusted_proxy_hops)
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate from connection_init; a bad token is rejected (graphql-transport-ws closes 4403)."""
        authorization = init_authorization(context.connection_params)
        try:
            viewer, expires_at = await authenticate_with_expiry(authorization, fresh=True,
                                                                trusted=self.trusted_tokens)
        except DomainError as error:
            raise ConnectionRejectionError({"message": error.message})
        context.authenticate_as(viewer, expires_at, token_digest(authorization))  # followed: live_tokens.py
        context.authorization = authorization
        await self._count_presence(context, viewer.operator_id)
        return None

    async def _count_presence(self, context: Context, operator_id: int | None) -> None:
        """An operator's connection makes them connected from before its connection_ack until it closes
        (the handler's end: openchannels/websocket_limits.py). Presence is not worth a refused
        connection: a failure to write it is logged."""
        if self.presence is None or operator_id is None or context.presence_connection is not None:
            return  # (a second connection_init on the legacy protocol counts no second connection)
        try:
            context.presence_connection = await self.presence.opened(operator_id)
        except Exception:  # noqa: BLE001 - e.g. the database is unreachable right now
            log.warning("operator %s's connection is not counted in presence", operator_id, exc_info=True)


class Detachable:
    """An ASGI `receive` or `send` that can be let go of: called after `detach`, it raises.

    A WebSocket's handler is given its connection's callables through these. When it ends they
    are detached, so that whatever still holds the handler's request (a shared subscription's
    stream runs on in its first connection's context; with PLAIN_EXECUTION=off graphql-core's
    execution context of each operation is a reference cycle that holds its context) no longer
    holds uvicorn's protocol: 15 of 20 closed WebSockets waited in such cycles for a full
    collection (tests/graphql/test_websocket_garbage.py). The context itself is left whole: the
    stream may still need its viewer, which follows the token."""

    __slots__ = ("_call",)

    def __init__(self, call: Any) -> None:
        self._call = call

    def __call__(self, *args: Any) -> Any:
        call = self._call
        if call is None:
            raise RuntimeError("this WebSocket's handler has ended")
        return call(*args)

    def detach(self) -> None:
        self._call = None


class PlatformInUse:
    """Every request and WebSocket connection runs with the app's platform in use: what its use
    cases commit is published to the platform's broker, its subscriptions follow that broker."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        platform: Platform | None = getattr(scope["app"].state, "platform", None) if "app" in scope else None
        if platform is None:  # the lifespan (which makes it)
            await self.app(scope, receive, send)
            return
        with platform.in_use():
            await self.app(scope, receive, send)


class OpenChannelsApp(Starlette):
    """The Starlette app, with a short lane for GraphQL over WebSocket.

    Every middleware of the stack lets a WebSocket pass through untouched (they are for HTTP:
    CORS, body limits, request ids, Starlette's error pages), yet each kept a suspended frame per
    open connection, for as long as it stays open (about 4 KiB of the ~47 KiB an idle
    subscriber costs, measured with tracemalloc). A WebSocket to /graphql goes straight to the
    GraphQL app with the platform in use, as `PlatformInUse` would put it; every other scope takes
    the whole stack."""

    graphql_websocket: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        lane = self.graphql_websocket
        if lane is not None and scope["type"] == "websocket" and _route_path(scope) == "/graphql":
            scope["app"] = self
            platform: Platform | None = getattr(self.state, "platform", None)
            if platform is not None:
                with platform.in_use():
                    await lane(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _route_path(scope: Any) -> str:
    """The path the router matches (the path below the app's root path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


async def _presence_heartbeat(presence: ServerPresence, platform: Platform, stop: asyncio.Event) -> None:
    with platform.in_use():  # what it writes (connections registered again) is published
        await presence.run(stop)


async def _retire_presence(presence: ServerPresence, heartbeat: asyncio.Task, platform: Platform) -> None:
    """A clean shutdown: the heartbeat stops and this process's connections go now, not after the expiry."""
    heartbeat.cancel()
    with suppress(asyncio.CancelledError):
        await heartbeat
    try:
        with platform.in_use():
            await presence.retire()
    except Exception:  # noqa: BLE001 - the database is gone: the other processes' sweep removes them
        log.warning("presence: this process's connections were not removed at shutdown", exc_info=True)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> Starlette | metrics_endpoint.MetricsPort:
    """The app; `platform`: the outside services it uses (a test's), else the lifespan opens them from `settings`."""
    settings = settings or Settings()
    configure_logging(settings.log_format)
    check_mode(settings.worker_cpu_affinity)  # a wrong value stops the start here, before anything is opened
    graphql = GraphQLApp(
        schema_for(settings, tracing_extensions(settings.otel_endpoint)),
        graphql_ide=None if settings.env == "production" else "graphiql",
        allow_queries_via_get=True,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
        max_subscriptions_per_connection=settings.ws_max_subscriptions,
        allowed_origins=list(settings.cross_origins),
    )
    graphql.rate_limiter = RateLimiter.from_settings(settings)
    tokens: ValidTokens = platform.tokens if platform is not None else TokenCache(settings.token_cache_seconds)
    graphql.live_tokens = LiveTokens(tokens)
    graphql.websocket_limits = WebSocketLimits.from_settings(settings)
    graphql.websocket_connections = ConnectionsPerIP(settings.ws_max_connections_per_ip)
    graphql.trusted_proxy_hops = settings.trusted_proxy_hops
    graphql.trusted_documents.only = settings.persisted_operations_only
    graphql.public_url = check_public_url(settings.public_url) if settings.public_url else ""

    given_platform = platform

    @asynccontextmanager
    async def lifespan(app: Starlette):
        resources = AsyncExitStack()
        # the file storage first (S3: one client for the process), the broker once the database is there
        file_settings = given_platform.files if given_platform else \
            await resources.enter_async_context(open_file_storage(settings))
        await init_database(settings)
        await search.prepare_index()
        if given_platform is not None:
            running = given_platform
        else:
            running = await resources.enter_async_context(open_platform(settings, file_settings, tokens))
        graphql.platform = app.state.platform = running  # requests use it (PlatformInUse)
        log.info("Open Channels ready (database %s, broker %s)", settings.database_url.split("://")[0],
                 "redis" if settings.uses_redis else "in-process")
        stop_scheduler = asyncio.Event()
        scheduler_task = None
        presence_times = PresenceTimes(settings.presence_grace_seconds, settings.presence_heartbeat_seconds,
                                       settings.presence_process_expiry_seconds)
        server_presence = ServerPresence(presence_times)
        await server_presence.start()  # before the first WebSocket: its connections are this process's
        graphql.presence = server_presence
        heartbeat_task = asyncio.create_task(_presence_heartbeat(server_presence, running, stop_scheduler),
                                             name="presence-heartbeat")
        tune_garbage_collection(settings.gc_gen0_threshold)  # what exists now lives as long as the process
        keep_to_one_cpu(settings.worker_cpu_affinity)  # WORKER_CPU_AFFINITY=auto: each worker its own CPU
        if settings.scheduler_interval_seconds > 0:  # timers live in the database: every process may fire them
            scheduler_task = asyncio.create_task(scheduler.run(running, settings.scheduler_interval_seconds,
                                                               stop_scheduler, presence_times))
        recheck_task = asyncio.create_task(graphql.live_tokens.run(recheck_period(settings.token_cache_seconds),
                                                           stop_scheduler), name="live-tokens")
        metrics_sampler = metrics_endpoint.start_sampling()  # several processes: each samples its pool
        watch_garbage_collection()  # pauses and loop stalls as metrics: where a tail comes from
        loop_probe = asyncio.create_task(probe_event_loop(), name="event-loop-probe")
        try:
            yield
        finally:
            loop_probe.cancel()
            unwatch_garbage_collection()
            if metrics_sampler is not None:
                metrics_sampler.cancel()
            metrics_endpoint.forget_process()
            shutdown_tracing()
            restore_garbage_collection()
            let_go_of_cpu(settings.worker_cpu_affinity)
            stop_scheduler.set()
            recheck_task.cancel()
            with suppress(asyncio.CancelledError):
                await recheck_task
            if scheduler_task is not None:
                try:  # a tick in progress finishes (each item is its own transaction), or is cancelled
                    await asyncio.wait_for(scheduler_task, timeout=SCHEDULER_SHUTDOWN_SECONDS)
                except asyncio.TimeoutError:
                    log.warning("the scheduler did not stop in %s s: cancelled", SCHEDULER_SHUTDOWN_SECONDS)
            await _retire_presence(server_presence, heartbeat_task, running)
            graphql.presence = None
            await graphql.rate_limiter.aclose()
            await resources.aclose()  # the platform (the broker stops), then the file storage
            await close_database()

    # /metrics: on the main port behind METRICS_TOKEN, or alone on METRICS_PORT (openchannels/metrics_endpoint.py)
    metrics_route = ([Route("/metrics", metrics_endpoint.token_protected(settings.metrics_token), methods=["GET"])]
                     if settings.metrics_token and not settings.metrics_port else [])
    app = OpenChannelsApp(
        routes=[
            Route("/graphql", DatabaseUnavailableGuard(graphql), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/connectors/{connector_id:int}/events", connector_events, methods=["POST"]),
            Route("/payments/webhook", payments_webhook(settings.payment_webhook_secret), methods=["POST"]),
            Route("/files/{attachment_id:int}", download_file, methods=["GET"]),
            Route("/exports/conversations.csv", export_conversations, methods=["GET"]),
            Route("/exports/statistics.csv", export_statistics, methods=["GET"]),
            Route("/exports/clients/{client_id}.json", export_client, methods=["GET"]),
            *([graphiql_static_route()] if graphql.graphql_ide else []),
            *widget_routes(),  # the website chat widget (openchannels/widget/)
            *(console_routes() if settings.serves_console else []),  # the operator console (openchannels/console/)
            *metrics_route,
        ],
        middleware=[Middleware(RequestIds),  # a request id for the logs (infrastructure/request_ids.py)
                    Middleware(PlatformInUse),  # the platform's broker receives what requests commit
                    cors_middleware(settings),  # outside the body limits: their 413/414 carry the CORS headers
                    Middleware(BodyLimits, max_request_bytes=settings.max_request_bytes,
                               max_upload_bytes=settings.max_upload_bytes)],
        lifespan=lifespan,
    )
    app.graphql_websocket = graphql
    if platform is not None:  # ready before any lifespan (a test's app may run without one)
        graphql.platform = app.state.platform = platform
    return metrics_endpoint.MetricsPort(app, settings.metrics_port) if settings.metrics_port else app
