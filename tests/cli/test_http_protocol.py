"""Request headers limited in time and size on a real `openchannels serve` (openchannels/http_protocol.py).

uvicorn alone keeps a connection that sends half a request line open for as long as the client
likes, and reads a header of any size.
"""
from __future__ import annotations

import asyncio
import gc
import re
import socket
import struct
import subprocess
import time
import tomllib
import weakref
from pathlib import Path

import httpx
import uvicorn

from bench.ports import free_port
from openchannels.http_protocol import TESTED_UVICORN, HeaderLimitedHttpToolsProtocol
from tests.cli.running import COMMAND, assert_one_line_error, cli_env, run, sqlite_url
from tests.cli.test_serve import stop, wait_for_graphql

ROOT = Path(__file__).resolve().parents[2]


def test_uvicorn_is_the_release_the_header_limits_were_written_for():
    """The protocol subclass reads uvicorn internals: moving the pin must fail here first."""
    assert uvicorn.__version__ == TESTED_UVICORN
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"uvicorn[standard]=={TESTED_UVICORN}" in dependencies


def _serve(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        server = subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err,
            stdin=subprocess.DEVNULL, env=cli_env(sqlite_url(tmp_path), **env),
        )
    wait_for_graphql(f"http://127.0.0.1:{port}/graphql", server, stderr)
    return server, port


def _read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took (at most `limit`)."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {limit} s; received {received!r}") from None
    return received, time.monotonic() - started


def test_slow_or_oversized_request_headers_are_refused_and_the_connection_closed(tmp_path):
    server, port = _serve(tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="1", HTTP_MAX_HEADER_BYTES="4096")
    try:
        # half a request line, then nothing: 408 and closed (uvicorn alone: open for good)
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /graphql HT")
            answer, _ = _read_until_closed(slow, limit=15)
        assert answer.startswith(b"HTTP/1.1 408 "), answer

        # a connection that never sends a byte is closed too
        with socket.create_connection(("127.0.0.1", port)) as idle:
            answer, _ = _read_until_closed(idle, limit=15)
        assert answer == b""

        # headers that trickle in past the timeout, a byte a while: refused all the same
        with socket.create_connection(("127.0.0.1", port)) as trickle:
            trickle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            for _ in range(6):
                time.sleep(0.3)
                try:
                    trickle.sendall(b"X-A: b\r\n")
                except OSError:
                    break
            answer, _ = _read_until_closed(trickle, limit=15)
        assert answer.startswith(b"HTTP/1.1 408 "), answer

        # a whole request whose headers are too large, body and all in one write: 431, and no request runs
        with socket.create_connection(("127.0.0.1", port)) as whole:
            body = b'{"query": "{ __typename }"}'
            whole.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Big: "
                          + b"a" * 8192 + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            answer, _ = _read_until_closed(whole, limit=15)
        assert answer.startswith(b"HTTP/1.1 431 ") and b"__typename" not in answer, answer

        # one header past HTTP_MAX_HEADER_BYTES: 431 before the rest is read
        with socket.create_connection(("127.0.0.1", port)) as large:
            large.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192)
            answer, _ = _read_until_closed(large, limit=15)
        assert answer.startswith(b"HTTP/1.1 431 "), answer

        # ordinary requests, kept alive across the timeout, are not affected
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/healthz").status_code == 200
            time.sleep(1.5)
            query = client.post("/graphql", json={"query": "{ __typename }"})
            assert query.status_code == 200 and query.json() == {"data": {"__typename": "Query"}}
    finally:
        stop(server)


def test_zero_switches_the_limits_off(tmp_path):
    """HTTP_HEADER_TIMEOUT_SECONDS=0 runs uvicorn's own protocol: the escape hatch if the subclass misbehaves."""
    server, port = _serve(tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="0", HTTP_MAX_HEADER_BYTES="4096")
    try:
        with socket.create_connection(("127.0.0.1", port)) as large:
            large.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n")
            large.settimeout(15)
            answer = large.recv(65536)
        assert re.match(rb"HTTP/1.1 200 ", answer), answer
    finally:
        stop(server)


REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def _ask(sock: socket.socket) -> bytes:
    """One request on an open connection; its whole answer (to the end of /healthz's body; b"" if closed)."""
    sock.sendall(REQUEST)
    answer = b""
    while not answer.endswith(b'{"status":"ok"}') and (chunk := sock.recv(65536)):
        answer += chunk
    return answer


def test_an_idle_connection_is_kept_past_a_client_pools_expiry_and_closed_after_its_own(tmp_path):
    """uvicorn's default closes an idle connection after 5 s, httpx's pool keeps one for 5 s and a proxy's
    for 60: a request sent as the server closes is lost to a reset (httpx.ReadError; a proxy's 502). The
    default, 75 s, outlasts them; HTTP_KEEP_ALIVE_SECONDS sets it."""
    server, port = _serve(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", port)) as kept:
            kept.settimeout(15)
            assert _ask(kept).startswith(b"HTTP/1.1 200 ")
            time.sleep(6)  # past uvicorn's default and httpx's
            assert _ask(kept).startswith(b"HTTP/1.1 200 "), "closed by the server while idle"
    finally:
        stop(server)
    server, port = _serve(tmp_path, HTTP_KEEP_ALIVE_SECONDS="1")
    try:
        with socket.create_connection(("127.0.0.1", port)) as short:
            short.settimeout(15)
            assert _ask(short).startswith(b"HTTP/1.1 200 ")
            rest, waited = _read_until_closed(short, limit=15)
        assert rest == b"" and waited < 5, (rest, waited)
    finally:
        stop(server)


def test_a_keep_alive_time_that_is_not_a_positive_number_is_refused_at_start(tmp_path):
    for value, fragment in (("0", "must be above 0"), ("-1", "must be above 0"),
                            ("soon", "HTTP_KEEP_ALIVE_SECONDS='soon' is not a number")):
        assert_one_line_error(run(tmp_path, "serve", "--port", str(free_port()), HTTP_KEEP_ALIVE_SECONDS=value),
                              fragment)
    # a fraction where a whole number is needed is told apart from no number at all
    assert_one_line_error(run(tmp_path, "serve", "--port", str(free_port()), MAX_REQUEST_BYTES="2.5"),
                          "MAX_REQUEST_BYTES='2.5' is not a whole number")
    assert_one_line_error(run(tmp_path, "serve", "--port", str(free_port()), MAX_REQUEST_BYTES="2.5",
                              HTTP_KEEP_ALIVE_SECONDS="soon"), "HTTP_KEEP_ALIVE_SECONDS='soon' is not a number")


async def _ok_app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_a_connection_reset_by_its_client_is_let_go_at_once_not_after_the_keep_alive_time():
    """uvicorn cancels its keep-alive timer only on a clean close: a connection reset while idle (a tab
    closed, a proxy's pool) stayed held by that timer, protocol, parser and transport, for the whole
    keep-alive time. Real uvicorn with the project's protocol; the client resets with SO_LINGER 0."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_ok_app, host="127.0.0.1", port=port, log_level="warning",
                                           http=HeaderLimitedHttpToolsProtocol, timeout_keep_alive=75))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        assert (await reader.readuntil(b"ok")).startswith(b"HTTP/1.1 200 ")
        [protocol] = server.server_state.connections
        held = weakref.ref(protocol)
        del protocol
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # closed with a reset
        for _ in range(100):
            if not server.server_state.connections:
                break
            await asyncio.sleep(0.02)
        assert not server.server_state.connections, "the server did not see the reset"
        gc.collect()
        assert held() is None, "the reset connection's protocol is still held"
    finally:
        server.should_exit = True
        await serving
