"""WebSocket limits: what one connection may cost the server, on both subprotocols.

- **A bounded send queue.** Every outgoing message goes into the connection's queue and one
  writer task sends them in order. A client that stops reading lets the queue fill (the
  writer waits on the socket); when WS_SEND_QUEUE_SIZE messages are waiting, the queue is
  dropped, the subscriptions are stopped and the connection is closed with 4429. Memory per
  connection is therefore bounded by the queue, whatever the client does. A message with
  nothing queued before it, on a socket whose transport takes writes, is written at once, past
  the ASGI layers (openchannels/websocket_direct.py, `WS_DIRECT_SEND`): the queue and its writer
  are for a socket that does not keep up, and they keep the order (nothing overtakes a queued message).
- **Message size.** A message larger than WS_MAX_MESSAGE_BYTES closes the connection with
  1009 (`serve` also gives the limit to uvicorn, which refuses it before reading it whole).
- **connection_init timeout.** graphql-transport-ws closes with 4408; the legacy graphql-ws
  protocol has no such rule, and we close it with 4408 too. Both with a timer of the event loop
  (`ConnectionLimits.handle`), not Strawberry's task per graphql-transport-ws connection: that task,
  cancelled at connection_init, kept its cancellation error, two tracebacks and two frames for the
  connection's life. The timer is stopped at connection_ack. An idle connection with 3 subscriptions
  went from 165 to 153 objects the garbage collector tracks, and from 32.9 to 31.6 KiB.
- **Token expiry.** A connection authenticated with an operator token that expires is closed
  with 4403 at that moment; the client signs in again and resumes with `after`.
- **Revoked token.** Every live connection's token is read again periodically
  (services/identity/live_tokens.py): gone, the connection is closed with 4403; a changed role
  applies to the next event.
- **Visitor budget.** A connection_init with a visitor token, and each operation started on
  that connection, count against that token's rate limit (openchannels/rate_limits.py); over
  it, the connection is closed with 4429.
- **Connections per IP, idle anonymous connections**: openchannels/websocket_admission.py
  (1013 over WS_MAX_CONNECTIONS_PER_IP; 1000 after WS_ANONYMOUS_IDLE_SECONDS without an
  operation and without a token).
- **Malformed messages and unexpected failures** get an answer on both protocols, never
  silence: openchannels/websocket_messages.py.
- **Presence.** A connection authenticated as an operator counts as theirs from before its
  connection_ack (openchannels/app.py `on_ws_connect`) until it closes, here
  (services/chats/server_presence.py: `Operator.connected`, `lastSeenAt`).

The two protocol handlers that mix these in are in openchannels/websocket_handlers.py.

The cap on operations per connection (WS_MAX_SUBSCRIPTIONS) is Strawberry's own
`max_subscriptions_per_connection`: the operation over it gets an `error` message.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any, AsyncGenerator, Callable, Mapping

from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected

from infrastructure.availability import is_database_unavailable
from infrastructure.lru import LRU
from services.chats.server_presence import ServerPresence
from services.identity.live_tokens import LiveToken, LiveTokens
from openchannels.rate_limits import VISITOR_TOKEN, visitor_token_subject
from openchannels.websocket_admission import (
    CLOSE_IDLE, CLOSE_TOO_MANY_FROM_ADDRESS, ConnectionsPerIP, IdleWatch,
)
from openchannels.websocket_direct import SCOPE_KEY, DirectWriter, direct_send_available, frame_of
from openchannels.websocket_messages import NOT_JSON, malformed, masked_message

if TYPE_CHECKING:
    from openchannels.shared_subscriptions import Batch

log = logging.getLogger("openchannels.websocket")

CLOSE_TOKEN_EXPIRED = 4403
CLOSE_INIT_TIMEOUT = 4408
CLOSE_TOO_MANY = 4429
CLOSE_TOO_BIG = 1009
#: the standard "Try Again Later" close code: the database cannot be reached right now
CLOSE_TRY_AGAIN_LATER = 1013
#: a normal close first sends what is queued, for at most this long
FLUSH_SECONDS = 5.0
#: the close frame of a slow consumer waits behind what the socket already holds; give up after this
CLOSE_SECONDS = 30.0


@dataclass(frozen=True)
class WebSocketLimits:
    send_queue_size: int = 256
    max_message_bytes: int = 1024 * 1024
    connection_init_timeout_seconds: float = 10.0
    #: 0: no limit (openchannels/websocket_admission.py)
    max_connections_per_ip: int = 50
    #: 0: anonymous connections are never closed for idleness
    anonymous_idle_seconds: float = 60.0
    #: frames written to the socket's transport past the ASGI layers (openchannels/websocket_direct.py)
    direct_send: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> WebSocketLimits:
        return cls(send_queue_size=settings.ws_send_queue_size, max_message_bytes=settings.ws_max_message_bytes,
                   connection_init_timeout_seconds=settings.ws_connection_init_timeout_seconds,
                   max_connections_per_ip=settings.ws_max_connections_per_ip,
                   anonymous_idle_seconds=settings.ws_anonymous_idle_seconds,
                   direct_send=settings.ws_direct_send and direct_send_available())


def init_authorization(payload: Any) -> str | None:
    """The Authorization value of a connection_init payload {"authorization": "Bearer <token>"}."""
    if not isinstance(payload, dict):
        return None
    value = payload.get("authorization") or payload.get("Authorization")
    return value if isinstance(value, str) else None


#: documents of subscriptions now open, one string each however many connections sent it (a
#: dashboard's few documents arrive on thousands of sockets; each kept its own copy: ~1 KiB an
#: idle subscriber of three subscriptions)
_DOCUMENTS: LRU[str, str] = LRU(512)
_SHARED_DOCUMENT_CHARS = 16 * 1024


def share_document(message: Any) -> Any:
    """The message, its payload's `query` replaced by an equal string already held, if there is one."""
    if type(message) is dict:
        payload = message.get("payload")
        if type(payload) is dict:
            query = payload.get("query")
            if type(query) is str and len(query) <= _SHARED_DOCUMENT_CHARS:
                held = _DOCUMENTS.get(query)
                if held is None:
                    _DOCUMENTS.put(query, query)
                else:
                    payload["query"] = held
    return message


