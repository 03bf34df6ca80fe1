"""Server processes for the benchmarks: uvicorn, one worker (or `workers`: uvicorn's supervisor
and N worker processes on one port), uvloop + httptools, on a free loopback port, each in a
session of its own (a Ctrl-C reaches the bench, which stops them)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.ports import free_port
from infrastructure.settings import settings_of
from openchannels.cli.serve import uvicorn_flags, uvicorn_options

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30
SHUTDOWN_SECONDS = 10


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_until_healthy(self, timeout: float = STARTUP_SECONDS) -> None:
        """GET /healthz answers 200 (RuntimeError with the log's end if the process exits or `timeout` passes)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no answer on {self.base_url}/healthz in {timeout:g}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _server_flags(factory: str, environment: dict[str, str]) -> list[str]:
    """uvicorn's options as `openchannels serve` gives them for this environment (openchannels/cli/serve.py
    `uvicorn_options`: request heads limited in time and size, a WebSocket's handshake let go once it
    is accepted, no permessage-deflate unless WS_PER_MESSAGE_DEFLATE, no proxy headers,
    HTTP_KEEP_ALIVE_SECONDS, WS_MAX_MESSAGE_BYTES); the baselines run them on plain httptools and
    uvicorn's own WebSocket protocol."""
    options = uvicorn_options(settings_of(environment))
    if not factory.startswith("openchannels."):
        options["http"], options["ws"] = "httptools", "auto"
    return uvicorn_flags(options)


def start_uvicorn(name: str, factory: str, *, env: dict[str, str], log_dir: Path, workers: int = 1) -> Server:
    """`uvicorn --factory <factory>` with the given environment added to ours; waits for /healthz.
    More than one worker: each keeps its metrics in a fresh PROMETHEUS_MULTIPROC_DIR, as under
    `openchannels serve --workers N` (the app needs REDIS_URL then: the caller's env gives it)."""
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in env:
        metrics = log_dir / f"{name}-{port}-metrics"
        metrics.mkdir()
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers), "--loop", "uvloop", "--log-level", "warning", "--no-access-log",
             *_server_flags(factory, environment)],
            cwd=REPO_ROOT, env=environment, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(name=name, port=port, process=process, log_path=log_path)
    try:
        server.wait_until_healthy()
    except BaseException:
        server.stop()
        raise
    return server
