"""B2's floor: what writing one event to N WebSocket subscribers costs on this machine, with nothing
else to do.

`python -m bench.fanout_floor` is a WebSocket server that only fans out: picows on uvloop, speaking
just enough graphql-transport-ws for B2's subscribers (bench/fanout.py): `connection_init` is
acknowledged, a `subscribe` adds the connection to the audience, and a `floor_event` message from a
connection that did not subscribe (the driver's trigger) sends every subscriber the same
`chatEvents` result, framed once and written to each socket's transport, which is how the project's
server writes a shared subscription's frames (openchannels/websocket_direct.py). No policy, no
database, no event bus, no GraphQL: the time from the trigger to the last subscriber's receipt is
the write system calls and the kernel's loopback TCP, plus the driver's own receipt, on the same cores.

It prints `{"port": P}` once listening and serves until its stdin closes. B2 runs the same driver
against it after the server's own fan-out (`fanout.py floor`): its row is the baseline of the
server's `chatEvents` figure (the 100 ms target stays on the server's figure alone).
"""
from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, WSUpgradeResponse, \
    WSUpgradeResponseWithListener, ws_create_server

from openchannels.open_files import raise_open_files_limit
from openchannels.websocket_direct import text_frame

ACK = orjson.dumps({"type": "connection_ack"})
PONG = orjson.dumps({"type": "pong"})


class Audience:
    """The subscribed connections' transports, and the events sent so far."""

    def __init__(self) -> None:
        self.transports: list[Any] = []
        self.sent = 0

    def send(self, message_id: str) -> None:
        """One `chatEvents` result with this message, framed once, written to every subscriber."""
        self.sent += 1
        data = {"chatEvents": {"eventId": str(self.sent), "kind": "MESSAGE_ADDED",
                               "chat": {"id": "floor", "title": "Bench floor"},
                               "message": {"id": message_id, "text": f"bench fan-out {self.sent}"}}}
        frame = text_frame(orjson.dumps({"id": "1", "type": "next", "payload": {"data": data}}))
        for transport in self.transports:
            if not transport.is_closing():
                transport.write(frame)


class FloorListener(WSListener):
    def __init__(self, audience: Audience) -> None:
        self.audience = audience
        self.subscribed: Any = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not WSMsgType.TEXT:
            return
        message = orjson.loads(frame.get_payload_as_memoryview())
        kind = message.get("type")
        if kind == "connection_init":
            transport.send(WSMsgType.TEXT, ACK)
        elif kind == "subscribe" and self.subscribed is None:
            self.subscribed = transport.underlying_transport
            self.audience.transports.append(self.subscribed)
        elif kind == "floor_event":
            self.audience.send(str(message["id"]))
        elif kind == "ping":
            transport.send(WSMsgType.TEXT, PONG)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.subscribed is not None:
            self.audience.transports.remove(self.subscribed)
            self.subscribed = None


async def serve() -> None:
    audience = Audience()

    def accept(request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
        # the subprotocol the subscribers ask for, as the project's server answers it
        response = WSUpgradeResponse.create_101_response(extra_headers={"Sec-WebSocket-Protocol": "graphql-transport-ws"})
        return WSUpgradeResponseWithListener(response, FloorListener(audience))

    server = await ws_create_server(accept, "127.0.0.1", 0, backlog=4096, max_frame_size=2 ** 20)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin
    server.close()


def main() -> int:
    raise_open_files_limit()
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run  # type: ignore[assignment]
    run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
