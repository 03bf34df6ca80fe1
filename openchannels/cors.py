"""CORS: which pages on other origins may call the HTTP API (`/graphql`, uploads, `/files/...`).

The origins are OPENCHANNELS_ALLOWED_ORIGINS, the list the WebSocket handshake checks too
(Settings.cross_origins: by default any in development, none in production; a page on the
server's own origin never needs to be listed). Starlette's CORSMiddleware answers the
preflight (`OPTIONS` with `Access-Control-Request-Method`) before routing, and puts
`Access-Control-Allow-Origin` and `Vary: Origin` on every answer, the early ones included:
it wraps the body limits (413, 414) and the GraphQL view (401 on an upload), because a
browser hides from the page any answer without them, errors too.

No credentials: callers send a bearer token (`Authorization`), never a cookie.
"""
from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from strawberry.http.websocket_origin import normalize_allowed_origins

from infrastructure.settings import Settings

ALLOWED_METHODS = ("GET", "POST", "OPTIONS")
#: what GraphQL clients send besides the safelisted Accept and Content-Type: the token, the
#: CSRF-safe headers of uploads (openchannels/app.py), Apollo's client awareness, and tracing
#: (W3C trace context and baggage, Sentry, request ids)
ALLOWED_HEADERS = (
    "Authorization", "Content-Type",
    "Apollo-Require-Preflight", "X-Apollo-Operation-Name", "GraphQL-Preflight",
    "ApolloGraphQL-Client-Name", "ApolloGraphQL-Client-Version",
    "traceparent", "tracestate", "baggage", "sentry-trace", "X-Request-Id",
)
#: response headers a page may read: when to retry (rate limits, database unavailable), and the
#: request id a client reports
EXPOSED_HEADERS = ("Retry-After", "X-Request-Id")


def cors_middleware(settings: Settings) -> Middleware:
    """The middleware for `settings`' origins (normalised as browsers send them: lowercase, no default port)."""
    return Middleware(CORSMiddleware, allow_origins=sorted(normalize_allowed_origins(settings.cross_origins)),
                      allow_methods=ALLOWED_METHODS, allow_headers=ALLOWED_HEADERS,
                      expose_headers=EXPOSED_HEADERS, allow_credentials=False,
                      max_age=settings.cors_max_age_seconds)
