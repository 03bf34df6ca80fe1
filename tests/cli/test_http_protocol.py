"""Request headers limited in time and size on a real `openchannels serve` (openchannels/http_protocol.py).

uvicorn alone keeps a connection that sends half a request line open for as long as the client
likes, and reads a header of any size.
"""
from __future__ import annotations

import re
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import httpx
import uvicorn

from openchannels.http_protocol import TESTED_UVICORN
from tests.cli.running import COMMAND, cli_env, sqlite_url
from tests.cli.test_serve import free_port, stop, wait_for_graphql

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
