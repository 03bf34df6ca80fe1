"""Every request body is limited while it streams in, before anything keeps it.

- A multipart body to /graphql (an upload) may be MAX_UPLOAD_BYTES plus its envelope; every
  other body (a JSON POST, a connector's or the payment provider's notification) and every
  query string MAX_REQUEST_BYTES.
- A declared Content-Length over the limit is refused before a byte is read; a body sent
  chunked (no length) is counted message by message, and refused at the first byte past the
  limit: the parser that reads it (Starlette's multipart spooler, `request.body()`) never gets
  more than the limit.
- The refusal is 413 (414 for a query string), sent at once, with a GraphQL-shaped JSON body
  whose `extensions.code` is REQUEST_TOO_LARGE (URI_TOO_LONG). The rest of the body is read
  by uvicorn and dropped as it comes, never kept. (Closing the connection instead would not
  stop a client that is still sending: its kernel answers the unread bytes with a reset that
  destroys the 413 before the client reads it, and uvicorn has no lingering close.)

Who may send a multipart body at all (a caller with a token, sending a CSRF-safe header) is
checked before its body is read (openchannels/app.py, GraphQLApp.parse_http_body).
"""
from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openchannels.request_headers import request_headers

REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
URI_TOO_LONG = "URI_TOO_LONG"
#: room for the multipart envelope (operations, map, part headers) around the file itself
MULTIPART_OVERHEAD_BYTES = 64 * 1024
#: the path whose multipart bodies are uploads
UPLOAD_PATH = "/graphql"


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """A refusal before any operation ran, shaped as a GraphQL response: one error with a code."""
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


class BodyTooLarge(Exception):
    """Raised by the counting `receive` at the first byte past the limit (not a ValueError: no
    parser on the way may take it for a malformed body)."""


class BodyLimits:
    """ASGI middleware for HTTP requests (WebSockets pass through: WS_MAX_MESSAGE_BYTES holds there)."""

    def __init__(self, app: ASGIApp, *, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    def limit_of(self, scope: Scope) -> int:
        if scope["path"] == UPLOAD_PATH and _is_multipart(scope):
            return self.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
        return self.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_request_bytes:
            response = error_response(414, URI_TOO_LONG,
                                      f"The query string is longer than {self.max_request_bytes} bytes: "
                                      "send the operation in a POST body.")
            await response(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:  # an app that answered before reading all of its body: nothing more to say
                return
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    """413, made when a request is refused (not for every request: rendering it costs ~15 µs)."""
    return error_response(413, REQUEST_TOO_LARGE, f"The request body is larger than {limit} bytes.")


def _is_multipart(scope: Scope) -> bool:
    return request_headers(scope).get("content-type", "").lower().startswith("multipart/form-data")


def _content_length(scope: Scope) -> int | None:
    value = request_headers(scope).get("content-length")
    # isascii too: a Latin-1 str's isdigit also takes '²' and its kin, which int() refuses
    return int(value) if value is not None and value.isascii() and value.isdigit() else None
