"""Frames written past the ASGI layers (openchannels/websocket_direct.py) read uvicorn's private parts:
only the pinned release, and on a real uvicorn connection each frame arrives as the ASGI path's would,
in the order it was written, and never where the direct path must not be used (permessage-deflate,
a wrapped `send`, a paused transport, a closed connection)."""
from __future__ import annotations

import asyncio
import importlib.util
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import uvicorn
import websockets
from websockets.asyncio.client import connect

from bench.ports import free_port
from openchannels.http_protocol import TESTED_UVICORN
from openchannels.shared_subscriptions import Batch, Delivery
from openchannels.websocket_direct import SCOPE_KEY, direct_send_available, direct_writer, frame_of, text_frame
from openchannels.websocket_limits import BoundedWebSocketAdapter, WebSocketLimits

ROOT = Path(__file__).resolve().parents[2]


def test_uvicorn_is_the_release_the_direct_send_was_written_for():
    """DirectWriter reads uvicorn internals: moving the pin must fail here first (then check each
    attribute it reads against the new release, and move TESTED_UVICORN with the pin)."""
    assert uvicorn.__version__ == TESTED_UVICORN
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"uvicorn[standard]=={TESTED_UVICORN}" in dependencies
    assert direct_send_available()



class _App:
    """Accepts, then sends `script`'s texts: ("direct", text) past ASGI, ("asgi", text) the normal way."""

    def __init__(self, script: list[tuple[str, str]], wrap_send: bool = False) -> None:
        self.script = script
        self.wrap_send = wrap_send
        self.writers: list[Any] = []
        self.done = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        if self.wrap_send:
            original = send

            async def send(message: Any) -> None:  # a middleware's wrapper
                await original(message)
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        writer = direct_writer(send)
        self.writers.append(writer)
        for way, text in self.script:
            if way == "direct" and writer is not None and writer.ready():
                writer.write(frame_of(text))
            elif way == "together" and writer is not None and writer.ready():  # lines as frames, in one write
                writer.write(b"".join(frame_of(line) for line in text.split("\n")))
            else:
                await send({"type": "websocket.send", "text": text})
        await receive()  # until the client closes
        if writer is not None:
            self.writers.append(writer.ready())  # closed: not ready any more
        self.done.set()


async def _serve(app: _App, **config: Any) -> tuple[uvicorn.Server, asyncio.Task, int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           **config))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, port


async def _received(app: _App, compression: str | None = None, **config: Any) -> list[str]:
    server, task, port = await _serve(app, **config)
    try:
        async with connect(f"ws://127.0.0.1:{port}/", compression=compression, max_size=2 ** 20) as ws:
            messages = sum(len(text.split("\n")) if way == "together" else 1 for way, text in app.script)
            texts = [await asyncio.wait_for(ws.recv(), 5) for _ in range(messages)]
        await asyncio.wait_for(app.done.wait(), 5)
        return texts  # type: ignore[return-value]
    finally:
        server.should_exit = True
        await task


SIZES = ["", "ok", "é" * 62, "x" * 125, "y" * 126, "z" * 65_535, "w" * 65_536, "{\"id\":\"1\"}" * 10_000]


async def test_frames_written_directly_arrive_in_order_among_the_asgi_path_s():
    script = [("direct" if n % 2 else "asgi", text) for n, text in enumerate(SIZES)] + [("direct", s) for s in SIZES]
    app = _App(script)
    assert await _received(app, ws="websockets-sansio", ws_per_message_deflate=False) == [text for _, text in script]
    writer, closed_ready = app.writers
    assert writer is not None  # the direct path was taken
    assert closed_ready is False  # a closed connection takes no direct write


async def test_frames_written_together_arrive_as_as_many_messages_in_order():
    """A member of a shared subscription with several results to get has their frames written at once
    (openchannels/shared_subscriptions.py `Batch`): its client reads them as so many messages, in order."""
    batch = Batch([Delivery(1, '{"n":1}'), Delivery(2, '{"n":"' + "é" * 100 + '"}'), Delivery(3, "[" + "0," * 40_000 + "0]")])
    prefix = '{"id":"1","type":"next","payload":'
    texts = batch.texts(prefix)
    assert batch.frames(prefix) == b"".join(text_frame(text.encode()) for text in texts)
    app = _App([("direct", "a"), ("together", "\n".join(texts)), ("asgi", "b"), ("together", "c\nd")])
    assert await _received(app, ws="websockets-sansio", ws_per_message_deflate=False) == ["a", *texts, "b", "c", "d"]
    assert app.writers[0] is not None  # the direct path was taken


