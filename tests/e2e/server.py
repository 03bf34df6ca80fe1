"""Real server processes for the end-to-end tests: a fresh migrated database, an admin, and
`uvicorn --factory openchannels.app:create_app` on a free port.

The migrations run once per worker and backend, into a template; each deployment's database
is a copy of it (SQLite: the file; PostgreSQL: `CREATE DATABASE ... TEMPLATE`). The admin is
made in this process by `openchannels create-operator`'s own function (pending migrations: none,
then the operator and its token); tests/cli runs the command itself.

A `Deployment` is one backend: its database (a SQLite file, or a PostgreSQL database made
for this run), its broker settings (none, or Redis on a channel unique to this run) and the
server processes started on it. Everything is torn down by `Deployment.close()`.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis
import uvicorn
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bench.ports import free_port
from infrastructure.database import apply_migrations
from infrastructure.settings import Settings, settings_of
from openchannels.cli.operators import _create_operator
from openchannels.cli.serve import uvicorn_flags, uvicorn_options
from openchannels.http_protocol import HeaderLimitedHttpToolsProtocol
from openchannels.websocket_protocol import HandshakeFreeWebSocketProtocol
from tests.resources import (
    TEST_REDIS_URL, create_database, database_name, delete_redis_keys, drop_database, redis_prefix,
    register_template_database, scratch_dir,
)

#: the Redis of the postgres deployments (TEST_REDIS_URL)
E2E_REDIS_URL = TEST_REDIS_URL
REPO_ROOT = Path(__file__).resolve().parents[2]
#: a server must answer /healthz within this time (imports, lifespan: database and broker)
STARTUP_SECONDS = 30
#: a terminated server must exit within this time, or it is killed
SHUTDOWN_SECONDS = 10

ADMIN_EMAIL = "admin@e2e.test"
ADMIN_PASSWORD = "e2e-admin-password"
#: the key the payment provider signs `POST /payments/webhook` with, on every e2e server
PAYMENT_WEBHOOK_SECRET = "e2e-payment-webhook-secret"

#: switched off (0) on every e2e server unless a test sets them
RATE_LIMITS = ("RATE_LIMIT_LOGIN_PER_MINUTE", "RATE_LIMIT_START_VISITOR_CHAT_PER_MINUTE",
               "RATE_LIMIT_VISITOR_TOKEN_PER_MINUTE", "RATE_LIMIT_OPERATOR_TOKEN_PER_MINUTE")

def server_options(environment: dict[str, str]) -> dict[str, Any]:
    """uvicorn's options as `openchannels serve` gives them for this environment (request heads limited,
    no permessage-deflate unless WS_PER_MESSAGE_DEFLATE, no proxy headers, HTTP_KEEP_ALIVE_SECONDS), but
    uvicorn's own WebSocket message limit: the application's own (1009 "Message too big") is what
    test_websocket_limits.py checks on these servers, and `serve`'s is checked there on `serve` itself."""
    options = uvicorn_options(settings_of(environment))
    del options["ws_max_size"]
    return options


@asynccontextmanager
async def serving_in_process(app: Any, **options: Any) -> AsyncIterator[uvicorn.Server]:
    """`app` served by uvicorn in the test's own process on a free loopback port
    (`server.config.port`), with the project's HTTP and WebSocket protocols as `serve` runs them,
    no lifespan and no WebSocket compression; `options`: more of uvicorn.Config's (the keepalive's
    `ws_ping_interval`, say); stopped at the end."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off",
                                           http=HeaderLimitedHttpToolsProtocol, ws=HandshakeFreeWebSocketProtocol,
                                           ws_per_message_deflate=False, **options))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield server
    finally:
        server.should_exit = True
        await serving


@dataclass
class ServerProcess:
    """One `uvicorn` process; its stdout and stderr go to `log_path`."""

    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log()}")
                try:
                    answer = await client.get(f"{self.base_url}/healthz")
                    if answer.status_code == 200 and answer.json() == {"status": "ok"}:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)  # polling for start-up, bounded by STARTUP_SECONDS
        self.stop()
        raise AssertionError(f"no answer from {self.base_url}/healthz within {STARTUP_SECONDS} s:\n{self.log()}")

    def stop(self) -> None:
        """Terminate (uvicorn shuts down gracefully); kill if it takes too long."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class Deployment:
    """One backend under test: database, broker settings and the server processes on them."""

    backend: str
    database_url: str
    workdir: Path
    redis_url: str = ""
    redis_channel: str = ""
    #: every Redis key of this deployment's servers starts with it (rate limits: `redis_prefix`
    #: + ":rate" unless a test sets RATE_LIMIT_REDIS_PREFIX, which must start with it); deleted by close()
    redis_prefix: str = ""
    admin_token: str = ""
    servers: list[ServerProcess] = field(default_factory=list)
    #: more environment variables for the server processes started from now on
    extra_env: dict[str, str] = field(default_factory=dict)
    _drop_database: str | None = None
    _remove_folder: Path | None = None

    @property
    def server(self) -> ServerProcess:
        """The first server process (every test talks to it unless it needs another)."""
        return self.servers[0]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "REDIS_CHANNEL", "OPENCHANNELS_ALLOWED_ORIGINS")}
        env.update(DATABASE_URL=self.database_url, LOG_LEVEL="warning", PYTHONUNBUFFERED="1",
                   FILES_DIR=str(self.workdir / "files"), PAYMENT_WEBHOOK_SECRET=PAYMENT_WEBHOOK_SECRET)
        env.setdefault("WEBHOOK_ALLOW_PRIVATE", "true")  # the tests' webhook receivers listen on loopback
        if self.redis_url:
            env.update(REDIS_URL=self.redis_url, REDIS_CHANNEL=self.redis_channel,
                       RATE_LIMIT_REDIS_PREFIX=f"{self.redis_prefix}:rate")
        for name in RATE_LIMITS:  # the shared servers sign in and start chats from one IP all the time:
            env.setdefault(name, "0")  # rate limits are tested on servers of their own (test_rate_limits.py)
        env.update(self.extra_env)
        return env

    async def start_server(self, env: dict[str, str] | None = None,
                           factory: str = "openchannels.app:create_app") -> ServerProcess:
        """Start one more server process on this deployment's database and broker (`env`: settings of its own;
        `factory`: another application factory, e.g. one with planted faults). A port another process took
        between `free_port` and the server's bind is given up for another (three tries)."""
        environment = {**self.environment(), **(env or {})}
        for attempt in range(3):
            port = free_port()
            log_path = self.workdir / f"server-{len(self.servers) + 1}-{port}.log"
            with log_path.open("w") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "--factory", factory,
                     "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                     *uvicorn_flags(server_options(environment))],
                    cwd=REPO_ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT,
                )
            server = ServerProcess(port=port, process=process, log_path=log_path)
            self.servers.append(server)
            try:
                await server.wait_until_healthy()
            except AssertionError:
                if attempt == 2 or process.poll() is None or "address already in use" not in server.log():
                    raise
                self.servers.remove(server)
                continue
            return server
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def stop_server(self, server: ServerProcess) -> None:
        server.stop()
        self.servers.remove(server)

    async def close(self) -> None:
        for server in list(self.servers):
            self.stop_server(server)
        if self.redis_prefix and self.redis_url == TEST_REDIS_URL:  # (a Redis of a test's own goes with it)
            await delete_redis_keys(self.redis_prefix, self.redis_url)
        if self._drop_database:
            await drop_database(self._drop_database)
        if self._remove_folder:
            shutil.rmtree(self._remove_folder, ignore_errors=True)


