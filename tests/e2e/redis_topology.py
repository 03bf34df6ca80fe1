"""Redis deployments of a test's own, on free loopback ports, for the broker's Redis tests: a
master with a replica watched by a Sentinel (to fail over), and a server that wants a password
and speaks TLS and a Unix socket (the URL forms). Never the shared Redis on 6379. Every wait is
bounded; `stop()` kills what was started (as a crash would) and waits for it to exit.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis.asyncio as redis

from bench.ports import free_port

#: a process must answer PING within this time after start
START_SECONDS = 10
#: the replica in sync and known to the Sentinel, or a failover done, within this time
TOPOLOGY_SECONDS = 30


class RedisProcess:
    """redis-server (or, with `sentinel=True`, a Sentinel) on a free loopback port, without persistence."""

    def __init__(self, workdir: Path, name: str, args: list[str] | None = None, *, config: str = "",
                 sentinel: bool = False) -> None:
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.args = args or []
        self.config = config
        self.sentinel = sentinel
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        log = str(self.workdir / f"{self.name}.log")
        if self.sentinel:  # a Sentinel rewrites its configuration file: one of its own
            conf = self.workdir / f"{self.name}.conf"
            conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\nlogfile {log}\n{self.config}")
            binary = shutil.which("redis-sentinel")
            if binary:  # Debian's redis-sentinel
                return [binary, str(conf)]
            return [_binary("redis-server"), str(conf), "--sentinel"]
        return [_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir), "--logfile", log, *self.args]

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}: {self.log()[-2000:]}")
            if _answers(self.port):
                return
            time.sleep(0.05)  # polling for start-up, bounded by START_SECONDS
        self.stop()
        raise AssertionError(f"{self.name} did not answer on port {self.port} within {START_SECONDS} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        path = self.workdir / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _binary(name: str) -> str:
    binary = shutil.which(name)
    assert binary, f"{name} is not installed (the Redis tests run their own)"
    return binary


def _answers(port: int) -> bool:
    """Something that speaks RESP answers PING on the port (+PONG, or -NOAUTH with a password)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16)[:1] in (b"+", b"-")
    except OSError:
        return False


class SentinelTopology:
    """A master, one replica of it, and one Sentinel watching it (quorum 1, master down after
    1 s): killing the master makes the Sentinel promote the replica within a few seconds."""

    MASTER_NAME = "oc-test-master"

    def __init__(self, workdir: Path) -> None:
        self.master = RedisProcess(workdir, "master")
        self.replica = RedisProcess(workdir, "replica", ["--replicaof", "127.0.0.1", str(self.master.port)])
        name = self.MASTER_NAME
        self.sentinel = RedisProcess(workdir, "sentinel", sentinel=True, config=(
            f"sentinel monitor {name} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {name} 1000\n"
            f"sentinel failover-timeout {name} 3000\n"
            f"sentinel parallel-syncs {name} 1\n"))

    @property
    def sentinels(self) -> str:
        """REDIS_SENTINELS for a server process."""
        return f"127.0.0.1:{self.sentinel.port}"

    async def start(self) -> None:
        self.master.start()
        self.replica.start()
        self.sentinel.start()
        await self._until(self._ready, "the replica in sync and known to the Sentinel")

    def stop(self) -> None:
        for process in (self.sentinel, self.replica, self.master):
            process.stop()

    async def master_port(self) -> int:
        async with redis.Redis(host="127.0.0.1", port=self.sentinel.port, socket_timeout=2) as sentinel:
            _, port = await sentinel.sentinel_get_master_addr_by_name(self.MASTER_NAME)
            return int(port)

    async def until_replica_promoted(self) -> None:
        async def promoted() -> bool:
            if await self.master_port() != self.replica.port:
                return False
            async with redis.Redis(host="127.0.0.1", port=self.replica.port, socket_timeout=2) as replica:
                return (await replica.info("replication"))["role"] == "master"

        await self._until(promoted, "the Sentinel promoted the replica")

    async def _ready(self) -> bool:
        async with redis.Redis(host="127.0.0.1", port=self.replica.port, socket_timeout=2) as replica:
            if (await replica.info("replication")).get("master_link_status") != "up":
                return False
        async with redis.Redis(host="127.0.0.1", port=self.sentinel.port, socket_timeout=2) as sentinel:
            replicas = await sentinel.sentinel_slaves(self.MASTER_NAME)
        return any(int(r["port"]) == self.replica.port and not r["is_sdown"] for r in replicas)

    async def _until(self, condition, what: str) -> None:
        deadline = time.monotonic() + TOPOLOGY_SECONDS
        while time.monotonic() < deadline:
            try:
                if await condition():
                    return
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                pass
            await asyncio.sleep(0.1)  # polling, bounded by TOPOLOGY_SECONDS
        raise AssertionError(f"not within {TOPOLOGY_SECONDS} s: {what}\n"
                             f"--- sentinel log:\n{self.sentinel.log()[-3000:]}")