class BoundedWebSocketAdapter(ASGIWebSocketAdapter):
    """The connection as Strawberry's handlers see it, with a bounded send queue."""

    def __init__(self, view: Any, request: Any, response: Any) -> None:
        super().__init__(view, request, response)
        self.limits: WebSocketLimits = getattr(view, "websocket_limits", None) or WebSocketLimits()
        self._outbox: deque[str | bytes] = deque()
        #: writes frames past the ASGI layers when the connection allows it (None: always the ASGI
        #: path: WS_DIRECT_SEND off, another uvicorn, wsproto, permessage-deflate, a wrapped send)
        self._direct: DirectWriter | None = response.scope.get(SCOPE_KEY) if self.limits.direct_send else None
        #: sends what is queued, then ends (an idle connection holds no task and no event: a
        #: waiting writer with its two Events cost ~2.5 KiB per idle subscriber)
        self._writer: asyncio.Task | None = None
        #: the writer has taken a message and is sending it
        self._in_flight = False
        #: (code, reason) once the connection is closing: nothing more is queued
        self._closing: tuple[int, str] | None = None
        self._close_sent = False
        #: the server decided to close: the read loop ends, the handler shuts down
        self._reads_ended = False
        #: the task waiting for the client's next message, while it waits (`_stopping` interrupts the
        #: wait), and whether `_stopping` did: the read loop awaits the message itself, with no task
        #: and no `asyncio.wait` per message (they held 18 objects and 2.5 KiB of each idle connection)
        self._reading: asyncio.Task | None = None
        self._interrupted = False

    # ------------------------------------------------------------------ sending

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self._closing is None:  # closing: the client will not read it anyway
            try:
                encoded = self.view.encode_json_string(message)  # a text frame, as the protocols want
            except Exception as error:  # noqa: BLE001 - answered, masked (websocket_messages.py)
                encoded = self.view.encode_json_string(masked_message(message, error))
            self.send_encoded(encoded)

    def send_encoded(self, text: str) -> None:
        """Send a message already encoded: written to the socket at once when nothing is waiting before it and
        the socket takes it (openchannels/websocket_direct.py), else queued."""
        if self._closing is None and not self._written_directly(frame_of, text):
            self._queue(text)

    def send_batch(self, batch: Batch, prefix: str) -> None:
        """Send a shared subscription's results to one member (openchannels/shared_subscriptions.py): their
        frames in one write when nothing is waiting before them and the socket takes it, else each queued."""
        if self._closing is None and not self._written_directly(batch.frames, prefix):
            for text in batch.texts(prefix):
                self._queue(text)

    def _written_directly(self, frames: Callable[[str], bytes], argument: str) -> bool:
        """Write `frames(argument)` to the socket past the ASGI layers, if nothing is waiting before it and the
        socket takes it; False when it must be queued instead."""
        direct = self._direct
        if direct is None or self._writer is not None or self._outbox or not direct.ready():
            return False
        try:
            data = frames(argument)
        except UnicodeEncodeError:  # (a lone surrogate) the ASGI path fails it as it always did
            return False
        direct.write(data)
        return True

    def _queue(self, text: str) -> None:
        """Queue a message for the writer task (started if none runs), or close a socket whose client does not read."""
        if self._closing is not None:
            return
        if len(self._outbox) >= self.limits.send_queue_size:
            log.info("closing a WebSocket whose client does not read (%d messages waiting)", len(self._outbox))
            self.request_close(CLOSE_TOO_MANY, "Too many messages waiting: the client does not read")
            return
        self._outbox.append(text)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="websocket-writer")

    async def _write(self) -> None:
        try:
            while self._outbox:
                self._in_flight = True
                await self._send(self._outbox.popleft())
                self._in_flight = False
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the client is gone: nothing more can be sent
            self._closing = self._closing or (1006, "")
            self._close_sent = True
            self._outbox.clear()
            self._stopping()
        finally:
            # nothing awaited between the empty outbox and here: a message queued from now on
            # starts a new writer
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _send(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_text(data)

    def _cancel_writer(self) -> None:
        """Stop the writer; it is never stopped in the middle of a message it took."""
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None

    # ------------------------------------------------------------------ closing

    def _stopping(self) -> None:
        if self._reads_ended:
            return
        self._reads_ended = True
        if self._reading is not None:  # (never the current task: it waits in `_receive_or_stop`)
            self._interrupted = True
            self._reading.cancel()

    @property
    def closing(self) -> bool:
        """The server decided to close (or the client is gone): nothing more is sent."""
        return self._closing is not None

    def request_close(self, code: int, reason: str) -> None:
        """Close from the server's side (slow consumer, expired token, ...): what is queued is
        dropped, the read loop ends, and the handler's shutdown sends the close frame."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        self._outbox.clear()
        self._cancel_writer()
        self._stopping()

    async def close(self, code: int, reason: str) -> None:
        """A close decided by the protocol handler: what was queued before it goes out first,
        from this task, so that nothing the client sends meanwhile can come in between."""
        if self._close_sent:
            return
        if self._closing is None:
            self._closing = (code, reason)
            with suppress(Exception):
                async with asyncio.timeout(FLUSH_SECONDS):
                    writer = self._writer
                    if writer is not None and self._in_flight:  # let it finish (wait does not cancel it)
                        await asyncio.wait((writer,))
                    self._cancel_writer()
                    while self._outbox:
                        await self._send(self._outbox.popleft())
        await self._send_close(*self._closing)

    async def finish(self) -> None:
        """The handler is done: send a close that was requested, stop the writer."""
        if self._closing is not None and not self._close_sent:
            await self._send_close(*self._closing)
        self._cancel_writer()

    async def _send_close(self, code: int, reason: str) -> None:
        self._close_sent = True
        self._cancel_writer()
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        try:
            async with asyncio.timeout(CLOSE_SECONDS):  # not wait_for: no task, so no yield before it is sent
                await self.ws.close(code=code, reason=reason)
        except Exception:  # noqa: BLE001 - gone, or never read: nothing more to do
            log.debug("WebSocket close %s not sent", code, exc_info=True)

    # ------------------------------------------------------------------ receiving

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        """Like Strawberry's, but ends as soon as the server decides to close, and refuses
        messages over the size limit. `ignore_parsing_errors` (the legacy protocol): text that
        is not JSON comes out as NOT_JSON, for the handler to answer (websocket_messages.py)."""
        while not self._reads_ended and self.ws.application_state != WebSocketState.DISCONNECTED:
            message = await self._receive_or_stop()
            if message is None or message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                raise NonTextMessageReceived()
            if self._too_big(text):
                self.request_close(CLOSE_TOO_BIG, "Message too big")
                return
            try:
                decoded = self.view.decode_json(text)
            except (JSONDecodeError, RecursionError) as error:  # nested deeper than the decoder goes
                if ignore_parsing_errors:
                    yield NOT_JSON
                    continue
                raise NonJsonMessageReceived() from error
            yield share_document(decoded)

    async def _receive_or_stop(self) -> Mapping[str, Any] | None:
        """The client's next ASGI message, or None once the server decided to close (`_stopping`
        cancels this wait; a message the client sent meanwhile stays unread in uvicorn's queue)."""
        task = asyncio.current_task()
        if self._reads_ended or task is None:
            return None
        self._reading = task
        try:
            return await self.ws.receive()
        except asyncio.CancelledError:
            if not self._interrupted:
                raise
            self._interrupted = False
            if task.uncancel():  # cancelled from elsewhere as well (the connection's task): that goes on
                raise
            return None
        finally:
            self._reading = None

    def _too_big(self, text: str) -> bool:
        limit = self.limits.max_message_bytes
        if len(text) > limit:
            return True
        return len(text) * 4 > limit and len(text.encode()) > limit


class ConnectionLimits:
    """Mixed into both protocol handlers (before Strawberry's base class)."""

    #: close with 4408 when connection_init has not come in WS_CONNECTION_INIT_TIMEOUT_SECONDS
    enforce_init_timeout = False
    #: the message types that start (True) or stop (False) an operation; every known type, when
    #: Strawberry does not refuse unknown ones itself (websocket_messages.py)
    operation_messages: dict[str, bool] = {}
    known_messages: set[str] | None = None
    #: watches an anonymous connection for idleness (set after its connection_init)
    _idle: IdleWatch | None = None
    #: closes the connection when connection_init has not come in (enforce_init_timeout); stopped at connection_ack
    _init_timer: asyncio.TimerHandle | None = None
    if TYPE_CHECKING:  # set by the Strawberry handler this is mixed into
        view: Any
        context: Any
        websocket: Any
        connection_acknowledged: bool

    async def handle(self) -> None:
        self._timers: list[asyncio.TimerHandle] = []
        self._expiry_scheduled = False
        #: the token the connection was opened with, re-checked (services/identity/live_tokens.py)
        self._live_token: LiveToken | None = None
        #: the visitor token's key when the connection was opened with one: its operations count
        self._visitor_subject: str | None = None
        connections: ConnectionsPerIP | None = getattr(self.view, "websocket_connections", None)
        ip = getattr(getattr(self.context, "rate_limits", None), "ip", None)
        if connections is None or ip is None:
            connections = None
        elif not connections.admit(ip):
            log.info("refusing a WebSocket from %s: %d open from there already", ip, connections.open_from(ip))
            self.websocket.request_close(CLOSE_TOO_MANY_FROM_ADDRESS,
                                         "Too many connections from your address: try again later")
            await self.websocket.finish()
            return
        if self.enforce_init_timeout:
            seconds = self.websocket.limits.connection_init_timeout_seconds
            self._init_timer = asyncio.get_running_loop().call_later(seconds, self._init_timed_out)
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            self._stop_init_timer()
            for timer in self._timers:
                timer.cancel()
            if self._idle is not None:
                self._idle.cancel()
            if connections is not None and ip is not None:  # admitted: both are set
                connections.release(ip)
            if self._live_token is not None:
                self._live_tokens().leave(self._live_token, self.websocket)
            presence, held = self._server_presence(), getattr(self.context, "presence_connection", None)
            if held is not None and presence is not None:  # (retired at shutdown: nothing to do)
                await presence.closed(held)
            await self.websocket.finish()

    def _stop_init_timer(self) -> None:
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None

    def _init_timed_out(self) -> None:
        self._init_timer = None
        if not self.connection_acknowledged:
            self.websocket.request_close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")

    async def handle_message(self, message: Any) -> None:
        """A malformed message is refused; each operation a visitor starts counts against the
        token's budget, like an HTTP request; an unexpected failure is answered, masked."""
        reason = malformed(message, self.operation_messages, self.known_messages)
        if reason is not None:
            await self.refuse_malformed(message, reason)
            return
        starts = self.operation_messages.get(message["type"], False)
        if starts and self._idle is not None:
            self._idle.touch()
        if starts and self._visitor_subject is not None and await self._visitor_over_budget():
            return
        try:
            await super().handle_message(message)  # type: ignore[misc]
        except WebSocketDisconnected:
            raise
        except Exception as error:
            if not is_database_unavailable(error):
                await self.answer_failure(message, error)
                return
            # e.g. the token cannot be checked at connection_init: not a 4403 (the token may be
            # fine, and graphql-ws clients stop retrying after it) but "try again later"
            log.warning("WebSocket %s not handled: the database is unavailable (%r)",
                        message.get("type") if isinstance(message, dict) else "message", error)
            self.websocket.request_close(CLOSE_TRY_AGAIN_LATER, "The database is unavailable: try again shortly")

    async def handle_connection_init(self, message: Any) -> None:
        self._visitor_subject = visitor_token_subject(init_authorization(message.get("payload")))
        if self._visitor_subject is not None and await self._visitor_over_budget():
            return
        await super().handle_connection_init(message)  # type: ignore[misc]
        if self.connection_acknowledged:
            self._stop_init_timer()
        if self.connection_acknowledged and not self._expiry_scheduled:
            self._expiry_scheduled = True
            self._close_at_token_expiry(getattr(self.context, "token_expires_at", None))
            self._follow_token()
            seconds = self.websocket.limits.anonymous_idle_seconds
            if seconds > 0 and init_authorization(message.get("payload")) is None and self._idle is None:
                self._idle = IdleWatch(seconds, self.runs_an_operation, lambda: self.websocket.request_close(
                    CLOSE_IDLE, f"Closed after {seconds:g} s without an operation (no token)"))

    def runs_an_operation(self) -> bool:
        raise NotImplementedError

    async def refuse_malformed(self, message: Any, reason: str) -> None:
        raise NotImplementedError

    async def answer_failure(self, message: Any, error: Exception) -> None:
        """An unexpected exception while handling `message`: the masked error, for the client to read."""
        raise NotImplementedError

    async def _visitor_over_budget(self) -> bool:
        """Count one call of the visitor token; over the budget, the connection is closed with 4429."""
        limiter = getattr(self.view, "rate_limiter", None)
        if limiter is None or self._visitor_subject is None:
            return False
        verdict = await limiter.hit(VISITOR_TOKEN, self._visitor_subject)
        if verdict.allowed:
            return False
        self.websocket.request_close(CLOSE_TOO_MANY, f"Too many requests: retry in {verdict.retry_after_seconds} s")
        return True

    def _live_tokens(self) -> LiveTokens:
        """The application's live tokens (made by create_app, openchannels/app.py)."""
        return self.view.live_tokens

    def _follow_token(self) -> None:
        """The connection's viewer follows its token from now on: a revocation closes it with
        4403, a role change applies to the next event (services/identity/live_tokens.py)."""
        digest = getattr(self.context, "token_digest", None)
        if digest is None or self.websocket.closing:
            return
        self._live_token = self._live_tokens().join(digest, self.context.viewer, self.websocket)
        self.context.follow(self._live_token)

    def _server_presence(self) -> ServerPresence | None:
        """This process in the presence tables (None: an app without its lifespan, as some tests run)."""
        return getattr(self.view, "presence", None)

    def _close_at_token_expiry(self, expires_at: datetime | None) -> None:
        if expires_at is None:
            return
        delay = (expires_at - datetime.now(timezone.utc)).total_seconds()
        self._timers.append(asyncio.get_running_loop().call_later(
            max(0.0, delay), self.websocket.request_close, CLOSE_TOKEN_EXPIRED, "Token expired"))