async def test_the_asgi_path_where_the_direct_one_must_not_be_used():
    """permessage-deflate (a compressed frame is per connection), a wrapped `send`, another
    implementation: no DirectWriter, and the messages still arrive."""
    cases = [({"ws": "websockets-sansio", "ws_per_message_deflate": True}, "deflate", False),
             ({"ws": "websockets-sansio", "ws_per_message_deflate": False}, None, True)]
    if importlib.util.find_spec("wsproto") is not None:
        cases.append(({"ws": "wsproto", "ws_per_message_deflate": False}, None, False))
    for config, compression, wrap in cases:
        app = _App([("direct", "a"), ("direct", "b" * 200)], wrap_send=wrap)
        assert await _received(app, compression=compression, **config) == ["a", "b" * 200], config
        assert app.writers[0] is None, config


def test_a_text_frame_is_rfc_6455_s():
    for text in SIZES:
        data = text.encode()
        frame = text_frame(data)
        assert frame.endswith(data) and frame[0] == 0x81  # FIN, text, no mask bit below
        length = frame[1]
        assert length & 0x80 == 0
        if len(data) < 126:
            assert length == len(data)
        elif len(data) < 65_536:
            assert length == 126 and int.from_bytes(frame[2:4], "big") == len(data)
        else:
            assert length == 127 and int.from_bytes(frame[2:10], "big") == len(data)
    assert websockets.__version__  # the client used above


class _Socket:
    """A DirectWriter whose transport takes writes while `takes` (False: paused, the client does not read)."""

    def __init__(self) -> None:
        self.takes = True
        self.frames: list[bytes] = []

    def ready(self) -> bool:
        return self.takes

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)


class _Starlette:
    """Starlette's WebSocket as the adapter sees it: its ASGI sends wait while `gate` is closed."""

    def __init__(self, writer: _Socket) -> None:
        self.scope = {SCOPE_KEY: writer}
        self.sent: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)


async def test_a_direct_write_never_overtakes_a_queued_message_and_a_socket_that_does_not_read_is_closed():
    socket_ = _Socket()
    asgi = _Starlette(socket_)
    view = SimpleNamespace(websocket_limits=WebSocketLimits(send_queue_size=3, direct_send=True))
    adapter = BoundedWebSocketAdapter(view, asgi, asgi)

    adapter.send_encoded("a")  # nothing waiting, the socket takes it: written at once
    assert socket_.frames == [frame_of("a")] and asgi.sent == []

    socket_.takes, asgi.gate = False, asyncio.Event()  # the transport paused: queued, the writer waits
    adapter.send_encoded("b")
    await asyncio.sleep(0)
    socket_.takes = True  # takes writes again, but "b" is still on its way: "c" goes behind it
    adapter.send_encoded("c")
    asgi.gate.set()
    while adapter._writer is not None:
        await asyncio.sleep(0)
    assert asgi.sent == ["b", "c"] and socket_.frames == [frame_of("a")]
    adapter.send_encoded("d")  # nothing waiting any more: written at once again
    assert socket_.frames == [frame_of("a"), frame_of("d")]

    socket_.takes, asgi.gate = False, asyncio.Event()  # a client that stopped reading
    for text in "efghi":
        adapter.send_encoded(text)
        await asyncio.sleep(0)
    assert adapter.closing  # the bounded queue's policy: closed (4429), not buffered
    adapter.send_encoded("j")
    assert socket_.frames == [frame_of("a"), frame_of("d")] and asgi.sent == ["b", "c"]


async def test_a_batch_goes_in_one_write_or_queued_text_by_text_behind_what_waits():
    """A shared subscription's results for one member (openchannels/shared_subscriptions.py `Batch`): one
    write when nothing waits and the socket takes it; else each result joins the queue, in order, and the
    queue's limit still closes a socket that does not read."""
    socket_ = _Socket()
    asgi = _Starlette(socket_)
    view = SimpleNamespace(websocket_limits=WebSocketLimits(send_queue_size=3, direct_send=True))
    adapter = BoundedWebSocketAdapter(view, asgi, asgi)
    batch = Batch([Delivery(1, "1"), Delivery(2, "2")])

    adapter.send_batch(batch, "<")
    assert socket_.frames == [frame_of("<1}") + frame_of("<2}")] and asgi.sent == []

    socket_.takes, asgi.gate = False, asyncio.Event()  # the transport paused: queued, one message per result
    adapter.send_batch(batch, "(")
    await asyncio.sleep(0)
    socket_.takes = True
    adapter.send_batch(Batch([Delivery(3, "3")]), "(")  # behind the queued ones, though the socket takes writes
    asgi.gate.set()
    while adapter._writer is not None:
        await asyncio.sleep(0)
    assert asgi.sent == ["(1}", "(2}", "(3}"] and len(socket_.frames) == 1

    socket_.takes, asgi.gate = False, asyncio.Event()  # a client that stopped reading
    for prefix in "[{|":
        adapter.send_batch(batch, prefix)
        await asyncio.sleep(0)
    assert adapter.closing  # over the limit of 3 waiting: closed, not buffered
    adapter.send_batch(batch, "/")
    assert len(socket_.frames) == 1 and asgi.sent == ["(1}", "(2}", "(3}"]
