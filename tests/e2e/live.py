"""A small GraphQL-over-WebSocket client for the tests, speaking both subprotocols.

- ``graphql-transport-ws`` (the graphql-ws library's protocol): subscribe / next / error /
  complete, ping / pong;
- ``graphql-ws`` (the legacy subscriptions-transport-ws protocol): start / data / error /
  complete / stop, ka keep-alives.

Every wait is bounded: `next()` gives up after a few seconds with a clear message.
"""
from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
#: how long a test waits for one expected event
EVENT_TIMEOUT = 5.0


class LiveClosed(Exception):
    """The server closed the WebSocket."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code} {reason!r}")
        self.code = code
        self.reason = reason


class LiveError(Exception):
    """The server answered a subscription with GraphQL errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"subscription error: {errors}")
        self.errors = errors

    @property
    def codes(self) -> list[str | None]:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]


class LiveCompleted(Exception):
    """The server completed the subscription."""


class LiveSubscription:
    def __init__(self, connection: LiveConnection, operation_id: str) -> None:
        self.connection = connection
        self.id = operation_id
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def next(self, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The `data` of the next result; raises on errors, completion or a closed socket."""
        try:
            kind, payload = await asyncio.wait_for(self.inbox.get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no event within {timeout} s on subscription {self.id}") from None
        if kind == "next":
            if payload.get("errors"):
                raise LiveError(payload["errors"])
            return payload["data"]
        if kind == "error":
            raise LiveError(payload if isinstance(payload, list) else [payload])
        if kind == "complete":
            raise LiveCompleted()
        raise LiveClosed(*payload)

    async def stop(self) -> None:
        stop = "complete" if self.connection.protocol == TRANSPORT_WS else "stop"
        await self.connection.send({"id": self.id, "type": stop})


class LiveConnection:
    """One WebSocket to /graphql; `async with` opens it (connection_init, ack) and closes it."""

    def __init__(self, url: str, *, protocol: str = TRANSPORT_WS, token: str | None = None,
                 init_payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        assert protocol in PROTOCOLS
        self.url = url
        #: more headers for the handshake (e.g. X-Forwarded-For)
        self.headers = headers
        self.protocol = protocol
        self.init_payload = init_payload if init_payload is not None else (
            {"authorization": f"Bearer {token}"} if token else {}
        )
        self.ws: websockets.ClientConnection | None = None
        self.subscriptions: dict[str, LiveSubscription] = {}
        self._ids = itertools.count(1)
        self._acknowledged = asyncio.Event()
        self._closed: tuple[int | None, str] | None = None
        self._closed_event = asyncio.Event()
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> LiveConnection:
        await self.open()
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def open(self, timeout: float = EVENT_TIMEOUT) -> LiveConnection:
        """Connect and initialise; LiveClosed if the server closes the socket instead of acknowledging."""
        self.ws = await websockets.connect(self.url, subprotocols=[self.protocol], open_timeout=timeout,
                                           close_timeout=2, additional_headers=self.headers)
        assert self.ws.subprotocol == self.protocol, f"server chose {self.ws.subprotocol!r}"
        self._reader = asyncio.create_task(self._read())
        try:
            await self.send({"type": "connection_init", "payload": self.init_payload})
        except ConnectionClosed:
            pass  # the server closed it at once (e.g. 1013): the reader reports the close below
        ack = asyncio.create_task(self._acknowledged.wait())
        closed = asyncio.create_task(self._closed_event.wait())
        done, pending = await asyncio.wait({ack, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if self._acknowledged.is_set():
            return self
        await self.close()
        if self._closed is not None:
            raise LiveClosed(*self._closed)
        raise AssertionError(f"no connection_ack within {timeout} s")

    async def wait_closed(self, timeout: float = EVENT_TIMEOUT) -> tuple[int | None, str]:
        try:
            await asyncio.wait_for(self._closed_event.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"the server did not close the WebSocket within {timeout} s") from None
        assert self._closed is not None
        return self._closed

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> LiveSubscription:
        subscription = LiveSubscription(self, str(next(self._ids)))
        self.subscriptions[subscription.id] = subscription
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"id": subscription.id, "type": start,
                         "payload": {"query": query, "variables": variables or {}}})
        return subscription

    async def send(self, message: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(message))

    async def close(self) -> None:
        if self.ws is not None:
            if self.protocol == LEGACY_WS and self._closed is None:
                try:
                    await self.send({"type": "connection_terminate"})
                except ConnectionClosed:
                    pass
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader.cancel()

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                await self._dispatch(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            close = self.ws.protocol.close_rcvd  # None: the connection dropped without a close frame
            self._closed = (close.code, close.reason) if close else (None, "")
            self._closed_event.set()
            for subscription in self.subscriptions.values():
                subscription.inbox.put_nowait(("closed", self._closed))

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "connection_ack":
            self._acknowledged.set()
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind in ("pong", "ka"):
            pass
        elif kind in ("next", "data", "error", "complete"):
            subscription = self.subscriptions.get(message.get("id", ""))
            if subscription is not None:
                subscription.inbox.put_nowait(("next" if kind == "data" else kind, message.get("payload")))
        elif kind == "connection_error":
            self._closed = (None, json.dumps(message.get("payload")))
            self._closed_event.set()


async def first_answer(url: str, protocol: str, token: str | None, message: str,
                       timeout: float = EVENT_TIMEOUT) -> dict[str, Any] | LiveClosed:
    """Open a WebSocket, initialise it (with `token`), send `message` as it is (raw text) and
    return the server's first answer to it: a message, or LiveClosed when the server closes.
    No answer within `timeout` (keep-alives aside) is a failure: silence."""
    async with websockets.connect(url, subprotocols=[protocol], open_timeout=timeout, close_timeout=2,
                                  max_size=None) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}"} if token else {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        assert ack["type"] == "connection_ack", ack
        await ws.send(message)
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            except asyncio.TimeoutError:
                raise AssertionError(f"silence: no answer within {timeout} s") from None
            except ConnectionClosed as closed:
                return LiveClosed(closed.rcvd.code if closed.rcvd else None, closed.rcvd.reason if closed.rcvd else "")
            if frame.get("type") not in ("ka", "ping", "pong"):
                return frame
