"""The request id: one per HTTP request, in a context variable that the logs and the masked
errors read (schema/error_policy.py), so that a client's "request id 3f2a..." finds every log line
of its request, the access log line included (uvicorn writes it from the request's task).

A WebSocket connection has no request id of its own: each masked error there gets a fresh one.
"""
from __future__ import annotations

import random
from contextvars import ContextVar
from typing import Any

#: the current HTTP request's id (None outside a request)
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


_random = random.Random()


def new_request_id() -> str:
    """12 hex digits, random (not secret: an id, not a key), unique enough to find a request's lines
    among a day of logs; a third of os.urandom's cost, paid by every request."""
    return f"{_random.getrandbits(48):012x}"


class RequestIds:
    """ASGI middleware: each HTTP request runs with a fresh id in `request_id`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_id.set(new_request_id())
        try:
            await self.app(scope, receive, send)
        finally:
            request_id.reset(token)
