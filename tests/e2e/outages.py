"""Parts that fail on purpose, for the failure tests: a redis-server of the test's own (never
the shared one on 6379), and a TCP proxy in front of PostgreSQL that can be cut and restored
(the shared PostgreSQL on 5432 is never stopped). Loopback only, every wait bounded.
"""
from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

from bench.ports import free_port
from tests.e2e.server import ServerProcess

#: redis-server must answer within this time after start
REDIS_START_SECONDS = 10
#: how long a test waits for /readyz to reach the expected status
READINESS_CHANGE_SECONDS = 15


class RedisServer:
    """`redis-server` on a free loopback port, without persistence; stop() kills it, start()
    brings it back on the same port (empty: pub/sub keeps no state anyway)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (the failure tests run their own)"
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / f"redis-{self.port}.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + REDIS_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.process.returncode}")
            if _answers_ping(self.port):
                return
            time.sleep(0.05)  # polling for start-up, bounded by REDIS_START_SECONDS
        self.stop()
        raise AssertionError(f"redis-server did not answer on port {self.port} within {REDIS_START_SECONDS} s")

    def stop(self) -> None:
        """Kill it, as a crash would (no goodbye to its clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class TcpProxy:
    """Forwards a free loopback port to `target`. `cut()` aborts every open connection and stops
    listening (new connections are refused); `restore()` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.AbstractServer | None = None
        self._transports: set[asyncio.Transport] = set()
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, asyncio.TimeoutError):
            client_writer.transport.abort()
            return
        for writer in (client_writer, upstream_writer):
            self._transports.add(writer.transport)  # type: ignore[arg-type]
        for reader, writer in ((client_reader, upstream_writer), (upstream_reader, client_writer)):
            task = asyncio.create_task(_pipe(reader, writer))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ConnectionError):
        pass
    finally:
        writer.transport.abort()


async def readiness(server: ServerProcess, client: httpx.AsyncClient) -> tuple[int, dict]:
    answer = await client.get(f"{server.base_url}/readyz")
    return answer.status_code, answer.json()


async def wait_for_readiness(server: ServerProcess, client: httpx.AsyncClient, status: int,
                             timeout: float = READINESS_CHANGE_SECONDS) -> dict:
    """Poll /readyz until it answers `status`; returns its body."""
    deadline = time.monotonic() + timeout
    last: tuple[int, dict] | None = None
    while time.monotonic() < deadline:
        last = await readiness(server, client)
        if last[0] == status:
            return last[1]
        await asyncio.sleep(0.1)  # polling, bounded by `timeout`
    raise AssertionError(f"/readyz did not answer {status} within {timeout} s; last answer: {last}")


def primary_key(global_id: str) -> int:
    """The database id inside a global ID (to compare with rows read directly)."""
    return int(base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().partition(":")[2])
