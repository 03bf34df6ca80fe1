"""GET /metrics in Prometheus's text format, and who may read it.

- METRICS_PORT set: `openchannels serve` also listens on that port (OPENCHANNELS_HOST), where
  /metrics is served without auth and nothing else is; the main port has no /metrics. Keep the
  port off the public network (a firewall, or a Kubernetes port that only Prometheus reaches).
- METRICS_PORT unset: /metrics on the main port, only with `Authorization: Bearer METRICS_TOKEN`;
  without METRICS_TOKEN there is no /metrics at all (404): nothing is exposed by default.

Values that belong to the database rather than to a process (the connector outbox backlog) are
read when scraped. Several worker processes (PROMETHEUS_MULTIPROC_DIR): any process answers with
the sum of all; each samples its own database pool every POOL_SAMPLE_SECONDS, and the gauges of a
process that died stop counting at the next scrape.
"""
from __future__ import annotations

import asyncio
import glob
import hmac
import logging
import os
import re
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from tortoise import Tortoise

from openchannels.body_limits import error_response
from openchannels.processes import alive
from infrastructure.metrics import DATABASE_POOL_IN_USE, DATABASE_POOL_MAX, DATABASE_POOL_SIZE
from services.automation import connector_outbox

log = logging.getLogger("infrastructure.metrics")

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
POOL_SAMPLE_SECONDS = 5.0
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR) or None


def sample_database_pool() -> None:
    """This process's PostgreSQL pool: connections held, lent out, at most (SQLite has none)."""
    try:
        pool = getattr(Tortoise.get_connection("default"), "_pool", None)
    except Exception:  # noqa: BLE001 - no database yet (or any more)
        return
    if pool is None or not hasattr(pool, "get_idle_size"):
        return
    size = pool.get_size()
    DATABASE_POOL_SIZE.set(size)
    DATABASE_POOL_IN_USE.set(size - pool.get_idle_size())
    DATABASE_POOL_MAX.set(pool.get_max_size())


async def sample_forever() -> None:
    """With several processes: every process keeps its pool's gauges fresh for whoever is scraped."""
    while True:
        sample_database_pool()
        await asyncio.sleep(POOL_SAMPLE_SECONDS)


def start_sampling() -> asyncio.Task | None:
    return asyncio.create_task(sample_forever(), name="metrics-pool-sampler") if multiprocess_dir() else None


def forget_process() -> None:
    """At shutdown: this process's gauges stop counting (multiprocess mode)."""
    if multiprocess_dir():
        mark_process_dead(os.getpid())


class _Values:
    """A collector of values read at scrape time."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families


async def _database_values() -> list[GaugeMetricFamily]:
    backlog = GaugeMetricFamily("openchannels_connector_outbox_backlog",
                                "Connector replies not delivered to the messenger yet", labels=["connector"])
    oldest = GaugeMetricFamily("openchannels_connector_outbox_oldest_seconds",
                               "Age of the oldest connector reply not delivered yet", labels=["connector"])
    try:
        for connector_id, (count, age) in (await connector_outbox.backlog()).items():
            backlog.add_metric([str(connector_id)], count)
            oldest.add_metric([str(connector_id)], age)
    except Exception as error:  # noqa: BLE001 - the other metrics are still worth a scrape
        log.warning("metrics: the connector outbox could not be read (%r)", error)
        return []
    return [backlog, oldest]


def _forget_dead_processes(path: str) -> None:
    """Live gauges of a worker that was killed (no shutdown) stop counting."""
    for file in glob.glob(os.path.join(path, "gauge_live*.db")):
        match = _LIVE_GAUGE_FILE.search(os.path.basename(file))
        if match is None:
            continue
        pid = int(match.group(1))
        if not alive(pid):
            mark_process_dead(pid, path)


async def exposition() -> bytes:
    """Every metric, in Prometheus's text format."""
    sample_database_pool()
    path = multiprocess_dir()
    if path:
        _forget_dead_processes(path)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)
    else:
        registry = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(_Values(await _database_values()))
    return generate_latest(registry) + generate_latest(scraped)


async def metrics(request: Request) -> Response:
    return Response(await exposition(), media_type=CONTENT_TYPE_LATEST)


def token_protected(token: str) -> Any:
    """/metrics on the main port: only with `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode()

    async def protected_metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            answer = error_response(401, "UNAUTHENTICATED", "/metrics needs `Authorization: Bearer METRICS_TOKEN`.")
            answer.headers["WWW-Authenticate"] = "Bearer"
            return answer
        return await metrics(request)

    return protected_metrics


class MetricsPort:
    """ASGI: what arrives on the metrics port gets /metrics (and nothing else); the rest goes to the app."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        server = scope.get("server")
        if scope["type"] == "lifespan" or not server or server[1] != self.port:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # no GraphQL over this port either
            await send({"type": "websocket.close", "code": 1008, "reason": "This port serves /metrics only."})
            return
        if scope["path"] == "/metrics" and scope["method"] in ("GET", "HEAD"):
            answer: Response = Response(await exposition(), media_type=CONTENT_TYPE_LATEST)
        else:
            answer = PlainTextResponse("Not Found: this port serves /metrics only.", status_code=404)
        await answer(scope, receive, send)