_templates: dict[str, str] = {}


async def _migrate(database_url: str) -> None:
    # Tortoise caches INSERT statements per connection *name*: never reuse sqlite's on postgres
    EXECUTOR_CACHE.clear()
    try:
        await apply_migrations(Settings(database_url=database_url))
    finally:
        EXECUTOR_CACHE.clear()


async def migrated_template(backend: str) -> str:
    """This worker's database of `backend` with every migration applied (made on first use): a SQLite
    file in its scratch folder, or a PostgreSQL database dropped at the end of the run (conftest.py)."""
    if backend not in _templates:
        if backend == "sqlite":
            path = scratch_dir() / "e2e-template.sqlite3"
            path.unlink(missing_ok=True)
            await _migrate(f"sqlite://{path}")
            _templates[backend] = str(path)
        else:
            name = database_name("e2e_template")
            register_template_database(name)
            await _migrate(await create_database(name))
            _templates[backend] = name
    return _templates[backend]


async def prepare(backend: str, workdir: Path, *, redis_url: str | None = None) -> Deployment:
    """A fresh, migrated database with an admin (made by create-operator's code, as an installer would).

    `redis_url`: the broker of the servers (default: none on sqlite, E2E_REDIS_URL on postgres).
    """
    prefix = redis_prefix("e2e")
    template = await migrated_template(backend)
    if backend == "sqlite":
        # the database file in memory-backed storage where there is some (no fsync per commit), removed by close()
        folder = scratch_dir() / f"e2e-{uuid.uuid4().hex[:12]}"
        folder.mkdir()
        shutil.copyfile(template, folder / "openchannels.sqlite3")
        deployment = Deployment(backend, f"sqlite://{folder / 'openchannels.sqlite3'}", workdir,
                                _remove_folder=folder)
        if redis_url:
            deployment.redis_url, deployment.redis_channel, deployment.redis_prefix = redis_url, f"{prefix}:events", prefix
    else:
        name = database_name("e2e")
        url = await create_database(name, template=template)  # unreachable: an error, never a skip
        redis_url = redis_url or E2E_REDIS_URL
        probe = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
        try:
            await probe.ping()  # unreachable Redis: an error here, not a server that never starts
        finally:
            await probe.aclose()
        deployment = Deployment(backend, url, workdir, redis_url=redis_url, redis_channel=f"{prefix}:events",
                                redis_prefix=prefix, _drop_database=name)
    try:
        deployment.admin_token = await create_operator(
            deployment, name="E2E Admin", email=ADMIN_EMAIL, role="admin", password=ADMIN_PASSWORD,
        )
        await deployment.start_server()
    except BaseException:
        await deployment.close()
        raise
    return deployment


async def create_operator(deployment: Deployment, *, name: str, email: str, role: str, password: str) -> str:
    """What `openchannels create-operator ...` does (the function the command calls, on the deployment's
    database: pending migrations, then the operator); returns the token the command would print."""
    EXECUTOR_CACHE.clear()
    try:
        _, token = await _create_operator(Settings(database_url=deployment.database_url),
                                          name=name, email=email, role=role, password=password)
    finally:
        EXECUTOR_CACHE.clear()
    assert token.startswith("oc_"), token
    return token

