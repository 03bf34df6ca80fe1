"""Keepalive pings go out on one timer per process (openchannels/websocket_protocol.py KeepaliveTicks).

Real uvicorn with the protocols `serve` runs (tests/e2e/server.py serving_in_process), real
sockets; the clients are the websockets library's sans-I/O client protocol over asyncio streams,
so a test decides whether a client answers pings.
What a user of the server relies on: every connection is pinged every `ws_ping_interval`, one
that answers stays open, one that does not is closed with 1011 after `ws_ping_timeout`.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from openchannels.websocket_protocol import KEEPALIVE_TICK_SECONDS, keepalive_ticks
from tests.e2e.server import serving_in_process

INTERVAL = 0.5
TIMEOUT = 0.5
#: how late a timer may fire on a busy machine (CI runs two test processes on 2 cores)
LATE = 0.5


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


class _Client:
    """One WebSocket: the library's client protocol, its bytes carried by asyncio streams; pings are
    answered only when `answers` (the library queues each pong: they are written or dropped here)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: ClientProtocol,
                 answers: bool) -> None:
        self.reader, self.writer, self.protocol, self.answers = reader, writer, protocol, answers
        self.pings: list[float] = []
        self.texts: list[str] = []
        self.close_code: int | None = None
        self.reading = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, *, answers: bool) -> _Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
        protocol.send_request(protocol.connect())
        writer.write(b"".join(protocol.data_to_send()))
        while not any(isinstance(event, Response) for event in protocol.events_received()):
            protocol.receive_data(await reader.read(65536))
        return cls(reader, writer, protocol, answers)

    async def _read(self) -> None:
        while (data := await self.reader.read(65536)):
            self.protocol.receive_data(data)
            for frame in self.protocol.events_received():
                if frame.opcode is Opcode.PING:
                    self.pings.append(time.monotonic())
                elif frame.opcode is Opcode.TEXT:
                    self.texts.append(frame.data.decode())
                elif frame.opcode is Opcode.CLOSE and self.protocol.close_rcvd is not None:
                    self.close_code = self.protocol.close_rcvd.code
            outgoing = self.protocol.data_to_send()
            if self.answers or self.close_code is not None:
                self.writer.write(b"".join(outgoing))

    async def echo(self, text: str) -> str:
        self.protocol.send_text(text.encode())
        self.writer.write(b"".join(self.protocol.data_to_send()))
        for _ in range(200):
            if text in self.texts:
                return text
            await asyncio.sleep(0.01)
        raise AssertionError(f"no echo of {text!r}")

    async def close(self) -> None:
        self.reading.cancel()
        self.writer.close()


def _serving() -> Any:  # an async context manager: the server, stopped at its end
    return serving_in_process(_echo, ws_ping_interval=INTERVAL, ws_ping_timeout=TIMEOUT)


async def test_answered_pings_keep_connections_open_on_one_timer():
    async with _serving() as server:
        clients = [await _Client.open(server.config.port, answers=True) for _ in range(20)]
        try:
            opened = time.monotonic()
            await asyncio.sleep(4 * INTERVAL + 3 * KEEPALIVE_TICK_SECONDS)
            for number, client in enumerate(clients):
                assert await client.echo(f"still open {number}") == f"still open {number}"
                assert client.close_code is None
                # a ping every INTERVAL, never early (the ticks delay each by at most one tick; LATE: a busy machine's lag)
                assert 2 <= len(client.pings) <= 5, client.pings
                gaps = [b - a for a, b in zip(client.pings, client.pings[1:])]
                assert all(INTERVAL - 0.1 <= gap <= INTERVAL + KEEPALIVE_TICK_SECONDS + LATE for gap in gaps), gaps
                assert client.pings[0] - opened <= INTERVAL + KEEPALIVE_TICK_SECONDS + LATE
            protocols = list(server.server_state.connections)
            assert len(protocols) == 20
            for protocol in protocols:
                assert protocol.last_ping_rtt > 0  # the pongs came back and were matched to their pings
                # no timer of the connection's own: uvicorn's are unused
                assert protocol.ping_timer is None and protocol.pong_timer is None
            assert len(keepalive_ticks(asyncio.get_running_loop())) == 20
        finally:
            for client in clients:
                await client.close()
    assert len(keepalive_ticks(asyncio.get_running_loop())) == 0  # closed connections leave the ticks


async def test_a_connection_that_does_not_answer_is_closed_with_1011_after_the_timeout():
    async with _serving() as server:
        silent = await _Client.open(server.config.port, answers=False)
        answering = await _Client.open(server.config.port, answers=True)
        try:
            opened = time.monotonic()
            for _ in range(int((INTERVAL + TIMEOUT + 2 * KEEPALIVE_TICK_SECONDS + 3 * LATE) / 0.05)):
                if silent.close_code is not None:
                    break
                await asyncio.sleep(0.05)
            closed = time.monotonic()
            assert silent.close_code == 1011  # uvicorn's "keepalive ping timeout"
            assert len(silent.pings) == 1
            assert INTERVAL + TIMEOUT - 0.1 <= closed - opened <= INTERVAL + TIMEOUT + 2 * KEEPALIVE_TICK_SECONDS + LATE
            assert await answering.echo("open") == "open" and answering.close_code is None
        finally:
            await silent.close()
            await answering.close()
