"""WebSocket limits on a real server, on both subprotocols: operations per connection, a client
that never sends connection_init, a message over the size limit, a token that expires while
the connection is open, and a client that stops reading (closed with 4429, nothing buffered
without bound).

The server here is started with small limits of its own; events are made through it (on
SQLite each process has its own in-process broker).
"""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import websockets
from websockets.exceptions import ConnectionClosed

from bench.ports import free_port
from tests.e2e.actors import (
    CHAT_EVENTS, QUEUE_CHANGED, Actor, Admin, GraphQLHttp, Operator, start_visitor_chat, unique,
)
from tests.e2e.live import PROTOCOLS, TRANSPORT_WS, LiveClosed, LiveConnection, LiveError
from tests.e2e.server import REPO_ROOT, Deployment, ServerProcess

MAX_SUBSCRIPTIONS = 3
INIT_TIMEOUT_SECONDS = 0.5
MAX_MESSAGE_BYTES = 4096
SEND_QUEUE_SIZE = 8
TOKEN_TTL_SECONDS = 3
LIMITS = {"WS_MAX_SUBSCRIPTIONS": str(MAX_SUBSCRIPTIONS), "WS_SEND_QUEUE_SIZE": str(SEND_QUEUE_SIZE),
          "WS_CONNECTION_INIT_TIMEOUT_SECONDS": str(INIT_TIMEOUT_SECONDS),
          "WS_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES), "TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS)}


@pytest_asyncio.fixture(scope="module")
async def limited(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server(LIMITS)
    try:
        yield server
    finally:
        deployment.stop_server(server)


@pytest.fixture
def on_limited(limited: ServerProcess, http_client: httpx.AsyncClient) -> GraphQLHttp:
    return GraphQLHttp(http_client, limited.graphql_url)


async def signed_in_operator(admin: Admin, through: GraphQLHttp) -> Operator:
    """A new ONLINE operator who signed in with `login` on `through` (a token of TOKEN_TTL_SECONDS)."""
    email, password = f"{unique('ws-limits')}@e2e.test", f"pw-{uuid.uuid4().hex}"
    created = await admin.mutate("createOperator", "operator { id }",
                                 {"name": unique("WS Operator"), "email": email, "password": password},
                                 "CreateOperatorInput")
    signed_in = await Actor(through, None).mutate("login", "token", {"email": email, "password": password},
                                                  "LoginInput")
    operator = Operator(through, signed_in["token"], id=created["operator"]["id"], email=email)
    await operator.set_status("ONLINE")
    return operator


async def raw_connect(url: str, protocol: str, **options) -> websockets.ClientConnection:
    return await websockets.connect(url, subprotocols=[protocol], open_timeout=5, close_timeout=2, **options)


async def close_code(ws: websockets.ClientConnection, timeout: float = 5) -> int | None:
    """Read until the server closes; its close code (None: dropped without a close frame)."""
    async def drain() -> None:
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()

    await asyncio.wait_for(drain(), timeout)
    return ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_one_operation_over_the_cap_is_refused_the_others_keep_running(
        admin: Admin, limited: ServerProcess, on_limited: GraphQLHttp, protocol: str):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    await start_visitor_chat(on_limited, channel_id)
    variables = {"ids": [channel_id], "after": "0"}  # each replays the channel's CHAT_QUEUED

    async with LiveConnection(limited.ws_url, protocol=protocol, token=operator.token) as connection:
        running = [await connection.subscribe(QUEUE_CHANGED, variables) for _ in range(MAX_SUBSCRIPTIONS)]
        over = await connection.subscribe(QUEUE_CHANGED, variables)
        with pytest.raises(LiveError) as refused:
            await over.next()
        for subscription in running:
            assert (await subscription.next())["queueChanged"]["kind"] == "CHAT_QUEUED"

        await running[0].stop()  # a slot is free again
        await asyncio.sleep(0.2)  # the stop is handled before the next subscribe (same connection, in order)
        again = await connection.subscribe(QUEUE_CHANGED, variables)
        assert (await again.next())["queueChanged"]["kind"] == "CHAT_QUEUED"

    assert "limit" in refused.value.errors[0]["message"].lower()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_never_sends_connection_init_is_closed_with_4408(limited: ServerProcess, protocol: str):
    started = time.monotonic()
    async with await raw_connect(limited.ws_url, protocol) as ws:
        code = await close_code(ws)

    assert code == 4408
    assert INIT_TIMEOUT_SECONDS <= time.monotonic() - started < INIT_TIMEOUT_SECONDS + 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_message_over_the_size_limit_closes_with_1009(
        admin: Admin, limited: ServerProcess, on_limited: GraphQLHttp, protocol: str):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    await start_visitor_chat(on_limited, channel_id)
    fitting = "subscription" + " " * (MAX_MESSAGE_BYTES - 700) + QUEUE_CHANGED.removeprefix("\nsubscription")

    async with LiveConnection(limited.ws_url, protocol=protocol, token=operator.token) as connection:
        accepted = await connection.subscribe(fitting, {"ids": [channel_id], "after": "0"})
        assert (await accepted.next())["queueChanged"]["kind"] == "CHAT_QUEUED"  # a big message that fits: served
        await connection.send({"id": "big", "type": "subscribe" if protocol == TRANSPORT_WS else "start",
                               "payload": {"query": "{ __typename }", "padding": "x" * MAX_MESSAGE_BYTES}})
        code, reason = await connection.wait_closed()

    assert (code, reason) == (1009, "Message too big")


async def test_serve_gives_uvicorn_the_size_limit(deployment: Deployment):
    """`openchannels serve` passes WS_MAX_MESSAGE_BYTES to uvicorn, which closes with 1009 itself."""
    port = free_port()
    environment = {**deployment.environment(), **LIMITS, "OPENCHANNELS_PORT": str(port),
                   "SCHEDULER_INTERVAL_SECONDS": "0"}
    log_path = deployment.workdir / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "openchannels.cli", "serve"], cwd=REPO_ROOT,
                                   env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(port=port, process=process, log_path=log_path)
    try:
        await server.wait_until_healthy()
        async with await raw_connect(server.ws_url, TRANSPORT_WS) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}, "padding": "x" * MAX_MESSAGE_BYTES}))
            code = await close_code(ws)
            reason = ws.protocol.close_rcvd.reason
    finally:
        server.stop()

    assert code == 1009
    assert "exceeds limit" in reason  # said by uvicorn's websockets, before the application saw it


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_token_that_expires_while_connected_closes_the_websocket_with_4403(
        admin: Admin, limited: ServerProcess, on_limited: GraphQLHttp, protocol: str):
    operator = await signed_in_operator(admin, on_limited)  # expires TOKEN_TTL_SECONDS from now
    signed_in_at = time.monotonic()
    channel_id = await admin.create_open_channel([operator])
    await start_visitor_chat(on_limited, channel_id)

    async with LiveConnection(limited.ws_url, protocol=protocol, token=operator.token) as connection:
        subscription = await connection.subscribe(QUEUE_CHANGED, {"ids": [channel_id], "after": "0"})
        assert (await subscription.next())["queueChanged"]["kind"] == "CHAT_QUEUED"  # open and working
        code, reason = await connection.wait_closed(timeout=TOKEN_TTL_SECONDS + 5)
        closed_after = time.monotonic() - signed_in_at

    assert (code, reason) == (4403, "Token expired")
    assert TOKEN_TTL_SECONDS - 1 <= closed_after <= TOKEN_TTL_SECONDS + 3
    # the same token at connection_init now: refused at once
    with pytest.raises(LiveClosed) as refused:
        await LiveConnection(limited.ws_url, protocol=protocol, token=operator.token).open()
    assert refused.value.code == 4403


