"""`openchannels serve --demo` on a fresh SQLite file: migrates, seeds, serves, and its token works."""
from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.running import COMMAND, cli_env, sqlite_url

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
