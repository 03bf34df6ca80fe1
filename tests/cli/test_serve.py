"""`openchannels serve --demo` on a fresh SQLite file: migrates, seeds, serves, and its token works."""
from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from bench.ports import free_port
from tests.cli.running import COMMAND, cli_env, sqlite_url

STARTUP_SECONDS = 30



def wait_for_graphql(url: str, server: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}:\n{output.read_text()}")
        try:
            if httpx.get(url, headers={"Accept": "text/html"}, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no answer from {url} within {STARTUP_SECONDS} s:\n{output.read_text()}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


def test_serve_demo_starts_and_prints_an_admin_token_that_works(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        server = subprocess.Popen(
            [*COMMAND, "serve", "--demo", "--port", str(port)], cwd=tmp_path, stdout=out, stderr=err,
            stdin=subprocess.DEVNULL, env=cli_env(sqlite_url(tmp_path)),
        )
    try:
        wait_for_graphql(url, server, stderr)
        printed = stdout.read_text()
        assert f"GraphiQL: {url}" in printed
        admin_token = re.search(r"admin token: (oc_\S+)", printed).group(1)

        answer = httpx.post(url, json={"query": "{ me { operator { email role } } }"},
                            headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)

        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "data": {"me": {"operator": {"email": "admin@demo.openchannels", "role": "ADMIN"}}}
        }
        for name in ("Website chat", "Messenger"):
            assert name in printed
    finally:
        stop(server)
    assert "Traceback" not in stderr.read_text()


def test_serve_and_the_servers_of_the_tests_and_the_bench_give_uvicorn_the_same_options(tmp_path, monkeypatch):
    """`serve` runs uvicorn with `uvicorn_options`; the e2e and bench servers start `python -m uvicorn` with
    the same as flags (a copy of them drifted: the bench ran uvicorn's proxy-headers middleware, which
    `serve` does not). The flags read back by uvicorn's own command line are the options."""
    import argparse
    import os

    from uvicorn.main import main as uvicorn_command

    from bench.servers import _server_flags
    from infrastructure.settings import Settings, settings_of
    from openchannels.cli import serve
    from tests.e2e.server import server_options

    for name, value in {"DATABASE_URL": sqlite_url(tmp_path), "HTTP_KEEP_ALIVE_SECONDS": "7.5",
                        "WS_PER_MESSAGE_DEFLATE": "true", "WS_MAX_MESSAGE_BYTES": "70000", "REDIS_URL": ""}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    given: dict = {}
    monkeypatch.setattr(serve, "run_uvicorn", lambda metrics_port, app, **options: given.update(options))
    assert serve.command_serve(argparse.Namespace(host="127.0.0.1", port=free_port(), workers=1, demo=False),
                               Settings()) == 0

    options = serve.uvicorn_options(settings_of(dict(os.environ)))
    assert options == {key: given[key] for key in options}
    assert options["timeout_keep_alive"] == 7.5 and options["ws_max_size"] == 70000
    assert options["ws_per_message_deflate"] is True and options["proxy_headers"] is False

    flags = serve.uvicorn_flags(options)
    read = uvicorn_command.make_context("uvicorn", ["openchannels.app:create_app", *flags]).params
    assert {key: read[key] for key in options} == {**options, "timeout_keep_alive": 8}  # whole seconds, up

    assert _server_flags("openchannels.app:create_app", dict(os.environ)) == flags
    baseline = uvicorn_command.make_context("uvicorn", ["bench.baseline:create_app",
                                                          *_server_flags("bench.baseline:create_app", dict(os.environ))])
    assert baseline.params["http"] == "httptools" and baseline.params["proxy_headers"] is False
    assert options["ws"] == "openchannels.websocket_protocol:HandshakeFreeWebSocketProtocol"
    assert baseline.params["ws"] == "auto"
    # the e2e servers: all but uvicorn's WebSocket message limit (test_websocket_limits.py checks the app's own)
    assert server_options(dict(os.environ)) == {key: value for key, value in options.items() if key != "ws_max_size"}


def _max_open_files(pid: int) -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE of a process, from /proc/<pid>/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


def test_serve_raises_its_open_file_limit_and_holds_more_connections_than_it_started_with(tmp_path):
    """A system's usual soft limit (1,024; here 256) would stop a server at about that many sockets;
    `serve` raises it to the hard limit, as Go's runtime does, and holds 600 connections at once."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2000:
        pytest.skip(f"the hard open-file limit here ({hard}) leaves no room above the lowered one")
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        server = subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port)], cwd=tmp_path, stdout=out, stderr=err,
            stdin=subprocess.DEVNULL, env=cli_env(sqlite_url(tmp_path)),
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)),
        )
    connections: list[socket.socket] = []
    try:
        wait_for_graphql(url, server, stderr)
        assert _max_open_files(server.pid)[0] > 256
        assert "open files: up to" in stdout.read_text() and "(raised from 256)" in stdout.read_text()
        for _ in range(600):  # more than 256 descriptors could hold
            connections.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        for sock in connections[-3:]:  # the last ones were accepted and are served
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in connections:
            sock.close()
        stop(server)
    assert "Too many open files" not in stderr.read_text()