def small_receive_buffer_socket(port: int) -> socket.socket:
    """A client socket that holds little unread data (set before connecting: it sizes the TCP window)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_stops_reading_is_closed_with_4429(
        admin: Admin, limited: ServerProcess, on_limited: GraphQLHttp, protocol: str):
    operator = await admin.create_operator()
    operator = Operator(on_limited, operator.token, id=operator.id)
    channel_id = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(on_limited, channel_id)
    await operator.answer(visitor.chat_id)
    big = "x" * 10_000  # the longest message text: ~10 KB per event and subscription
    query = CHAT_EVENTS.replace("message {", "message { html")

    ws = await raw_connect(limited.ws_url, protocol, sock=small_receive_buffer_socket(limited.port),
                           max_queue=1, compression=None)  # no permessage-deflate: 10 KB on the wire each
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {operator.token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        for n in range(MAX_SUBSCRIPTIONS):
            await ws.send(json.dumps({"id": str(n), "type": "subscribe" if protocol == TRANSPORT_WS else "start",
                                      "payload": {"query": query, "variables": {"chatId": visitor.chat_id}}}))
        await asyncio.sleep(0.5)  # the subscriptions are live
        # from now on the client reads nothing: events pile up in the socket, then in the server's queue
        produced = 0
        started = time.monotonic()
        while produced < 100 and time.monotonic() - started < 60:  # ~3 MB of buffers fill after ~50 here
            await operator.send(visitor.chat_id, big)
            produced += 1
        await asyncio.sleep(1)

        received = 0
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
                received += 1
        except ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            raise AssertionError(f"not closed: {received} of {produced * MAX_SUBSCRIPTIONS} messages read, "
                                 f"then nothing for 10 s\n{limited.log()[-3000:]}") from None
        code = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
    finally:
        await ws.close()

    assert code == 4429
    # what reached the client is what the sockets held, plus at most the queue: the rest was dropped
    assert received < produced * MAX_SUBSCRIPTIONS
    # the server is fine and serves others
    assert (await operator.chat(visitor.chat_id))["status"] == "ACTIVE"


async def test_a_message_nested_deeper_than_json_can_decode_closes_with_4400(limited: ServerProcess):
    """Within the size limit but nested 1,900 deep (past the decoder's recursion): a bad message (4400)."""
    async with await raw_connect(limited.ws_url, TRANSPORT_WS) as ws:
        await ws.send("[" * 1900 + "]" * 1900)
        code = await close_code(ws)
    assert code == 4400
    async with await raw_connect(limited.ws_url, TRANSPORT_WS) as ws:  # the server goes on serving
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
